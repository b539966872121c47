/**
 * Seeded pseudo-random numbers for data generation: xoshiro128** seeded through splitmix32, so a (seed, stream)
 * pair always gives the same sequence on every machine. Pure JS, no tfjs.
 */

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a of a string: turns a stream name into 32 bits. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1), 32 bits of randomness. */
  uniform(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** `k` distinct integers from [0, n), in random order (partial Fisher–Yates on a sparse map). */
  sample(n: number, k: number): number[];
}

/**
 * A generator for one purpose: `stream` names it ('sphere-x', 'rff', …) so that changing how many numbers one
 * part draws never shifts another part's numbers.
 */
export function createRng(seed: number, stream: string): Rng {
  const init = splitmix32((seed >>> 0) ^ Math.imul(hashString(stream), 0x9e3779b1));
  let a = init(), b = init(), c = init(), d = init();
  if ((a | b | c | d) === 0) a = 1;
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  let spare: number | null = null;
  const uniform = (): number => next() / 4294967296;
  return {
    uniform,
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n) {
      return Math.floor(uniform() * n);
    },
    sample(n, k) {
      if (k > n) throw new RangeError(`sample: ${k} distinct values requested from ${n}`);
      const swapped = new Map<number, number>();
      const out: number[] = [];
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(uniform() * (n - i));
        const vj = swapped.get(j) ?? j;
        const vi = swapped.get(i) ?? i;
        swapped.set(j, vi);
        out.push(vj);
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
