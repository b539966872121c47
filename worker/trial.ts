/**
 * runTrial: one trial of a sweep, start to finish, on the active TensorFlow.js backend. Validate the config,
 * check the memory cap (before allocating anything), pick the backend, build the task's data, build the network,
 * measure its empirical kernels on the probe points, train, measure them again, compare them with the analytic
 * kernels (exact and paper-code), evaluate on the test set, and (mnist-completion) run the paper's kernel
 * regression. Knows nothing of queues or databases; every tensor it makes is disposed before it returns.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { parseOrThrow } from '../core/errors.js';
import { selectBackend, type BackendName } from './backend/index.js';
import { gVariantOf, parametrizationOf, trialConfigSchema, type TrialConfig, type TrialConfigInput } from '../core/config.js';
import { computeKernels, type Gram, type NetSpec } from './kernels/index.js';
// The async kernel readers work on every backend (webgpu cannot read tensors synchronously in Node).
import {
  assertWithinMemoryCap,
  estimateTrialCost,
  machineMemory,
  createHyperNet,
  empiricalGpAsync,
  empiricalNtkAsync,
  kernelAgreement,
  monteCarloGpAsync,
  ntkMovement,
  specFromConfig,
  subSeed,
  train,
  trainEpochs,
  type HyperNet,
  type ProbePoints,
  type TrainData,
  type TrainOutcome,
} from './model/index.js';
import type { TrialProgress } from '../core/progress.js';
import type { KernelAgreement, TrialResult } from '../core/result.js';
import { buildTask, checkTaskConfig, sliceSplit, sliceSplitShared, splitPoints, type TaskData, type TaskSplit } from './tasks/index.js';
import { accuracy, lossOfPredictions, pixelMse, predictSplit } from './trial/evaluate.js';
import { completionKernelRegression } from './trial/regression.js';

export type { TrialProgress } from '../core/progress.js';
export { trialProgressSchema } from '../core/progress.js';

export interface RunTrialOptions {
  /** Progress reports (phase changes and training log points); must be cheap. */
  onProgress?(p: TrialProgress): void;
  /** Aborting stops the trial at the next step or phase; the promise rejects with the signal's reason (AbortError). */
  signal?: AbortSignal;
  /** Compute backend. @defaultValue 'auto' (tensorflow, then webgpu, then wasm) */
  backend?: BackendName;
}

