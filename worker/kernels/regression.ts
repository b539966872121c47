/**
 * Kernel regression ŷ(U*) = K(U*, U)·(K(U, U) + ε·diag K(U, U))⁻¹·y by a blocked Cholesky factorisation and two
 * triangular solves — never an explicit inverse of K (the native path inverts only the 256 × 256 diagonal blocks
 * of its factor).
 */
import { HypersweepError } from '../../core/errors.js';
import type { Gram } from './gram.js';
import { gemmNT } from './inputs.js';
import { SimdArena } from './simd.js';

/** The regularised train Gram is not positive definite (raise the jitter, or the points repeat exactly). */
export class NotPositiveDefiniteError extends HypersweepError {
  override name = 'NotPositiveDefiniteError';
}

function notPositiveDefinite(row: number, pivot: number, jitter: number): NotPositiveDefiniteError {
  return new NotPositiveDefiniteError(
    `kernel regression: K + ε·diag(K) is not positive definite at row ${row} (pivot ${pivot}); raise the jitter (ε = ${jitter})`,
  );
}

/** Default relative jitter ε, as in the official code. */
export const DEFAULT_JITTER = 1e-9;

const BLOCK = 64;

/**
 * Lower Cholesky factor of K + ε·diag(K), row-major n×n (only the lower triangle is meaningful).
 * Crout order by 64-row blocks: each block row first subtracts the finished panels with a register-blocked
 * A·Bᵀ (WebAssembly SIMD when available), then finishes its triangle entry by entry.
 */
export function choleskyJittered(k: Gram, jitter = DEFAULT_JITTER): Float64Array {
  const n = k.rows;
  if (k.cols !== n) throw new RangeError(`cholesky: K is ${k.rows}×${k.cols}, not square`);
  const ld = n + (n & 1);
  const arena = n >= 128 ? SimdArena.create(n * ld) : null;
  if (arena) {
    const base = arena.alloc(n, ld);
    arena.load(k.data, n, n, base, ld);
    factorInPlace(arena.f64, base, ld, n, k.data, jitter, (aOff, bOff, nr, nc, d, oOff) =>
      arena.gemmNT(aOff, ld, bOff, ld, nr, nc, d, arena.f64, oOff, ld, -1),
    );
    const f = arena.f64;
    if (ld !== n) for (let i = 1; i < n; i++) f.copyWithin(base + i * n, base + i * ld, base + i * ld + n);
    return f.subarray(base, base + n * n);
  }
  const a = Float64Array.from(k.data);
  factorInPlace(a, 0, n, n, k.data, jitter, (aOff, bOff, nr, nc, d, oOff) => gemmNT(a, aOff, n, a, bOff, n, nr, nc, d, a, oOff, n, -1));
  return a;
}

/** a[base + i*ld + j] holds K; overwritten by L. `update` does out −= A·Bᵀ on panels of a (f64 offsets). */
function factorInPlace(
  a: Float64Array, base: number, ld: number, n: number, kd: Float64Array, jitter: number,
  update: (aOff: number, bOff: number, nr: number, nc: number, d: number, oOff: number) => void,
): void {
  for (let i = 0; i < n; i++) a[base + i * ld + i] += jitter * kd[i * n + i];
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const ni = Math.min(BLOCK, n - i0);
    for (let j0 = 0; j0 <= i0; j0 += BLOCK) {
      const nj = Math.min(BLOCK, n - j0);
      // A[I, J] −= L[I, 0:j0] · L[J, 0:j0]ᵀ
      if (j0 > 0) update(base + i0 * ld, base + j0 * ld, ni, j0 === i0 ? ni : nj, j0, base + i0 * ld + j0);
      for (let i = i0; i < i0 + ni; i++) {
        const ri = base + i * ld;
        const jEnd = j0 === i0 ? i + 1 : j0 + nj;
        for (let j = j0; j < jEnd; j++) {
          const rj = base + j * ld;
          let s = a[ri + j];
          for (let q = j0; q < j; q++) s -= a[ri + q] * a[rj + q];
          if (j === i) {
            if (!(s > 0)) throw notPositiveDefinite(i, s, jitter);
            a[ri + i] = Math.sqrt(s);
          } else {
            a[ri + j] = s / a[rj + j];
          }
        }
      }
    }
  }
}

