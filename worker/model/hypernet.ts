/**
 * The hypernetwork h(u) = g(z; f(x)) on the active tfjs backend: the finite side of the layer lists of
 * worker/kernels/architecture.ts (NTK parametrization, weights N(0, 1), no biases).
 *
 *   f:  a⁰ = x/‖x‖,  aˡ = √(2/n)·relu(aˡ⁻¹ Wˡ)  (l = 1..H−1),  o = aᴴ⁻¹ Wᴴ ∈ R^{N_g}
 *   g:  b⁰ = φ(z),   bʲ = √(2/m)·relu(W_gʲ bʲ⁻¹) (j = 1..L−1), h = W_gᴸ bᴸ⁻¹
 *
 * Storage: f's weights are kept as [fan_in, fan_out] so every product is a plain matMul (no transposes in the
 * forward pass). f's last layer Wᴴ (`gWeights`) is kept as L column blocks V_j (one per g layer, V_j: [fan_in,
 * out_j·in_j]); o_j = aᴴ⁻¹ V_j is g's layer-j matrix W_gʲ ∈ R^{out_j × in_j} row-major, so concat_j o_j is exactly o
 * reshaped row-major into g's weights. All weights N(0, 1); the √(2/width) factors are the whole normalisation.
 *
 * Options beyond the model (spec.fBiases, spec.gVariant, spec.parametrization; docs/model.md "Standard
 * parametrization"): biases b ~ N(0, 1) (ntk) are added to the outputs of f's weight layers, gWeights' bias split
 * into the same blocks as its weights; the paper-code g has no relu after its second weight layer; 'standard' reads
 * x as given (no x/‖x‖), draws every weight and bias of a layer with fan_in inputs from U(−1/√fan_in, 1/√fan_in)
 * (PyTorch's nn.Linear) and multiplies by no factor anywhere. g's weights are f's outputs, used as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationScale, sizedHypernet, type HyperNetSpec, type Parametrization, type SizedArchitecture, type SizedLayer } from '../kernels/index.js';
import { gaussianArray, mulberry32, subSeed } from './rng.js';
import { matMulWeight } from '../backend/wasm-patches.js';

export type { HyperNetSpec } from '../kernels/index.js';

/** Options beyond the shape. */
export interface HyperNetOptions {
  /** Unit-normalise z inside forward (b⁰ = z/‖z‖). Set false when z already is φ(z), e.g. random Fourier features. @defaultValue true */
  normalizeZ?: boolean;
}

export interface HyperNet {
  readonly spec: HyperNetSpec;
  /** The layer lists with their sizes (architecture.ts). */
  readonly layers: SizedArchitecture;
  readonly normalizeZ: boolean;
  readonly parametrization: Parametrization;
  /**
   * f's weights: W¹..Wᴴ⁻¹ ([fan_in, n]) of its dense layers, then V_1..V_L (gWeights' column blocks), then the
   * biases ([1, width] per dense layer, [1, out_j·in_j] per block) when spec.fBiases. All trainable.
   */
  readonly params: tf.Variable[];
  /** Index in params of each dense layer's bias, then of each gWeights block's bias; empty without biases. */
  readonly biasSlots: { readonly dense: readonly number[]; readonly blocks: readonly number[] };
  /**
   * h(u) for a batch: x [B, dx], z [B, dz] → [B, k]. With `xIndex` (length B), x holds D distinct rows [D, dx]
   * and sample i reads x row xIndex[i]: f runs once per distinct row (see forwardShared). Same values as
   * expanding x to B rows first.
   */
  forward(x: tf.Tensor2D, z: tf.Tensor2D, xIndex?: Int32Array): tf.Tensor2D;
  dispose(): void;
}

/** g's weight shapes [out_j, in_j], j = 1..L: one per producedDense layer. */
const producedShapes = (g: readonly SizedLayer[]): [number, number][] =>
  g.filter((l) => l.kind === 'producedDense').map((l): [number, number] => [l.width, l.fanIn]);

/** Check a spec: positive integers everywhere. */
export function validateSpec(s: HyperNetSpec): void {
  for (const key of ['dx', 'dz', 'n', 'H', 'm', 'L', 'k'] as const) {
    const v = s[key];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`HyperNetSpec.${key} must be a positive integer, got ${v}`);
  }
  if (s.fWidths) {
    if (s.fWidths.length !== s.H - 1) throw new RangeError(`HyperNetSpec.fWidths has ${s.fWidths.length} widths, H − 1 = ${s.H - 1}`);
    if (!s.fWidths.every((w) => Number.isInteger(w) && w >= 1)) throw new RangeError(`HyperNetSpec.fWidths must be positive integers, got ${s.fWidths.join(', ')}`);
  }
  if (s.gVariant === 'paper-code' && s.L < 3) throw new RangeError(`HyperNetSpec: the paper-code g needs L ≥ 3, got ${s.L}`);
}