export async function runTrial(config: TrialConfigInput | unknown, opts: RunTrialOptions = {}): Promise<TrialResult> {
  const clock = new PhaseClock(opts);
  clock.phase('setup');
  const cfg = parseOrThrow(trialConfigSchema, config, 'trial config');
  checkTaskConfig(cfg);
  assertWithinMemoryCap(cfg, undefined, machineMemory());
  // native picks its mode from the estimate: the wasm heap when the tensors fit there, host memory otherwise.
  const backend = await selectBackend(opts.backend ?? 'auto', { tensorBytes: estimateTrialCost(cfg, { name: 'wasm' }).tensorBytes });
  // The backend's own limits (the wasm heap, the GPU's buffers), before the trial allocates anything.
  const cost = assertWithinMemoryCap(cfg, backend);
  clock.done('setup');

  clock.phase('data');
  const data = buildTask(cfg);
  const spec = specFromConfig(cfg);
  if (spec.dx !== data.dx || spec.dz !== data.dz || spec.k !== data.k) {
    throw new Error(`runTrial: task ${cfg.task} made data of dims ${data.dx}/${data.dz}/${data.k}, network expects ${spec.dx}/${spec.dz}/${spec.k}`);
  }
  clock.done('data');

  const owned: tf.Tensor[] = [];
  let net: HyperNet | null = null;
  try {
    clock.phase('init');
    // RFF features are g's input as they are; raw z (sphere, rotation images) is unit-normalised by g, except in
    // the standard parametrization, which reads its inputs as given.
    const normalizeZ = data.zInput === 'linear' && parametrizationOf(cfg) === 'ntk';
    net = createHyperNet(spec, cfg.seed, { normalizeZ });
    const { trainData, probe } = trialTensors(data, Math.min(cfg.kernels.probe, data.train.n), owned);
    clock.done('init');

    const outputs = probe && cfg.kernels.initOutputs ? await initOutputs(net, probe, data) : null;
    const init = probe ? await initKernels(net, probe, cfg, clock) : null;
    const testCurve: EpochTest[] = [];
    const outcome =
      cfg.train.epochs === undefined
        ? await trainTrial(net, trainData, cfg, opts, clock)
        : await trainTrialEpochs(net, trainData, data, cfg, cost.ngOutputs, testCurve, opts, clock);
    const diverged = outcome.status === 'diverged';
    const kernel = init && probe && !diverged ? await kernelMetrics(net, probe, init, data, clock) : null;

    const metrics: TrialResult['metrics'] = {
      trainLoss: outcome.finalLoss,
      testLoss: null,
      stepsRun: outcome.stepsRun,
      kernel,
      probePoints: probe ? probe.P : 0,
      params: cost.params,
      ngOutputs: cost.ngOutputs,
      lossDefinition: cfg.train.loss === 'mse' ? '(1/2N)·Σ‖h − y‖²' : '−(1/N)·Σ y·log softmax(h)',
    };
    if (outputs) Object.assign(metrics, outputs);
    // Which network a result used, where it is not the model's (docs/model.md).
    if (parametrizationOf(cfg) !== 'ntk') metrics.parametrization = parametrizationOf(cfg);
    if (gVariantOf(cfg) !== 'model') metrics.gVariant = gVariantOf(cfg);
    if (data.task === 'mnist-rotation') metrics.testAccuracy = null;
    if (cfg.train.epochs !== undefined) {
      // Tested after every epoch: the final test metrics are the last epoch's.
      metrics.testCurve = testCurve;
      const lastTest = testCurve[testCurve.length - 1];
      if (!diverged && lastTest && lastTest.epoch === cfg.train.epochs) {
        metrics.testLoss = lastTest.testLoss;
        if (lastTest.testAccuracy !== undefined) metrics.testAccuracy = lastTest.testAccuracy;
      }
    } else if (!diverged && data.test.n > 0) Object.assign(metrics, await testMetrics(net, data, data.test, cfg, cost.ngOutputs, opts.signal, clock));
    if (data.task === 'mnist-completion') {
      clock.phase('kernel-regression');
      metrics.kernelRegression = completionKernelRegression(
        data,
        { fDepth: spec.H, gDepth: spec.L, gamma: cfg.g.rffGamma, mode: cfg.kernels.mode, maxTrain: cfg.kernels.regressionMaxTrain },
        opts.signal,
      );
      clock.done('kernelRegression');
    }
    clock.finish();
    opts.onProgress?.({ phase: 'done' });
    return {
      status: diverged ? 'diverged' : 'completed',
      metrics,
      curve: outcome.curve,
      backend: backend.name,
      timings: clock.timings,
      versions: {
        hypersweep: hypersweepVersion(),
        'tfjs-core': tf.version_core,
        backend: backend.version,
        device: backend.device,
        node: process.version,
      },
    };
  } finally {
    net?.dispose();
    tf.dispose(owned);
  }
}

/** Phase reports (each checks the abort signal first) and the wall time of each phase, as `<name>Ms`. */
class PhaseClock {
  readonly timings: Record<string, number> = {};
  private readonly t0 = performance.now();
  private mark = this.t0;

  constructor(private readonly opts: RunTrialOptions) {}

  phase(name: string): void {
    this.opts.signal?.throwIfAborted();
    this.opts.onProgress?.({ phase: name });
  }

  done(name: string): void {
    const now = performance.now();
    this.timings[`${name}Ms`] = now - this.mark;
    this.mark = now;
  }

  finish(): void {
    this.timings.totalMs = performance.now() - this.t0;
  }
}

/** The kernel probe: the first P training points. */
interface Probe extends ProbePoints {
  P: number;
}

/**
 * The training set as tensors (f's input rows stay distinct: mnist-completion has one per image, shared by its
 * pixels, so f runs once per image) and the first P training points as the kernel probe (none for P = 0). Every
 * tensor made is pushed to `owned`.
 */
function trialTensors(data: TaskData, P: number, owned: tf.Tensor[]): { trainData: TrainData; probe: Probe | null } {
  const tensor = (values: Float32Array, rows: number, cols: number): tf.Tensor2D => {
    const t = tf.tensor2d(values, [rows, cols]);
    owned.push(t);
    return t;
  };
  const all = sliceSplitShared(data.train, data);
  const trainData: TrainData = { x: tensor(all.x, all.d, data.dx), z: tensor(all.z, all.n, data.dz), y: tensor(all.y, all.n, data.k) };
  if (all.d < all.n) trainData.xIndex = all.xIndex;
  if (P === 0) return { trainData, probe: null };
  const slice = sliceSplit(data.train, data, 0, P);
  return { trainData, probe: { x: tensor(slice.x, P, data.dx), z: tensor(slice.z, P, data.dz), P } };
}

