import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { HypersweepError } from '../../core/errors.js';
import { nativeHostMemory, WASM_HEAP_MAX_BYTES } from '../../core/backend.js';
import { gVariantOf, parametrizationOf, type TrialConfig } from '../../core/config.js';
import { fParamsOf, gWeightsOf, gLayers, hiddenUnitsOf, sizeG, sizedHypernet, type HyperNetSpec } from '../kernels/index.js';

export type { HyperNetSpec } from '../kernels/index.js';

/** MNIST images are 28×28. */
const MNIST_PIXELS = 784;
/** float32 everywhere in tfjs. */
const F32 = 4;
/**
 * The runtime itself before any tensor: Node, tfjs and the wasm module, onnxruntime for the native backend. A tiny
 * trial peaks at 84 MB RSS on wasm and 118–124 MB on native (Node 20, x86-64).
 */
const BASE_BYTES = 144 * 2 ** 20;

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
  const spec: HyperNetSpec = { dx, dz, n: config.f.width, H: config.f.depth, m: config.g.width, L: config.g.depth, k };
  // Beyond the model: only when set, so a model config's spec is what it always was.
  if (config.f.widths) spec.fWidths = [...config.f.widths];
  if (config.f.biases) spec.fBiases = true;
  if (gVariantOf(config) !== 'model') spec.gVariant = gVariantOf(config);
  if (parametrizationOf(config) !== 'ntk') spec.parametrization = parametrizationOf(config);
  return spec;
}

/** f's hidden units per row as the estimates count them: n·H, or with explicit widths their sum plus the largest. */
const fUnits = (s: HyperNetSpec): number => (s.fWidths ? s.fWidths.reduce((a, b) => a + b, 0) + s.n : s.n * s.H);

export interface TrialCost {
  /** Peak bytes the trial is expected to hold (float32 tensors, optimizer state, probe kernels, data, runtime). */
  bytes: number;
  /** The part of `bytes` held as tensors (on wasm and native: in the wasm heap; on webgpu: GPU buffers). */
  tensorBytes: number;
  /** The largest single tensor (f's last weight matrix, its gradient, or one batch of f's outputs). */
  largestTensorBytes: number;
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

/**
 * Peak RSS over the bytes counted, measured (test/scale.test.ts runs every config key's extreme in a child process):
 * the wasm heap grows in steps and never shrinks, and keeps freed blocks fragmented, and native's MLAS packs its
 * large operands outside it (at 38 M parameters a trial peaked at 703 MB on native: 1.5 × its tensors plus the
 * runtime); a host array dropped by the task generators, evaluation or kernels stays resident until V8 collects
 * it, so host arrays count twice.
 */
const TENSOR_SLACK = 1.5;
/**
 * Host-memory mode (native on JS arrays, worker/backend/native-host.ts): no heap to fragment, and a freed array is
 * returned to the system when V8 collects it; arrays awaiting collection (the cpu kernels' temporaries, the native
 * binding's ≤ 16 MB output copies) add a bounded amount. Measured: the 1.08 G-parameter example peaked at 0.96 ×
 * its tensors + the runtime, a 38 M-parameter trial at 1.36 × (test/scale.test.ts).
 */
const HOST_TENSOR_SLACK = 1.1;
const HOST_GC_BYTES = 192 * 2 ** 20;
const ROW_OVERHEAD = 1024;
const HOST_SLACK = 2;

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
    /** Host-memory mode: weights updated in place, products read their operands untransposed. */
    hostMemory?: boolean;
  },
): TrialCost {
  const arch = sizedHypernet(s);
  const ng = gWeightsOf(arch.g);
  const params = fParamsOf(arch.f);
  const B = opts.batch;
  const Dx = Math.min(opts.batchDistinctX ?? B, B);
  // Weights + gradients + one transposed copy in the backward pass (none in host-memory mode: the native products
  // take transpose flags, and the update is in place); Adam adds two moments.
  const paramCopies = (opts.hostMemory ? 2 : 3) + (opts.optimizer === 'adam' ? 2 : 0);
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
  // the batched g per point, plus a handful of float64 Grams of P·k rows (one row per point and output); the MC
  // ensemble adds one more net at a time.
  const P = opts.probe;
  const probeBytes =
    P > 0 ? F32 * P * (3 * ng + 4 * fUnits(s) + s.dx + s.dz + 4 * s.m * s.L) + 8 * 16 * (P * s.k) ** 2 : 0;
  const ensembleBytes = P > 0 && opts.ensemble > 1 ? F32 * params : 0;
  // The task's arrays on the host (x once per distinct row, z and y per sample) and the training set as tensors.
  const data = opts.data ?? { train: { rows: 0, distinctX: 0 }, test: { rows: 0, distinctX: 0 } };
  const splitFloats = (r: SplitRows) => r.distinctX * s.dx + r.rows * (s.dz + s.k);
  // Per row, beside its floats: a typed array per distinct x, indices, the row's share of copies (measured).
  const dataBytes = F32 * (2 * splitFloats(data.train) + splitFloats(data.test)) + ROW_OVERHEAD * (data.train.rows + data.test.rows);
  // Test predictions run in chunks of bounded memory after training (whose activations are freed by then).
  const evalPerRow = ng + fUnits(s) + s.dx + s.dz + s.m * s.L + s.k;
  const evalBytes = data.test.rows > 0 ? Math.min(EVAL_CHUNK_BYTES, F32 * data.test.rows * evalPerRow) : 0;
  const trainTensorBytes = F32 * splitFloats(data.train);
  const tensorBytes =
    F32 * paramCopies * params + Math.max(F32 * activations, evalBytes) + probeBytes + ensembleBytes + trainTensorBytes;
  const bytes = BASE_BYTES + (opts.hostMemory ? HOST_GC_BYTES + HOST_TENSOR_SLACK * tensorBytes : TENSOR_SLACK * tensorBytes) + HOST_SLACK * (dataBytes - trainTensorBytes);
  const lastF = arch.f[arch.f.length - 1];
  const largestTensorBytes = F32 * Math.max(lastF.fanIn * lastF.width, Math.min(B, 2 * Dx) * ng, P * ng);
  // Forward: 2 FLOPs per multiply-add; f uses its parameters once per distinct x, g every produced weight once
  // per sample.
  const forward = 2 * (Dx * params + B * ng);
  return { bytes, tensorBytes, largestTensorBytes, flopsPerStep: 3 * forward, params, ngOutputs: ng };
}