/** Rows divided by their Euclidean norm (zero rows stay zero). */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), 1, true));
    return tf.div(x, tf.maximum(norm, 1e-30)) as tf.Tensor2D;
  });
}

/** Everything a forward pass computes; tensors owned by the caller (use inside tf.tidy). */
export interface ForwardTrace {
  /** The input of each of f's layers (net.layers.f), [B, fanIn]: a⁰ = x̂ first; a relu's input is its pre-activation. */
  f: tf.Tensor2D[];
  /** aᴴ⁻¹, f's last hidden activation (the input of gWeights), [B, width]. */
  top: tf.Tensor2D;
  /** The input of each of g's layers (net.layers.g) as columns, [B, fanIn, 1]: b⁰ = φ(z) first. */
  g: tf.Tensor3D[];
  /** Per g layer: a producedDense layer's weights per sample [B, width, fanIn]; null for a relu. */
  wg: (tf.Tensor3D | null)[];
  /** h: [B, k]. */
  h: tf.Tensor2D;
}

/**
 * f's layers on rows [D, dx] up to its gWeights layer: returns aᴴ⁻¹ [D, width]. `trace` receives each layer's input.
 * (gWeights itself is applied block by block by g's producedDense layers: applyG.)
 */
function applyF(net: HyperNet, x: tf.Tensor2D, trace?: tf.Tensor2D[]): tf.Tensor2D {
  let a = net.parametrization === 'standard' ? x : normalizeRows(x);
  let p = 0;
  for (const l of net.layers.f) {
    trace?.push(a);
    if (l.kind === 'dense') {
      a = matMulWeight(a, net.params[p] as tf.Tensor2D);
      if (l.bias) a = tf.add(a, net.params[net.biasSlots.dense[p]]) as tf.Tensor2D;
      p++;
    } else if (l.kind === 'relu') a = scaled(tf.relu(a), activationScale(l, net.parametrization));
    else if (l.kind === 'linear') a = scaled(a, activationScale(l, net.parametrization));
    else break; // gWeights: the last layer
  }
  return a;
}

/** t·s, skipping the product when s = 1 (the standard parametrization). */
const scaled = <T extends tf.Tensor>(t: T, s: number): T => (s === 1 ? t : (tf.mul(t, s) as T));

/**
 * g's layers on G groups of P columns, b [G, dz, P], with each group's f output top [G, width]: returns h as
 * [G, k, P]. A producedDense layer's weights are top·V_j reshaped to [G, width, fanIn]. `trace` receives each layer's
 * input and `wg` each layer's weights (null for a relu).
 */
function applyG(net: HyperNet, top: tf.Tensor2D, b: tf.Tensor3D, trace?: tf.Tensor3D[], wg?: (tf.Tensor3D | null)[]): tf.Tensor3D {
  const G = top.shape[0];
  const nDense = net.layers.f.filter((l) => l.kind === 'dense').length; // V_1 follows f's dense weights in params
  let j = 0;
  for (const l of net.layers.g) {
    trace?.push(b);
    if (l.kind === 'producedDense') {
      let o = matMulWeight(top, net.params[nDense + j] as tf.Tensor2D);
      if (net.biasSlots.blocks.length > 0) o = tf.add(o, net.params[net.biasSlots.blocks[j]]) as tf.Tensor2D;
      j++;
      const w = tf.reshape(o, [G, l.width, l.fanIn]) as tf.Tensor3D;
      wg?.push(w);
      b = tf.matMul(w, b) as tf.Tensor3D; // [G, width, P]: one product per group
    } else {
      wg?.push(null);
      b = scaled(l.kind === 'relu' ? tf.relu(b) : b, activationScale(l, net.parametrization));
    }
  }
  return b;
}

