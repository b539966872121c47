import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { trialConfigSchema } from '../worker/config.js';
import { selectBackend } from '../worker/backend/index.js';
import {
  assertWithinMemoryCap,
  createHyperNet,
  estimateTrialCost,
  evaluateLoss,
  fParamCount,
  gWeightCount,
  lossOf,
  MemoryCapError,
  train,
  type HyperNetSpec,
  type TrainData,
} from '../worker/model/index.js';
import { HypersweepError } from '../orchestrator/errors.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function sphereData(spec: HyperNetSpec, N: number, seed: number, teacherSeed: number): TrainData {
  const x = tf.randomNormal([N, spec.dx], 0, 1, 'float32', seed) as tf.Tensor2D;
  const z = tf.randomNormal([N, spec.dz], 0, 1, 'float32', seed + 1) as tf.Tensor2D;
  const teacher = createHyperNet({ ...spec, n: 32, m: 16 }, teacherSeed);
  const y = teacher.forward(x, z);
  teacher.dispose();
  return { x, z, y };
}

describe('the hypernetwork', () => {
  it('has N_g = m·dz + (L−2)·m² + k·m outputs and the parameter count the spec implies', () => {
    const spec = { dx: 5, dz: 3, n: 7, H: 3, m: 4, L: 3, k: 2 };
    expect(gWeightCount(spec)).toBe(4 * 3 + 16 + 2 * 4);
    expect(gWeightCount({ ...spec, L: 1 })).toBe(2 * 3);
    const net = createHyperNet(spec, 0);
    const total = net.params.reduce((s, p) => s + p.size, 0);
    expect(total).toBe(fParamCount(spec));
    expect(total).toBe(5 * 7 + 7 * 7 + 7 * gWeightCount(spec));
    net.dispose();
  });

  it('is deterministic in its seed and differs across seeds', () => {
    const spec = { dx: 4, dz: 3, n: 8, H: 2, m: 4, L: 2, k: 1 };
    const x = tf.randomNormal([3, 4], 0, 1, 'float32', 1) as tf.Tensor2D;
    const z = tf.randomNormal([3, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
    const out = (seed: number) => {
      const net = createHyperNet(spec, seed);
      const h = net.forward(x, z);
      const v = Array.from(h.dataSync());
      h.dispose();
      net.dispose();
      return v;
    };
    expect(out(5)).toEqual(out(5));
    expect(out(5)).not.toEqual(out(6));
    tf.dispose([x, z]);
  });

  it('rejects inputs of the wrong width', () => {
    const net = createHyperNet({ dx: 4, dz: 3, n: 8, H: 2, m: 4, L: 2, k: 1 }, 0);
    const x = tf.zeros([2, 5]) as tf.Tensor2D;
    const z = tf.zeros([2, 3]) as tf.Tensor2D;
    expect(() => net.forward(x, z)).toThrow(/x must be \[B, 4\]/);
    tf.dispose([x, z]);
    net.dispose();
  });

  for (const [H, L, k, loss] of [[3, 2, 1, 'mse'], [1, 1, 2, 'mse'], [2, 3, 3, 'xent']] as const) {
    it(`has gradients equal to central finite differences (H=${H}, L=${L}, k=${k}, ${loss})`, () => {
      const spec = { dx: 4, dz: 3, n: 6, H, m: 5, L, k };
      const net = createHyperNet(spec, 11);
      const x = tf.randomNormal([5, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
      const z = tf.randomNormal([5, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
      const y = tf.randomNormal([5, k], 0, 1, 'float32', 5) as tf.Tensor2D;
      const target = loss === 'xent' ? tf.softmax(y) as tf.Tensor2D : y;
      const L0 = () => tf.tidy(() => lossOf(net.forward(x, z), target, loss).dataSync()[0]);
      const { value, grads } = tf.variableGrads(() => lossOf(net.forward(x, z), target, loss), net.params);
      value.dispose();
      const eps = 1e-2;
      for (const v of net.params) {
        const g = grads[v.name].dataSync();
        const scale = Math.max(...Array.from(g, Math.abs));
        const base = v.dataSync().slice();
        for (const i of [0, Math.floor(v.size / 3), Math.floor((2 * v.size) / 3), v.size - 1]) {
          const at = (d: number) => {
            const w = base.slice();
            w[i] += d;
            v.assign(tf.tensor(w, v.shape));
            return L0();
          };
          const fd = (at(eps) - at(-eps)) / (2 * eps);
          v.assign(tf.tensor(base, v.shape));
          expect(Math.abs(fd - g[i])).toBeLessThanOrEqual(0.03 * scale + 2e-3);
        }
      }
      tf.dispose([x, z, y, target, ...Object.values(grads)]);
      net.dispose();
    });
  }
});

describe('training', () => {
  const spec = { dx: 8, dz: 4, n: 128, H: 3, m: 32, L: 2, k: 1 };

  it('drives the loss on a small sphere set down by orders of magnitude, and leaks no tensors', async () => {
    const data = sphereData(spec, 32, 1, 99);
    const net = createHyperNet(spec, 1);
    const before = tf.memory().numTensors;
    const logged: number[] = [];
    const r = await train(net, data, { optimizer: 'gd', lr: 0.5, steps: 300, batchSize: 0, loss: 'mse', logEvery: 50, seed: 1 },
      { onLog: (s) => logged.push(s) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.status).toBe('completed');
    expect(r.stepsRun).toBe(300);
    expect(r.curve[0][0]).toBe(0);
    expect(logged).toEqual(r.curve.map((p) => p[0]));
    expect(r.finalLoss).not.toBeNull();
    expect(r.finalLoss!).toBeLessThan(r.curve[0][1] * 1e-3);
    const full = evaluateLoss(net, data, 'mse');
    expect(full).toBeGreaterThan(0);
    expect(Math.abs(r.finalLoss! - full) / full).toBeLessThan(1e-5);
    // chunked evaluation (bounded memory) gives the same mean loss
    expect(Math.abs(evaluateLoss(net, data, 'mse', 5) - full) / full).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
    tf.dispose([data.x, data.z, data.y]);
  });

  it('trains with seeded minibatch SGD and Adam reproducibly', async () => {
    const data = sphereData(spec, 32, 2, 98);
    const run = async (optimizer: 'sgd' | 'adam', lr: number) => {
      const net = createHyperNet(spec, 3);
      const r = await train(net, data, { optimizer, lr, steps: 60, batchSize: 8, loss: 'mse', logEvery: 20, seed: 4 });
      net.dispose();
      return r;
    };
    for (const [opt, lr] of [['sgd', 0.3], ['adam', 3e-3]] as const) {
      const a = await run(opt, lr);
      const b = await run(opt, lr);
      expect(a.curve).toEqual(b.curve);
      expect(a.status).toBe('completed');
      expect(a.finalLoss!).toBeLessThan(a.curve[0][1] * 0.5);
    }
    tf.dispose([data.x, data.z, data.y]);
  });

  it('trains on softmax cross-entropy', async () => {
    const s = { ...spec, k: 3 };
    const x = tf.randomNormal([24, 8], 0, 1, 'float32', 7) as tf.Tensor2D;
    const z = tf.randomNormal([24, 4], 0, 1, 'float32', 8) as tf.Tensor2D;
    const y = tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: 24 }, (_, i) => i % 3), 'int32'), 3), 'float32') as tf.Tensor2D;
    const net = createHyperNet(s, 2);
    const r = await train(net, { x, z, y }, { optimizer: 'adam', lr: 1e-2, steps: 80, batchSize: 0, loss: 'xent', logEvery: 10, seed: 0 });
    expect(r.curve[0][1]).toBeGreaterThan(0.5);
    expect(r.finalLoss!).toBeLessThan(0.1);
    net.dispose();
    tf.dispose([x, z, y]);
  });

  it("stops with status 'diverged' on an absurd learning rate, without throwing or leaking", async () => {
    const data = sphereData(spec, 16, 3, 97);
    const net = createHyperNet(spec, 1);
    const before = tf.memory().numTensors;
    const r = await train(net, data, { optimizer: 'sgd', lr: 1e12, steps: 50, batchSize: 4, loss: 'mse', logEvery: 1, seed: 0 });
    expect(r.status).toBe('diverged');
    expect(r.finalLoss).toBeNull();
    expect(r.stepsRun).toBeLessThan(50);
    expect(r.curve.every(([, l]) => Number.isFinite(l))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    // the loss is read only at logged steps: divergence is then caught at the next one
    const net7 = createHyperNet(spec, 1);
    const r7 = await train(net7, data, { optimizer: 'sgd', lr: 1e12, steps: 50, batchSize: 4, loss: 'mse', logEvery: 7, seed: 0 });
    net7.dispose();
    expect(r.stepsRun).toBeGreaterThan(1); // the first run did take finite steps before diverging
    expect(r7.status).toBe('diverged');
    expect(r7.stepsRun % 7).toBe(1);
    expect(r7.stepsRun).toBeGreaterThan(1);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
    tf.dispose([data.x, data.z, data.y]);
  });

  it("honours an AbortSignal with status 'aborted'", async () => {
    const data = sphereData(spec, 16, 4, 96);
    const net = createHyperNet(spec, 1);
    const ac = new AbortController();
    const r = await train(net, data, { optimizer: 'gd', lr: 0.1, steps: 1000, batchSize: 0, loss: 'mse', logEvery: 1, seed: 0 },
      { signal: ac.signal, onLog: (step) => { if (step === 5) ac.abort(); } });
    expect(r.status).toBe('aborted');
    expect(r.stepsRun).toBe(6);
    expect(r.finalLoss).not.toBeNull();
    net.dispose();
    tf.dispose([data.x, data.z, data.y]);
  });
});

describe('cost estimate', () => {
  it('counts parameters and N_g from the config, and grows with width', () => {
    const c = trialConfigSchema.parse({ task: 'sphere', f: { width: 64, depth: 3 }, g: { width: 16, depth: 2 }, data: { dx: 8, dz: 4 } });
    const e = estimateTrialCost(c);
    const ng = 16 * 4 + 16;
    expect(e.ngOutputs).toBe(ng);
    expect(e.params).toBe(8 * 64 + 64 * 64 + 64 * ng);
    const wider = estimateTrialCost({ ...c, f: { width: 128, depth: 3 } });
    expect(wider.bytes).toBeGreaterThan(e.bytes);
    expect(wider.flopsPerStep).toBeGreaterThan(e.flopsPerStep);
    // rff: g reads the random features; MNIST: f reads 784 pixels
    expect(estimateTrialCost({ ...c, g: { ...c.g, input: 'rff', rffFeatures: 10 } }).ngOutputs).toBe(16 * 10 + 16);
    expect(estimateTrialCost({ ...c, task: 'mnist-completion' }).params).toBe(784 * 64 + 64 * 64 + 64 * (16 * 2 + 16));
  });

  it('refuses an over-cap config with a MemoryCapError that says what to change', () => {
    const c = trialConfigSchema.parse({ task: 'sphere', f: { width: 8192, depth: 3 }, g: { width: 2048, depth: 3 }, limits: { memoryMb: 512 } });
    let err: unknown;
    try {
      assertWithinMemoryCap(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemoryCapError);
    expect(err).toBeInstanceOf(HypersweepError);
    expect((err as Error).name).toBe('MemoryCapError');
    expect((err as Error).message).toMatch(/needs about \d+ MB .* limits\.memoryMb is 512/);
    expect((err as Error).message).not.toContain('\n');
    const small = trialConfigSchema.parse({ task: 'sphere' });
    expect(assertWithinMemoryCap(small).bytes).toBeLessThan(small.limits.memoryMb * 2 ** 20);
  });

  it('covers the tensors that live through training (weights, Adam state, data)', async () => {
    const c = trialConfigSchema.parse({ task: 'sphere', f: { width: 256, depth: 3 }, g: { width: 64, depth: 2 },
      data: { dx: 8, dz: 4, nTrain: 64, nTest: 0 }, train: { optimizer: 'adam', steps: 2 }, kernels: { probe: 0 } });
    const spec = { dx: 8, dz: 4, n: 256, H: 3, m: 64, L: 2, k: 1 };
    const data = sphereData(spec, 64, 5, 95);
    const net = createHyperNet(spec, 0);
    const before = tf.memory().numBytes;
    let peak = 0;
    await train(net, data, { optimizer: 'adam', lr: 1e-3, steps: 2, batchSize: 0, loss: 'mse', logEvery: 1, seed: 0 },
      { onLog: () => { peak = Math.max(peak, tf.memory().numBytes); } });
    const est = estimateTrialCost(c);
    // tensors live between steps (weights + Adam state) must be within the estimate minus the runtime constant
    expect(peak).toBeLessThan(est.bytes - 32 * 2 ** 20);
    expect(peak).toBeGreaterThan(before);
    net.dispose();
    tf.dispose([data.x, data.z, data.y]);
  });
});