/** The empirical NTK and GP kernel at init (the GP kernel by Monte-Carlo over fresh nets when kernels.ensemble > 1). */
async function initKernels(net: HyperNet, probe: Probe, cfg: TrialConfig, clock: PhaseClock): Promise<{ ntk: Gram; gp: Gram }> {
  clock.phase('kernels-init');
  const ntk = await empiricalNtkAsync(net, probe);
  const gp =
    cfg.kernels.ensemble > 1
      ? await monteCarloGpAsync(net.spec, probe, Array.from({ length: cfg.kernels.ensemble }, (_, i) => subSeed(cfg.seed, 1000 + i)), { normalizeZ: net.normalizeZ })
      : await empiricalGpAsync(net, probe);
  clock.done('kernelsInit');
  return { ntk, gp };
}

/** The analytic kernels' NetSpec of the probe points (g's input as the network sees it). */
const probeNetSpec = (net: HyperNet): NetSpec => ({ fDepth: net.spec.H, gDepth: net.spec.L, zKernel: net.normalizeZ ? { type: 'linear' } : { type: 'dot' } });

/**
 * h(u) at the probe points at init (P × k, row-major) beside the exact K_GP(u, u) of each point: across init
 * seeds with the data fixed, the outputs' variance approaches K_GP's diagonal in the dual limit, and their excess
 * kurtosis is 15/m for n → ∞, L = 2 (docs/paper.md). Read by `hypersweep query outputs`. One number per trial
 * for claims: initOutputsExcess4 = mean over the outputs of h⁴/K_GP(u,u)² − 3, whose mean over seeds is E h⁴/K² − 3:
 * 0 for the GP, the excess kurtosis wherever Var h = K_GP(u,u) (n → ∞), so 15/m there for L = 2.
 */
async function initOutputs(
  net: HyperNet,
  probe: Probe,
  data: TaskData,
): Promise<{ initOutputs: number[]; initOutputsKgp: number[]; initOutputsExcess4: number }> {
  const h = tf.tidy(() => net.forward(probe.x, probe.z));
  const values = Array.from(await h.data());
  h.dispose();
  const gp = computeKernels(splitPoints(data.train, data.dz, 0, probe.P), probeNetSpec(net), 'exact').gp;
  const diag = Array.from({ length: probe.P }, (_, i) => gp.data[i * gp.cols + i]);
  const k = values.length / probe.P;
  let fourth = 0;
  values.forEach((h, j) => void (fourth += (h / Math.sqrt(diag[Math.floor(j / k)])) ** 4 / values.length));
  return { initOutputs: values, initOutputsKgp: diag, initOutputsExcess4: fourth - 3 };
}

/** Train with progress reports; an abort rejects with the signal's reason. */
async function trainTrial(net: HyperNet, trainData: TrainData, cfg: TrialConfig, opts: RunTrialOptions, clock: PhaseClock): Promise<TrainOutcome> {
  clock.phase('train');
  const steps = cfg.train.steps;
  opts.onProgress?.({ phase: 'train', step: 0, steps });
  const outcome = await train(
    net,
    trainData,
    { ...cfg.train, seed: subSeed(cfg.seed, 7) },
    {
      signal: opts.signal,
      onLog: (step, loss) => opts.onProgress?.({ phase: 'train', step: Math.min(step, steps), steps, loss }),
    },
  );
  if (outcome.status === 'aborted') opts.signal?.throwIfAborted();
  clock.done('train');
  return outcome;
}

/** The test metrics after one epoch (1-based); accuracy where the task has labels. */
interface EpochTest {
  epoch: number;
  testLoss: number | null;
  testAccuracy?: number;
}

/**
 * Train for train.epochs epochs, testing after each: epoch e's training and test data are the task's epoch-e
 * splits when it augments per epoch (fresh draws), else the fixed ones. Each epoch's tensors are freed after it.
 */
