/**
 * The analytic kernel engine: f-kernels once per distinct x, then g, the hyperkernel and the MLP baseline tile by
 * tile over point pairs (only the upper triangle when the Gram is symmetric).
 */
import { InputError } from '../../core/errors.js';
import { type Gram, mirrorUpper, zeroGram } from './gram.js';
import { type DistinctX, distinctX, dotTile, type PointSet, type PreparedZ, prepareZ, type ZKernelSpec, zKernelTile, zVariance } from './inputs.js';
import { type Architecture, hypernetArchitecture, mlpLayers } from './architecture.js';
import { KernelBlock, type KernelMap, type KernelMode, layersMap } from './maps.js';
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
  checkPoints(a, 'points');
  if (b) checkPoints(b, 'points (b)');
  const sym = b === null;
  const want = new Set(outputs);
  const needMlp = want.has('mlpNngp') || want.has('mlpNtk');

  const xa = distinctX(a.x, 'points');
  const xb = sym ? xa : distinctX(b.x, 'points (b)');
  if (xa.dim !== xb.dim) throw new InputError('points (b)', `x: dimension ${xb.dim}, expected ${xa.dim}`);
  const za = prepareZ(a.z, net.zKernel, 'points');
  const zb = sym ? za : prepareZ(b.z, net.zKernel, 'points (b)');
  if (za.dim !== zb.dim) throw new InputError('points (b)', `z: dimension ${zb.dim}, expected ${za.dim}`);

  const arch = hypernetArchitecture({ H: net.fDepth, L: net.gDepth });
  const f = fKernels(xa, xb, sym, layersMap(arch.f, mode), needMlp, tile);
  const n1 = a.x.length, n2 = sym ? n1 : b.x.length;
  const grams: Partial<Record<KernelName, Gram>> = {};
  for (const name of want) grams[name] = zeroGram(n1, n2);
  pairKernels({ f, ia: xa.index, ib: xb.index, za, zb, n2, grams, mode, tile }, arch, net.fDepth + net.gDepth, sym, n1);
  if (sym) for (const g of Object.values(grams)) mirrorUpper(g);
  return { grams, stats: { points: [n1, n2], distinctX: [xa.count, xb.count] } };
}

/** f's kernels on the distinct x rows, d1 × d2 row-major, and the diagonals the maps need. */
interface FKernels {
  d2: number;
  /** Σ_f(x_i, x′_j), Θ_f(x_i, x′_j). */
  sigmaF: Float64Array;
  thetaF: Float64Array;
  /** x̂·x̂′ (only for the MLP baseline). */
  x0: Float64Array | null;
  /** ‖x̂‖² per row of each side (f's input variance), and Σ_f(x, x) per row. */
  xVarA: Float64Array;
  xVarB: Float64Array;
  fVarA: Float64Array;
  fVarB: Float64Array;
}

/** Σ_f and Θ_f (and x̂·x̂′ when `keepX0`) once per pair of distinct x, tile by tile through f's maps. */
function fKernels(xa: DistinctX, xb: DistinctX, sym: boolean, fNet: KernelMap, keepX0: boolean, tile: number): FKernels {
  const d1 = xa.count, d2 = xb.count, dx = xa.dim;
  const sigmaF = new Float64Array(d1 * d2);
  const thetaF = new Float64Array(d1 * d2);
  const x0 = keepX0 ? new Float64Array(d1 * d2) : null;
  const xVarA = rowSqNorms(xa.unit, d1, dx);
  const xVarB = sym ? xVarA : rowSqNorms(xb.unit, d2, dx);
  const fVarA = new Float64Array(d1);
  const fVarB = sym ? fVarA : new Float64Array(d2);
  const fb = new KernelBlock(tile, tile);
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
    if (x0) storeTile(fb.nngp, x0, d2, r0, nr, c0, nc);
    fb.ntk.fill(0, 0, nr * nc);
    fb.var1.set(xVarA.subarray(r0, r0 + nr));
    fb.var2.set(xVarB.subarray(c0, c0 + nc));
    fNet(fb);
    storeTile(fb.nngp, sigmaF, d2, r0, nr, c0, nc);
    storeTile(fb.ntk, thetaF, d2, r0, nr, c0, nc);
    if (c0 === 0 || (sym && r0 === c0)) fVarA.set(fb.var1.subarray(0, nr), r0);
    if (r0 === 0) fVarB.set(fb.var2.subarray(0, nc), c0);
  });
  if (sym) {
    mirrorUpper({ rows: d1, cols: d1, data: sigmaF });
    mirrorUpper({ rows: d1, cols: d1, data: thetaF });
    if (x0) mirrorUpper({ rows: d1, cols: d1, data: x0 });
  }
  return { d2, sigmaF, thetaF, x0, xVarA, xVarB, fVarA, fVarB };
}

/** What the per-pair pass reads: f's kernels, each point's distinct-x row, the prepared z, the output Grams. */
interface PairInputs {
  f: FKernels;
  ia: Int32Array;
  ib: Int32Array;
  za: PreparedZ;
  zb: PreparedZ;
  /** Columns of the output Grams. */
  n2: number;
  grams: Partial<Record<KernelName, Gram>>;
  mode: KernelMode;
  tile: number;
}

