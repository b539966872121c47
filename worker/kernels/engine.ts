/**
 * The analytic kernel engine: f-kernels once per distinct x, then g, the hyperkernel and the MLP baseline tile by
 * tile over point pairs (only the upper triangle when the Gram is symmetric).
 */
import { InputError } from '../../core/errors.js';
import { type Gram, mirrorUpper, zeroGram } from './gram.js';
import { distinctX, dotTile, type PointSet, prepareZ, type ZKernelSpec, zKernelTile, zVariance } from './inputs.js';
import { hypernetArchitecture, mlpLayers } from './architecture.js';
import { KernelBlock, type KernelMode, layersMap } from './maps.js';
import { SimdArena } from './simd.js';

/** The two networks. Depths count weight layers: f has H = fDepth, g has L = gDepth. */
export interface NetSpec {
  fDepth: number;
  gDepth: number;
  zKernel: ZKernelSpec;
}

/** Every Gram the engine can produce, over point pairs (u_i, u'_j). */
export type KernelName =
  | 'sigmaF' // Σ_f(x, x'): covariance of each output of f
  | 'thetaF' // Θ_f(x, x'): NTK of f
  | 'gp' // K_GP(u, u'): GP kernel of h at init (paper-code: the code's F^{L−1})
  | 'hyperkernel' // Θ_h(u, u') = Θ_f ⊙ K_g
  | 'mlpNngp' // standard ReLU MLP of depth H + L on (x̂·x̂' + K_z)/2: NNGP
  | 'mlpNtk'; //   … and NTK

export const ALL_KERNELS: readonly KernelName[] = ['sigmaF', 'thetaF', 'gp', 'hyperkernel', 'mlpNngp', 'mlpNtk'];

/** Tile edge (points) of the blocks the maps run on. @defaultValue 64 */
export const DEFAULT_TILE = 64;

/** Summary of the work done, for the CLI and the bench. */
export interface KernelStats {
  points: [number, number];
  distinctX: [number, number];
}

