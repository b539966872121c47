/**
 * The rotation experiment's official protocol and the general features it needs: the standard parametrization,
 * f's hidden-width list, f's biases, the paper-code g, nearest-neighbour rotation, standardised pixels, epochs with
 * per-epoch augmentation and the per-epoch test curve. Expected values come from independent computations.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
import { canonicalConfig, trialId } from '../core/identity.js';
import { selectBackend } from '../worker/backend/index.js';
import { createHyperNet, lossOf, specFromConfig, trainEpochs, type HyperNetSpec, type TrainData } from '../worker/model/index.js';
import { buildTask, MNIST_MEAN, MNIST_SD, rotateImage } from '../worker/tasks/index.js';
import { runTrial } from '../worker/trial.js';
import { applySets } from '../worker/trial/cli.js';
import { loadSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { planTrials } from '../orchestrator/sweep-plan.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const cfg = (c: TrialConfigInput) => trialConfigSchema.parse(c);

/** Independent nearest-neighbour rotation: complex numbers in a y-up frame, source = p·e^{−iθ}. */
function naiveNearest(img: ArrayLike<number>, side: number, degrees: number): Float32Array {
  const out = new Float32Array(side * side);
  const c = (side - 1) / 2;
  const th = (-degrees * Math.PI) / 180;
  for (let r = 0; r < side; r++) {
    for (let col = 0; col < side; col++) {
      const re = col - c, im = c - r; // y up
      const sre = re * Math.cos(th) - im * Math.sin(th);
      const sim = re * Math.sin(th) + im * Math.cos(th);
      const sc = Math.round(c + sre), sr = Math.round(c - sim);
      out[r * side + col] = sc >= 0 && sc < side && sr >= 0 && sr < side ? img[sr * side + sc] : 0;
    }
  }
  return out;
}

describe('nearest-neighbour rotation', () => {
  it('matches an independent naive implementation at random angles', () => {
    const side = 28;
    let s = 7;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const img = Float32Array.from({ length: side * side }, () => rand());
    let mismatches = 0;
    for (let t = 0; t < 40; t++) {
      const a = 360 * rand();
      const got = rotateImage(img, side, a, 'nearest');
      const want = naiveNearest(img, side, a);
      for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) mismatches++;
    }
    // Only exact half-pixel ties could differ (both round half up); random angles hit none.
    expect(mismatches).toBe(0);
  });

  it('is an exact permutation at 90°, 180°, 270° and the identity at 0° and 360°', () => {
    const side = 5;
    const img = Float32Array.from({ length: side * side }, (_, i) => i + 1);
    const at = (a: Float32Array, r: number, c: number) => a[r * side + c];
    const r90 = rotateImage(img, side, 90, 'nearest');
    const r180 = rotateImage(img, side, 180, 'nearest');
    const r270 = rotateImage(img, side, 270, 'nearest');
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        expect(at(r90, r, c)).toBe(at(img, c, side - 1 - r));
        expect(at(r180, r, c)).toBe(at(img, side - 1 - r, side - 1 - c));
        expect(at(r270, r, c)).toBe(at(img, side - 1 - c, r));
      }
    }
    expect(Array.from(rotateImage(img, side, 0, 'nearest'))).toEqual(Array.from(img));
    expect(Array.from(rotateImage(img, side, 360, 'nearest'))).toEqual(Array.from(img));
    expect(Array.from(rotateImage(rotateImage(img, side, 90, 'nearest'), side, 270, 'nearest'))).toEqual(Array.from(img));
  });
});

