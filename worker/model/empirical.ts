/**
 * Empirical kernels of a finite hypernetwork on P probe points u_i = (x_i, z_i).
 *
 * - `empiricalNtk` (structured, the one trials use): Θ̂(u,u') = Σ_l (aˡ⁻¹(x)·aˡ⁻¹(x'))·(δˡ(u)·δˡ(u')), where δˡ is
 *   ∂h/∂(pre-activation of f's layer l), obtained by back-propagating c(u) = ∂h/∂o (the gradient of h with respect
 *   to g's weights) through f. The √(2/n), √(2/m) factors enter through the backprop exactly as in the forward.
 *   No Jacobian is materialised: cost O(P·forward/backward + H·P²·n).
 * - `empiricalNtkNaive`: per-point parameter gradients (tf autodiff), flattened, dotted. Tests only.
 * - `empiricalGp`: single-network GP estimate Σ̂_f(x,x')·(bᴸ⁻¹(u)·bᴸ⁻¹(u')) with Σ̂_f = aᴴ⁻¹(x)·aᴴ⁻¹(x'): in this
 *   parametrization o = Wᴴaᴴ⁻¹ with W ~ N(0,1), so Cov(o_i(x), o_i(x')) = aᴴ⁻¹(x)·aᴴ⁻¹(x') needs no extra factor.
 * - `monteCarloGp`: mean of h(u)h(u') over independent inits.
 * For k > 1 outputs every kernel is the output-averaged one, (1/k)·Σ_κ (trace/k of the k×k block); the analytic
 * kernels are ⊗ I_k, so this compares directly with them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHyperNet, forwardTrace, type ForwardTrace, type HyperNet, type HyperNetOptions, type HyperNetSpec } from './hypernet.js';
import { assertSyncReadable } from '../backend/index.js';
import { matMulBT } from '../backend/wasm-patches.js';
import type { KernelAgreement } from '../../core/result.js';
import { alignment, relFrob, reluScale, type Gram, type KernelSet } from '../kernels/index.js';

/** Probe points: x [P, dx], z [P, dz] (z already φ(z) when the net does not normalise it). */
export interface ProbePoints {
  x: tf.Tensor2D;
  z: tf.Tensor2D;
}

const gram = (a: tf.Tensor2D): tf.Tensor2D => tf.matMul(a, tf.transpose(a));

/** Σ_κ R_κ R_κᵀ for rows ordered (κ, p): R [k·P, d] → [P, P]. */
function blockGram(r: tf.Tensor2D, k: number): tf.Tensor2D {
  if (k === 1) return gram(r);
  const P = r.shape[0] / k;
  const r3 = tf.reshape(r, [k, P, r.shape[1]]);
  return tf.sum(tf.matMul(r3, tf.transpose(r3, [0, 2, 1])), 0);
}

/** Read a [P, P] float32 tensor into a float64 Gram and dispose it (sync: not on webgpu in Node). */
function readGram(t: tf.Tensor2D): Gram {
  try {
    assertSyncReadable('empirical kernels');
    return { rows: t.shape[0], cols: t.shape[1], data: Float64Array.from(t.dataSync()) };
  } finally {
    t.dispose();
  }
}

/** Read a [P, P] float32 tensor into a float64 Gram and dispose it; works on every backend. */
async function readGramAsync(t: tf.Tensor2D): Promise<Gram> {
  try {
    return { rows: t.shape[0], cols: t.shape[1], data: Float64Array.from(await t.data()) };
  } finally {
    t.dispose();
  }
}

/**
 * The structured empirical NTK as a [P, P] tensor (output-averaged for k > 1): back-propagation through the layer
 * lists, g then f, in reverse. Rows are ordered (κ, p) for the k outputs at once; δ is ∂h_κ/∂(a layer's output).
 */