/** Solve (L Lᵀ) X = Y in place for Y (n × k, row-major), L lower row-major n × n. */
export function choleskySolveInPlace(l: Float64Array, n: number, y: Float64Array, k: number): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n, yi = i * k;
    for (let j = 0; j < i; j++) {
      const c = l[ri + j];
      if (c === 0) continue;
      const yj = j * k;
      for (let q = 0; q < k; q++) y[yi + q] -= c * y[yj + q];
    }
    const d = l[ri + i];
    for (let q = 0; q < k; q++) y[yi + q] /= d;
  }
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n, yi = i * k;
    const d = l[ri + i];
    for (let q = 0; q < k; q++) y[yi + q] /= d;
    for (let j = 0; j < i; j++) {
      const c = l[ri + j];
      if (c === 0) continue;
      const yj = j * k;
      for (let q = 0; q < k; q++) y[yj + q] -= c * y[yi + q];
    }
  }
}

/**
 * A faster factorise-and-solve of (K + ε·diag K)·α = Y (the worker passes its native blocked Cholesky): α, the row
 * whose pivot failed, or null to leave the work to the JS factorisation here. Injected so this module stays pure.
 */
export type FastCholeskySolve = (
  kd: Float64Array,
  n: number,
  y: Float64Array,
  outputs: number,
  jitter: number,
) => Float64Array | { row: number; pivot: number } | null;

/**
 * α = (K + ε·diag K)⁻¹·Y for Y n × outputs (row-major): `fast` when given and it takes the work, else the JS
 * factorisation above. Both throw NotPositiveDefiniteError.
 */
export function choleskySolveJittered(
  k: Gram,
  y: Float64Array,
  outputs: number,
  jitter = DEFAULT_JITTER,
  fast?: FastCholeskySolve,
): Float64Array {
  const n = k.rows;
  if (k.cols !== n) throw new RangeError(`cholesky: K is ${k.rows}×${k.cols}, not square`);
  const r = fast ? fast(k.data, n, y, outputs, jitter) : null;
  if (r instanceof Float64Array) return r;
  if (r) throw notPositiveDefinite(r.row, r.pivot, jitter);
  const l = choleskyJittered(k, jitter);
  const a = Float64Array.from(y);
  choleskySolveInPlace(l, n, a, outputs);
  return a;
}

/**
 * Kernel regression predictions on test points: kTestTrain · (kTrain + ε·diag kTrain)⁻¹ · y.
 * @param kTrain n × n train Gram.
 * @param kTestTrain m × n test–train Gram.
 * @param y n × outputs targets, row-major.
 * @param jitter relative jitter ε. @defaultValue 1e−9
 * @param fast a faster solver to try first (see FastCholeskySolve).
 * @returns m × outputs predictions, row-major.
 */
export function kernelRegression(
  kTrain: Gram,
  kTestTrain: Gram,
  y: Float64Array,
  outputs: number,
  jitter: number = DEFAULT_JITTER,
  fast?: FastCholeskySolve,
): Float64Array {
  const n = kTrain.rows, m = kTestTrain.rows;
  if (!Number.isInteger(outputs) || outputs < 1) throw new RangeError(`kernelRegression: outputs = ${outputs}`);
  if (kTestTrain.cols !== n) throw new RangeError(`kernelRegression: K(test, train) has ${kTestTrain.cols} columns, train has ${n} points`);
  if (y.length !== n * outputs) throw new RangeError(`kernelRegression: y has ${y.length} values, expected ${n}×${outputs}`);
  if (!(jitter >= 0)) throw new RangeError(`kernelRegression: jitter = ${jitter}`);
  const alpha = choleskySolveJittered(kTrain, y, outputs, jitter, fast);
  const out = new Float64Array(m * outputs);
  const kd = kTestTrain.data;
  for (let t = 0; t < m; t++) {
    const rt = t * n, ot = t * outputs;
    for (let j = 0; j < n; j++) {
      const c = kd[rt + j];
      const aj = j * outputs;
      for (let q = 0; q < outputs; q++) out[ot + q] += c * alpha[aj + q];
    }
  }
  return out;
}
