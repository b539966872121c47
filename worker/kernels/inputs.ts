/**
 * Input preparation: dedupe x rows, unit-normalise, and the input kernels of f and g.
 */
import { InputError } from '../../core/errors.js';

/** g's input kernel K_z. `linear`: ẑ·ẑ' on unit-normalised z; `rbf`: exp(−γ‖z − z'‖²); `dot`: raw z·z'. */
export type ZKernelSpec = { type: 'linear' } | { type: 'rbf'; gamma: number } | { type: 'dot' };

/** Point i is u_i = (x[i], z[i]). */
export interface PointSet {
  x: ArrayLike<number>[];
  z: ArrayLike<number>[];
}

/** The distinct x rows of a point set, unit-normalised, and which one each point uses. */
export interface DistinctX {
  /** Number of distinct rows. */
  readonly count: number;
  readonly dim: number;
  /** count × dim, row-major, each row x/‖x‖. */
  readonly unit: Float64Array;
  /** For each point, the index of its distinct row. */
  readonly index: Int32Array;
}

/** Rows of z prepared for K_z: normalised (linear) or raw (rbf, dot), with each row's squared norm. */
export interface PreparedZ {
  readonly count: number;
  readonly dim: number;
  readonly rows: Float64Array;
  readonly sq: Float64Array;
  readonly spec: ZKernelSpec;
}

/** ‖v[o..o+d)‖ without overflow or underflow: scale by the largest |entry| first. NaN/∞ entries give NaN/∞. */
export function safeNorm(v: ArrayLike<number>, o: number, d: number): number {
  let m = 0;
  for (let k = 0; k < d; k++) {
    const a = Math.abs(v[o + k]);
    if (Number.isNaN(a)) return NaN;
    if (a > m) m = a;
  }
  if (m === 0 || !Number.isFinite(m)) return m;
  let s = 0;
  for (let k = 0; k < d; k++) {
    const t = v[o + k] / m;
    s += t * t;
  }
  return m * Math.sqrt(s);
}

function hashRow(row: Float64Array, view: Uint32Array): number {
  let h = 0x811c9dc5 | 0;
  for (let k = 0; k < view.length; k++) h = Math.imul(h ^ view[k], 0x01000193);
  return h >>> 0 || row.length;
}

/** Dedupe x rows by exact value (−0 = 0) and unit-normalise each distinct row. */
export function distinctX(x: ArrayLike<number>[], where = 'points'): DistinctX {
  const n = x.length;
  if (n === 0) throw new InputError(where, 'x: no points');
  const dim = x[0].length;
  const index = new Int32Array(n);
  const byRef = new Map<ArrayLike<number>, number>();
  const byHash = new Map<number, number[]>();
  const rows: Float64Array[] = [];
  const tmp = new Float64Array(dim);
  const view = new Uint32Array(tmp.buffer);
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const known = byRef.get(xi);
    if (known !== undefined) {
      index[i] = known;
      continue;
    }
    if (xi.length !== dim) throw new InputError(where, `x[${i}]: length ${xi.length}, expected ${dim}`);
    for (let k = 0; k < dim; k++) tmp[k] = xi[k] + 0; // + 0 turns −0 into 0
    const h = hashRow(tmp, view);
    const bucket = byHash.get(h);
    let id = -1;
    if (bucket) {
      for (const cand of bucket) {
        const r = rows[cand];
        let same = true;
        for (let k = 0; k < dim && same; k++) same = r[k] === tmp[k];
        if (same) {
          id = cand;
          break;
        }
      }
    }
    if (id < 0) {
      id = rows.length;
      rows.push(tmp.slice());
      if (bucket) bucket.push(id);
      else byHash.set(h, [id]);
    }
    byRef.set(xi, id);
    index[i] = id;
  }
  const unit = new Float64Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const norm = safeNorm(row, 0, dim);
    if (!(norm > 0) || !Number.isFinite(norm)) {
      const first = index.indexOf(r);
      throw new InputError(where, `x[${first}]: ${norm > 0 ? 'not finite' : 'all zeros'}, cannot be normalised`);
    }
    const o = r * dim;
    for (let k = 0; k < dim; k++) unit[o + k] = row[k] / norm;
  }
  return { count: rows.length, dim, unit, index };
}