export function empiricalNtkTensor(net: HyperNet, probe: ProbePoints): tf.Tensor2D {
  assertModelNet(net, 'empirical NTK');
  const k = net.spec.k;
  const P = probe.x.shape[0];
  return tf.tidy(() => {
    const T = forwardTrace(net, probe.x, probe.z);
    const rep = <R extends tf.Rank>(t: tf.Tensor<R>): tf.Tensor<R> => (k === 1 ? t : tf.tile(t, [k, ...Array(t.rank - 1).fill(1)]));
    const c = gWeightCotangents(net, T, k, P, rep);
    return k === 1 ? fNtk(net, T, c, k, rep) : (tf.div(fNtk(net, T, c, k, rep), k) as tf.Tensor2D);
  });
}

/**
 * The structured kernels follow the model's layers: NTK parametrization, no biases, a relu between g's layers. Any
 * other net (the configs refuse kernels.probe > 0 for them) is an error, never a silently wrong kernel.
 */
function assertModelNet(net: HyperNet, what: string): void {
  const other =
    net.parametrization !== 'ntk' ? 'the standard parametrization' : net.biasSlots.dense.length + net.biasSlots.blocks.length > 0 ? 'biases' : net.layers.g.some((l) => l.kind === 'linear') ? "the paper-code g" : null;
  if (other) throw new Error(`${what}: implemented for the model's NTK parametrization only, not for ${other}`);
}

type Rep = <R extends tf.Rank>(t: tf.Tensor<R>) => tf.Tensor<R>;

/**
 * c_j = ∂h_κ/∂o_j = δ_j ⊗ b^{j−1} for each producedDense layer j of g, [kP, out_j·in_j]: back-propagation from
 * δ = e_κ at g's output through its layers (producedDense: δ ← δᵀW_gʲ; relu: δ ← √(2/w)·step(pre)⊙δ).
 */
function gWeightCotangents(net: HyperNet, T: ForwardTrace, k: number, P: number, rep: Rep): tf.Tensor2D[] {
  const g = net.layers.g;
  const c: tf.Tensor2D[] = [];
  let delta = tf.reshape(tf.tile(tf.reshape(tf.eye(k), [k, 1, k]), [1, P, 1]), [k * P, k, 1]) as tf.Tensor3D;
  for (let i = g.length - 1; i >= 0; i--) {
    const l = g[i];
    const input = rep(T.g[i]); // [kP, fanIn, 1]
    if (l.kind === 'producedDense') {
      const w = T.wg[i];
      if (!w) throw new Error('empirical NTK: a producedDense layer without weights in the trace');
      c.unshift(tf.reshape(tf.matMul(delta, tf.reshape(input, [k * P, 1, l.fanIn])), [k * P, l.width * l.fanIn]));
      if (i > 0) delta = tf.reshape(tf.matMul(tf.reshape(delta, [k * P, 1, l.width]), rep(w)), [k * P, l.fanIn, 1]);
    } else {
      delta = tf.mul(tf.mul(delta, tf.step(input)), reluScale(l)) as tf.Tensor3D;
    }
  }
  return c;
}

/**
 * Θ̂ = Σ over f's weight layers of (input·input′) ⊙ (δ·δ′): gWeights' δ is the concatenation of the c_j (its Gram the
 * sum of theirs, its back-propagation Σ_j c_j V_jᵀ); then down f (relu: δ ← √(2/w)·step(pre)⊙δ; dense: δ ← δWᵀ).
 */
