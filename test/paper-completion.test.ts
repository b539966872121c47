import { describe, expect, it } from 'vitest';
import { canonicalConfig } from '../core/identity.js';
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
import { computeCrossKernels, computeKernels, kernelRegression } from '../worker/kernels/index.js';
import { buildTask } from '../worker/tasks/index.js';
import { maskedImage } from '../worker/tasks/completion.js';
import { loadMnist } from '../worker/tasks/mnist.js';
import { pixelMse } from '../worker/trial/evaluate.js';
import { completionKernelRegression } from '../worker/trial/regression.js';

/**
 * mnist-completion's official protocol (docs/paper.md): the 'paper' split, K pixel draws averaged, mseVisible and
 * the image baselines — each checked against a computation from the raw MNIST file.
 */

const cfg = (patch: { data?: object; kernels?: object; seed?: number } = {}) =>
  canonicalConfig({
    task: 'mnist-completion',
    seed: patch.seed ?? 0,
    f: { depth: 3 },
    g: { depth: 3, input: 'rff' },
    data: { nTrain: 4, nTest: 2, pixelsPerImage: 10, ...patch.data },
    train: { steps: 0 },
    kernels: { probe: 0, ...patch.kernels },
  } satisfies TrialConfigInput);

const train = loadMnist('train');
const t10k = loadMnist('t10k');
const pixel = (set: typeof train, img: number, col: number, row: number) => set.images[img * 784 + row * 28 + col] / 255;

describe("data.split: 'paper'", () => {
  it('takes MNIST train rows 5000, 5001, … and t10k rows 0, 1, … in order; the targets are those images', () => {
    const d = buildTask(cfg({ data: { split: 'paper' } }));
    expect(d.images).toEqual({ train: [5000, 5001, 5002, 5003], test: [0, 1] });
    const c = d.train.coords!;
    for (let i = 0; i < d.train.n; i++) {
      expect(d.train.y[i]).toBe(Math.fround(pixel(train, 5000 + d.train.xIndex[i], c[2 * i], c[2 * i + 1])));
    }
    expect(Array.from(d.test.y.subarray(784, 2 * 784))).toEqual(Array.from(t10k.images.subarray(784, 2 * 784), (v) => Math.fround(v / 255)));
    expect(Array.from(d.train.xRows[1])).toEqual(Array.from(maskedImage(train, 5001, 'top-half')));
  });

  it('the default random split is unchanged by spelling it out, and other tasks refuse the new keys', () => {
    expect(buildTask(cfg({ data: { split: 'random' } })).images).toEqual(buildTask(cfg()).images);
    expect(trialConfigSchema.safeParse({ task: 'sphere', data: { split: 'paper' } }).error?.issues[0].path).toEqual(['data', 'split']);
    expect(trialConfigSchema.safeParse({ task: 'sphere', kernels: { regressionDraws: 5 } }).error?.issues[0].path).toEqual(['kernels', 'regressionDraws']);
    const tooMany = { task: 'mnist-completion', g: { input: 'rff' }, data: { split: 'paper', nTrain: 55_001 } };
    expect(trialConfigSchema.safeParse(tooMany).error?.issues[0].path).toEqual(['data', 'nTrain']);
  });
});