describe('mnist-rotation data options', () => {
  const base: TrialConfigInput = { task: 'mnist-rotation', g: { outputs: 12 }, data: { nTrain: 6, nTest: 4, interpolation: 'nearest' }, kernels: { probe: 0 } };

  it("standardises as (pixel/255 − 0.1307)/0.3081 after rotating with zero fill", () => {
    const unit = buildTask(cfg(base));
    const std = buildTask(cfg({ ...base, data: { ...base.data, pixels: 'standardized' } }));
    expect(std.train.labels).toEqual(unit.train.labels);
    let zeros = 0;
    for (let i = 0; i < unit.train.z.length; i++) {
      expect(std.train.z[i]).toBeCloseTo((unit.train.z[i] - 0.1307) / 0.3081, 5);
      if (unit.train.z[i] === 0) zeros++;
    }
    expect(zeros).toBeGreaterThan(0); // background and the fill read −0.1307/0.3081
    expect([MNIST_MEAN, MNIST_SD]).toEqual([0.1307, 0.3081]);
    for (let i = 0; i < 784; i++) expect(std.test.xRows[0][i]).toBeCloseTo((unit.test.xRows[0][i] - 0.1307) / 0.3081, 5);
  });

  it('per-epoch augmentation: epoch 0 is the fixed data, later epochs draw fresh angles, reproducibly', () => {
    const fixed = buildTask(cfg(base));
    const aug = buildTask(cfg({ ...base, data: { ...base.data, augment: 'per-epoch' }, train: { epochs: 3 } }));
    expect(aug.epoch).toBeDefined();
    const e0 = aug.epoch!(0), e1 = aug.epoch!(1), e2 = aug.epoch!(2);
    expect(Array.from(e0.train.z)).toEqual(Array.from(fixed.train.z));
    expect(Array.from(e0.train.xRows[0])).toEqual(Array.from(fixed.train.xRows[0]));
    const differs = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);
    expect(differs(e1.train.z, e0.train.z)).toBe(true);
    expect(differs(e2.train.z, e1.train.z)).toBe(true);
    expect(differs(e1.test.z, e0.test.z)).toBe(true);
    expect(Array.from(aug.epoch!(1).train.z)).toEqual(Array.from(e1.train.z));
    // The same images: f's input at a1 and g's at a1 + a2 are rotations of one picture; the ink (sum of pixels) of
    // every sample's f image stays within what nearest-neighbour resampling can change.
    for (let i = 0; i < 6; i++) {
      const ink = (r: Float32Array) => r.reduce((a, b) => a + b, 0);
      expect(Math.abs(ink(e1.train.xRows[i]) - ink(e0.train.xRows[i]))).toBeLessThan(0.25 * ink(e0.train.xRows[i]));
    }
  });
});

describe('config keys', () => {
  const plain: TrialConfigInput = { task: 'mnist-rotation', f: { width: 32, depth: 3 }, g: { width: 8, depth: 3, outputs: 12 }, data: { nTrain: 8, nTest: 4 } };

  it('every new key at its default leaves the trial id unchanged', () => {
    const id = trialId(plain);
    const spelled: TrialConfigInput = {
      ...plain,
      model: { parametrization: 'ntk' },
      f: { width: 32, depth: 3, biases: false },
      g: { width: 8, depth: 3, outputs: 12, variant: 'model' },
      data: { nTrain: 8, nTest: 4, interpolation: 'bilinear', pixels: 'unit', augment: 'fixed' },
    };
    expect(trialId(spelled)).toBe(id);
    expect(trialId({ ...plain, model: {} })).toBe(id);
    expect(trialId({ ...plain, model: { parametrization: 'standard' }, kernels: { probe: 0 } })).not.toBe(trialId({ ...plain, kernels: { probe: 0 } }));
  });

  it('f.widths: f.width is the largest, f.depth the count + 1; a canonical config parses to itself', () => {
    const c = canonicalConfig({ ...plain, f: { widths: [200, 200, 200, 100] } });
    expect(c.f).toEqual({ widths: [200, 200, 200, 100], width: 200, depth: 5 });
    expect(canonicalConfig(JSON.parse(JSON.stringify(c)))).toEqual(c);
    expect(trialId(c)).not.toBe(trialId({ ...plain, f: { width: 200, depth: 5 } }));
    expect(() => canonicalConfig({ ...plain, f: { widths: [8, 8], depth: 4 } })).toThrow(/f\.depth.*remove f\.depth/);
    expect(() => canonicalConfig({ ...plain, f: { widths: [8, 4], width: 4 } })).toThrow(/f\.width/);
    expect(() => canonicalConfig({ ...plain, f: { widths: [] } })).toThrow(/f\.widths/);
  });

  it('--set knows the optional keys (f.widths is not a misspelled f.width)', () => {
    expect(applySets({ task: 'mnist-rotation' }, ['f.widths=[8,4]', 'train.epochs=2', 'model.parametrization=standard'])).toEqual({
      task: 'mnist-rotation',
      f: { widths: [8, 4] },
      train: { epochs: 2 },
      model: { parametrization: 'standard' },
    });
    expect(() => applySets({}, ['f.widht=8'])).toThrow(/did you mean "width"/);
    expect(() => applySets({}, ['model.parametrisation=ntk'])).toThrow(/did you mean "parametrization"/);
  });

  it('refuses analytic kernel metrics off the model, and keys a task does not have', () => {
    expect(() => canonicalConfig({ ...plain, model: { parametrization: 'standard' } })).toThrow(/kernels\.probe: the analytic kernels are for the NTK parametrization/);
    expect(() => canonicalConfig({ ...plain, f: { width: 32, depth: 3, biases: true } })).toThrow(/kernels\.probe.*f\.biases/);
    expect(() => canonicalConfig({ ...plain, g: { width: 8, depth: 3, outputs: 12, variant: 'paper-code' } })).toThrow(/kernels\.probe.*paper-code/);
    expect(() => canonicalConfig({ ...plain, kernels: { probe: 0 }, g: { width: 8, depth: 2, variant: 'paper-code' } })).toThrow(/g\.variant.*g\.depth ≥ 3/);
    expect(() => canonicalConfig({ ...plain, data: { augment: 'per-epoch' } })).toThrow(/data\.augment.*train\.epochs/);
    expect(() => canonicalConfig({ task: 'sphere', data: { interpolation: 'nearest' } })).toThrow(/data\.interpolation: only mnist-rotation/);
  });
});