function fNtk(net: HyperNet, T: ForwardTrace, c: tf.Tensor2D[], k: number, rep: Rep): tf.Tensor2D {
  const f = net.layers.f;
  const nDense = f.filter((l) => l.kind === 'dense').length;
  let p = nDense; // params index just past the layer being visited
  let theta: tf.Tensor2D | null = null;
  let delta: tf.Tensor2D | null = null;
  for (let i = f.length - 1; i >= 0; i--) {
    const l = f[i];
    const input = T.f[i];
    if (l.kind === 'gWeights') {
      theta = tf.mul(gram(input), c.map((cj) => blockGram(cj, k)).reduce((a, b) => tf.add(a, b))) as tf.Tensor2D;
      if (i > 0) delta = c.map((cj, j) => matMulBT(cj, net.params[nDense + j])).reduce((a, b) => tf.add(a, b)) as tf.Tensor2D;
    } else if (l.kind === 'relu') {
      if (!delta) throw new Error('empirical NTK: f has a relu above its last layer');
      delta = tf.mul(tf.mul(delta, tf.step(rep(input))), reluScale(l)) as tf.Tensor2D;
    } else {
      if (!delta || !theta) throw new Error('empirical NTK: f has a dense layer above its last layer');
      theta = tf.add(theta, tf.mul(gram(input), blockGram(delta, k))) as tf.Tensor2D;
      p--;
      if (i > 0) delta = matMulBT(delta, net.params[p]) as tf.Tensor2D;
    }
  }
  if (!theta) throw new Error('empirical NTK: f has no gWeights layer');
  return theta;
}

/** The structured empirical NTK (output-averaged for k > 1). Leaves no tensors behind. Sync: not on webgpu. */
export function empiricalNtk(net: HyperNet, probe: ProbePoints): Gram {
  return readGram(empiricalNtkTensor(net, probe));
}

/** `empiricalNtk` with an asynchronous read: works on every backend, webgpu included. */
export async function empiricalNtkAsync(net: HyperNet, probe: ProbePoints): Promise<Gram> {
  return readGramAsync(empiricalNtkTensor(net, probe));
}

/**
 * The NTK from explicit per-point parameter gradients (autodiff, one backward per point and output): rows of the
 * Jacobian, flattened, dotted. Tests and benchmarks only. The Jacobian is held in blocks of `blockRows` rows and
 * the Gram is built block pair by block pair, so the transient copies stay one block in size.
 */
export async function empiricalNtkNaive(net: HyperNet, probe: ProbePoints, blockRows = 16): Promise<Gram> {
  const P = probe.x.shape[0];
  const k = net.spec.k;
  const R = k * P; // rows ordered (κ, p)
  const rowGrad = (r: number): tf.Tensor1D =>
    tf.tidy(() => {
      const kap = Math.floor(r / P);
      const p = r % P;
      const xp = tf.slice(probe.x, [p, 0], [1, -1]);
      const zp = tf.slice(probe.z, [p, 0], [1, -1]);
      const pick = tf.tensor2d(Array.from({ length: k }, (_, i) => (i === kap ? 1 : 0)), [1, k]);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(net.forward(xp, zp), pick)), net.params);
      value.dispose();
      return tf.concat(net.params.map((v) => tf.reshape(grads[v.name], [-1]))) as tf.Tensor1D;
    });
  const blocks: tf.Tensor2D[] = [];
  for (let r0 = 0; r0 < R; r0 += blockRows) {
    const rows: tf.Tensor1D[] = [];
    for (let r = r0; r < Math.min(R, r0 + blockRows); r++) rows.push(rowGrad(r));
    blocks.push(tf.stack(rows) as tf.Tensor2D);
    tf.dispose(rows);
  }
  const full = new Float64Array(R * R);
  for (let i = 0; i < blocks.length; i++) {
    for (let j = 0; j <= i; j++) {
      const G = tf.tidy(() => matMulBT(blocks[i], blocks[j]));
      const v = await G.data();
      G.dispose();
      const [bi, bj] = [blocks[i].shape[0], blocks[j].shape[0]];
      for (let a = 0; a < bi; a++) {
        for (let b = 0; b < bj; b++) {
          const ra = i * blockRows + a;
          const rb = j * blockRows + b;
          full[ra * R + rb] = v[a * bj + b];
          full[rb * R + ra] = v[a * bj + b];
        }
      }
    }
  }
  tf.dispose(blocks);
  // Output average: (1/k) Σ_κ of the diagonal κ-blocks.
  const data = new Float64Array(P * P);
  for (let kap = 0; kap < k; kap++) {
    for (let p = 0; p < P; p++) {
      for (let q = 0; q < P; q++) data[p * P + q] += full[(kap * P + p) * R + kap * P + q] / k;
    }
  }
  return { rows: P, cols: P, data };
}

