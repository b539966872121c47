/**
 * Float64 linear algebra on the native library (onnxruntime MLAS DGEMM, one thread): the jittered Cholesky solve
 * of kernel regression, (K + ε·diag K) X = Y.
 *
 * Right-looking blocked Cholesky on column panels of width 256 (panel p holds rows p₀..n−1 of its columns,
 * row-major, so every operand below is one contiguous block): factor the panel's diagonal block in JS, turn the
 * rows under it into L₂₁ = A₂₁·L₁₁⁻ᵀ (one GEMM with the block's inverse), then subtract L₂₁·L₂₁ᵀ from each later
 * panel with one in-place GEMM (C −= A·Bᵀ) — the n³/3 flops of the factorisation, all native. The two triangular
 * solves are O(n²·k) in JS. Returns null when the native library is not loaded (callers then use the JS path).
 */
import { loadNative, nativeGemmNT, nativeMatMul } from './ort.js';

/** Panel width: the inner dimension of the trailing GEMMs. */
const NB = 256;

/** Below this size the JS factorisation is as fast (no native call overheads, no panel copies). */
export const nativeCholeskyMinN = 512;

/** The pivot that was not positive (the matrix is not numerically positive definite). */
export interface NotPositive {
  row: number;
  pivot: number;
}

/** Factor the w×w lower triangle of d (row-major, ld = w) in place. Returns the failing row or −1. */
function factorDiag(d: Float64Array, w: number): { row: number; pivot: number } | null {
  for (let j = 0; j < w; j++) {
    const rj = j * w;
    let s = d[rj + j];
    for (let q = 0; q < j; q++) s -= d[rj + q] * d[rj + q];
    if (!(s > 0)) return { row: j, pivot: s };
    const ljj = Math.sqrt(s);
    d[rj + j] = ljj;
    for (let i = j + 1; i < w; i++) {
      const ri = i * w;
      let t = d[ri + j];
      for (let q = 0; q < j; q++) t -= d[ri + q] * d[rj + q];
      d[ri + j] = t / ljj;
    }
  }
  return null;
}

/** The inverse of the lower-triangular w×w matrix l (row-major), lower-triangular, zeros above. */
function invertLower(l: Float64Array, w: number): Float64Array {
  const inv = new Float64Array(w * w);
  for (let j = 0; j < w; j++) {
    // column j of L⁻¹: forward substitution of e_j
    inv[j * w + j] = 1 / l[j * w + j];
    for (let i = j + 1; i < w; i++) {
      let s = 0;
      const ri = i * w;
      for (let q = j; q < i; q++) s -= l[ri + q] * inv[q * w + j];
      inv[ri + j] = s / l[ri + i];
    }
  }
  return inv;
}

/**
 * X = (K + ε·diag K)⁻¹·Y for K n×n (row-major, symmetric; its lower triangle is read) and Y n×k row-major.
 * Returns X, the failing pivot when K + ε·diag K is not numerically positive definite, or null when the native
 * library cannot run here (or n < nativeCholeskyMinN).
 */
export function choleskySolveNative(kd: Float64Array, n: number, y: Float64Array, k: number, jitter: number): Float64Array | NotPositive | null {
  if (n < nativeCholeskyMinN || loadNative() !== null) return null;
  const P = Math.ceil(n / NB);
  const p0 = (p: number) => p * NB;
  const width = (p: number) => Math.min(NB, n - p * NB);
  // Load the lower triangle into panels, jitter on the diagonal.
  const panels: Float64Array[] = [];
  for (let p = 0; p < P; p++) {
    const c0 = p0(p), w = width(p);
    const a = new Float64Array((n - c0) * w);
    for (let i = c0; i < n; i++) a.set(kd.subarray(i * n + c0, i * n + c0 + w), (i - c0) * w);
    for (let j = 0; j < w; j++) a[j * w + j] += jitter * kd[(c0 + j) * n + c0 + j];
    panels.push(a);
  }
  const tmp = new Float64Array(Math.max(0, n - width(0)) * NB);
  for (let p = 0; p < P; p++) {
    const c0 = p0(p), w = width(p), a = panels[p];
    const diag = a.subarray(0, w * w);
    const bad = factorDiag(diag, w);
    if (bad) return { row: c0 + bad.row, pivot: bad.pivot };
    const m = n - c0 - w; // rows under the diagonal block
    if (m === 0) break;
    const below = a.subarray(w * w);
    // L₂₁ = A₂₁·L₁₁⁻ᵀ
    const out = tmp.subarray(0, m * w);
    nativeMatMul(below, invertLower(diag, w), out, 1, m, w, w, false, true, 2);
    below.set(out);
    // Later panels: A[q₀.., q cols] −= L₂₁[q₀..]·L₂₁[q cols]ᵀ
    for (let q = p + 1; q < P; q++) {
      const r0 = p0(q) - c0 - w; // q's first row, as a row of `below`
      const wq = width(q), rows = n - p0(q);
      const lhs = below.subarray(r0 * w, (r0 + rows) * w);
      const rhs = below.subarray(r0 * w, (r0 + wq) * w);
      nativeGemmNT(lhs, rhs, panels[q], panels[q], rows, w, wq, -1, 1);
    }
  }
  // L Z = Y, then Lᵀ X = Z, panel by panel.
  const x = Float64Array.from(y);
  for (let p = 0; p < P; p++) {
    const c0 = p0(p), w = width(p), a = panels[p];
    for (let i = 0; i < w; i++) {
      const ri = i * w, xi = (c0 + i) * k;
      for (let j = 0; j < i; j++) {
        const c = a[ri + j], xj = (c0 + j) * k;
        for (let t = 0; t < k; t++) x[xi + t] -= c * x[xj + t];
      }
      const d = a[ri + i];
      for (let t = 0; t < k; t++) x[xi + t] /= d;
    }
    for (let i = c0 + w; i < n; i++) {
      const ri = (i - c0) * w, xi = i * k;
      for (let j = 0; j < w; j++) {
        const c = a[ri + j], xj = (c0 + j) * k;
        for (let t = 0; t < k; t++) x[xi + t] -= c * x[xj + t];
      }
    }
  }
  for (let p = P - 1; p >= 0; p--) {
    const c0 = p0(p), w = width(p), a = panels[p];
    for (let i = c0 + w; i < n; i++) {
      const ri = (i - c0) * w, xi = i * k;
      for (let j = 0; j < w; j++) {
        const c = a[ri + j], xj = (c0 + j) * k;
        for (let t = 0; t < k; t++) x[xj + t] -= c * x[xi + t];
      }
    }
    for (let i = w - 1; i >= 0; i--) {
      const ri = i * w, xi = (c0 + i) * k;
      const d = a[ri + i];
      for (let t = 0; t < k; t++) x[xi + t] /= d;
      for (let j = 0; j < i; j++) {
        const c = a[ri + j], xj = (c0 + j) * k;
        for (let t = 0; t < k; t++) x[xj + t] -= c * x[xi + t];
      }
    }
  }
  return x;
}
