import { HypersweepError } from '../../orchestrator/errors.js';
import type { TrialConfig } from '../config.js';

/** The shape of one hypernetwork: f: R^dx → R^{N_g} (width n, H weight layers); g: R^dz → R^k (width m, L layers). */
export interface HyperNetSpec {
  dx: number;
  dz: number;
  n: number;
  H: number;
  m: number;
  L: number;
  k: number;
}

/** MNIST images are 28×28. */
const MNIST_PIXELS = 784;
/** float32 everywhere in tfjs. */
const F32 = 4;
/** The runtime itself (wasm heap, tfjs, Node) before any tensor: a rough constant. */
const BASE_BYTES = 64 * 2 ** 20;

/** N_g = m·d_z + (L−2)·m² + k·m (L ≥ 2); k·d_z for L = 1: the number of g weights, i.e. f's output size. */
export function gWeightCount(s: Pick<HyperNetSpec, 'dz' | 'm' | 'L' | 'k'>): number {
  if (s.L === 1) return s.k * s.dz;
  return s.m * s.dz + (s.L - 2) * s.m * s.m + s.k * s.m;
}

/** Trainable parameters (all in f): dx·n + (H−2)·n² + n·N_g (H ≥ 2); dx·N_g for H = 1. */
export function fParamCount(s: HyperNetSpec): number {
  const ng = gWeightCount(s);
  if (s.H === 1) return s.dx * ng;
  return s.dx * s.n + (s.H - 2) * s.n * s.n + s.n * ng;
}

/**
 * The network a trial config describes. f's input: data.dx for `sphere`, 784 for the MNIST tasks. g's input:
 * g.rffFeatures for `rff`; for `linear`, 2 pixel coordinates (mnist-completion), a 784-pixel image
 * (mnist-rotation), data.dz otherwise.
 */
export function specFromConfig(config: TrialConfig): HyperNetSpec {
  const mnist = config.task === 'mnist-completion' || config.task === 'mnist-rotation';
  const dx = mnist ? MNIST_PIXELS : config.data.dx;
  let dz: number;
  if (config.g.input === 'rff') dz = config.g.rffFeatures;
  else if (config.task === 'mnist-completion') dz = 2;
  else if (config.task === 'mnist-rotation') dz = MNIST_PIXELS;
  else dz = config.data.dz;
  // Rotation prediction classifies into 12 bins of 30°.
  const k = config.task === 'mnist-rotation' ? Math.max(config.g.outputs, 12) : config.g.outputs;
  return { dx, dz, n: config.f.width, H: config.f.depth, m: config.g.width, L: config.g.depth, k };
}

export interface TrialCost {
  /** Peak bytes the trial is expected to hold (float32 tensors, optimizer state, probe kernels, data, runtime). */
  bytes: number;
  /** Floating-point operations of one training step (forward + backward, ≈ 3× forward). */
  flopsPerStep: number;
  /** Trainable parameters (f's weights). */
  params: number;
  /** f's output size N_g = number of g weights. */
  ngOutputs: number;
}

/** Memory and compute of a network trained on batches of `batch` samples with `probe` kernel probe points. */
export function estimateCost(
  s: HyperNetSpec,
  opts: { batch: number; probe: number; ensemble: number; optimizer: 'gd' | 'sgd' | 'adam'; dataRows: number },
): TrialCost {
  const ng = gWeightCount(s);
  const params = fParamCount(s);
  const B = opts.batch;
  // Weights + gradients + one transposed copy in the backward pass; Adam adds two moments.
  const paramCopies = 3 + (opts.optimizer === 'adam' ? 2 : 0);
  // Per-sample activations kept for backprop: f's pre/post activations, f's output and its gradient (×3 with
  // the reshape copy), g's pre/post activations, outputs.
  const perSample = 2 * s.n * Math.max(s.H - 1, 0) + 3 * ng + 2 * s.m * Math.max(s.L - 1, 0) + 2 * s.k + s.dx + s.dz;
  // Probe kernels (structured method): per-point activations and cotangents of every f layer, c(u) = ∂h/∂o and
  // the batched g per point, plus a handful of P×P float64 Grams; the MC ensemble adds one more net at a time.
  const P = opts.probe;
  const probeBytes =
    P > 0 ? F32 * P * (3 * ng + 4 * s.n * s.H + s.dx + s.dz + 4 * s.m * s.L) + 8 * P * P * 16 : 0;
  const ensembleBytes = P > 0 && opts.ensemble > 1 ? F32 * params : 0;
  const dataBytes = F32 * opts.dataRows * (s.dx + s.dz + s.k);
  const bytes = BASE_BYTES + F32 * (paramCopies * params + B * perSample) + probeBytes + ensembleBytes + dataBytes;
  // Forward: 2 FLOPs per multiply-add; f uses every parameter once per sample, g every produced weight once.
  const forward = 2 * B * (params + ng);
  return { bytes, flopsPerStep: 3 * forward, params, ngOutputs: ng };
}

/** `estimateCost` for a trial config, before anything is allocated. batchSize 0 means the full training set. */
export function estimateTrialCost(config: TrialConfig): TrialCost {
  const s = specFromConfig(config);
  const batch = config.train.batchSize > 0 ? Math.min(config.train.batchSize, config.data.nTrain) : config.data.nTrain;
  return estimateCost(s, {
    batch,
    probe: config.kernels.probe,
    ensemble: config.kernels.ensemble,
    optimizer: config.train.optimizer,
    dataRows: config.data.nTrain + config.data.nTest,
  });
}

/** A trial that would need more memory than `limits.memoryMb` allows. It can never succeed as configured. */
export class MemoryCapError extends HypersweepError {
  override name = 'MemoryCapError';
}

/** Throws MemoryCapError when the estimate exceeds config.limits.memoryMb; returns the estimate otherwise. */
export function assertWithinMemoryCap(config: TrialConfig): TrialCost {
  const cost = estimateTrialCost(config);
  const capBytes = config.limits.memoryMb * 2 ** 20;
  if (cost.bytes > capBytes) {
    const needMb = Math.ceil(cost.bytes / 2 ** 20);
    throw new MemoryCapError(
      `trial needs about ${needMb} MB (f width ${config.f.width}, depth ${config.f.depth}; g width ${config.g.width}, ` +
        `depth ${config.g.depth}; ${cost.params} parameters, N_g = ${cost.ngOutputs}) but limits.memoryMb is ` +
        `${config.limits.memoryMb}: lower the widths, batchSize or kernels.probe, or raise limits.memoryMb`,
    );
  }
  return cost;
}