/** A spec with small sizes for hand-checked forward passes. */
const small: HyperNetSpec = { dx: 5, dz: 4, n: 6, H: 3, m: 3, L: 3, k: 2 };

const readMatrix = (t: tf.Tensor): number[][] => t.arraySync() as number[][];
const matVec = (W: number[][], v: number[]) => W.map((row) => row.reduce((s, w, i) => s + w * v[i], 0));
const relu = (v: number[]) => v.map((a) => Math.max(0, a));

describe('the standard parametrization', () => {
  it('draws weights and biases from U(−1/√fan_in, 1/√fan_in): variance 1/(3·fan_in), mean 0', () => {
    const spec: HyperNetSpec = { dx: 50, dz: 4, n: 40, H: 3, m: 5, L: 2, k: 3, fBiases: true, parametrization: 'standard' };
    const fanIns = [50, 40, 40]; // dense, dense, gWeights
    const sums = new Map<string, { n: number; s: number; s2: number; max: number; fanIn: number }>();
    for (let seed = 0; seed < 20; seed++) {
      const net = createHyperNet(spec, seed);
      const weights = net.params.filter((_, i) => !net.biasSlots.dense.includes(i) && !net.biasSlots.blocks.includes(i));
      const biases = [...net.biasSlots.dense, ...net.biasSlots.blocks].map((i) => net.params[i]);
      const kinds: [string, tf.Variable, number][] = [
        ['w0', weights[0], fanIns[0]], ['w1', weights[1], fanIns[1]], ['v', weights[2], fanIns[2]],
        ['b0', biases[0], fanIns[0]], ['b1', biases[1], fanIns[1]], ['c', biases[2], fanIns[2]],
      ];
      for (const [key, v, fanIn] of kinds) {
        const acc = sums.get(key) ?? { n: 0, s: 0, s2: 0, max: 0, fanIn };
        for (const w of v.dataSync()) {
          acc.n++;
          acc.s += w;
          acc.s2 += w * w;
          acc.max = Math.max(acc.max, Math.abs(w));
        }
        sums.set(key, acc);
      }
      net.dispose();
    }
    for (const [key, a] of sums) {
      const bound = 1 / Math.sqrt(a.fanIn);
      const variance = a.s2 / a.n - (a.s / a.n) ** 2;
      expect([key, a.max <= bound + 1e-7]).toEqual([key, true]);
      expect([key, a.max > 0.9 * bound]).toEqual([key, true]);
      // The sample variance of n uniform draws has sd ≈ 0.89·σ²/√n: 6 sd of slack.
      expect(Math.abs(variance - bound ** 2 / 3)).toBeLessThan(6 * 0.9 * (bound ** 2 / 3) / Math.sqrt(a.n));
      expect(Math.abs(a.s / a.n)).toBeLessThan(6 * bound / Math.sqrt(3 * a.n));
    }
  });

  it('the paper-code g with biases matches a hand-written forward pass (no ReLU after g\u2019s middle layer)', () => {
    for (const parametrization of ['standard', 'ntk'] as const) {
      const spec: HyperNetSpec = { ...small, fBiases: true, gVariant: 'paper-code', parametrization };
      const net = createHyperNet(spec, 3, { normalizeZ: parametrization === 'ntk' });
      const x = tf.randomNormal([3, small.dx], 0, 1, 'float32', 1) as tf.Tensor2D;
      const z = tf.randomNormal([3, small.dz], 0, 1, 'float32', 2) as tf.Tensor2D;
      const got = readMatrix(net.forward(x, z));
      const P = net.params.map((p) => readMatrix(p));
      const [W1, W2, V1, V2, V3, b1, b2, c1, c2, c3] = P; // weights, then biases (each [1, width])
      const ntk = parametrization === 'ntk';
      const norm = (v: number[]) => (ntk ? v.map((a) => a / Math.hypot(...v)) : v);
      const xs = readMatrix(x), zs = readMatrix(z);
      for (let i = 0; i < 3; i++) {
        // f: x → W1 → relu → W2 → relu → [V1 V2 V3] (+ biases), with √(2/w) after each relu in the NTK case
        const lin = (a: number[], W: number[][], b: number[]) => W[0].map((_, o) => a.reduce((s, ai, r) => s + ai * W[r][o], 0) + b[o]);
        const act = (a: number[]) => relu(a).map((v) => (ntk ? v * Math.sqrt(2 / a.length) : v));
        const top = act(lin(act(lin(norm(xs[i]), W1, b1[0])), W2, b2[0]));
        const block = (V: number[][], c: number[], rows: number, cols: number) => {
          const flat = lin(top, V, c);
          return Array.from({ length: rows }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
        };
        const G1 = block(V1, c1[0], small.m, small.dz);
        const G2 = block(V2, c2[0], small.m, small.m);
        const G3 = block(V3, c3[0], small.k, small.m);
        const h1 = relu(matVec(G1, norm(zs[i]))).map((v) => (ntk ? v * Math.sqrt(2 / small.m) : v));
        const h2 = matVec(G2, h1).map((v) => (ntk ? v * Math.sqrt(1 / small.m) : v)); // no ReLU here
        const out = matVec(G3, h2);
        for (let q = 0; q < small.k; q++) expect(got[i][q]).toBeCloseTo(out[q], 4);
      }
      // The model's g differs: a ReLU after the middle layer.
      const model = createHyperNet({ ...spec, gVariant: 'model' }, 3, { normalizeZ: ntk });
      expect(readMatrix(model.forward(x, z))).not.toEqual(got);
      tf.dispose([x, z]);
      net.dispose();
      model.dispose();
    }
  });
});

describe('biases and hidden-width lists', () => {
  it('biases change the output; zero biases give the bias-free network (same weights, same seed)', () => {
    const x = tf.randomNormal([4, small.dx], 0, 1, 'float32', 5) as tf.Tensor2D;
    const z = tf.randomNormal([4, small.dz], 0, 1, 'float32', 6) as tf.Tensor2D;
    for (const parametrization of ['ntk', 'standard'] as const) {
      const plain = createHyperNet({ ...small, parametrization }, 9);
      const biased = createHyperNet({ ...small, parametrization, fBiases: true }, 9);
      const h0 = readMatrix(plain.forward(x, z));
      const h1 = readMatrix(biased.forward(x, z));
      expect(h1).not.toEqual(h0);
      for (const i of [...biased.biasSlots.dense, ...biased.biasSlots.blocks]) biased.params[i].assign(tf.zerosLike(biased.params[i]));
      const h2 = readMatrix(biased.forward(x, z));
      h0.forEach((row, i) => row.forEach((v, q) => expect(h2[i][q]).toBeCloseTo(v, 5)));
      plain.dispose();
      biased.dispose();
    }
    tf.dispose([x, z]);
  });

  it('f.widths [n, …, n] gives the same network as width n × depth (different key, same numbers)', () => {
    const a = cfg({ task: 'sphere', f: { width: 16, depth: 4 }, kernels: { probe: 0 } });
    const b = cfg({ task: 'sphere', f: { widths: [16, 16, 16] }, kernels: { probe: 0 } });
    expect(trialId(a)).not.toBe(trialId(b));
    const sa = specFromConfig(a), sb = specFromConfig(b);
    expect({ ...sb, fWidths: undefined }).toEqual({ ...sa, fWidths: undefined });
    const x = tf.randomNormal([3, sa.dx], 0, 1, 'float32', 1) as tf.Tensor2D;
    const z = tf.randomNormal([3, sa.dz], 0, 1, 'float32', 2) as tf.Tensor2D;
    const na = createHyperNet(sa, 4), nb = createHyperNet(sb, 4);
    expect(readMatrix(nb.forward(x, z))).toEqual(readMatrix(na.forward(x, z)));
    // Unequal widths: the layers take them in order.
    const nc = createHyperNet({ ...sa, n: 9, fWidths: [5, 9, 3] }, 4);
    expect(nc.params.slice(0, 4).map((p) => p.shape)).toEqual([[sa.dx, 5], [5, 9], [9, 3], [3, sa.m * sa.dz]]); // V_1: g's first layer
    tf.dispose([x, z]);
    [na, nb, nc].forEach((n) => n.dispose());
  });

  for (const [label, extra] of [
    ['ntk + biases', { fBiases: true }],
    ['standard + biases', { fBiases: true, parametrization: 'standard' }],
    ['standard + biases + paper-code g + widths', { fBiases: true, parametrization: 'standard', gVariant: 'paper-code', fWidths: [7, 4], n: 7 }],
  ] as const) {
    it(`has gradients equal to central finite differences (${label})`, () => {
      const spec: HyperNetSpec = { ...small, ...extra };
      const net = createHyperNet(spec, 11, { normalizeZ: spec.parametrization !== 'standard' });
      const x = tf.randomNormal([5, spec.dx], 0, 1, 'float32', 3) as tf.Tensor2D;
      const z = tf.randomNormal([5, spec.dz], 0, 1, 'float32', 4) as tf.Tensor2D;
      const target = tf.softmax(tf.randomNormal([5, spec.k], 0, 1, 'float32', 5)) as tf.Tensor2D;
      const L0 = () => tf.tidy(() => lossOf(net.forward(x, z), target, 'xent').dataSync()[0]);
      const { value, grads } = tf.variableGrads(() => lossOf(net.forward(x, z), target, 'xent'), net.params);
      value.dispose();
      const eps = 1e-2;
      for (const v of net.params) {
        const g = grads[v.name].dataSync();
        const scale = Math.max(...Array.from(g, Math.abs));
        const base = v.dataSync().slice();
        for (const i of new Set([0, Math.floor(v.size / 3), Math.floor((2 * v.size) / 3), v.size - 1])) {
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
      tf.dispose([x, z, target, ...Object.values(grads)]);
      net.dispose();
    });
  }
});

describe('epochs', () => {
  it('trainEpochs visits every sample once per epoch (last batch smaller) and takes each epoch its own data', async () => {
    const net = createHyperNet({ ...small, k: 3 }, 1);
    const make = (seed: number): TrainData => ({
      x: tf.randomNormal([10, small.dx], 0, 1, 'float32', seed) as tf.Tensor2D,
      z: tf.randomNormal([10, small.dz], 0, 1, 'float32', seed + 1) as tf.Tensor2D,
      y: tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 'int32'), 3), 'float32') as tf.Tensor2D,
    });
    const asked: number[] = [], released: number[] = [], after: number[] = [];
    const datas = new Map<number, TrainData>();
    const r = await trainEpochs(
      net,
      { optimizer: 'sgd', lr: 0.01, batchSize: 4, loss: 'xent', logEvery: 1, seed: 2, epochs: 3 },
      {
        data: (e) => {
          asked.push(e);
          const d = make(10 * e + 1);
          datas.set(e, d);
          return d;
        },
        releaseData: (e) => released.push(e),
        afterEpoch: async (e) => void after.push(e),
      },
    );
    expect(r.status).toBe('completed');
    expect(r.stepsRun).toBe(3 * Math.ceil(10 / 4));
    expect(asked).toEqual([0, 1, 2]);
    expect(after).toEqual([0, 1, 2]);
    expect(released).toEqual([0, 1, 2]);
    // The final loss is the last epoch's data's loss, computed independently here.
    const last = datas.get(2)!;
    const want = tf.tidy(() => lossOf(net.forward(last.x, last.z), last.y, 'xent').dataSync()[0]);
    expect(r.finalLoss).toBeCloseTo(want, 5);
    expect(r.curve.map(([s]) => s)).toEqual([...Array.from({ length: 9 }, (_, i) => i), 9]);
    for (const d of datas.values()) tf.dispose([d.x, d.z, d.y]);
    net.dispose();
  });

  it('a trial with epochs stores the test curve per epoch; the final test metrics are the last epoch’s', async () => {
    const c: TrialConfigInput = {
      task: 'mnist-rotation',
      seed: 2,
      model: { parametrization: 'standard' },
      f: { widths: [16, 8], biases: true },
      g: { width: 4, depth: 3, outputs: 12, variant: 'paper-code' },
      data: { nTrain: 30, nTest: 20, interpolation: 'nearest', pixels: 'standardized', augment: 'per-epoch' },
      train: { optimizer: 'sgd', lr: 0.01, batchSize: 8, loss: 'xent', epochs: 3, logEvery: 2 },
      kernels: { probe: 0 },
    };
    const r = await runTrial(c, { backend: 'wasm' });
    const m = r.metrics as typeof r.metrics & { testCurve: { epoch: number; testLoss: number; testAccuracy: number }[] };
    expect(r.status).toBe('completed');
    expect(m.stepsRun).toBe(3 * 4);
    expect(m.testCurve.map((p) => p.epoch)).toEqual([1, 2, 3]);
    for (const p of m.testCurve) {
      expect(p.testAccuracy * 20).toBeCloseTo(Math.round(p.testAccuracy * 20), 9); // a count out of 20
      expect(Number.isFinite(p.testLoss)).toBe(true);
    }
    expect(m.testAccuracy).toBe(m.testCurve[2].testAccuracy);
    expect(m.testLoss).toBe(m.testCurve[2].testLoss);
    expect(m.parametrization).toBe('standard');
    expect(m.gVariant).toBe('paper-code');
    // Fresh test angles each epoch: the test losses differ (different data), unlike a fixed test set at equal weights.
    expect(new Set(m.testCurve.map((p) => p.testLoss)).size).toBe(3);
  });
});