async function trainTrialEpochs(
  net: HyperNet,
  trainData: TrainData,
  data: TaskData,
  cfg: TrialConfig,
  ngOutputs: number,
  testCurve: EpochTest[],
  opts: RunTrialOptions,
  clock: PhaseClock,
): Promise<TrainOutcome> {
  clock.phase('train');
  const epochs = cfg.train.epochs ?? 1;
  const stepsPerEpoch = cfg.train.optimizer === 'gd' || cfg.train.batchSize === 0 ? 1 : Math.ceil(data.train.n / Math.min(cfg.train.batchSize, data.train.n));
  const steps = epochs * stepsPerEpoch;
  opts.onProgress?.({ phase: 'train', step: 0, steps });
  const splits = new Map<number, { train: TaskSplit; test: TaskSplit }>();
  const held = new Map<number, tf.Tensor[]>();
  const splitsOf = (e: number) => {
    let s = splits.get(e);
    if (!s) splits.set(e, (s = e > 0 && data.epoch ? data.epoch(e) : { train: data.train, test: data.test }));
    return s;
  };
  const outcome = await trainEpochs(
    net,
    { ...cfg.train, epochs, seed: subSeed(cfg.seed, 7) },
    {
      signal: opts.signal,
      onLog: (step, loss) => opts.onProgress?.({ phase: 'train', step: Math.min(step, steps), steps, loss }),
      data: (e) => {
        if (e === 0 || !data.epoch) return trainData;
        const owned: tf.Tensor[] = [];
        held.set(e, owned);
        return trialTensors({ ...data, train: splitsOf(e).train }, 0, owned).trainData;
      },
      releaseData: (e) => {
        tf.dispose(held.get(e) ?? []);
        held.delete(e);
        if (e > 0) splits.delete(e);
      },
      afterEpoch: async (e) => {
        const test = splitsOf(e).test;
        if (test.n === 0) return void testCurve.push({ epoch: e + 1, testLoss: null });
        const m = await testMetrics(net, data, test, cfg, ngOutputs, opts.signal);
        const point: EpochTest = { epoch: e + 1, testLoss: m.testLoss ?? null };
        if (typeof m.testAccuracy === 'number') point.testAccuracy = m.testAccuracy;
        testCurve.push(point);
        opts.onProgress?.({ phase: 'train', step: (e + 1) * stepsPerEpoch, steps });
      },
    },
  );
  for (const t of held.values()) tf.dispose(t);
  if (outcome.status === 'aborted') opts.signal?.throwIfAborted();
  clock.done('train');
  return outcome;
}

/** The empirical kernels after training, compared (at init and after) with the exact and paper-code analytic ones. */
async function kernelMetrics(
  net: HyperNet,
  probe: Probe,
  init: { ntk: Gram; gp: Gram },
  data: TaskData,
  clock: PhaseClock,
): Promise<{ init: KernelAgreement; final: KernelAgreement; movement: number }> {
  clock.phase('kernels-final');
  const ntkT = await empiricalNtkAsync(net, probe);
  const gpT = await empiricalGpAsync(net, probe);
  clock.done('kernelsFinal');
  clock.phase('analytic');
  const points = splitPoints(data.train, data.dz, 0, probe.P);
  const netSpec = probeNetSpec(net);
  const exact = computeKernels(points, netSpec, 'exact');
  const paper = computeKernels(points, netSpec, 'paper-code');
  const kernel = {
    init: kernelAgreement(init.ntk, init.gp, exact, paper),
    final: kernelAgreement(ntkT, gpT, exact, paper),
    movement: ntkMovement(init.ntk, ntkT),
  };
  clock.done('analytic');
  return kernel;
}

/** Test-set loss, and accuracy (labels) or pixel MSEs (mnist-completion) where the task has them. */
async function testMetrics(
  net: HyperNet,
  data: TaskData,
  test: TaskSplit,
  cfg: TrialConfig,
  ngOutputs: number,
  signal: AbortSignal | undefined,
  clock?: PhaseClock,
): Promise<Partial<TrialResult['metrics']>> {
  clock?.phase('test');
  const out: Partial<TrialResult['metrics']> = {};
  const pred = await predictSplit(net, data, test, ngOutputs, signal);
  const loss = lossOfPredictions(pred, test.y, test.n, data.k, cfg.train.loss);
  out.testLoss = Number.isFinite(loss) ? loss : null;
  if (test.labels) out.testAccuracy = accuracy(pred, test.labels, data.k);
  if (data.task === 'mnist-completion') {
    const mse = pixelMse(pred, test.y, test.hidden);
    out.testMseAll = mse.mseAll;
    out.testMseHidden = mse.mseHidden;
  }
  clock?.done('test');
  return out;
}

let version: string | undefined;
/** The package version, from the source tree (worker/) or the build (dist/worker/). */
function hypersweepVersion(): string {
  if (version) return version;
  const require = createRequire(import.meta.url);
  for (const p of ['../package.json', '../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'hypersweep' && pkg.version) return (version = pkg.version);
    } catch {
      // not at this level
    }
  }
  return (version = 'unknown');
}

