import { HypersweepError } from '../../core/errors.js';
import type { TrialConfig } from '../../core/config.js';
import { fParamsOf, gWeightsOf, gLayers, hiddenUnitsOf, sizeG, sizedHypernet, type HyperNetSpec } from '../kernels/index.js';

export type { HyperNetSpec } from '../kernels/index.js';

/** MNIST images are 28×28. */
const MNIST_PIXELS = 784;
/** float32 everywhere in tfjs. */
const F32 = 4;
/** The runtime itself (wasm heap, tfjs, Node) before any tensor: a rough constant. */
const BASE_BYTES = 64 * 2 ** 20;

/** N_g = m·d_z + (L−2)·m² + k·m (L ≥ 2); k·d_z for L = 1: the number of g weights, i.e. f's output size. */
export function gWeightCount(s: Pick<HyperNetSpec, 'dz' | 'm' | 'L' | 'k'>): number {
  return gWeightsOf(sizeG(gLayers(s.L), s));
}

/** Trainable parameters (all in f): dx·n + (H−2)·n² + n·N_g (H ≥ 2); dx·N_g for H = 1. */
export function fParamCount(s: HyperNetSpec): number {
  return fParamsOf(sizedHypernet(s).f);
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

/** Rows of one split of a task's data: samples (rows of z and y) and distinct rows of f's input x. */
export interface SplitRows {
  rows: number;
  distinctX: number;
}

/**
 * The rows a trial's task builds (worker/tasks), from the config alone: sphere and mnist-rotation have one x per
 * sample (data.nTrain / data.nTest rows); mnist-completion has data.nTrain images × data.pixelsPerImage training
 * rows and data.nTest images × 784 test rows, with one distinct x per image.
 */
export function taskRows(config: TrialConfig): { train: SplitRows; test: SplitRows } {
  const { nTrain, nTest } = config.data;
  if (config.task === 'mnist-completion') {
    return {
      train: { rows: nTrain * config.data.pixelsPerImage, distinctX: nTrain },
      test: { rows: nTest * MNIST_PIXELS, distinctX: nTest },
    };
  }
  return { train: { rows: nTrain, distinctX: nTrain }, test: { rows: nTest, distinctX: nTest } };
}

/** Training pixels the regression uses: whole images, at most `max` (a float64 N×N Cholesky: N³/3 flops, 8N² bytes). */
export function regressionTrainPoints(trainRows: number, images: number, max: number): number {
  const perImage = trainRows / Math.max(1, images);
  return Math.min(trainRows, Math.max(perImage, Math.floor(max / perImage) * perImage));
}

/** Bytes of float32 activations one test-evaluation chunk may hold (worker/trial/evaluate.ts). */
const EVAL_CHUNK_BYTES = 64 * 2 ** 20;

/**
 * Memory and compute of a network trained on batches of `batch` samples with `probe` kernel probe points.
 * `batchDistinctX` (default `batch`): distinct x rows in a batch; below `batch`, f runs once per distinct x and g
 * runs on groups of samples sharing one x (hypernet.ts forwardShared), never forming per-sample g weights.
 * `data`: the train/test rows held (host arrays, plus the training set as tensors); default none.
 */
export function estimateCost(
  s: HyperNetSpec,
  opts: {
    batch: number;
    batchDistinctX?: number;
    probe: number;
    ensemble: number;
    optimizer: 'gd' | 'sgd' | 'adam';
    data?: { train: SplitRows; test: SplitRows };
  },
): TrialCost {
  const arch = sizedHypernet(s);
  const ng = gWeightsOf(arch.g);
  const params = fParamsOf(arch.f);
  const B = opts.batch;
  const Dx = Math.min(opts.batchDistinctX ?? B, B);
  // Weights + gradients + one transposed copy in the backward pass; Adam adds two moments.
  const paramCopies = 3 + (opts.optimizer === 'adam' ? 2 : 0);
  // Per sample: input, and the pre- and post-activation of every hidden unit (g: and its output, twice).
  const fPerRow = 2 * hiddenUnitsOf(arch.f) + s.dx;
  const gPerRow = 2 * hiddenUnitsOf(arch.g) + 2 * s.k + s.dz;
  // Activations kept for backprop. One x per sample: f's pre/post activations, f's output and its gradient (×3
  // with the reshape copy), g's pre/post activations, outputs. Shared x: f's activations per distinct x; f's
  // output per group of samples (at most 2 groups per distinct x); g's activations per slot (at most 2 per
  // sample with the padding) plus the gathered and transposed copies of z and h.
  const activations =
    Dx < B ? Dx * fPerRow + Math.min(B, 2 * Dx) * 3 * ng + 2 * B * (gPerRow + s.dz + s.k) : B * (fPerRow + 3 * ng + gPerRow);
  // Probe kernels (structured method): per-point activations and cotangents of every f layer, c(u) = ∂h/∂o and
  // the batched g per point, plus a handful of P×P float64 Grams; the MC ensemble adds one more net at a time.
  const P = opts.probe;
  const probeBytes =
    P > 0 ? F32 * P * (3 * ng + 4 * s.n * s.H + s.dx + s.dz + 4 * s.m * s.L) + 8 * P * P * 16 : 0;
  const ensembleBytes = P > 0 && opts.ensemble > 1 ? F32 * params : 0;
  // The task's arrays on the host (x once per distinct row, z and y per sample) and the training set as tensors.
  const data = opts.data ?? { train: { rows: 0, distinctX: 0 }, test: { rows: 0, distinctX: 0 } };
  const splitFloats = (r: SplitRows) => r.distinctX * s.dx + r.rows * (s.dz + s.k);
  const dataBytes = F32 * (2 * splitFloats(data.train) + splitFloats(data.test));
  // Test predictions run in chunks of bounded memory after training (whose activations are freed by then).
  const evalPerRow = ng + s.n * s.H + s.dx + s.dz + s.m * s.L + s.k;
  const evalBytes = data.test.rows > 0 ? Math.min(EVAL_CHUNK_BYTES, F32 * data.test.rows * evalPerRow) : 0;
  const bytes =
    BASE_BYTES + F32 * paramCopies * params + Math.max(F32 * activations, evalBytes) + probeBytes + ensembleBytes + dataBytes;
  // Forward: 2 FLOPs per multiply-add; f uses its parameters once per distinct x, g every produced weight once
  // per sample.
  const forward = 2 * (Dx * params + B * ng);
  return { bytes, flopsPerStep: 3 * forward, params, ngOutputs: ng };
}

/**
 * `estimateCost` for a trial config, before anything is allocated. Batches are of training rows (taskRows: for
 * mnist-completion nTrain·pixelsPerImage, sharing nTrain distinct x); batchSize 0 means the full training set.
 */
export function estimateTrialCost(config: TrialConfig): TrialCost {
  const s = specFromConfig(config);
  const data = taskRows(config);
  const N = data.train.rows;
  const batch = config.train.optimizer !== 'gd' && config.train.batchSize > 0 ? Math.min(config.train.batchSize, N) : N;
  const cost = estimateCost(s, {
    batch,
    batchDistinctX: Math.min(batch, data.train.distinctX),
    probe: Math.min(config.kernels.probe, N),
    ensemble: config.kernels.ensemble,
    optimizer: config.train.optimizer,
    data,
  });
  if (config.task !== 'mnist-completion') return cost;
  // Kernel regression (counted on top, conservatively): the GP and hyperkernel train Grams and a Cholesky factor,
  // float64 N×N, plus one 784 × N cross block per kernel.
  const R = regressionTrainPoints(N, data.train.distinctX, config.kernels.regressionMaxTrain);
  return { ...cost, bytes: cost.bytes + 8 * (3 * R * R + 2 * MNIST_PIXELS * R) };
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