function checkNet(net: NetSpec): void {
  for (const [name, v] of [['fDepth', net.fDepth], ['gDepth', net.gDepth]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new InputError('net', `${name}: must be an integer ≥ 1, got ${v}`);
  }
}

function checkPoints(p: PointSet, where: string): void {
  if (p.x.length !== p.z.length) throw new InputError(where, `x has ${p.x.length} rows but z has ${p.z.length}`);
  if (p.x.length === 0) throw new InputError(where, 'no points');
}

/**
 * Compute the requested Grams between point sets `a` and `b` (b = null: a with itself, symmetric; only the upper
 * triangle is computed, then mirrored). Float64 throughout.
 */
export function kernelGrams(
  a: PointSet,
  b: PointSet | null,
  net: NetSpec,
  mode: KernelMode,
  outputs: readonly KernelName[] = ALL_KERNELS,
  tile = DEFAULT_TILE,
): { grams: Partial<Record<KernelName, Gram>>; stats: KernelStats } {
  checkNet(net);
  const arch = hypernetArchitecture({ H: net.fDepth, L: net.gDepth });
  checkPoints(a, 'points');
  if (b) checkPoints(b, 'points (b)');
  const sym = b === null;
  const want = new Set(outputs);
  const needMlp = want.has('mlpNngp') || want.has('mlpNtk');
  const needG = want.has('gp') || want.has('hyperkernel');

  const xa = distinctX(a.x, 'points');
  const xb = sym ? xa : distinctX(b.x, 'points (b)');
  if (xa.dim !== xb.dim) throw new InputError('points (b)', `x: dimension ${xb.dim}, expected ${xa.dim}`);
  const za = prepareZ(a.z, net.zKernel, 'points');
  const zb = sym ? za : prepareZ(b.z, net.zKernel, 'points (b)');
  if (za.dim !== zb.dim) throw new InputError('points (b)', `z: dimension ${zb.dim}, expected ${za.dim}`);

  const n1 = a.x.length, n2 = sym ? n1 : b.x.length;
  const d1 = xa.count, d2 = xb.count, dx = xa.dim;

  // ---- f on distinct x: Σ_f, Θ_f (and x̂·x̂' for the MLP baseline) ----
  const sigmaFd = new Float64Array(d1 * d2);
  const thetaFd = new Float64Array(d1 * d2);
  const x0d = needMlp ? new Float64Array(d1 * d2) : null;
  const xVarA = rowSqNorms(xa.unit, d1, dx);
  const xVarB = sym ? xVarA : rowSqNorms(xb.unit, d2, dx);
  const fVarA = new Float64Array(d1);
  const fVarB = sym ? fVarA : new Float64Array(d2);
  {
    const fb = new KernelBlock(tile, tile);
    const fNet = layersMap(arch.f, mode);
    // x̂·x̂′ is the one dense product here (images: d = 784): WebAssembly SIMD when available
    const ld = dx + (dx & 1);
    const arena = dx >= 16 ? SimdArena.create((sym ? d1 : d1 + d2) * ld) : null;
    let pa = 0, pb = 0;
    if (arena) {
      pa = arena.alloc(d1, ld);
      arena.load(xa.unit, d1, dx, pa, ld);
      pb = sym ? pa : arena.alloc(d2, ld);
      if (!sym) arena.load(xb.unit, d2, dx, pb, ld);
    }
    forEachTile(d1, d2, tile, sym, (r0, nr, c0, nc) => {
      fb.resize(nr, nc);
      if (arena) arena.gemmNT(pa + r0 * ld, ld, pb + c0 * ld, ld, nr, nc, ld, fb.nngp, 0, nc, 0);
      else dotTile(xa.unit, r0, nr, xb.unit, c0, nc, dx, fb.nngp);
      if (x0d) storeTile(fb.nngp, x0d, d2, r0, nr, c0, nc);
      fb.ntk.fill(0, 0, nr * nc);
      fb.var1.set(xVarA.subarray(r0, r0 + nr));
      fb.var2.set(xVarB.subarray(c0, c0 + nc));
      fNet(fb);
      storeTile(fb.nngp, sigmaFd, d2, r0, nr, c0, nc);
      storeTile(fb.ntk, thetaFd, d2, r0, nr, c0, nc);
      if (c0 === 0 || (sym && r0 === c0)) fVarA.set(fb.var1.subarray(0, nr), r0);
      if (r0 === 0) fVarB.set(fb.var2.subarray(0, nc), c0);
    });
    if (sym) {
      mirrorUpper({ rows: d1, cols: d1, data: sigmaFd });
      mirrorUpper({ rows: d1, cols: d1, data: thetaFd });
      if (x0d) mirrorUpper({ rows: d1, cols: d1, data: x0d });
    }
  }

  // ---- point pairs: broadcast f, run g and the MLP baseline per tile ----
  const grams: Partial<Record<KernelName, Gram>> = {};
  for (const name of want) grams[name] = zeroGram(n1, n2);
  const ia = xa.index, ib = xb.index;
  const fk = new KernelBlock(tile, tile);
  const gk = new KernelBlock(tile, tile);
  const mk = new KernelBlock(tile, tile);
  const gNet = layersMap(arch.g, mode, fk);
  const mNet = layersMap(mlpLayers(net.fDepth + net.gDepth), mode);
  forEachTile(n1, n2, tile, sym, (r0, nr, c0, nc) => {
    fk.resize(nr, nc);
    gk.resize(nr, nc);
    const sf = fk.nngp, tf = fk.ntk;
    for (let i = 0; i < nr; i++) {
      const src = ia[r0 + i] * d2, o = i * nc;
      for (let j = 0; j < nc; j++) {
        const s = src + ib[c0 + j];
        sf[o + j] = sigmaFd[s];
        tf[o + j] = thetaFd[s];
      }
      fk.var1[i] = fVarA[ia[r0 + i]];
    }
    for (let j = 0; j < nc; j++) fk.var2[j] = fVarB[ib[c0 + j]];
    if (grams.sigmaF) storeTile(sf, grams.sigmaF.data, n2, r0, nr, c0, nc);
    if (grams.thetaF) storeTile(tf, grams.thetaF.data, n2, r0, nr, c0, nc);
    if (!needG && !needMlp) return;

    zKernelTile(za, r0, nr, zb, c0, nc, gk.nngp);
    for (let i = 0; i < nr; i++) gk.var1[i] = zVariance(za, r0 + i);
    for (let j = 0; j < nc; j++) gk.var2[j] = zVariance(zb, c0 + j);

    if (needMlp && x0d) {
      mk.resize(nr, nc);
      const m = mk.nngp, kz = gk.nngp;
      for (let i = 0; i < nr; i++) {
        const src = ia[r0 + i] * d2, o = i * nc;
        for (let j = 0; j < nc; j++) m[o + j] = 0.5 * (x0d[src + ib[c0 + j]] + kz[o + j]);
        mk.var1[i] = 0.5 * (xVarA[ia[r0 + i]] + gk.var1[i]);
      }
      for (let j = 0; j < nc; j++) mk.var2[j] = 0.5 * (xVarB[ib[c0 + j]] + gk.var2[j]);
      mk.ntk.fill(0, 0, nr * nc);
      mNet(mk);
      if (grams.mlpNngp) storeTile(mk.nngp, grams.mlpNngp.data, n2, r0, nr, c0, nc);
      if (grams.mlpNtk) storeTile(mk.ntk, grams.mlpNtk.data, n2, r0, nr, c0, nc);
    }

    if (needG) {
      gk.ntk.fill(0, 0, nr * nc);
      gNet(gk);
      if (grams.gp) storeTile(gk.nngp, grams.gp.data, n2, r0, nr, c0, nc);
      const hk = grams.hyperkernel;
      if (hk) {
        const out = hk.data, kg = gk.ntk;
        for (let i = 0; i < nr; i++) {
          const o = i * nc, dst = (r0 + i) * n2 + c0;
          for (let j = 0; j < nc; j++) out[dst + j] = tf[o + j] * kg[o + j];
        }
      }
    }
  });
  if (sym) for (const g of Object.values(grams)) mirrorUpper(g);
  return { grams, stats: { points: [n1, n2], distinctX: [d1, d2] } };
}

function rowSqNorms(m: Float64Array, rows: number, d: number): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = r * d; k < (r + 1) * d; k++) s += m[k] * m[k];
    out[r] = s;
  }
  return out;
}

/** Visit tiles of an n1 × n2 grid; when symmetric only those on or above the diagonal. */
function forEachTile(
  n1: number, n2: number, tile: number, sym: boolean,
  fn: (r0: number, nr: number, c0: number, nc: number) => void,
): void {
  for (let r0 = 0; r0 < n1; r0 += tile) {
    const nr = Math.min(tile, n1 - r0);
    for (let c0 = sym ? r0 : 0; c0 < n2; c0 += tile) fn(r0, nr, c0, Math.min(tile, n2 - c0));
  }
}

function storeTile(src: Float64Array, dst: Float64Array, ld: number, r0: number, nr: number, c0: number, nc: number): void {
  for (let i = 0; i < nr; i++) dst.set(src.subarray(i * nc, (i + 1) * nc), (r0 + i) * ld + c0);
}
