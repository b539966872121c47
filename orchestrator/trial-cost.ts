import type { TrialConfig } from '../core/config.js';
import { estimateTrialCost, trainingSteps } from '../worker/model/cost.js';

/**
 * How much work a trial is, by the worker's own cost model (worker/model/cost.ts, which loads no TensorFlow.js):
 * `plan`, small-first ordering and the local ETA all read it, so they agree with the memory cap a worker applies.
 */

/**
 * Training FLOPs of the whole trial: the worker's per-step estimate × steps (trainingSteps: with train.epochs, the
 * batches of every epoch, plus a test-set forward pass after each epoch). noop: its sleep in ms.
 */
export function trialFlops(config: TrialConfig): number {
  if (config.task === 'noop') return config.noop.sleepMs;
  const cost = estimateTrialCost(config);
  const train = cost.flopsPerStep * Math.max(trainingSteps(config), 1);
  if (config.train.epochs === undefined) return train;
  // A test row's forward pass ≈ a third of a training row's step (flopsPerStep is per batch of batchSize rows).
  const batch = config.train.batchSize > 0 && config.train.optimizer !== 'gd' ? Math.min(config.train.batchSize, config.data.nTrain) : Math.max(config.data.nTrain, 1);
  return train + (config.train.epochs * config.data.nTest * cost.flopsPerStep) / (3 * batch);
}

/** A trial's fixed cost in FLOP-equivalents: data, init, kernels, analytic kernels (~1 s at 20 GFLOP/s). */
const TRIAL_OVERHEAD_FLOPS = 2e10;

/**
 * A trial's weight in the ETA: its FLOPs plus the fixed overhead, which dominates small trials (noop: its sleep,
 * +1 so every trial counts).
 */
export function trialEtaWeight(config: TrialConfig): number {
  return trialFlops(config) + (config.task === 'noop' ? 1 : TRIAL_OVERHEAD_FLOPS);
}
