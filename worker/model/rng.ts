/** mulberry32: a small seeded uint32 generator; uniform floats in [0, 1). Deterministic across platforms. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of 0..n−1 driven by `rand`. */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Derive the seed of sub-stream `k` of `seed` (distinct, stays in int32 range for tfjs). */
export function subSeed(seed: number, k: number): number {
  const r = mulberry32((seed * 0x9e3779b1 + k * 0x85ebca77) >>> 0);
  r();
  return Math.floor(r() * 2 ** 31);
}

/** `size` N(0, 1) float32 samples from `seed` (Marsaglia's polar method on mulberry32): fast, platform-independent. */
export function gaussianArray(size: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; ) {
    const u = 2 * rand() - 1;
    const v = 2 * rand() - 1;
    const s = u * u + v * v;
    if (s >= 1 || s === 0) continue;
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = u * f;
    if (i < size) out[i++] = v * f;
  }
  return out;
}