/**
 * `estimateCost` for a trial config, before anything is allocated. Batches are of training rows (taskRows: for
 * mnist-completion nTrain·pixelsPerImage, sharing nTrain distinct x); batchSize 0 means the full training set.
 */
export function estimateTrialCost(config: TrialConfig, backend?: BackendMemory): TrialCost {
  const cost = trialCost(config, false);
  return runsInHostMemory(cost, backend) ? trialCost(config, true) : cost;
}

/**
 * Whether a trial runs in native's host-memory mode: on that backend, or when the backend is native or not yet
 * chosen and native would pick that mode for these tensors (over the wasm heap, or over 1 GiB: core/backend.ts).
 */
function runsInHostMemory(heapCost: TrialCost, backend?: BackendMemory): boolean {
  if (backend?.hostMemory !== undefined) return backend.hostMemory;
  return (!backend || backend.name === 'native') && nativeHostMemory(heapCost.tensorBytes);
}

function trialCost(config: TrialConfig, hostMemory: boolean): TrialCost {
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
    hostMemory,
  });
  return { ...cost, bytes: cost.bytes + HOST_SLACK * taskHostBytes(config) };
}

/**
 * Updates a config's training makes: train.steps, or with train.epochs one per batch of every epoch (the last
 * batch of an epoch may be smaller; gd and batchSize 0 take one step per epoch).
 */
export function trainingSteps(config: TrialConfig): number {
  if (config.train.epochs === undefined) return config.train.steps;
  const N = taskRows(config).train.rows;
  const B = config.train.optimizer === 'gd' || config.train.batchSize === 0 ? N : Math.min(config.train.batchSize, N);
  return config.train.epochs * Math.ceil(N / Math.max(B, 1));
}

