/**
 * Test-set evaluation: predictions in row chunks sized to a memory budget, then the metrics in plain JS.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HyperNet } from '../model/index.js';
import { sliceSplitShared, type TaskData, type TaskSplit } from '../tasks/index.js';

/** Bytes of float32 activations one evaluation chunk may hold (f's output dominates: N_g per row). */
const CHUNK_BYTES = 64 * 2 ** 20;

/** h(u) for every sample of a split, n × k row-major; `signal` is checked between chunks. */
export async function predictSplit(net: HyperNet, data: TaskData, split: TaskSplit, ngOutputs: number, signal?: AbortSignal): Promise<Float32Array> {
  const s = net.spec;
  const perRow = 4 * (ngOutputs + (s.fWidths ? s.fWidths.reduce((a, b) => a + b, s.n) : s.n * s.H) + s.dx + s.dz + s.m * s.L + s.k);
  const rows = Math.max(1, Math.min(4096, Math.floor(CHUNK_BYTES / perRow)));
  const out = new Float32Array(split.n * data.k);
  for (let start = 0; start < split.n; start += rows) {
    signal?.throwIfAborted();
    // f runs once per distinct x of the chunk (mnist-completion: once per image, not once per pixel).
    const part = sliceSplitShared(split, data, start, rows);
    const h = tf.tidy(() =>
      net.forward(
        tf.tensor2d(part.x, [part.d, data.dx]),
        tf.tensor2d(part.z, [part.n, data.dz]),
        part.d < part.n ? part.xIndex : undefined,
      ),
    );
    out.set(await h.data(), start * data.k);
    h.dispose();
  }
  return out;
}

/** The training loss's definition on predictions: mse = (1/2N)Σ‖h − y‖², xent = −(1/N)Σ y·log softmax(h). */
export function lossOfPredictions(pred: Float32Array, y: Float32Array, n: number, k: number, loss: 'mse' | 'xent'): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const o = i * k;
    if (loss === 'mse') {
      for (let q = 0; q < k; q++) total += 0.5 * (pred[o + q] - y[o + q]) ** 2;
    } else {
      let max = -Infinity;
      for (let q = 0; q < k; q++) max = Math.max(max, pred[o + q]);
      let sum = 0;
      for (let q = 0; q < k; q++) sum += Math.exp(pred[o + q] - max);
      const lse = max + Math.log(sum);
      for (let q = 0; q < k; q++) total -= y[o + q] * (pred[o + q] - lse);
    }
  }
  return total / n;
}

/** Fraction of samples whose largest output is their label. */
export function accuracy(pred: Float32Array, labels: Int32Array, k: number): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let q = 1; q < k; q++) if (pred[i * k + q] > pred[i * k + best]) best = q;
    if (best === labels[i]) right++;
  }
  return right / labels.length;
}

/**
 * Plain mean squared error (not halved) over all samples, over those flagged hidden and over the others (the
 * visible ones; every sample when nothing is hidden); k = 1. Null where a part has no samples.
 */
export function pixelMse(
  pred: ArrayLike<number>,
  y: Float32Array,
  hidden: Uint8Array | undefined,
): { mseAll: number; mseHidden: number | null; mseVisible: number | null } {
  let all = 0, hid = 0, nHid = 0;
  for (let i = 0; i < y.length; i++) {
    const e = (pred[i] - y[i]) ** 2;
    all += e;
    if (hidden?.[i]) {
      hid += e;
      nHid++;
    }
  }
  const nVis = y.length - nHid;
  return { mseAll: all / y.length, mseHidden: nHid > 0 ? hid / nHid : null, mseVisible: nVis > 0 ? (all - hid) / nVis : null };
}
