import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { selectBackend } from '../worker/backend/index.js';
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
import { MemoryCapError } from '../worker/model/cost.js';
import { trialPhases, trialProgressSchema, type TrialProgress } from '../core/progress.js';
import { trialResultSchema } from '../core/result.js';
import { buildTask } from '../worker/tasks/index.js';
import { runTrial } from '../worker/trial.js';

const fixture = (name: string): TrialConfigInput => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

beforeAll(async () => {
  await selectBackend('wasm');
});

const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

describe('runTrial on the tiny sphere fixture', () => {
  it('completes, lowers the loss, reports finite kernel metrics, passes the result schema and leaks no tensor', async () => {
    const progress: TrialProgress[] = [];
    const before = tf.memory().numTensors;
    const r = await runTrial(fixture('trial-sphere.json'), { backend: 'wasm', onProgress: (p) => progress.push(p) });
    expect(tf.memory().numTensors).toBe(before);

    expect(trialResultSchema.parse(r)).toEqual(r);
    expect(r.status).toBe('completed');
    expect(r.backend).toBe('wasm');
    expect(r.metrics.stepsRun).toBe(60);
    const first = r.curve[0][1], last = r.curve[r.curve.length - 1][1];
    expect(last).toBeLessThan(0.5 * first);
    expect(r.metrics.trainLoss).toBeCloseTo(last, 5);
    expect(finite(r.metrics.testLoss)).toBe(true);
    const k = r.metrics.kernel!;
    for (const set of [k.init, k.final]) for (const v of Object.values(set)) expect(finite(v)).toBe(true);
    for (const a of [k.init.ntkAlignment, k.final.ntkAlignment, k.init.gpAlignment]) {
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThanOrEqual(1 + 1e-9);
    }
    expect(k.movement).toBeGreaterThan(0);
    for (const key of ['hypersweep', 'tfjs-core', 'backend', 'node']) expect(r.versions[key]).toBeTruthy();
    for (const key of ['setupMs', 'trainMs', 'totalMs']) expect(finite(r.timings[key])).toBe(true);

    // Progress: valid wire messages, phases in the documented order, training steps non-decreasing.
    for (const p of progress) trialProgressSchema.parse(p);
    const phases = progress.map((p) => p.phase).filter((p, i, a) => p !== a[i - 1]);
    const order = phases.map((p) => trialPhases.indexOf(p as (typeof trialPhases)[number]));
    expect(order.every((o, i) => o >= 0 && (i === 0 || o > order[i - 1]))).toBe(true);
    expect(phases[0]).toBe('setup');
    expect(phases[phases.length - 1]).toBe('done');
    const steps = progress.filter((p) => p.phase === 'train' && p.step !== undefined).map((p) => p.step!);
    expect(steps[steps.length - 1]).toBe(60);
    expect(steps.every((s, i) => i === 0 || s >= steps[i - 1])).toBe(true);
  });

  it('is deterministic for a seed and changes with it', async () => {
    const cfg = { ...fixture('trial-sphere.json'), train: { steps: 5, lr: 0.2 } };
    const a = await runTrial(cfg, { backend: 'wasm' });
    const b = await runTrial(cfg, { backend: 'wasm' });
    const c = await runTrial({ ...cfg, seed: 2 }, { backend: 'wasm' });
    expect(a.metrics.trainLoss).toBe(b.metrics.trainLoss);
    expect(a.metrics.kernel).toEqual(b.metrics.kernel);
    expect(c.metrics.trainLoss).not.toBe(a.metrics.trainLoss);
  });

  it('skips kernel metrics with kernels.probe = 0', async () => {
    const r = await runTrial({ ...fixture('trial-sphere.json'), kernels: { probe: 0 }, train: { steps: 2 } }, { backend: 'wasm' });
    expect(r.metrics.kernel).toBeNull();
    expect(trialResultSchema.safeParse(r).success).toBe(true);
  });

  it('reports divergence as a result, not an error', async () => {
    const r = await runTrial({ ...fixture('trial-sphere.json'), train: { lr: 1e6, steps: 30 } }, { backend: 'wasm' });
    expect(r.status).toBe('diverged');
    expect(r.metrics.trainLoss).toBeNull();
    expect(trialResultSchema.safeParse(r).success).toBe(true);
  });

  it('stops when aborted mid-training, rejects with AbortError and disposes everything', async () => {
    const before = tf.memory().numTensors;
    const ac = new AbortController();
    const run = runTrial(
      { ...fixture('trial-sphere.json'), train: { steps: 100000, logEvery: 1 } },
      { backend: 'wasm', signal: ac.signal, onProgress: (p) => (p.step ?? 0) >= 3 && ac.abort() },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('runTrial input errors', () => {
  it('names an unknown key with its path', async () => {
    await expect(runTrial({ task: 'sphere', train: { stepz: 3 } })).rejects.toThrow(/trial config: train: Unrecognized key: "stepz"/);
  });

  it('names a wrongly typed key', async () => {
    await expect(runTrial({ task: 'sphere', f: { width: '64' } })).rejects.toThrow(/f\.width: .*expected number/);
  });

  it('refuses a trial over the memory cap before allocating anything', async () => {
    const before = tf.memory().numBytes;
    const err = await runTrial({ task: 'sphere', f: { width: 200000 }, g: { width: 2048 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MemoryCapError);
    expect(err).toBeInstanceOf(HypersweepError);
    expect(tf.memory().numBytes).toBe(before);
  });

  it('refuses the noop task (the processor runs it)', async () => {
    await expect(runTrial({ task: 'noop' })).rejects.toThrow(/task: 'noop'/);
  });
});

describe('runTrial on MNIST', () => {
  it('mnist-completion: network and kernel-regression metrics; kernel regression beats predicting the training mean', async () => {
    const cfgIn = fixture('trial-mnist-completion.json');
    const r = await runTrial(cfgIn, { backend: 'wasm' });
    expect(trialResultSchema.safeParse(r).success).toBe(true);
    expect(r.status).toBe('completed');
    const m = r.metrics as Record<string, unknown>;
    expect(finite(m.testMseAll)).toBe(true);
    expect(finite(m.testMseHidden)).toBe(true);
    // testLoss is the training loss's definition, (1/2N)·Σ(h − y)², on all test pixels
    expect(r.metrics.testLoss).toBeCloseTo((m.testMseAll as number) / 2, 6);

    const kr = m.kernelRegression as { trainPoints: number; hyperkernel: { mseAll: number; mseHidden: number }; gp: { mseAll: number; mseHidden: number } };
    expect(kr.trainPoints).toBe(200);
    const capped = await runTrial({ ...cfgIn, train: { ...cfgIn.train, steps: 2 }, kernels: { ...cfgIn.kernels, probe: 0, regressionMaxTrain: 55 } }, { backend: 'wasm' });
    expect((capped.metrics as Record<string, unknown> as { kernelRegression: { trainPoints: number } }).kernelRegression.trainPoints).toBe(50); // whole images of 10 pixels
    // An independent bar: MSE of predicting the training targets' mean on every test pixel, computed here.
    const data = buildTask(trialConfigSchema.parse(cfgIn));
    const mean = data.train.y.reduce((s, v) => s + v, 0) / data.train.n;
    let base = 0, baseHidden = 0, nHidden = 0;
    data.test.y.forEach((v, i) => {
      base += (v - mean) ** 2;
      if (data.test.hidden![i]) {
        baseHidden += (v - mean) ** 2;
        nHidden++;
      }
    });
    base /= data.test.n;
    baseHidden /= nHidden;
    for (const k of [kr.hyperkernel, kr.gp]) {
      expect(k.mseAll).toBeLessThan(base);
      expect(k.mseHidden).toBeLessThan(baseHidden);
      expect(k.mseAll).toBeGreaterThan(0);
    }
  });

  it('mnist-rotation: 12-class accuracy and cross-entropy loss', async () => {
    const cfg = { ...fixture('trial-mnist-rotation.json'), f: { width: 32 }, g: { width: 8 }, train: { optimizer: 'sgd' as const, lr: 0.01, steps: 5, batchSize: 32, loss: 'xent' as const } };
    const r = await runTrial(cfg, { backend: 'wasm' });
    expect(trialResultSchema.safeParse(r).success).toBe(true);
    expect(r.metrics.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(r.metrics.testAccuracy).toBeLessThanOrEqual(1);
    expect(Number.isInteger(r.metrics.testAccuracy! * 32)).toBe(true);
    expect(r.metrics.testLoss).toBeGreaterThan(0);
  });
});