/** Raw bytes of the MNIST files (uint8 images), held once as read and once parsed. */
const MNIST_FILE_BYTES = 70_000 * MNIST_PIXELS;
/** The sphere teacher's widths (worker/tasks/sphere.ts). */
const TEACHER_F_WIDTH = 32;
const TEACHER_G_WIDTH = 16;

/**
 * Host memory a task's generator and the trial's float64 work hold besides the network's data rows (worker/tasks):
 * the random Fourier feature matrix Ω (float64, g.rffFeatures × the raw input size: data.dz for sphere, 784 for
 * mnist-rotation, 2 for mnist-completion) and one raw z; sphere's teacher network in float64 (its g reads the raw
 * z of data.dz values, whatever g.input); the MNIST files; mnist-completion's kernel regression (GP and hyperkernel
 * train Grams and a Cholesky factor, float64 R×R, plus one 784 × R cross block per kernel); with data.augment
 * 'per-epoch', the current epoch's data beside epoch 0's.
 */
export function taskHostBytes(config: TrialConfig): number {
  let bytes = 0;
  const rawZ = config.task === 'sphere' ? config.data.dz : config.task === 'mnist-rotation' ? MNIST_PIXELS : 2;
  if (config.g.input === 'rff' || config.task === 'mnist-completion') bytes += 8 * config.g.rffFeatures * rawZ;
  if (config.task === 'sphere') {
    // one raw z (float64 and float32) while each row is drawn
    bytes += 12 * rawZ;
    if (config.data.target === 'teacher') {
      const ng = TEACHER_G_WIDTH * rawZ + config.g.outputs * TEACHER_G_WIDTH;
      // w1, w2 and one output vector o per call
      bytes += 8 * (TEACHER_F_WIDTH * config.data.dx + (TEACHER_F_WIDTH + 1) * ng);
    }
  } else {
    bytes += 2 * MNIST_FILE_BYTES;
  }
  if (config.task === 'mnist-completion') {
    const data = taskRows(config);
    const R = regressionTrainPoints(data.train.rows, data.train.distinctX, config.kernels.regressionMaxTrain);
    bytes += 8 * (3 * R * R + 2 * MNIST_PIXELS * R);
  }
  if (config.data.augment === 'per-epoch') {
    // The current epoch's splits beside epoch 0's (x and z rows, targets), and its training tensors.
    const dz = config.g.input === 'rff' ? config.g.rffFeatures : MNIST_PIXELS;
    const rows = config.data.nTrain + config.data.nTest;
    bytes += F32 * rows * (MNIST_PIXELS + dz + 12) + F32 * config.data.nTrain * (MNIST_PIXELS + dz + 12) + 1024 * rows;
  }
  return bytes;
}

/** A trial that would need more memory than `limits.memoryMb`, the machine or its backend allows. It can never succeed as configured. */
export class MemoryCapError extends HypersweepError {
  override name = 'MemoryCapError';
}

/** The wasm heap's size (core/backend.ts): every tensor of `wasm`, and of `native` in its wasm-heap mode. */
export { WASM_HEAP_MAX_BYTES };

/** What the compute backend can hold; from worker/backend's BackendInfo. */
export interface BackendMemory {
  name: string;
  /** WebGPU adapter limits, when known: the largest buffer, and the largest buffer one shader may bind. */
  gpu?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
  /** native's mode, once chosen: true in host memory (no wasm heap limit), false in the wasm heap. */
  hostMemory?: boolean;
}

/** This machine's memory: total and available now (/proc/meminfo MemAvailable; os.freemem elsewhere). */
export interface MachineMemory {
  totalBytes: number;
  availableBytes: number;
}

export function machineMemory(): MachineMemory {
  let available = freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: os.freemem
  }
  return { totalBytes: totalmem(), availableBytes: available };
}

/** One limit a trial's estimate is checked against. */
interface MemoryLimit {
  /** In words, for the message: 'limits.memoryMb is 4096'. */
  what: string;
  bytes: number;
  /** Which part of the estimate the limit bounds. */
  of: 'bytes' | 'tensorBytes' | 'largestTensorBytes';
}

/**
 * The limits a trial must fit, the hardest first: the backend's (the wasm heap for wasm and native; the adapter's
 * buffer limits for webgpu), limits.memoryMb, and the machine's available memory (when `machine` is given).
 */