/** Single-network GP estimate Σ̂_f(x,x')·(bᴸ⁻¹(u)·bᴸ⁻¹(u')) as a [P, P] tensor. */
export function empiricalGpTensor(net: HyperNet, probe: ProbePoints): tf.Tensor2D {
  assertModelNet(net, 'empirical GP kernel');
  const s = net.spec;
  return tf.tidy(() => {
    const T = forwardTrace(net, probe.x, probe.z);
    const P = probe.x.shape[0];
    const bTop = T.g[T.g.length - 1]; // bᴸ⁻¹: the input of g's last layer
    return tf.mul(gram(T.top), gram(tf.reshape(bTop, [P, bTop.shape[1]]))) as tf.Tensor2D;
  });
}

/** Single-network GP estimate Σ̂_f(x,x')·(bᴸ⁻¹(u)·bᴸ⁻¹(u')). Sync: not on webgpu. */
export function empiricalGp(net: HyperNet, probe: ProbePoints): Gram {
  return readGram(empiricalGpTensor(net, probe));
}

/** `empiricalGp` with an asynchronous read: works on every backend. */
export async function empiricalGpAsync(net: HyperNet, probe: ProbePoints): Promise<Gram> {
  return readGramAsync(empiricalGpTensor(net, probe));
}

/** Monte-Carlo GP kernel as a tensor: the mean over `seeds` of (1/k)·h(u)·h(u′) with fresh nets of `spec`. */
export function monteCarloGpTensor(spec: HyperNetSpec, probe: ProbePoints, seeds: readonly number[], options: HyperNetOptions = {}): tf.Tensor2D {
  if (seeds.length === 0) throw new RangeError('monteCarloGp: no seeds');
  const P = probe.x.shape[0];
  let acc: tf.Tensor2D = tf.zeros([P, P]);
  for (const seed of seeds) {
    const net = createHyperNet(spec, seed, options);
    try {
      const next = tf.tidy(() => tf.add(acc, gram(net.forward(probe.x, probe.z))) as tf.Tensor2D);
      acc.dispose();
      acc = next;
    } finally {
      net.dispose();
    }
  }
  const mean = tf.div(acc, spec.k * seeds.length) as tf.Tensor2D;
  acc.dispose();
  return mean;
}

/** Monte-Carlo GP kernel: the mean over `seeds` of (1/k)·h(u)·h(u′). Sync: not on webgpu. */
export function monteCarloGp(spec: HyperNetSpec, probe: ProbePoints, seeds: readonly number[], options: HyperNetOptions = {}): Gram {
  return readGram(monteCarloGpTensor(spec, probe, seeds, options));
}

/** `monteCarloGp` with an asynchronous read: works on every backend. */
export async function monteCarloGpAsync(spec: HyperNetSpec, probe: ProbePoints, seeds: readonly number[], options: HyperNetOptions = {}): Promise<Gram> {
  return readGramAsync(monteCarloGpTensor(spec, probe, seeds, options));
}

/** ‖Θ̂_T − Θ̂_0‖_F / ‖Θ̂_0‖_F. */
export function ntkMovement(theta0: Gram, thetaT: Gram): number {
  return relFrob(thetaT, theta0);
}

/** How an empirical NTK and GP kernel compare with the exact and the paper-code analytic kernels. */
export function kernelAgreement(empNtk: Gram, empGp: Gram, analyticExact: KernelSet, analyticPaper: KernelSet): KernelAgreement {
  return {
    ntkRelFrob: relFrob(empNtk, analyticExact.hyperkernel),
    gpRelFrob: relFrob(empGp, analyticExact.gp),
    ntkAlignment: alignment(empNtk, analyticExact.hyperkernel),
    gpAlignment: alignment(empGp, analyticExact.gp),
    paperCodeNtkRelFrob: relFrob(empNtk, analyticPaper.hyperkernel),
    paperCodeGpRelFrob: relFrob(empGp, analyticPaper.gp),
  };
}