describe('kernels.regressionDraws', () => {
  it('adds K − 1 draws of new pixels of the same images and leaves the first draw as it was', () => {
    const one = buildTask(cfg());
    const five = buildTask(cfg({ kernels: { regressionDraws: 5 } }));
    expect(one.extraDraws).toBeUndefined();
    expect(five.extraDraws).toHaveLength(4);
    expect(Array.from(five.train.coords!)).toEqual(Array.from(one.train.coords!));
    expect(Array.from(five.train.z)).toEqual(Array.from(one.train.z));
    const key = (c: Float32Array) => Array.from(c).join(',');
    const keys = new Set([key(five.train.coords!), ...five.extraDraws!.map((d) => key(d.coords))]);
    expect(keys.size).toBe(5);
    for (const d of five.extraDraws!) {
      for (let i = 0; i < five.train.n; i++) {
        const img = five.images!.train[five.train.xIndex[i]];
        expect(d.y[i]).toBe(Math.fround(pixel(train, img, d.coords[2 * i], d.coords[2 * i + 1])));
      }
    }
  });

  it('the prediction is the mean of one independent kernel regression per draw; baselines from the raw images', () => {
    for (const mode of ['exact', 'paper-code'] as const) {
      const c = cfg({ data: { split: 'paper' }, kernels: { regressionDraws: 3, mode } });
      const d = buildTask(c);
      const net = { fDepth: 3, gDepth: 3, gamma: c.g.rffGamma, mode, maxTrain: 2000 };
      const got = completionKernelRegression(d, net)!;
      expect(got.draws).toBe(3);
      // independent: points rebuilt from the raw file, Grams by computeKernels, one kernelRegression per draw
      const images = [5000, 5001, 5002, 5003];
      const spec = { fDepth: 3, gDepth: 3, zKernel: { type: 'rbf' as const, gamma: c.g.rffGamma } };
      const test = {
        x: [0, 1].flatMap((img) => Array.from({ length: 784 }, () => maskedImage(t10k, img, 'top-half'))),
        z: [0, 1].flatMap(() => Array.from({ length: 784 }, (_, p) => Float32Array.of(p % 28, Math.floor(p / 28)))),
      };
      const avg = { hyperkernel: new Float64Array(2 * 784), gp: new Float64Array(2 * 784) };
      for (const draw of [{ coords: d.train.coords!, y: d.train.y }, ...d.extraDraws!]) {
        const pts = {
          x: Array.from({ length: d.train.n }, (_, i) => maskedImage(train, images[Math.floor(i / 10)], 'top-half')),
          z: Array.from({ length: d.train.n }, (_, i) => draw.coords.subarray(2 * i, 2 * i + 2)),
        };
        const kTrain = computeKernels(pts, spec, mode);
        const kCross = computeCrossKernels(test, pts, spec, mode);
        for (const k of ['hyperkernel', 'gp'] as const) {
          const pred = kernelRegression(kTrain[k], kCross[k], Float64Array.from(draw.y), 1);
          pred.forEach((v, i) => (avg[k][i] += v / 3));
        }
      }
      for (const k of ['hyperkernel', 'gp'] as const) {
        const want = pixelMse(avg[k], d.test.y, d.test.hidden);
        expect(got[k].mseAll).toBeCloseTo(want.mseAll, 10);
        expect(got[k].mseHidden).toBeCloseTo(want.mseHidden!, 10);
        expect(got[k].mseVisible).toBeCloseTo(want.mseVisible!, 10);
      }
      // mean image of the 4 training images; copyVisible: exact on the top half, the mean image below
      let se = 0, seHidden = 0;
      for (const img of [0, 1]) {
        for (let p = 0; p < 784; p++) {
          const mean = images.reduce((a, i) => a + train.images[i * 784 + p] / 255, 0) / 4;
          const e = (mean - t10k.images[img * 784 + p] / 255) ** 2;
          se += e;
          if (p >= 14 * 28) seHidden += e;
        }
      }
      expect(got.baselines.meanImage.mseAll).toBeCloseTo(se / 1568, 6);
      expect(got.baselines.meanImage.mseHidden).toBeCloseTo(seHidden / 784, 6);
      expect(got.baselines.copyVisible.mseHidden).toBeCloseTo(seHidden / 784, 6);
      expect(got.baselines.copyVisible.mseAll).toBeCloseTo(seHidden / 1568, 6);
    }
  });
});

describe('pixelMse', () => {
  it('mseVisible is the error off the hidden pixels, and all pixels when none is hidden', () => {
    const y = Float32Array.of(0, 1, 2, 3);
    const pred = [1, 1, 0, 3];
    expect(pixelMse(pred, y, Uint8Array.of(0, 0, 1, 1))).toEqual({ mseAll: 5 / 4, mseHidden: 4 / 2, mseVisible: 1 / 2 });
    expect(pixelMse(pred, y, undefined)).toEqual({ mseAll: 5 / 4, mseHidden: null, mseVisible: 5 / 4 });
  });
});
