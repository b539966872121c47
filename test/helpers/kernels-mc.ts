/**
 * Test-only helpers for the kernel tests: a seeded PRNG, Gaussian samples (Box–Muller) and small dense float64
 * linear algebra written the plain way (no code shared with worker/kernels).
 */

export { mulberry32 } from '../../worker/model/rng.js';
import { mulberry32 } from '../../worker/model/rng.js';

/** Standard normal samples by Box–Muller, both values used. */
export function gaussian(seed: number): () => number {
  const u = mulberry32(seed);
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    let u1 = u();
    while (u1 <= 0) u1 = u();
    const r = Math.sqrt(-2 * Math.log(u1)), t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** Fill a new Float64Array with n standard normals. */
export function normals(rng: () => number, n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng();
  return a;
}

/** Lower Cholesky factor of a small symmetric PSD matrix (array of rows); tiny negative pivots clamp to 0. */
export function naiveCholesky(a: number[][]): number[][] {
  const n = a.length;
  const l = a.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      if (i === j) l[i][i] = Math.sqrt(Math.max(s, 0));
      else l[i][j] = l[j][j] > 0 ? s / l[j][j] : 0;
    }
  }
  return l;
}

/** Solve A x = b by Gaussian elimination with partial pivoting (A as rows; copied). */
export function gaussSolve(a: number[][], b: number[]): number[] {
  const n = a.length;
  const m = a.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/** y = W x for W (rows × cols, row-major), into out. */
export function matVec(w: Float64Array, rows: number, cols: number, x: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const o = i * cols;
    for (let k = 0; k < cols; k++) s += w[o + k] * x[k];
    out[i] = s;
  }
  return out;
}

/** y = Wᵀ x for W (rows × cols, row-major), into out (length cols). */
export function matTVec(w: Float64Array, rows: number, cols: number, x: Float64Array, out: Float64Array): Float64Array {
  out.fill(0);
  for (let i = 0; i < rows; i++) {
    const xi = x[i], o = i * cols;
    if (xi === 0) continue;
    for (let k = 0; k < cols; k++) out[k] += w[o + k] * xi;
  }
  return out;
}

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

export const unit = (v: ArrayLike<number>): number[] => {
  const n = Math.sqrt(dot(v, v));
  return Array.from(v, (t) => t / n);
};

/** Random points: `count` vectors of dimension `dim`. */
export function randomVectors(rng: () => number, count: number, dim: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: dim }, () => rng()));
}
