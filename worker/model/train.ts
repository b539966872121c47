/**
 * Training a HyperNet: full-batch GD, minibatch SGD (seeded shuffling) or Adam, on MSE or softmax
 * cross-entropy. Losses:
 *   mse:  L = (1/2N) Σ_i ‖h(u_i) − y_i‖²      (half the squared error, summed over outputs, mean over samples)
 *   xent: L = −(1/N) Σ_i Σ_c y_ic log softmax(h(u_i))_c     (y one-hot or a distribution)
 * A non-finite loss stops training with status 'diverged' (no throw); an aborted signal with 'aborted'. The loss
 * is read only at logged steps (every logEvery) and the last step, so divergence is detected there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertSyncReadable } from '../backend/index.js';
import { makeOptimizer } from '../backend/native-host.js';
import type { HyperNet } from './hypernet.js';
import { mulberry32, permutation } from './rng.js';

export type LossName = 'mse' | 'xent';

export interface TrainData {
  /** f's input: [N, dx], one row per sample; or, with xIndex, [D, dx] distinct rows shared by the samples. */
  x: tf.Tensor2D;
  /** [N, dz]. */
  z: tf.Tensor2D;
  /** [N, k]: regression targets, or one-hot / probability rows for 'xent'. */
  y: tf.Tensor2D;
  /**
   * Optional, length N, values in [0, D): sample i reads x row xIndex[i]. f then runs once per distinct x in a
   * (mini)batch and g on the samples grouped by x (HyperNet.forward with xIndex; e.g. mnist-completion: one
   * image, many pixels). Same loss and gradients as expanding x to N rows.
   */
  xIndex?: Int32Array;
}

/** A batch as forward takes it: the same shape as TrainData (x has one row per sample unless xIndex is set). */
type Batch = TrainData;

/** Number of samples (rows of z and y). */
function sampleCount(data: TrainData): number {
  return data.z.shape[0];
}

function checkData(data: TrainData): void {
  const N = sampleCount(data);
  if (data.y.shape[0] !== N) throw new RangeError(`train: z has ${N} rows, y has ${data.y.shape[0]}`);
  if (!data.xIndex) {
    if (data.x.shape[0] !== N) throw new RangeError(`train: x has ${data.x.shape[0]} rows, z has ${N}`);
    return;
  }
  if (data.xIndex.length !== N) throw new RangeError(`train: xIndex has ${data.xIndex.length} entries, z has ${N} rows`);
  const D = data.x.shape[0];
  for (let i = 0; i < N; i++) {
    const r = data.xIndex[i];
    if (!(r >= 0 && r < D)) throw new RangeError(`train: xIndex[${i}] = ${r} is not a row of x (${D} rows)`);
  }
}

/**
 * The samples `idx` as a batch (new tensors; the caller disposes them). With data.xIndex, x holds only the
 * distinct rows these samples read, in order of first use, and xIndex maps each sample to one of them.
 */
function gatherBatch(data: TrainData, idx: Int32Array): Batch {
  const rowsT = tf.tensor1d(idx, 'int32');
  try {
    const z = tf.gather(data.z, rowsT);
    const y = tf.gather(data.y, rowsT);
    if (!data.xIndex) return { x: tf.gather(data.x, rowsT), z, y };
    const slot = new Int32Array(data.x.shape[0]).fill(-1);
    const distinct: number[] = [];
    const local = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) {
      const r = data.xIndex[idx[i]];
      if (slot[r] < 0) {
        slot[r] = distinct.length;
        distinct.push(r);
      }
      local[i] = slot[r];
    }
    const x = tf.tidy(() => tf.gather(data.x, tf.tensor1d(distinct, 'int32')));
    return { x, z, y, xIndex: local };
  } finally {
    rowsT.dispose();
  }
}

function disposeBatch(b: Batch): void {
  tf.dispose([b.x, b.z, b.y]);
}

function batchLoss(net: HyperNet, b: Batch, loss: LossName): tf.Scalar {
  return lossOf(net.forward(b.x, b.z, b.xIndex), b.y, loss);
}

export interface TrainOptions {
  /** gd: full batch every step (batchSize ignored); sgd/adam: minibatches of batchSize (0 = full batch). */
  optimizer: 'gd' | 'sgd' | 'adam';
  lr: number;
  steps: number;
  /** Minibatch size for sgd/adam; 0 or ≥ N means full batch. */
  batchSize: number;
  loss: LossName;
  /** Record the (minibatch) loss every this many steps, starting at step 0. */
  logEvery: number;
  /** Seeds the minibatch order. */
  seed: number;
}

export interface TrainHooks {
  /** Called with each recorded curve point. */
  onLog?(step: number, loss: number): void;
  signal?: AbortSignal;
}