/** The forward pass with every intermediate kept (for the structured empirical kernels); one x per sample. */
export function forwardTrace(net: HyperNet, x: tf.Tensor2D, z: tf.Tensor2D): ForwardTrace {
  const s = net.spec;
  const B = x.shape[0];
  const f: tf.Tensor2D[] = [];
  const top = applyF(net, x, f);
  const b0 = net.normalizeZ ? normalizeRows(z) : z;
  const g: tf.Tensor3D[] = [];
  const wg: (tf.Tensor3D | null)[] = [];
  const h = applyG(net, top, tf.reshape(b0, [B, s.dz, 1]), g, wg);
  return { f, top, g, wg, h: tf.reshape(h, [B, s.k]) as tf.Tensor2D };
}

function checkInputs(s: HyperNetSpec, x: tf.Tensor2D, z: tf.Tensor2D, xIndex?: Int32Array): void {
  if (x.rank !== 2 || x.shape[1] !== s.dx) throw new RangeError(`forward: x must be [B, ${s.dx}], got [${x.shape}]`);
  if (z.rank !== 2 || z.shape[1] !== s.dz) throw new RangeError(`forward: z must be [B, ${s.dz}], got [${z.shape}]`);
  if (!xIndex) {
    if (x.shape[0] !== z.shape[0]) throw new RangeError(`forward: x has ${x.shape[0]} rows, z has ${z.shape[0]}`);
    return;
  }
  if (xIndex.length !== z.shape[0]) throw new RangeError(`forward: xIndex has ${xIndex.length} entries, z has ${z.shape[0]} rows`);
  const D = x.shape[0];
  for (let i = 0; i < xIndex.length; i++) {
    if (!(xIndex[i] >= 0 && xIndex[i] < D)) throw new RangeError(`forward: xIndex[${i}] = ${xIndex[i]} is not a row of x (${D} rows)`);
  }
}

/**
 * How the samples of a shared-x batch are laid out for forwardShared: G groups of P slots; group g reads x row
 * groupX[g] (null: G = D and group g is row g); slot q (of G·P) holds sample slotSample[q], or N for padding;
 * sample i sits in slot sampleSlot[i]. P is the mean number of samples per used row (rounded up), and a row with
 * more samples than P gets several groups, so padding stays below G·P ≤ 2N + D slots.
 */
export interface SharedLayout {
  G: number;
  P: number;
  groupX: Int32Array | null;
  slotSample: Int32Array;
  sampleSlot: Int32Array;
}

/** The group/slot layout of samples reading x rows `xIndex` (values in [0, D)); host-side, O(N + D). */
export function sharedLayout(xIndex: Int32Array, D: number): SharedLayout {
  const N = xIndex.length;
  const counts = new Int32Array(D);
  for (let i = 0; i < N; i++) counts[xIndex[i]]++;
  let used = 0;
  for (let d = 0; d < D; d++) if (counts[d] > 0) used++;
  const P = Math.max(1, Math.ceil(N / Math.max(used, 1)));
  const firstGroup = new Int32Array(D);
  const groups: number[] = [];
  for (let d = 0; d < D; d++) {
    firstGroup[d] = groups.length;
    for (let c = 0; c < Math.ceil(counts[d] / P); c++) groups.push(d);
  }
  const G = groups.length;
  const slotSample = new Int32Array(G * P).fill(N);
  const sampleSlot = new Int32Array(N);
  const seen = new Int32Array(D);
  for (let i = 0; i < N; i++) {
    const d = xIndex[i];
    const c = seen[d]++;
    const q = (firstGroup[d] + Math.floor(c / P)) * P + (c % P);
    slotSample[q] = i;
    sampleSlot[i] = q;
  }
  const identity = G === D && groups.every((d, g) => d === g);
  return { G, P, groupX: identity ? null : Int32Array.from(groups), slotSample, sampleSlot };
}

/**
 * h(u) when samples share f's input (tensors owned by the caller; use inside tf.tidy): f runs on the D distinct
 * rows of x only; the samples are laid out in groups that share one x (sharedLayout), so each g layer is one
 * batched product of the group's weights W_gʲ [G, out_j, in_j] with its samples' columns [G, in_j, P] — the
 * per-sample g weights [B, N_g] are never formed. Padding slots read z = 0 and are dropped; the outputs go back
 * to sample order with a gather (its gradient is an UnsortedSegmentSum of [B, k]: cheap). z is data: no gradient
 * flows into the gathers of z.
 */
