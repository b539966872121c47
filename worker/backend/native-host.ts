/**
 * Host-memory mode of the native backend: tfjs-backend-cpu (every tensor a plain JS typed array, so a trial can
 * use the machine's memory, not the 4 GB wasm32 heap) with its large products on onnxruntime's MLAS (native.ts,
 * setHostMatMul), and optimizers that update the weights in place (no new copy of a multi-GB weight per step).
 *
 * The in-place updates do the same float32 operations in the same order as tfjs's SGD and Adam on the cpu backend
 * (each op's result rounded to float32, Math.fround), so the weights are bit-identical to theirs; on any other
 * backend, or for a weight whose data another tensor shares, the optimizers fall back to tfjs's own update.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hostMemoryActive, type CpuArrayBackend } from './native.js';

const f = Math.fround;

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedTensor = Extract<VariableGradients, unknown[]>[number];

/** [weight values, gradient values] as the cpu backend's own arrays, when both can be updated in place. */
function inPlaceArrays(value: tf.Variable, gradient: tf.Tensor): [Float32Array, Float32Array] | null {
  if (value.dtype !== 'float32' || gradient.dtype !== 'float32' || value.size !== gradient.size) return null;
  const be = tf.backend() as unknown as CpuArrayBackend;
  const w = be.data.get(value.dataId);
  const g = be.data.get(gradient.dataId).values;
  // refCount 1: no other tensor (a reshape, a kept copy) reads this weight's array.
  if (w.refCount !== 1 || !(w.values instanceof Float32Array) || !(g instanceof Float32Array)) return null;
  return [w.values, g];
}

/** The (name, gradient) pairs of applyGradients' argument. */
function pairs(vg: VariableGradients): [string, tf.Tensor | null][] {
  if (Array.isArray(vg)) return vg.map((v): [string, tf.Tensor | null] => [v.name, v.tensor ?? null]);
  return Object.keys(vg).map((k): [string, tf.Tensor | null] => [k, (vg as Record<string, tf.Tensor | undefined>)[k] ?? null]);
}

/** w ← fl(fl(c·g) + w) with c = fl(−lr): tfjs's `add(mul(c, gradient), value)`, in place. */
export function sgdUpdateInPlace(w: Float32Array, g: Float32Array, lr: number): void {
  const c = f(-lr);
  for (let i = 0; i < w.length; i++) w[i] = f(c * g[i]) + w[i];
}

/** SGD that updates host-memory weights in place. */
export class InPlaceSgd extends tf.SGDOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (!hostMemoryActive()) return super.applyGradients(variableGradients);
    const rest: NamedTensor[] = [];
    for (const [name, g] of pairs(variableGradients)) {
      if (!g) continue;
      const value = tf.engine().registeredVariables[name];
      const arrays = inPlaceArrays(value, g);
      if (arrays) sgdUpdateInPlace(arrays[0], arrays[1], this.learningRate);
      else rest.push({ name, tensor: g });
    }
    // tfjs's own update for the rest; it also counts the iteration.
    super.applyGradients(rest);
  }
}

/** Adam's moments of one weight and the float32 scalars of tfjs's AdamOptimizer. */
interface AdamState {
  m: Float32Array;
  v: Float32Array;
}

/**
 * Adam that updates host-memory weights and its moments in place, op for op as tfjs's AdamOptimizer:
 *   m ← m·β₁ + g·(1−β₁);  v ← v·β₂ + g²·(1−β₂);  w ← (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) · (−lr) + w
 * with β₁ᵗ, β₂ᵗ float32 running products. Off host-memory mode it is tfjs's Adam.
 */
export class InPlaceAdam extends tf.AdamOptimizer {
  private readonly state = new Map<string, AdamState>();
  private acc1: number;
  private acc2: number;
  private readonly hp: { lr: number; b1: number; b2: number; eps: number };

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999) {
    super(learningRate, beta1, beta2);
    this.hp = { lr: learningRate, b1: beta1, b2: beta2, eps: this.epsilon };
    this.acc1 = f(beta1);
    this.acc2 = f(beta2);
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!hostMemoryActive()) return super.applyGradients(variableGradients);
    const { lr, b1, b2, eps } = this.hp;
    const om1 = f(1 - this.acc1);
    const om2 = f(1 - this.acc2);
    const [cb1, cb2, c1b1, c1b2, ce, clr] = [f(b1), f(b2), f(1 - b1), f(1 - b2), f(eps), f(-lr)];
    for (const [name, g] of pairs(variableGradients)) {
      if (!g) continue;
      const value = tf.engine().registeredVariables[name];
      const arrays = inPlaceArrays(value, g);
      // A weight whose array is shared: the same update on a copy, then assigned (never seen in training).
      const [w, gv] = arrays ?? [value.dataSync().slice() as Float32Array, g.dataSync() as Float32Array];
      let s = this.state.get(name);
      if (!s) this.state.set(name, (s = { m: new Float32Array(w.length), v: new Float32Array(w.length) }));
      const { m, v } = s;
      for (let i = 0; i < w.length; i++) {
        const gi = gv[i];
        const mi = f(f(m[i] * cb1) + f(gi * c1b1));
        const vi = f(f(v[i] * cb2) + f(f(gi * gi) * c1b2));
        m[i] = mi;
        v[i] = vi;
        const den = f(f(Math.sqrt(f(vi / om2))) + ce);
        w[i] = f(f(f(mi / om1) / den) * clr) + w[i];
      }
      if (!arrays) value.assign(tf.tensor(w, value.shape, 'float32'));
    }
    this.acc1 = f(this.acc1 * cb1);
    this.acc2 = f(this.acc2 * cb2);
    this.incrementIterations();
  }
}

/** The optimizer a training run uses: tfjs's SGD or Adam, updating in place in host-memory mode. */
export function makeOptimizer(kind: 'sgd' | 'adam', lr: number): tf.Optimizer {
  return kind === 'adam' ? new InPlaceAdam(lr) : new InPlaceSgd(lr);
}