export interface TrainOutcome {
  status: 'completed' | 'diverged' | 'aborted';
  /** [step, loss]: the loss of the batch used at `step`, before that step's update; the last point is the full
   *  training loss after the last update (unless diverged). Finite values only. */
  curve: [number, number][];
  /** Updates applied (on divergence: including the step whose loss was first seen non-finite). */
  stepsRun: number;
  /** Full training-set loss after training; null when diverged. */
  finalLoss: number | null;
}

/** The loss of predictions `h` against `y` as a scalar tensor. */
export function lossOf(h: tf.Tensor2D, y: tf.Tensor2D, loss: LossName): tf.Scalar {
  return tf.tidy(() => {
    const N = h.shape[0];
    if (loss === 'mse') return tf.mul(tf.sum(tf.square(tf.sub(h, y))), 0.5 / N) as tf.Scalar;
    return tf.mul(tf.sum(tf.mul(y, tf.logSoftmax(h))), -1 / N) as tf.Scalar;
  });
}

/** Rows [r0, r0 + n) of data without xIndex as a batch (slices; the caller disposes them). */
function rows(data: TrainData, r0: number, n: number): Batch {
  return {
    x: tf.slice(data.x, [r0, 0], [n, -1]),
    z: tf.slice(data.z, [r0, 0], [n, -1]),
    y: tf.slice(data.y, [r0, 0], [n, -1]),
  };
}

/** The loss of the whole data set as a scalar tensor, in chunks of at most `chunk` rows (bounded memory). */
function datasetLoss(net: HyperNet, data: TrainData, loss: LossName, chunk: number): tf.Scalar {
  checkData(data);
  const N = sampleCount(data);
  if (N <= chunk) return tf.tidy(() => batchLoss(net, data, loss));
  let total = tf.scalar(0);
  for (let r0 = 0; r0 < N; r0 += chunk) {
    const n = Math.min(chunk, N - r0);
    const next = tf.tidy(() => {
      const d = data.xIndex ? gatherBatch(data, Int32Array.from({ length: n }, (_, i) => r0 + i)) : rows(data, r0, n);
      return tf.add(total, tf.mul(batchLoss(net, d, loss), n / N)) as tf.Scalar;
    });
    total.dispose();
    total = next;
  }
  return total;
}

/** The loss of the whole data set, evaluated `chunk` rows at a time. Sync read: not on webgpu (use evaluateLossAsync). */
export function evaluateLoss(net: HyperNet, data: TrainData, loss: LossName, chunk = 1024): number {
  assertSyncReadable('evaluateLoss');
  const t = datasetLoss(net, data, loss, chunk);
  try {
    return t.dataSync()[0];
  } finally {
    t.dispose();
  }
}

/** `evaluateLoss` with an asynchronous read: works on every backend. */
export async function evaluateLossAsync(net: HyperNet, data: TrainData, loss: LossName, chunk = 1024): Promise<number> {
  const t = datasetLoss(net, data, loss, chunk);
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}