export function memoryLimits(config: TrialConfig, backend?: BackendMemory, machine?: MachineMemory): MemoryLimit[] {
  const mb = (b: number) => `${Math.floor(b / 2 ** 20)} MB`;
  const out: MemoryLimit[] = [];
  if (backend?.name === 'wasm' || (backend?.name === 'native' && backend.hostMemory === false)) {
    out.push({ what: `backend ${backend.name} keeps every tensor in the wasm heap, at most ${mb(WASM_HEAP_MAX_BYTES)} (wasm32)`, bytes: WASM_HEAP_MAX_BYTES, of: 'tensorBytes' });
  }
  if (backend?.gpu) {
    const { maxBufferSize, maxStorageBufferBindingSize } = backend.gpu;
    out.push({ what: `the GPU's maxBufferSize is ${mb(maxBufferSize)}`, bytes: maxBufferSize, of: 'largestTensorBytes' });
    out.push({ what: `the GPU's maxStorageBufferBindingSize is ${mb(maxStorageBufferBindingSize)}`, bytes: maxStorageBufferBindingSize, of: 'largestTensorBytes' });
  }
  out.push({ what: `limits.memoryMb is ${config.limits.memoryMb}`, bytes: config.limits.memoryMb * 2 ** 20, of: 'bytes' });
  if (machine) {
    out.push({ what: `this machine has ${mb(machine.availableBytes)} available (of ${mb(machine.totalBytes)})`, bytes: machine.availableBytes, of: 'bytes' });
  }
  return out;
}

const fits = (config: TrialConfig, limits: readonly MemoryLimit[], backend?: BackendMemory) => {
  const cost = estimateTrialCost(config, backend);
  return limits.every((l) => cost[l.of] <= l.bytes);
};

/** The largest width on the doubling ladder 1, 2, 4, … below `width` for which `ok` holds; 0 when none does. */
function largestOnLadder(width: number, ok: (w: number) => boolean): number {
  let best = 0;
  for (let w = 1; w < width; w *= 2) if (ok(w)) best = w;
  return best;
}

/** 'f.width ≤ 512 (at g.width 1024) or g.width ≤ 256 (at f.width 1024)': the widths that fit, in words. */
export function widthsThatFit(config: TrialConfig, limits: readonly MemoryLimit[], backend?: BackendMemory): string {
  const f = largestOnLadder(config.f.width, (w) => fits({ ...config, f: { ...config.f, width: w } }, limits, backend));
  const g = largestOnLadder(config.g.width, (w) => fits({ ...config, g: { ...config.g, width: w } }, limits, backend));
  const parts: string[] = [];
  if (f) parts.push(`f.width ${f} (at g.width ${config.g.width})`);
  if (g) parts.push(`g.width ${g} (at f.width ${config.f.width})`);
  return parts.length > 0
    ? `the biggest that fit: ${parts.join(' or ')}`
    : 'no f.width or g.width on the doubling ladder fits: lower the data sizes, batchSize or kernels.probe';
}

/**
 * Throws MemoryCapError (one line: the limit, the estimate, the biggest widths that fit) when the estimate exceeds
 * limits.memoryMb, the machine's available memory (`machine`), or the backend's own limit; returns the estimate.
 * Nothing is allocated: call it before building data or tensors.
 */
export function assertWithinMemoryCap(config: TrialConfig, backend?: BackendMemory, machine?: MachineMemory): TrialCost {
  const cost = estimateTrialCost(config, backend);
  const limits = memoryLimits(config, backend, machine);
  const over = limits.find((l) => cost[l.of] > l.bytes);
  if (over) {
    const needMb = Math.ceil(cost[over.of] / 2 ** 20);
    const need = over.of === 'bytes' ? '' : over.of === 'tensorBytes' ? ' of tensors' : ' for its largest tensor';
    throw new MemoryCapError(
      `trial needs about ${needMb} MB${need} (f width ${config.f.width}, depth ${config.f.depth}; g width ${config.g.width}, ` +
        `depth ${config.g.depth}; ${cost.params} parameters, N_g = ${cost.ngOutputs}) but ${over.what}: ` +
        `${widthsThatFit(config, limits, backend)}`,
    );
  }
  return cost;
}
