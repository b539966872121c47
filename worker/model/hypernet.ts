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
 */
import * as tf from '@tensorflow/tfjs-core';
import { reluScale, sizedHypernet, type HyperNetSpec, type SizedArchitecture, type SizedLayer } from '../kernels/index.js';
import { gaussianArray, subSeed } from './rng.js';
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
  /** f's weights: W¹..Wᴴ⁻¹ ([fan_in, n]) of its dense layers, then V_1..V_L (gWeights' column blocks). All trainable. */
  readonly params: tf.Variable[];
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
  let a = normalizeRows(x);
  let p = 0;
  for (const l of net.layers.f) {
    trace?.push(a);
    if (l.kind === 'dense') a = matMulWeight(a, net.params[p++] as tf.Tensor2D);
    else if (l.kind === 'relu') a = tf.mul(tf.relu(a), reluScale(l)) as tf.Tensor2D;
    else break; // gWeights: the last layer
  }
  return a;
}

/**
 * g's layers on G groups of P columns, b [G, dz, P], with each group's f output top [G, width]: returns h as
 * [G, k, P]. A producedDense layer's weights are top·V_j reshaped to [G, width, fanIn]. `trace` receives each layer's
 * input and `wg` each layer's weights (null for a relu).
 */
function applyG(net: HyperNet, top: tf.Tensor2D, b: tf.Tensor3D, trace?: tf.Tensor3D[], wg?: (tf.Tensor3D | null)[]): tf.Tensor3D {
  const G = top.shape[0];
  let j = net.layers.f.filter((l) => l.kind === 'dense').length; // V_1 follows f's dense weights in params
  for (const l of net.layers.g) {
    trace?.push(b);
    if (l.kind === 'producedDense') {
      const w = tf.reshape(matMulWeight(top, net.params[j++] as tf.Tensor2D), [G, l.width, l.fanIn]) as tf.Tensor3D;
      wg?.push(w);
      b = tf.matMul(w, b) as tf.Tensor3D; // [G, width, P]: one product per group
    } else {
      wg?.push(null);
      b = tf.mul(tf.relu(b), reluScale(l)) as tf.Tensor3D;
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
  const { f, g } = sizedHypernet(s);
  const shapes: [number, number][] = [];
  for (const l of f) {
    if (l.kind === 'dense') shapes.push([l.fanIn, l.width]);
    if (l.kind === 'gWeights') for (const [o, i] of producedShapes(g)) shapes.push([l.fanIn, o * i]);
  }
  return shapes;
}

/**
 * A hypernetwork with N(0, 1) weights drawn from `seed` by our own seeded generator (the same seed gives the same
 * weights on every backend and machine). Uses the active backend.
 */
export function createHyperNet(spec: HyperNetSpec, seed: number, options: HyperNetOptions = {}): HyperNet {
  validateSpec(spec);
  const params = paramShapes(spec).map((shape, i) =>
    tf.tidy(() => tf.variable(tf.tensor2d(gaussianArray(shape[0] * shape[1], subSeed(seed, i)), shape), true)),
  );
  const net: HyperNet = {
    spec: { ...spec },
    layers: sizedHypernet(spec),
    normalizeZ: options.normalizeZ ?? true,
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
