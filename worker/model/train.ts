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
import type { HyperNet } from './hypernet.js';
import { mulberry32, permutation } from './rng.js';

export type LossName = 'mse' | 'xent';

export interface TrainData {
  x: tf.Tensor2D;
  z: tf.Tensor2D;
  /** [N, k]: regression targets, or one-hot / probability rows for 'xent'. */
  y: tf.Tensor2D;
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

/** Rows [r0, r0 + n) of the data as a TrainData (slices; the caller disposes them). */
function rows(data: TrainData, r0: number, n: number): TrainData {
  return {
    x: tf.slice(data.x, [r0, 0], [n, -1]),
    z: tf.slice(data.z, [r0, 0], [n, -1]),
    y: tf.slice(data.y, [r0, 0], [n, -1]),
  };
}

/** The loss of the whole data set as a scalar tensor, in chunks of at most `chunk` rows (bounded memory). */
function datasetLoss(net: HyperNet, data: TrainData, loss: LossName, chunk: number): tf.Scalar {
  const N = data.x.shape[0];
  if (N <= chunk) return tf.tidy(() => lossOf(net.forward(data.x, data.z), data.y, loss));
  let total = tf.scalar(0);
  for (let r0 = 0; r0 < N; r0 += chunk) {
    const n = Math.min(chunk, N - r0);
    const next = tf.tidy(() => {
      const d = rows(data, r0, n);
      return tf.add(total, tf.mul(lossOf(net.forward(d.x, d.z), d.y, loss), n / N)) as tf.Scalar;
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
  const N = data.x.shape[0];
  checkOptions(opts, N);
  const B = opts.optimizer === 'gd' || opts.batchSize === 0 ? N : Math.min(opts.batchSize, N);
  const optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.lr) : tf.train.sgd(opts.lr);
  const rand = mulberry32(opts.seed);
  let perm = permutation(N, rand);
  let pos = 0;
  const curve: [number, number][] = [];
  let status: TrainOutcome['status'] = 'completed';
  let stepsRun = 0;
  try {
    for (let step = 0; step < opts.steps; step++) {
      if (hooks.signal?.aborted) {
        status = 'aborted';
        break;
      }
      let batch = data;
      let idx: tf.Tensor1D | null = null;
      if (B < N) {
        if (pos + B > N) {
          perm = permutation(N, rand);
          pos = 0;
        }
        idx = tf.tensor1d(perm.subarray(pos, pos + B), 'int32');
        pos += B;
        batch = { x: tf.gather(data.x, idx), z: tf.gather(data.z, idx), y: tf.gather(data.y, idx) };
      }
      const lossT = optimizer.minimize(() => lossOf(net.forward(batch.x, batch.z), batch.y, opts.loss), true, net.params);
      if (idx) tf.dispose([idx, batch.x, batch.z, batch.y]);
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
