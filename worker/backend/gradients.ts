/**
 * Gradients for the ops hypersweep differentiates. tfjs-core's Node bundle (dist/tf-core.node.js) ships the
 * autodiff engine but registers no gradient functions (the @tensorflow/tfjs union package does that), so
 * tf.grad would fail with "gradient function not found". We register the handful our models use, written with
 * plain ops (explicit transposes, no matMul flags). Registration is global and idempotent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulGradConfig } from './wasm-patches.js';

/** Sum a broadcast result back to `shape`. */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const axes = tf.broadcast_util.getReductionAxes(shape, g.shape);
  const s = axes.length > 0 ? tf.sum(g, axes) : g;
  return tf.reshape(s, shape);
}

const configs: tf.GradConfig[] = [
  batchMatMulGradConfig,
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      const d = dy as tf.Tensor;
      return { a: () => reduceTo(tf.mul(d, b), a.shape), b: () => reduceTo(tf.mul(d, a), b.shape) };
    },
  },
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      const d = dy as tf.Tensor;
      return { a: () => reduceTo(d, a.shape), b: () => reduceTo(d, b.shape) };
    },
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as tf.Tensor[];
      const d = dy as tf.Tensor;
      return { a: () => reduceTo(d, a.shape), b: () => reduceTo(tf.neg(d), b.shape) };
    },
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2)) };
    },
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x)) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return { x: () => tf.reshape(dy as tf.Tensor, x.shape) };
    },
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const { perm } = attrs as unknown as tf.TransposeAttrs;
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return { x: () => tf.transpose(dy as tf.Tensor, inv) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const { axis } = attrs as unknown as tf.SumAttrs;
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.ones(x.shape)) };
    },
  },
  {
    // Gather along one axis, batchDims 0: scatter-add dy back with unsortedSegmentSum.
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as tf.Tensor[];
      const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
      if (batchDims) throw new Error('gather gradient: batchDims > 0 is not supported');
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      return {
        x: () => {
          const outer = x.shape.slice(0, ax);
          const inner = x.shape.slice(ax + 1);
          const vals = tf.reshape(dy as tf.Tensor, [...outer, indices.size, ...inner]);
          // Move the gathered axis first, segment-sum, move it back.
          const perm = [outer.length, ...outer.map((_, i) => i), ...inner.map((_, i) => outer.length + 1 + i)];
          const summed = tf.unsortedSegmentSum(tf.transpose(vals, perm), tf.reshape(indices, [indices.size]) as tf.Tensor1D, x.shape[ax]);
          const inv = new Array<number>(perm.length);
          perm.forEach((p, i) => (inv[p] = i));
          return tf.transpose(summed, inv);
        },
        indices: () => tf.zerosLike(indices),
      };
    },
  },
];

/** Register the gradients above (global, all backends). Idempotent. */
export function registerGradients(): void {
  for (const c of configs) tf.registerGradient(c);
}
