import { describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
import {
  buildTask,
  checkTaskConfig,
  createRff,
  createRng,
  rffApply,
  rotateImage,
  rotationBin,
  wrapDegrees,
} from '../worker/tasks/index.js';
import { loadMnist } from '../worker/tasks/mnist.js';
import { taskRows } from '../worker/model/cost.js';

const cfg = (c: TrialConfigInput) => trialConfigSchema.parse(c);

describe('rotation labels', () => {
  it('labels a2 with the nearest multiple of 30°, wrapping 345°–360° to class 0', () => {
    const cases: [number, number][] = [
      [0, 0], [14.999, 0], [15, 1], [29.999, 1], [30, 1], [45, 2], [180, 6], [344.9, 11], [345, 0], [350, 0],
      [359.9, 0], [360, 0], [361, 0], [720 + 95, 3], [-10, 0], [-30, 11], [-30.5, 11], [-46, 10], [-360, 0], [-1e-20, 0],
    ];
    for (const [a, bin] of cases) expect([a, rotationBin(a)]).toEqual([a, bin]);
  });

  it('every bin is hit equally often by a uniform grid of angles', () => {
    const counts = new Array(12).fill(0);
    for (let a = -720; a < 720; a += 0.5) counts[rotationBin(a)]++;
    expect(new Set(counts).size).toBe(1);
  });

  it('wraps degrees into [0, 360)', () => {
    expect(wrapDegrees(-10)).toBe(350);
    expect(wrapDegrees(360)).toBe(0);
    expect(wrapDegrees(725)).toBe(5);
  });
});

describe('rotateImage', () => {
  const side = 28;
  const img = Float32Array.from(loadMnist('train').images.subarray(0, 784), (v) => v / 255);

  it('rotates by 90° counter-clockwise exactly like transpose + flip of the pixel grid', () => {
    const out = rotateImage(img, side, 90);
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) expect(out[r * side + c]).toBe(img[c * side + (side - 1 - r)]);
  });

  it('is the identity at 0° and 360°, and 180° is a point reflection', () => {
    expect(Array.from(rotateImage(img, side, 0))).toEqual(Array.from(img));
    expect(Array.from(rotateImage(img, side, 360))).toEqual(Array.from(img));
    const half = rotateImage(img, side, 180);
    for (let p = 0; p < 784; p++) expect(half[p]).toBe(img[783 - p]);
  });

  it('at 90° + ε differs from the exact 90° result only by O(ε)', () => {
    const a = rotateImage(img, side, 90), b = rotateImage(img, side, 90 + 1e-6);
    let maxDiff = 0;
    for (let p = 0; p < 784; p++) maxDiff = Math.max(maxDiff, Math.abs(a[p] - b[p]));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('interpolates bilinearly: a 30° turn of a single bright pixel spreads its mass without creating any', () => {
    const one = new Float32Array(16);
    one[1 * 4 + 1] = 1;
    const out = rotateImage(one, 4, 30);
    const total = out.reduce((s, v) => s + v, 0);
    expect(total).toBeGreaterThan(0.5);
    expect(total).toBeLessThanOrEqual(1.5);
    for (const v of out) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('two 45° turns are close to one 90° turn away from the corners', () => {
    const twice = rotateImage(rotateImage(img, side, 45), side, 45);
    const once = rotateImage(img, side, 90);
    let err = 0, norm = 0;
    for (let p = 0; p < 784; p++) {
      err += (twice[p] - once[p]) ** 2;
      norm += once[p] ** 2;
    }
    expect(Math.sqrt(err / norm)).toBeLessThan(0.35); // interpolation blurs twice; the digit must still coincide
  });
});

describe('random Fourier features', () => {
  it('approximate the RBF kernel exp(−γ‖z − z′‖²) (Monte-Carlo identity, D = 20000)', () => {
    const gamma = 0.25, D = 20000;
    const rff = createRff(2, D, gamma, 7);
    const pts = [[0, 0], [1, 0], [3, 4], [10, 27], [0.5, 0.5]];
    const phis = pts.map((p) => rffApply(rff, p));
    for (let i = 0; i < pts.length; i++) {
      for (let j = 0; j < pts.length; j++) {
        let dot = 0;
        for (let q = 0; q < D; q++) dot += phis[i][q] * phis[j][q];
        const d2 = (pts[i][0] - pts[j][0]) ** 2 + (pts[i][1] - pts[j][1]) ** 2;
        // sd of the estimate ≤ 1/√D ≈ 0.007
        expect(Math.abs(dot - Math.exp(-gamma * d2))).toBeLessThan(0.04);
      }
    }
  });
});

describe('seeded RNG', () => {
  it('gives independent streams and standard normals', () => {
    const a = createRng(1, 'a'), b = createRng(1, 'b');
    expect(a.uniform()).not.toBe(b.uniform());
    const r = createRng(3, 'n');
    let s = 0, s2 = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const v = r.normal();
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / N)).toBeLessThan(0.05);
    expect(Math.abs(s2 / N - 1)).toBeLessThan(0.05);
    const k = r.sample(10, 10).sort((x, y) => x - y);
    expect(k).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('tasks are seeded', () => {
  const configs: TrialConfigInput[] = [
    { task: 'sphere', data: { nTrain: 8, nTest: 4, dx: 5, dz: 3 } },
    { task: 'sphere', data: { nTrain: 8, nTest: 4, target: 'gaussian' }, g: { input: 'rff', rffFeatures: 16 } },
    { task: 'mnist-completion', data: { nTrain: 3, nTest: 1, pixelsPerImage: 5 }, g: { input: 'rff', rffFeatures: 8 } },
    { task: 'mnist-rotation', data: { nTrain: 4, nTest: 2 } },
  ];
  for (const c of configs) {
    it(`${c.task} ${JSON.stringify(c.data)}: same seed → same data, different seed → different`, () => {
      const a = buildTask(cfg({ ...c, seed: 1 }));
      const b = buildTask(cfg({ ...c, seed: 1 }));
      const d = buildTask(cfg({ ...c, seed: 2 }));
      for (const s of ['train', 'test'] as const) {
        expect(a[s].z).toEqual(b[s].z);
        expect(a[s].y).toEqual(b[s].y);
        expect(a[s].xRows).toEqual(b[s].xRows);
        expect(a[s].xIndex).toEqual(b[s].xIndex);
      }
      expect(a.train.z).not.toEqual(d.train.z);
      expect(a.train.xRows).not.toEqual(d.train.xRows);
    });
  }

  it('sphere: x and z on unit spheres, sizes from config.data', () => {
    const t = buildTask(cfg({ task: 'sphere', data: { nTrain: 10, nTest: 3, dx: 6, dz: 4 } }));
    expect(t.train.n).toBe(10);
    expect(t.test.n).toBe(3);
    for (const x of t.train.xRows) expect(Math.hypot(...x)).toBeCloseTo(1, 5);
    for (let i = 0; i < 10; i++) expect(Math.hypot(...t.train.z.subarray(i * 4, i * 4 + 4))).toBeCloseTo(1, 5);
    // the teacher's targets vary with x and are finite
    expect(new Set(t.train.y).size).toBe(10);
  });

  it('mnist-completion: masked bottom half, targets = true pixel values, hidden flags on rows ≥ 14', () => {
    const t = buildTask(cfg({ task: 'mnist-completion', data: { nTrain: 4, nTest: 1, pixelsPerImage: 6 }, g: { input: 'rff', rffFeatures: 8 } }));
    expect(t.train.n).toBe(24);
    expect(t.test.n).toBe(784);
    const train = loadMnist('train');
    for (const x of t.train.xRows) for (let p = 14 * 28; p < 784; p++) expect(x[p]).toBe(0);
    for (let i = 0; i < t.train.n; i++) {
      const img = t.images!.train[t.train.xIndex[i]];
      const col = t.train.coords![2 * i], row = t.train.coords![2 * i + 1];
      expect(t.train.y[i]).toBeCloseTo(train.images[img * 784 + row * 28 + col] / 255, 6);
      expect(t.train.hidden![i]).toBe(row >= 14 ? 1 : 0);
    }
    expect(t.test.hidden!.reduce((s, v) => s + v, 0)).toBe(392);
    // held-out images come from the t10k file
    const full = buildTask(cfg({ task: 'mnist-completion', data: { nTrain: 1, nTest: 1, mask: 'none' }, g: { input: 'rff' } }));
    const t10k = loadMnist('t10k');
    const i = full.images!.test[0];
    expect(Array.from(full.test.xRows[0])).toEqual(Array.from(t10k.images.subarray(i * 784, i * 784 + 784), (v) => Math.fround(v / 255)));
  });

  it('mnist-rotation: one-hot targets that match the labels, 12 classes', () => {
    const t = buildTask(cfg({ task: 'mnist-rotation', data: { nTrain: 30, nTest: 2 } }));
    expect(t.k).toBe(12);
    for (let i = 0; i < 30; i++) {
      const row = Array.from(t.train.y.subarray(i * 12, i * 12 + 12));
      expect(row.reduce((s, v) => s + v, 0)).toBe(1);
      expect(row.indexOf(1)).toBe(t.train.labels![i]);
    }
    expect(new Set(t.train.labels).size).toBeGreaterThan(6);
  });
});

describe('task/config combinations', () => {
  const cases: [TrialConfigInput, string, RegExp][] = [
    [{ task: 'mnist-completion' }, 'g.input', /'rff'/],
    [{ task: 'mnist-completion', g: { input: 'rff' }, data: { pixelsPerImage: 785 } }, 'data.pixelsPerImage', /at most 784/],
    [{ task: 'mnist-completion', g: { input: 'rff', outputs: 2 } }, 'g.outputs', /must be 1/],
    [{ task: 'mnist-rotation', data: { nTest: 10001 } }, 'data.nTest', /at most 10000/],
    [{ task: 'sphere', train: { loss: 'xent' } }, 'train.loss', /needs classes/],
    [{ task: 'mnist-rotation', g: { outputs: 3 } }, 'g.outputs', /12 classes/],
  ];
  for (const [input, key, pattern] of cases) {
    it(`the config schema reports ${key} for ${JSON.stringify(input)}`, () => {
      const r = trialConfigSchema.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error!.issues[0].path.join('.')).toBe(key);
      expect(r.error!.issues[0].message).toMatch(pattern);
    });
  }

  it('accepts what each task can run', () => {
    for (const c of [{ task: 'sphere' }, { task: 'mnist-completion', g: { input: 'rff' } }, { task: 'mnist-rotation', train: { loss: 'xent' } }, { task: 'noop' }] as const) {
      expect(trialConfigSchema.safeParse(c).success).toBe(true);
    }
  });

  it('checkTaskConfig (runTrial\'s check) throws a HypersweepError naming the key, and refuses noop', () => {
    const c = { ...cfg({ task: 'sphere' }), task: 'mnist-completion' as const };
    expect(() => checkTaskConfig(c)).toThrow(HypersweepError);
    expect(() => checkTaskConfig(c)).toThrow(/trial config: g\.input: /);
    expect(() => checkTaskConfig(cfg({ task: 'noop' }))).toThrow(/task: 'noop'/);
  });
});

describe('memory estimate row counts (model/cost.ts taskRows)', () => {
  // independent of taskRows: build the data and count samples and distinct x rows (by reference and by value)
  const distinctX = (s: { n: number; xIndex: Int32Array; xRows: readonly Float32Array[] }) => {
    const used = new Set<number>();
    for (let i = 0; i < s.n; i++) used.add(s.xIndex[i]);
    const byValue = new Set([...used].map((r) => s.xRows[r].join(',')));
    expect(byValue.size).toBe(used.size);
    return used.size;
  };
  const configs: TrialConfigInput[] = [
    { task: 'sphere', data: { nTrain: 37, nTest: 5, dx: 6, dz: 3 } },
    { task: 'sphere', g: { input: 'rff', rffFeatures: 16 }, data: { nTrain: 12, nTest: 0 } },
    { task: 'mnist-completion', g: { input: 'rff', rffFeatures: 16 }, data: { nTrain: 7, nTest: 2, pixelsPerImage: 20 } },
    { task: 'mnist-completion', g: { input: 'rff', rffFeatures: 8 }, data: { nTrain: 3, nTest: 1, pixelsPerImage: 784, mask: 'none' } },
    { task: 'mnist-completion', g: { input: 'rff', rffFeatures: 8 }, data: { nTrain: 10, nTest: 0, pixelsPerImage: 1 } },
    { task: 'mnist-rotation', g: { width: 8 }, data: { nTrain: 9, nTest: 4 } },
  ];
  for (const input of configs) {
    it(`match the data the task builds (${JSON.stringify(input.data)}, ${input.task})`, () => {
      const c = cfg(input);
      const data = buildTask(c);
      const rows = taskRows(c);
      expect(rows.train.rows).toBe(data.train.n);
      expect(rows.test.rows).toBe(data.test.n);
      expect(rows.train.distinctX).toBe(distinctX(data.train));
      expect(rows.test.distinctX).toBe(distinctX(data.test));
    });
  }
});