/** Over point-pair tiles: broadcast f's kernels, then run g (GP kernel, hyperkernel) and the MLP baseline. */
function pairKernels(p: PairInputs, arch: Architecture, mlpDepth: number, sym: boolean, n1: number): void {
  const { grams, n2, tile } = p;
  const needMlp = !!(grams.mlpNngp || grams.mlpNtk) && p.f.x0 !== null;
  const needG = !!(grams.gp || grams.hyperkernel);
  const fk = new KernelBlock(tile, tile);
  const gk = new KernelBlock(tile, tile);
  const mk = new KernelBlock(tile, tile);
  const gNet = layersMap(arch.g, p.mode, fk);
  const mNet = layersMap(mlpLayers(mlpDepth), p.mode);
  forEachTile(n1, n2, tile, sym, (r0, nr, c0, nc) => {
    broadcastF(p, fk, r0, nr, c0, nc);
    if (grams.sigmaF) storeTile(fk.nngp, grams.sigmaF.data, n2, r0, nr, c0, nc);
    if (grams.thetaF) storeTile(fk.ntk, grams.thetaF.data, n2, r0, nr, c0, nc);
    if (!needG && !needMlp) return;
    gk.resize(nr, nc);
    zKernelTile(p.za, r0, nr, p.zb, c0, nc, gk.nngp);
    for (let i = 0; i < nr; i++) gk.var1[i] = zVariance(p.za, r0 + i);
    for (let j = 0; j < nc; j++) gk.var2[j] = zVariance(p.zb, c0 + j);
    if (needMlp) mlpTile(p, gk, mk, mNet, r0, nr, c0, nc);
    if (needG) gTile(p, fk, gk, gNet, r0, nr, c0, nc);
  });
}

/** Fill `fk` with Σ_f, Θ_f and Σ_f's diagonals of the tile's point pairs (from their distinct-x rows). */
function broadcastF(p: PairInputs, fk: KernelBlock, r0: number, nr: number, c0: number, nc: number): void {
  const { f, ia, ib } = p;
  fk.resize(nr, nc);
  const sf = fk.nngp, tf = fk.ntk;
  for (let i = 0; i < nr; i++) {
    const src = ia[r0 + i] * f.d2, o = i * nc;
    for (let j = 0; j < nc; j++) {
      const s = src + ib[c0 + j];
      sf[o + j] = f.sigmaF[s];
      tf[o + j] = f.thetaF[s];
    }
    fk.var1[i] = f.fVarA[ia[r0 + i]];
  }
  for (let j = 0; j < nc; j++) fk.var2[j] = f.fVarB[ib[c0 + j]];
}

/** The MLP baseline on the input kernel (x̂·x̂′ + K_z)/2; `gk` holds K_z of the tile. */
function mlpTile(p: PairInputs, gk: KernelBlock, mk: KernelBlock, mNet: KernelMap, r0: number, nr: number, c0: number, nc: number): void {
  const { f, ia, ib, grams, n2 } = p;
  const x0 = f.x0;
  if (!x0) throw new Error('kernel engine: x̂·x̂′ was not kept');
  mk.resize(nr, nc);
  const m = mk.nngp, kz = gk.nngp;
  for (let i = 0; i < nr; i++) {
    const src = ia[r0 + i] * f.d2, o = i * nc;
    for (let j = 0; j < nc; j++) m[o + j] = 0.5 * (x0[src + ib[c0 + j]] + kz[o + j]);
    mk.var1[i] = 0.5 * (f.xVarA[ia[r0 + i]] + gk.var1[i]);
  }
  for (let j = 0; j < nc; j++) mk.var2[j] = 0.5 * (f.xVarB[ib[c0 + j]] + gk.var2[j]);
  mk.ntk.fill(0, 0, nr * nc);
  mNet(mk);
  if (grams.mlpNngp) storeTile(mk.nngp, grams.mlpNngp.data, n2, r0, nr, c0, nc);
  if (grams.mlpNtk) storeTile(mk.ntk, grams.mlpNtk.data, n2, r0, nr, c0, nc);
}

/** g's maps on K_z (in `gk`) with Σ_f (in `fk`): K_GP and K_g; the hyperkernel Θ_h = Θ_f ⊙ K_g. */
function gTile(p: PairInputs, fk: KernelBlock, gk: KernelBlock, gNet: KernelMap, r0: number, nr: number, c0: number, nc: number): void {
  const { grams, n2 } = p;
  gk.ntk.fill(0, 0, nr * nc);
  gNet(gk);
  if (grams.gp) storeTile(gk.nngp, grams.gp.data, n2, r0, nr, c0, nc);
  const hk = grams.hyperkernel;
  if (!hk) return;
  const out = hk.data, kg = gk.ntk, tf = fk.ntk;
  for (let i = 0; i < nr; i++) {
    const o = i * nc, dst = (r0 + i) * n2 + c0;
    for (let j = 0; j < nc; j++) out[dst + j] = tf[o + j] * kg[o + j];
  }
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