export function forwardShared(net: HyperNet, x: tf.Tensor2D, z: tf.Tensor2D, xIndex: Int32Array): tf.Tensor2D {
  const s = net.spec;
  const N = z.shape[0];
  const { G, P, groupX, slotSample, sampleSlot } = sharedLayout(xIndex, x.shape[0]);
  const a = applyF(net, x);
  const top = groupX ? tf.gather(a, tf.tensor1d(groupX, 'int32')) : a; // [G, width]
  const b0 = net.normalizeZ ? normalizeRows(z) : z;
  const zPad = tf.concat([b0, tf.zeros([1, s.dz])], 0);
  // b⁰ as columns per group: [G, dz, P]
  const b = applyG(net, top, tf.transpose(tf.reshape(tf.gather(zPad, tf.tensor1d(slotSample, 'int32')), [G, P, s.dz]), [0, 2, 1]));
  const hSlots = tf.reshape(tf.transpose(b, [0, 2, 1]), [G * P, s.k]);
  return (N === G * P && sampleSlotIsIdentity(sampleSlot) ? hSlots : tf.gather(hSlots, tf.tensor1d(sampleSlot, 'int32'))) as tf.Tensor2D;
}

function sampleSlotIsIdentity(q: Int32Array): boolean {
  for (let i = 0; i < q.length; i++) if (q[i] !== i) return false;
  return true;
}

/** f's weight shapes in params order: its dense layers [fan_in, width], then gWeights' blocks [fan_in, out_j·in_j]. */
export function paramShapes(s: HyperNetSpec): [number, number][] {
  return paramLayout(s).map((p) => p.shape);
}

/** Every parameter: its shape and its layer's fan_in (weights, then biases; see HyperNet.params). */
function paramLayout(s: HyperNetSpec): { shape: [number, number]; fanIn: number; bias: boolean }[] {
  const { f, g } = sizedHypernet(s);
  const weights: { shape: [number, number]; fanIn: number; bias: boolean }[] = [];
  const biases: { shape: [number, number]; fanIn: number; bias: boolean }[] = [];
  for (const l of f) {
    if (l.kind === 'dense') {
      weights.push({ shape: [l.fanIn, l.width], fanIn: l.fanIn, bias: false });
      if (l.bias) biases.push({ shape: [1, l.width], fanIn: l.fanIn, bias: true });
    }
    if (l.kind === 'gWeights') {
      for (const [o, i] of producedShapes(g)) {
        weights.push({ shape: [l.fanIn, o * i], fanIn: l.fanIn, bias: false });
        if (l.bias) biases.push({ shape: [1, o * i], fanIn: l.fanIn, bias: true });
      }
    }
  }
  return [...weights, ...biases];
}

/** `size` draws from U(−bound, bound) (PyTorch's nn.Linear init with bound 1/√fan_in), seeded by mulberry32. */
export function uniformArray(size: number, bound: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = bound * (2 * rand() - 1);
  return out;
}

/**
 * A hypernetwork with parameters drawn from `seed` by our own seeded generator (the same seed gives the same
 * weights on every backend and machine): N(0, 1) in the NTK parametrization, U(±1/√fan_in) in the standard one.
 * Uses the active backend.
 */
export function createHyperNet(spec: HyperNetSpec, seed: number, options: HyperNetOptions = {}): HyperNet {
  validateSpec(spec);
  const parametrization = spec.parametrization ?? 'ntk';
  const layout = paramLayout(spec);
  const params = layout.map(({ shape, fanIn }, i) => {
    const size = shape[0] * shape[1];
    const values = parametrization === 'standard' ? uniformArray(size, 1 / Math.sqrt(fanIn), subSeed(seed, i)) : gaussianArray(size, subSeed(seed, i));
    return tf.tidy(() => tf.variable(tf.tensor2d(values, shape), true));
  });
  const layers = sizedHypernet(spec);
  const nDense = layers.f.filter((l) => l.kind === 'dense').length;
  const firstBias = layout.findIndex((p) => p.bias);
  const biasSlots =
    firstBias < 0
      ? { dense: [], blocks: [] }
      : { dense: Array.from({ length: nDense }, (_, i) => firstBias + i), blocks: Array.from({ length: layout.length - firstBias - nDense }, (_, j) => firstBias + nDense + j) };
  const net: HyperNet = {
    spec: { ...spec },
    layers,
    normalizeZ: options.normalizeZ ?? true,
    parametrization,
    biasSlots,
    params,
    forward(x, z, xIndex) {
      checkInputs(spec, x, z, xIndex);
      return tf.tidy(() => (xIndex ? forwardShared(net, x, z, xIndex) : forwardTrace(net, x, z).h));
    },
    dispose() {
      for (const p of params) p.dispose();
    },
  };
  return net;
}
