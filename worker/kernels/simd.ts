/**
 * A WebAssembly SIMD (f64x2) micro-kernel for A·Bᵀ, the one place where the kernels do dense linear algebra
 * (x̂·x̂′ Grams of 784-dimensional images, the Cholesky panel updates). Float64 exactly like the JS path; only the
 * summation order differs (two interleaved partial sums per dot product).
 *
 * The module is assembled here from opcodes (no toolchain, nothing downloaded): one function
 *   d(pa0, pa1, pb0, pb1, pb2, pb3, n2, pout)
 * writes the 2 × 4 dot products of rows pa0, pa1 with rows pb0..pb3 (byte addresses, n2 pairs of f64 each) to
 * pout..pout+64. Where WebAssembly SIMD is unavailable, `simd` is null and callers use the JS loops.
 */

const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

function moduleBytes(): Uint8Array {
  // locals: 0..7 params; 8 k; 9 end; 10..17 acc[r*4 + c]; 18 x0; 19 x1; 20 y
  const get = (i: number) => [0x20, i], set = (i: number) => [0x21, i];
  const V128_LOAD = [0xfd, 0x00, 0x03, 0x00]; // align 2^3 (hint), offset 0
  const F64X2_ADD = [0xfd, 0xf0, 0x01], F64X2_MUL = [0xfd, 0xf2, 0x01];
  const load = (ptr: number, to: number) => [...get(ptr), ...get(8), 0x6a, ...V128_LOAD, ...set(to)];
  const fma = (acc: number, x: number) => [...get(acc), ...get(x), ...get(20), ...F64X2_MUL, ...F64X2_ADD, ...set(acc)];
  const body: number[] = [
    ...get(6), 0x41, 4, 0x74, ...set(9), // end = n2 << 4
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(8), ...get(9), 0x4f, 0x0d, 1, // br_if 1 (k >= end)
    ...load(0, 18), ...load(1, 19),
  ];
  for (let c = 0; c < 4; c++) body.push(...load(2 + c, 20), ...fma(10 + c, 18), ...fma(14 + c, 19));
  body.push(...get(8), 0x41, 16, 0x6a, ...set(8), 0x0c, 0, 0x0b, 0x0b); // k += 16; br 0; end; end
  for (let a = 0; a < 8; a++) {
    // f64.store(pout + 8a, lane0 + lane1)
    body.push(...get(7), ...get(10 + a), 0xfd, 0x21, 0, ...get(10 + a), 0xfd, 0x21, 1, 0xa0, 0x39, 0x03, ...leb(8 * a));
  }
  body.push(0x0b);
  const locals = [2, 2, 0x7f, 13, 0x7b]; // 2 groups: 2 × i32, 13 × v128
  const fn = [...locals, ...body];
  const section = (id: number, payload: number[]) => [id, ...leb(payload.length), ...payload];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 8, ...new Array<number>(8).fill(0x7f), 0]), // type: (i32 × 8) → ()
    ...section(2, [1, 1, 0x65, 1, 0x6d, 0x02, 0x00, 0x01]), // import memory e.m, min 1 page
    ...section(3, [1, 0]),
    ...section(7, [1, 1, 0x64, 0x00, 0]), // export "d" = func 0
    ...section(10, [1, ...leb(fn.length), ...fn]),
  ];
  return Uint8Array.from(bytes);
}

type Dot2x4 = (pa0: number, pa1: number, pb0: number, pb1: number, pb2: number, pb3: number, n2: number, pout: number) => void;

let compiled: WebAssembly.Module | null | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bytes = moduleBytes();
    compiled = WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>) ? new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>) : null;
  } catch {
    compiled = null;
  }
  if (process.env.HYPERSWEEP_NO_SIMD === '1') compiled = null;
  return compiled;
}

/** Whether the SIMD kernel is in use (set HYPERSWEEP_NO_SIMD=1 to force the JS loops). */
export const simdAvailable = (): boolean => compile() !== null;

/**
 * A float64 workspace in WebAssembly memory holding row-major matrices with an even row stride, and the A·Bᵀ
 * kernel over it. Allocate once per operation (growing would detach the views).
 */
export class SimdArena {
  readonly f64: Float64Array;
  private readonly dot: Dot2x4;
  private readonly out: number; // f64 index of the 8-slot result area
  private top = 0; // next free f64 index (kept even: 16-byte aligned)

  private constructor(mod: WebAssembly.Module, doubles: number) {
    const bytes = (doubles + 8) * 8;
    const pages = Math.ceil(bytes / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const inst = new WebAssembly.Instance(mod, { e: { m: memory } });
    this.dot = inst.exports.d as Dot2x4;
    this.f64 = new Float64Array(memory.buffer);
    this.out = doubles + (doubles & 1);
  }

  /** An arena of `doubles` f64 slots, or null when SIMD is unavailable or the size exceeds 4 GiB. */
  static create(doubles: number): SimdArena | null {
    const mod = compile();
    if (!mod || (doubles + 16) * 8 > 2 ** 32 - 65536) return null;
    try {
      return new SimdArena(mod, doubles + 16);
    } catch {
      return null; // could not reserve the memory
    }
  }

  /** Reserve rows × ld doubles (ld even); returns the f64 index of the block. */
  alloc(rows: number, ld: number): number {
    const at = this.top;
    this.top += rows * ld + ((rows * ld) & 1);
    if (this.top > this.out) throw new RangeError('SimdArena: out of space');
    return at;
  }

  /** Copy `rows` rows of length d (contiguous in src) into the arena at `at` with stride ld, zero-padding. */
  load(src: Float64Array, rows: number, d: number, at: number, ld: number): void {
    const f = this.f64;
    for (let r = 0; r < rows; r++) {
      f.set(src.subarray(r * d, (r + 1) * d), at + r * ld);
      for (let k = d; k < ld; k++) f[at + r * ld + k] = 0;
    }
  }

  /**
   * out[oOff + i*ldo + j] (=, +=, −= by sign) Σ_{k<d} A[a + i*lda + k]·B[b + j*ldb + k] for i < nr, j < nc, where A and B
   * live in this arena (f64 indices; lda, ldb even, a and b even, d even) and out is any Float64Array.
   */
  gemmNT(
    a: number, lda: number, b: number, ldb: number, nr: number, nc: number, d: number,
    out: Float64Array, oOff: number, ldo: number, sign: 0 | 1 | -1,
  ): void {
    const dot = this.dot, f = this.f64, res = this.out, pout = res * 8, n2 = d >> 1;
    for (let i = 0; i < nr; i += 2) {
      const two = i + 1 < nr;
      const pa0 = (a + i * lda) * 8, pa1 = two ? pa0 + lda * 8 : pa0;
      for (let j = 0; j < nc; j += 4) {
        const w = Math.min(4, nc - j);
        const pb0 = (b + j * ldb) * 8;
        const pb1 = w > 1 ? pb0 + ldb * 8 : pb0, pb2 = w > 2 ? pb0 + 2 * ldb * 8 : pb0, pb3 = w > 3 ? pb0 + 3 * ldb * 8 : pb0;
        dot(pa0, pa1, pb0, pb1, pb2, pb3, n2, pout);
        for (let r = 0; r < (two ? 2 : 1); r++) {
          const o = oOff + (i + r) * ldo + j;
          for (let c = 0; c < w; c++) {
            const v = f[res + r * 4 + c];
            out[o + c] = sign === 0 ? v : out[o + c] + sign * v;
          }
        }
      }
    }
  }
}