/** Prepare z rows for the chosen input kernel. */
export function prepareZ(z: ArrayLike<number>[], spec: ZKernelSpec, where = 'points'): PreparedZ {
  const n = z.length;
  const dim = n > 0 ? z[0].length : 0;
  const rows = new Float64Array(n * dim);
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const zi = z[i];
    if (zi.length !== dim) throw new InputError(where, `z[${i}]: length ${zi.length}, expected ${dim}`);
    let s = 0;
    for (let k = 0; k < dim; k++) s += zi[k] * zi[k];
    const o = i * dim;
    if (spec.type === 'linear') {
      const norm = safeNorm(zi, 0, dim);
      if (!Number.isFinite(norm)) throw new InputError(where, `z[${i}]: not finite`);
      if (!(norm > 0)) throw new InputError(where, `z[${i}]: all zeros, cannot be normalised`);
      for (let k = 0; k < dim; k++) rows[o + k] = zi[k] / norm;
      sq[i] = 1;
    } else {
      if (!Number.isFinite(s)) throw new InputError(where, `z[${i}]: not finite (or its squared norm overflows)`);
      for (let k = 0; k < dim; k++) rows[o + k] = zi[k];
      sq[i] = s;
    }
  }
  if (spec.type === 'rbf' && !(spec.gamma > 0 && Number.isFinite(spec.gamma))) {
    throw new InputError(where, `zKernel.gamma: must be a finite number > 0, got ${spec.gamma}`);
  }
  return { count: n, dim, rows, sq, spec };
}

/** K_z(z, z) for each row: 1 for linear and rbf, ‖z‖² for dot. */
export function zVariance(z: PreparedZ, i: number): number {
  return z.spec.type === 'dot' ? z.sq[i] : 1;
}

/**
 * out[i*nc + j] = A[ra+i]·B[cb+j] for an nr × nc tile (rows of length d, stored contiguously).
 */
export function dotTile(
  A: Float64Array, ra: number, nr: number,
  B: Float64Array, cb: number, nc: number,
  d: number, out: Float64Array,
): void {
  gemmNT(A, ra * d, d, B, cb * d, d, nr, nc, d, out, 0, nc, 0);
}

/**
 * out[oOff + i*ldo + j] (=, +=, −= by sign) Σ_k A[aOff + i*lda + k]·B[bOff + j*ldb + k] for i < nr, j < nc, k < d
 * (A·Bᵀ on row-major panels). Two rows × four columns at a time so
 * the eight sums stay in registers.
 */
export function gemmNT(
  A: Float64Array, aOff: number, lda: number,
  B: Float64Array, bOff: number, ldb: number,
  nr: number, nc: number, d: number,
  out: Float64Array, oOff: number, ldo: number, sign: 0 | 1 | -1,
): void {
  // sign 0: out = A·Bᵀ;  sign ±1: out = out ± A·Bᵀ
  const put = (o: number, v: number): void => {
    out[o] = sign === 0 ? v : out[o] + sign * v;
  };
  let i = 0;
  for (; i + 1 < nr; i += 2) {
    const a0 = aOff + i * lda, a1 = a0 + lda, o0 = oOff + i * ldo, o1 = o0 + ldo;
    let j = 0;
    for (; j + 3 < nc; j += 4) {
      const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let k = 0; k < d; k++) {
        const x0 = A[a0 + k], x1 = A[a1 + k];
        const y0 = B[b0 + k], y1 = B[b1 + k], y2 = B[b2 + k], y3 = B[b3 + k];
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
      }
      put(o0 + j, s00); put(o0 + j + 1, s01); put(o0 + j + 2, s02); put(o0 + j + 3, s03);
      put(o1 + j, s10); put(o1 + j + 1, s11); put(o1 + j + 2, s12); put(o1 + j + 3, s13);
    }
    for (; j < nc; j++) {
      const b0 = bOff + j * ldb;
      let s0 = 0, s1 = 0;
      for (let k = 0; k < d; k++) {
        const y = B[b0 + k];
        s0 += A[a0 + k] * y;
        s1 += A[a1 + k] * y;
      }
      put(o0 + j, s0);
      put(o1 + j, s1);
    }
  }
  for (; i < nr; i++) {
    const a0 = aOff + i * lda, o0 = oOff + i * ldo;
    for (let j = 0; j < nc; j++) {
      const b0 = bOff + j * ldb;
      let s = 0;
      for (let k = 0; k < d; k++) s += A[a0 + k] * B[b0 + k];
      put(o0 + j, s);
    }
  }
}

/** K_z for an nr × nc tile of points (rows ra.., columns cb..). */
export function zKernelTile(za: PreparedZ, ra: number, nr: number, zb: PreparedZ, cb: number, nc: number, out: Float64Array): void {
  const d = za.dim;
  if (za.spec.type !== 'rbf') {
    dotTile(za.rows, ra, nr, zb.rows, cb, nc, d, out);
    return;
  }
  const g = za.spec.gamma, A = za.rows, B = zb.rows;
  for (let i = 0; i < nr; i++) {
    const a = (ra + i) * d, o = i * nc;
    for (let j = 0; j < nc; j++) {
      const b = (cb + j) * d;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const t = A[a + k] - B[b + k];
        s += t * t;
      }
      out[o + j] = Math.exp(-g * s);
    }
  }
}
