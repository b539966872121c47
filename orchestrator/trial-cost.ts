import { regressionDrawsOf, type TrialConfig } from '../core/config.js';
import { estimateTrialCost, regressionTrainPoints, taskRows, trainingSteps } from '../worker/model/cost.js';

/**
 * How much work a trial is, by the worker's own cost model (worker/model/cost.ts, which loads no TensorFlow.js):
 * `plan`, small-first ordering and the time model (cost-model.ts) all read it, so they agree with the memory cap a
 * worker applies.
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

/**
 * A training step's fixed cost, whatever its size, in FLOP-equivalents: dispatching some fifty tfjs ops and the loss
 * read-back took ≈ 2 ms per step at the quickstart's smallest widths (2-core VM, native), where its FLOPs take 0.4 ms;
 * 2 ms at the prior's 5 GFLOP/s is 10 MFLOP.
 */
export const STEP_OVERHEAD_FLOPS = 1e7;

/**
 * The regressor of the time model (orchestrator/cost-model.ts): every FLOP a trial does, not only training.
 * Training (per-step estimate plus STEP_OVERHEAD_FLOPS, × steps or every epoch's batches; 0 steps counting 0); the empirical kernels at init and after training
 * (per probe point and output, a forward and a backward pass through f and g: 3 × 2 FLOPs per weight use, and the
 * MC ensemble's extra forwards); the test evaluation (one forward per test row); mnist-completion's kernel
 * regression (a Cholesky of R×R per kernel and draw, R³/3, and the R×784 cross products). noop: its sleep, counted as
 * FLOPs at the prior's rate (cost-model.ts reads noop separately).
 */
export function trialWork(config: TrialConfig): number {
  if (config.task === 'noop') return 0;
  const c = estimateTrialCost(config);
  const rows = taskRowsOf(config);
  const train = (c.flopsPerStep + STEP_OVERHEAD_FLOPS) * trainingSteps(config);
  const P = Math.min(config.kernels.probe, rows.train);
  const perPoint = 2 * (c.params + c.ngOutputs);
  const kernels = P > 0 ? 2 * P * perPoint * (3 * Math.max(1, config.g.outputs) + (config.kernels.ensemble - 1)) : 0;
  // one test pass at the end, or one after every epoch
  const test = 2 * (rows.testDistinct * c.params + rows.test * c.ngOutputs) * (config.train.epochs ?? 1);
  let regression = 0;
  if (config.task === 'mnist-completion') {
    const R = regressionTrainPoints(rows.train, rows.trainDistinct, config.kernels.regressionMaxTrain);
    regression = 2 * regressionDrawsOf(config) * (R ** 3 / 3 + 2 * 784 * R * rows.testDistinct);
  }
  return train + kernels + test + regression;
}

function taskRowsOf(config: TrialConfig) {
  const r = taskRows(config);
  return { train: r.train.rows, trainDistinct: r.train.distinctX, test: r.test.rows, testDistinct: r.test.distinctX };
}