describe('the rotation sweeps (sweeps/paper/rotation*.yaml)', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'sweeps', 'paper');
  it.each(['rotation.yaml', 'rotation-reduced.yaml'])('%s: the official protocol, m ∈ {10, 20, 50, 100} × 3 seeds, within its memory cap', (f) => {
    const path = join(dir, f);
    const spec = loadSweep(path);
    const trials = expandSweep(spec, path);
    expect(trials.length).toBe(12);
    expect([...new Set(trials.map((t) => t.config.g.width))].sort((a, b) => a - b)).toEqual([10, 20, 50, 100]);
    expect(new Set(trials.map((t) => t.config.seed)).size).toBe(3);
    for (const { config: c } of trials) {
      expect(c.model?.parametrization).toBe('standard');
      expect(c.f).toMatchObject({ widths: [200, 200, 200, 100], biases: true, width: 200, depth: 5 });
      expect(c.g).toMatchObject({ depth: 3, variant: 'paper-code' });
      expect(c.data).toMatchObject({ nTrain: 10000, interpolation: 'nearest', pixels: 'standardized', augment: 'per-epoch' });
      expect(c.train).toMatchObject({ optimizer: 'sgd', lr: 0.01, batchSize: 100, loss: 'xent' });
    }
    expect(trials[0].config.train.epochs).toBe(f === 'rotation.yaml' ? 10 : 3);
    expect(planTrials(spec, trials).totals.overCap).toBe(0);
    expect(spec.expect.map((e) => (e as { type: string }).type)).toEqual(['ordering', 'power-law']);
  });
});
