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
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
// The async kernel readers work on every backend (webgpu cannot read tensors synchronously in Node).
import { empiricalGpAsync, empiricalNtkAsync, kernelAgreement, monteCarloGpAsync, ntkMovement } from './model/index.js';
import { computeKernels, type Gram, type NetSpec } from './kernels/index.js';
import { assertWithinMemoryCap, createHyperNet, specFromConfig, subSeed, train, type HyperNet, type TrainData } from './model/index.js';
import type { TrialProgress } from './progress.js';
import type { KernelAgreement, TrialResult } from '../core/result.js';
import { buildTask, checkTaskConfig, sliceSplit, sliceSplitShared, splitPoints, type TaskData } from './tasks/index.js';
import { accuracy, lossOfPredictions, pixelMse, predictSplit } from './trial/evaluate.js';
import { completionKernelRegression } from './trial/regression.js';

export type { TrialProgress } from './progress.js';
export { trialProgressSchema } from './progress.js';

export interface RunTrialOptions {
  /** Progress reports (phase changes and training log points); must be cheap. */
  onProgress?(p: TrialProgress): void;
  /** Aborting stops the trial at the next step or phase; the promise rejects with the signal's reason (AbortError). */
  signal?: AbortSignal;
  /** Compute backend. @defaultValue 'auto' (tensorflow, then webgpu, then wasm) */
  backend?: BackendName;
}

export async function runTrial(config: TrialConfigInput | unknown, opts: RunTrialOptions = {}): Promise<TrialResult> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  let mark = t0;
  const phase = (name: string): void => {
    opts.signal?.throwIfAborted();
    opts.onProgress?.({ phase: name });
  };
  const done = (name: string): void => {
    const now = performance.now();
    timings[`${name}Ms`] = now - mark;
    mark = now;
  };

  phase('setup');
  const cfg = parseOrThrow(trialConfigSchema, config, 'trial config');
  checkTaskConfig(cfg);
  const cost = assertWithinMemoryCap(cfg);
  const backend = await selectBackend(opts.backend ?? 'auto');
  done('setup');

  phase('data');
  const data = buildTask(cfg);
  const spec = specFromConfig(cfg);
  if (spec.dx !== data.dx || spec.dz !== data.dz || spec.k !== data.k) {
    throw new Error(`runTrial: task ${cfg.task} made data of dims ${data.dx}/${data.dz}/${data.k}, network expects ${spec.dx}/${spec.dz}/${spec.k}`);
  }
  done('data');

  const owned: tf.Tensor[] = [];
  const tensor = (values: Float32Array, rows: number, cols: number): tf.Tensor2D => {
    const t = tf.tensor2d(values, [rows, cols]);
    owned.push(t);
    return t;
  };
  // RFF features are g's input as they are; raw z (sphere, rotation images) is unit-normalised by g.
  const normalizeZ = data.zInput === 'linear';
  let net: HyperNet | null = null;
  try {
    phase('init');
    net = createHyperNet(spec, cfg.seed, { normalizeZ });
    // f's input rows stay distinct (mnist-completion: one per image, shared by its pixels): f runs once per image.
    const all = sliceSplitShared(data.train, data);
    const trainData: TrainData = { x: tensor(all.x, all.d, data.dx), z: tensor(all.z, all.n, data.dz), y: tensor(all.y, all.n, data.k) };
    if (all.d < all.n) trainData.xIndex = all.xIndex;
    const P = Math.min(cfg.kernels.probe, data.train.n);
    const probeSlice = P > 0 ? sliceSplit(data.train, data, 0, P) : null;
    const probe = probeSlice
      ? { x: tensor(probeSlice.x, P, data.dx), z: tensor(probeSlice.z, P, data.dz) }
      : null;
    done('init');

    let ntk0: Gram | null = null, gp0: Gram | null = null;
    if (probe) {
      phase('kernels-init');
      ntk0 = await empiricalNtkAsync(net, probe);
      gp0 =
        cfg.kernels.ensemble > 1
          ? await monteCarloGpAsync(spec, probe, Array.from({ length: cfg.kernels.ensemble }, (_, i) => subSeed(cfg.seed, 1000 + i)), { normalizeZ })
          : await empiricalGpAsync(net, probe);
      done('kernelsInit');
    }

    phase('train');
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
    done('train');
    const diverged = outcome.status === 'diverged';

    let kernel: { init: KernelAgreement; final: KernelAgreement; movement: number } | null = null;
    if (probe && ntk0 && gp0 && probeSlice && !diverged) {
      phase('kernels-final');
      const ntkT = await empiricalNtkAsync(net, probe);
      const gpT = await empiricalGpAsync(net, probe);
      done('kernelsFinal');
      phase('analytic');
      const points = splitPoints(data.train, data.dz, 0, P);
      const netSpec: NetSpec = { fDepth: spec.H, gDepth: spec.L, zKernel: normalizeZ ? { type: 'linear' } : { type: 'dot' } };
      const exact = computeKernels(points, netSpec, 'exact');
      const paper = computeKernels(points, netSpec, 'paper-code');
      kernel = {
        init: kernelAgreement(ntk0, gp0, exact, paper),
        final: kernelAgreement(ntkT, gpT, exact, paper),
        movement: ntkMovement(ntk0, ntkT),
      };
      done('analytic');
    }

    const metrics: TrialResult['metrics'] = {
      trainLoss: outcome.finalLoss,
      testLoss: null,
      stepsRun: outcome.stepsRun,
      kernel,
      probePoints: P,
      params: cost.params,
      ngOutputs: cost.ngOutputs,
      lossDefinition: cfg.train.loss === 'mse' ? '(1/2N)·Σ‖h − y‖²' : '−(1/N)·Σ y·log softmax(h)',
    };
    if (data.task === 'mnist-rotation') metrics.testAccuracy = null;
    if (!diverged && data.test.n > 0) {
      phase('test');
      const pred = await predictSplit(net, data, data.test, cost.ngOutputs, opts.signal);
      const loss = lossOfPredictions(pred, data.test.y, data.test.n, data.k, cfg.train.loss);
      metrics.testLoss = Number.isFinite(loss) ? loss : null;
      if (data.test.labels) metrics.testAccuracy = accuracy(pred, data.test.labels, data.k);
      if (data.task === 'mnist-completion') {
        const mse = pixelMse(pred, data.test.y, data.test.hidden);
        metrics.testMseAll = mse.mseAll;
        metrics.testMseHidden = mse.mseHidden;
      }
      done('test');
    }
    if (data.task === 'mnist-completion') {
      phase('kernel-regression');
      metrics.kernelRegression = completionKernelRegression(
        data,
        { fDepth: spec.H, gDepth: spec.L, gamma: cfg.g.rffGamma, mode: cfg.kernels.mode, maxTrain: cfg.kernels.regressionMaxTrain },
        opts.signal,
      );
      done('kernelRegression');
    }
    timings.totalMs = performance.now() - t0;
    opts.onProgress?.({ phase: 'done' });
    return {
      status: diverged ? 'diverged' : 'completed',
      metrics,
      curve: outcome.curve,
      backend: backend.name,
      timings,
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

