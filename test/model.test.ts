import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { trialConfigSchema } from '../core/config.js';
import { selectBackend } from '../worker/backend/index.js';
import {
  assertWithinMemoryCap,
  createHyperNet,
  estimateTrialCost,
  regressionTrainPoints,
  evaluateLoss,
  fParamCount,
  gWeightCount,
  lossOf,
  MemoryCapError,
  mulberry32,
  sharedLayout,
  train,
  type HyperNetSpec,
  type TrainData,
} from '../worker/model/index.js';
import { HypersweepError } from '../core/errors.js';

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

describe('shared x (TrainData.xIndex: f once per distinct x)', () => {
  // completion-like: D images, each read by P rows (its pixels) in shuffled order, one z per row
  const D = 5, P = 6, N = D * P;
  const xIndexOf = () => {
    const order = Array.from({ length: N }, (_, i) => i % D);
    for (let i = N - 1; i > 0; i--) { const j = (i * 7 + 3) % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    return Int32Array.from(order);
  };
  const setup = (spec: HyperNetSpec, k: number, xIndex = xIndexOf()) => {
    const n = xIndex.length;
    const xd = tf.randomNormal([D, spec.dx], 0, 1, 'float32', 21) as tf.Tensor2D;
    const z = tf.randomNormal([n, spec.dz], 0, 1, 'float32', 22) as tf.Tensor2D;
    const y = tf.randomNormal([n, k], 0, 1, 'float32', 23) as tf.Tensor2D;
    const xFull = tf.tidy(() => tf.gather(xd, tf.tensor1d(xIndex, 'int32'))) as tf.Tensor2D;
    return { shared: { x: xd, z, y, xIndex } as TrainData, plain: { x: xFull, z, y } as TrainData, dispose: () => tf.dispose([xd, z, y, xFull]) };
  };
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, rel: number) => {
    let scale = 0, err = 0;
    for (let i = 0; i < a.length; i++) { scale = Math.max(scale, Math.abs(b[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
    expect(a.length).toBe(b.length);
    expect(err).toBeLessThanOrEqual(rel * scale + 1e-7);
  };

  // skewed: row 0 read by 9 samples (several groups), rows 1 and 4 by none, in mixed order
  const skewed = Int32Array.from([0, 2, 0, 0, 3, 0, 0, 2, 0, 0, 0, 3]);
  for (const [H, L, loss, norm, xIndex] of [[2, 2, 'mse', false, null], [3, 3, 'mse', true, null], [2, 2, 'xent', false, null], [3, 2, 'mse', true, skewed]] as const) {
    it(`gives the same outputs, loss and parameter gradients as expanding x (H=${H}, L=${L}, ${loss}${xIndex ? ', skewed sharing' : ''}, wasm)`, () => {
      const k = loss === 'xent' ? 3 : 1;
      const spec = { dx: 12, dz: 8, n: 16, H, m: 8, L, k };
      const net = createHyperNet(spec, 31, { normalizeZ: norm });
      const { shared, plain, dispose } = setup(spec, k, xIndex ?? undefined);
      const before = tf.memory().numTensors;
      const idx = shared.xIndex!;
      const target = loss === 'xent' ? (tf.softmax(plain.y) as tf.Tensor2D) : plain.y;
      const hP = net.forward(plain.x, plain.z);
      const hS = net.forward(shared.x, shared.z, idx);
      close(hS.dataSync(), hP.dataSync(), 1e-5);
      const gP = tf.variableGrads(() => lossOf(net.forward(plain.x, plain.z), target, loss), net.params);
      const gS = tf.variableGrads(() => lossOf(net.forward(shared.x, shared.z, idx), target, loss), net.params);
      expect(Math.abs(gS.value.dataSync()[0] - gP.value.dataSync()[0])).toBeLessThanOrEqual(1e-5 * Math.abs(gP.value.dataSync()[0]));
      for (const v of net.params) close(gS.grads[v.name].dataSync(), gP.grads[v.name].dataSync(), 1e-4);
      tf.dispose([hP, hS, gP.value, gS.value, ...Object.values(gP.grads), ...Object.values(gS.grads)]);
      if (target !== plain.y) target.dispose();
      expect(tf.memory().numTensors).toBe(before);
      dispose();
      net.dispose();
    });
  }

  it('trains (full batch, minibatch SGD, Adam) and evaluates in chunks like the plain path, leaking nothing', async () => {
    const spec = { dx: 12, dz: 8, n: 16, H: 2, m: 8, L: 2, k: 1 };
    const { shared, plain, dispose } = setup(spec, 1);
    const before = tf.memory().numTensors;
    for (const [optimizer, batchSize, lr] of [['gd', 0, 0.05], ['sgd', 7, 0.05], ['adam', 8, 1e-3]] as const) {
      const run = async (data: TrainData) => {
        const net = createHyperNet(spec, 5, { normalizeZ: false });
        const r = await train(net, data, { optimizer, lr, steps: 12, batchSize, loss: 'mse', logEvery: 3, seed: 9 });
        const w = net.params.map((p) => p.dataSync().slice());
        const chunked = evaluateLoss(net, data, 'mse', 4);
        net.dispose();
        return { r, w, chunked };
      };
      const a = await run(plain);
      const b = await run(shared);
      expect(b.r.status).toBe('completed');
      expect(b.r.curve.map((p) => p[0])).toEqual(a.r.curve.map((p) => p[0]));
      close(b.r.curve.map((p) => p[1]), a.r.curve.map((p) => p[1]), 1e-4);
      b.w.forEach((w, i) => close(w, a.w[i], 1e-4));
      expect(Math.abs(b.chunked - a.chunked)).toBeLessThanOrEqual(1e-4 * a.chunked);
      expect(Math.abs(b.chunked - b.r.finalLoss!)).toBeLessThanOrEqual(1e-4 * b.r.finalLoss!);
    }
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });

  it('lays samples out in groups sharing one x: every sample in one slot, padding at most 2N + D slots', () => {
    const rand = mulberry32(3);
    for (const [n, d] of [[30, 5], [7, 5], [12, 5], [1, 1], [50, 3], [20, 40]] as const) {
      const xIndex = Int32Array.from({ length: n }, (_, i) => (i < 3 ? 0 : Math.floor(rand() * d)));
      const { G, P, groupX, slotSample, sampleSlot } = sharedLayout(xIndex, d);
      expect(slotSample.length).toBe(G * P);
      expect(G * P).toBeLessThanOrEqual(2 * n + d);
      for (let i = 0; i < n; i++) {
        const q = sampleSlot[i];
        expect(slotSample[q]).toBe(i);
        expect(groupX ? groupX[Math.floor(q / P)] : Math.floor(q / P)).toBe(xIndex[i]);
      }
      expect(slotSample.filter((v) => v === n).length).toBe(G * P - n);
    }
  });

  it('rejects an xIndex of the wrong length or out of range', async () => {
    const spec = { dx: 12, dz: 8, n: 16, H: 2, m: 8, L: 2, k: 1 };
    const { shared, dispose } = setup(spec, 1);
    const net = createHyperNet(spec, 5);
    const opts = { optimizer: 'gd', lr: 0.1, steps: 1, batchSize: 0, loss: 'mse', logEvery: 1, seed: 0 } as const;
    await expect(train(net, { ...shared, xIndex: shared.xIndex!.subarray(1) }, opts)).rejects.toThrow(/xIndex has/);
    const bad = shared.xIndex!.slice();
    bad[3] = D;
    await expect(train(net, { ...shared, xIndex: bad }, opts)).rejects.toThrow(/xIndex\[3\]/);
    expect(() => net.forward(shared.x, shared.z, Int32Array.from([0, 1]))).toThrow(/xIndex has 2 entries/);
    net.dispose();
    dispose();
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

  it('sizes mnist-completion by its rows: nTrain × pixelsPerImage training rows, nTest × 784 test rows', () => {
    const c = trialConfigSchema.parse({ task: 'mnist-completion', g: { input: 'rff', rffFeatures: 64 },
      data: { nTrain: 100, nTest: 8, pixelsPerImage: 20 }, train: { optimizer: 'adam' }, kernels: { probe: 0 } });
    const e = estimateTrialCost(c);
    const more = (data: Partial<typeof c.data>) => estimateTrialCost({ ...c, data: { ...c.data, ...data } }).bytes - e.bytes;
    // 72 more test images hold at least their 72·784 rows of z and y on the host
    expect(more({ nTest: 80 })).toBeGreaterThanOrEqual(4 * 72 * 784 * (64 + 1));
    // more pixels per image: more rows (z, y, g activations), the same distinct x
    expect(more({ pixelsPerImage: 40 })).toBeGreaterThanOrEqual(4 * 2000 * (64 + 1));
    // training FLOPs: f once per image, g once per row
    const ng = e.ngOutputs;
    expect(e.flopsPerStep).toBe(3 * 2 * (100 * e.params + 2000 * ng));
  });

  it('counts the kernel-regression Grams of mnist-completion (kernels.regressionMaxTrain pixels, whole images)', () => {
    const c = trialConfigSchema.parse({ task: 'mnist-completion', g: { input: 'rff', rffFeatures: 64 },
      data: { nTrain: 500, nTest: 8, pixelsPerImage: 20 }, kernels: { probe: 0 } });
    expect(regressionTrainPoints(10_000, 500, 2000)).toBe(2000);
    expect(regressionTrainPoints(10_000, 500, 2010)).toBe(2000); // whole images of 20 pixels
    expect(regressionTrainPoints(10_000, 500, 1e6)).toBe(10_000);
    expect(regressionTrainPoints(200, 20, 5)).toBe(10); // at least one image
    const at = (regressionMaxTrain: number) => estimateTrialCost({ ...c, kernels: { ...c.kernels, regressionMaxTrain } }).bytes;
    // the paper's 500 × 20 = 10,000 pixels: three float64 10⁴ × 10⁴ matrices more than at 2000 pixels, and more
    expect(at(10_000) - at(2000)).toBeGreaterThanOrEqual(3 * 8 * (10_000 ** 2 - 2000 ** 2));
    expect(() => assertWithinMemoryCap({ ...c, kernels: { ...c.kernels, regressionMaxTrain: 10_000 }, limits: { memoryMb: 2048 } }))
      .toThrow(/limits\.memoryMb/);
  });

  it('covers the tensors that live through shared-x training (mnist-completion shapes)', async () => {
    const c = trialConfigSchema.parse({ task: 'mnist-completion', f: { width: 128 }, g: { width: 32, input: 'rff', rffFeatures: 32 },
      data: { nTrain: 16, nTest: 0, pixelsPerImage: 20 }, train: { optimizer: 'adam', steps: 2 }, kernels: { probe: 0 } });
    const spec = { dx: 784, dz: 32, n: 128, H: 2, m: 32, L: 2, k: 1 };
    const x = tf.randomUniform([16, 784], 0, 1, 'float32', 1) as tf.Tensor2D;
    const z = tf.randomNormal([320, 32], 0, 1, 'float32', 2) as tf.Tensor2D;
    const y = tf.randomUniform([320, 1], 0, 1, 'float32', 3) as tf.Tensor2D;
    const xIndex = Int32Array.from({ length: 320 }, (_, i) => Math.floor(i / 20));
    const net = createHyperNet(spec, 0, { normalizeZ: false });
    let peak = 0;
    await train(net, { x, z, y, xIndex }, { optimizer: 'adam', lr: 1e-3, steps: 2, batchSize: 0, loss: 'mse', logEvery: 1, seed: 0 },
      { onLog: () => { peak = Math.max(peak, tf.memory().numBytes); } });
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(estimateTrialCost(c).bytes - 32 * 2 ** 20);
    net.dispose();
    tf.dispose([x, z, y]);
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