function checkOptions(o: TrainOptions, N: number): void {
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new RangeError(`train: lr must be a positive number, got ${o.lr}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new RangeError(`train: steps must be an integer ≥ 0, got ${o.steps}`);
  if (!Number.isInteger(o.logEvery) || o.logEvery < 1) throw new RangeError(`train: logEvery must be ≥ 1, got ${o.logEvery}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 0) throw new RangeError(`train: batchSize must be ≥ 0, got ${o.batchSize}`);
  if (N < 1) throw new RangeError('train: no training data');
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Train `net` in place. Never throws on divergence; honours `hooks.signal` between steps. */
export async function train(net: HyperNet, data: TrainData, opts: TrainOptions, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const N = sampleCount(data);
  checkOptions(opts, N);
  checkData(data);
  const B = opts.optimizer === 'gd' || opts.batchSize === 0 ? N : Math.min(opts.batchSize, N);
  // tfjs's SGD/Adam; in native's host-memory mode they update the weights in place (same floats).
  const optimizer = makeOptimizer(opts.optimizer === 'adam' ? 'adam' : 'sgd', opts.lr);
  const rand = mulberry32(opts.seed);
  let perm = permutation(N, rand);
  let pos = 0;
  const curve: [number, number][] = [];
  let status: TrainOutcome['status'] = 'completed';
  let stepsRun = 0;
  const full = B < N ? null : data;
  try {
    for (let step = 0; step < opts.steps; step++) {
      if (hooks.signal?.aborted) {
        status = 'aborted';
        break;
      }
      let batch: Batch;
      if (full) batch = full;
      else {
        if (pos + B > N) {
          perm = permutation(N, rand);
          pos = 0;
        }
        batch = gatherBatch(data, perm.subarray(pos, pos + B));
        pos += B;
      }
      const lossT = optimizer.minimize(() => batchLoss(net, batch, opts.loss), true, net.params);
      if (!full) disposeBatch(batch);
      stepsRun++;
      // The loss is read (a GPU→CPU sync on webgpu) only at logged steps and the last one. Non-finite weights stay
      // non-finite, so divergence is still caught, at most logEvery − 1 steps late.
      const logged = step % opts.logEvery === 0;
      if (logged || step === opts.steps - 1) {
        const lv = lossT ? (await lossT.data())[0] : NaN; // async read: webgpu has no sync read in Node
        lossT?.dispose();
        if (!Number.isFinite(lv)) {
          status = 'diverged';
          break;
        }
        if (logged) {
          curve.push([step, lv]);
          hooks.onLog?.(step, lv);
        }
      } else lossT?.dispose();
      await nextTick(); // lets an abort (or a lock renewal) in
    }
  } finally {
    optimizer.dispose();
  }
  if (status === 'diverged') return { status, curve, stepsRun, finalLoss: null };
  const finalLoss = await evaluateLossAsync(net, data, opts.loss, Math.max(B, 1024));
  if (!Number.isFinite(finalLoss)) return { status: 'diverged', curve, stepsRun, finalLoss: null };
  if (curve.length === 0 || curve[curve.length - 1][0] !== stepsRun) {
    curve.push([stepsRun, finalLoss]);
    hooks.onLog?.(stepsRun, finalLoss);
  }
  return { status, curve, stepsRun, finalLoss };
}

export interface EpochTrainOptions extends Omit<TrainOptions, 'steps'> {
  /** Passes over the training set, each in a fresh random order (the last batch of a pass may be smaller). */
  epochs: number;
}

export interface EpochTrainHooks extends TrainHooks {
  /** The training data of epoch e (0-based): the same samples each time, or fresh draws (augmentation). */
  data(epoch: number): TrainData;
  /** Called after epoch e's last update (e.g. a test evaluation); awaited before the next epoch. */
  afterEpoch?(epoch: number): Promise<void>;
  /** The caller is done with epoch e's data (it may dispose it). */
  releaseData?(epoch: number): void;
}

/**
 * Train `net` in place for a number of epochs: every epoch takes its data from `hooks.data(e)` and visits each
 * sample once, in minibatches of batchSize (0 or gd: the whole set, one step per epoch). Steps count updates over
 * all epochs; the curve and divergence rules are train()'s. The final loss is on the last epoch's data.
 */
export async function trainEpochs(net: HyperNet, opts: EpochTrainOptions, hooks: EpochTrainHooks): Promise<TrainOutcome> {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new RangeError(`train: epochs must be an integer ≥ 1, got ${opts.epochs}`);
  const optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.lr) : tf.train.sgd(opts.lr);
  const rand = mulberry32(opts.seed);
  const curve: [number, number][] = [];
  let status: TrainOutcome['status'] = 'completed';
  let step = 0;
  let last: TrainData | null = null;
  let lastEpoch = -1;
  try {
    for (let e = 0; e < opts.epochs && status === 'completed'; e++) {
      if (last) hooks.releaseData?.(lastEpoch);
      const data = hooks.data(e);
      last = data;
      lastEpoch = e;
      const N = sampleCount(data);
      checkOptions({ ...opts, steps: 0 }, N);
      checkData(data);
      const B = opts.optimizer === 'gd' || opts.batchSize === 0 ? N : Math.min(opts.batchSize, N);
      const perm = permutation(N, rand);
      for (let pos = 0; pos < N; pos += B, step++) {
        if (hooks.signal?.aborted) {
          status = 'aborted';
          break;
        }
        const batch = B === N ? data : gatherBatch(data, perm.subarray(pos, Math.min(pos + B, N)));
        const lossT = optimizer.minimize(() => batchLoss(net, batch, opts.loss), true, net.params);
        if (batch !== data) disposeBatch(batch);
        // Read at logged steps and at each epoch's last step (so an epoch never ends unnoticed in divergence).
        const logged = step % opts.logEvery === 0;
        if (logged || pos + B >= N) {
          const lv = lossT ? (await lossT.data())[0] : NaN;
          lossT?.dispose();
          if (!Number.isFinite(lv)) {
            status = 'diverged';
            step++;
            break;
          }
          if (logged) {
            curve.push([step, lv]);
            hooks.onLog?.(step, lv);
          }
        } else lossT?.dispose();
        await nextTick();
      }
      if (status === 'completed') await hooks.afterEpoch?.(e);
    }
  } finally {
    optimizer.dispose();
  }
  if (status === 'diverged' || !last) {
    if (last) hooks.releaseData?.(lastEpoch);
    return { status: status === 'completed' ? 'diverged' : status, curve, stepsRun: step, finalLoss: null };
  }
  const finalLoss = status === 'aborted' ? null : await evaluateLossAsync(net, last, opts.loss, 1024);
  hooks.releaseData?.(lastEpoch);
  if (finalLoss !== null && (curve.length === 0 || curve[curve.length - 1][0] !== step)) {
    curve.push([step, finalLoss]);
    hooks.onLog?.(step, finalLoss);
  }
  return { status, curve, stepsRun: step, finalLoss };
}
