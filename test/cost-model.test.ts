import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fitCost, makespan, MIN_FIT_SAMPLES, PRIOR_FIT, sweepTime, timeModelFor, trialSeconds, trialFamily, type TimedTrial } from '../orchestrator/cost-model.js';
import { STEP_OVERHEAD_FLOPS, trialWork } from '../orchestrator/trial-cost.js';
import { estimateTrialCost } from '../worker/model/cost.js';
import { expandSweep } from '../orchestrator/expand.js';
import { loadSweep } from '../orchestrator/sweep.js';
import { closeDb, openDb } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { mulberry32 } from '../worker/model/rng.js';
import { repoRoot, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hs-costfit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fitCost', () => {
  it('recovers a planted intercept and slope from noisy durations', () => {
    const rand = mulberry32(7);
    const a = 0.4;
    const b = 1 / 6e9;
    const samples = Array.from({ length: 40 }, () => {
      const work = 1e9 * 100 ** rand(); // 1 to 100 GFLOP
      return { work, seconds: (a + b * work) * (1 + 0.05 * (rand() - 0.5)) };
    });
    const fit = fitCost(samples);
    expect(fit.source).toBe('fit');
    expect(fit.n).toBe(40);
    expect(Math.abs(fit.b - b) / b).toBeLessThan(0.03);
    expect(Math.abs(fit.a - a)).toBeLessThan(0.15);
    // Without noise: exact.
    const exact = fitCost(samples.map((s) => ({ work: s.work, seconds: a + b * s.work })));
    expect(exact.a).toBeCloseTo(a, 9);
    expect(exact.b * 1e9).toBeCloseTo(b * 1e9, 9);
    expect(exact.spread).toBe(0.15); // the floor
  });

  it('falls back to the prior below three trials', () => {
    expect(MIN_FIT_SAMPLES).toBe(3);
    const two = [{ work: 1e9, seconds: 100 }, { work: 2e9, seconds: 200 }];
    expect(fitCost(two)).toEqual({ ...PRIOR_FIT, n: 2 });
    expect(fitCost([])).toEqual({ ...PRIOR_FIT, n: 0 });
    expect(fitCost([...two, { work: 3e9, seconds: 300 }]).source).toBe('fit');
  });

  it('sets the intercept by the prior\'s shape when the data cannot pin it down', () => {
    // A machine 2.5× slower than the prior, trials of similar sizes with 10 % noise: the OLS intercept is noisy.
    const rand = mulberry32(11);
    const slow = Array.from({ length: 12 }, () => {
      const work = 4e10 + 2e10 * rand();
      return { work, seconds: 2.5 * (PRIOR_FIT.a + PRIOR_FIT.b * work) * (1 + 0.1 * (rand() - 0.5)) };
    });
    const fit = fitCost(slow);
    expect(fit.source).toBe('fit');
    expect(fit.a / PRIOR_FIT.a).toBeGreaterThan(2.3);
    expect(fit.a / PRIOR_FIT.a).toBeLessThan(2.7);
    expect(fit.b / PRIOR_FIT.b).toBeGreaterThan(2.3);
    expect(fit.b / PRIOR_FIT.b).toBeLessThan(2.7);
    // Points on a line through (0, −1): never a negative intercept; always a positive slope.
    for (const pts of [[1, 2, 3, 4].map((g) => ({ work: g * 1e9, seconds: 2 * g - 1 })), [1, 2, 3].map((g) => ({ work: g * 1e9, seconds: 10 - g }))]) {
      const f = fitCost(pts);
      expect(f.a).toBeGreaterThan(0);
      expect(f.b).toBeGreaterThan(0);
    }
    // With freeIntercept false even clean data keep the prior's shape for a: a = s·a₀, s = Σt·p / Σp².
    const clean = [1, 5, 20].map((g) => ({ work: g * 1e9, seconds: 0.4 + g / 6 }));
    const p = clean.map((c) => PRIOR_FIT.a + PRIOR_FIT.b * c.work);
    const scale = clean.reduce((s, c, i) => s + c.seconds * p[i]!, 0) / p.reduce((s, q) => s + q * q, 0);
    expect(fitCost(clean, PRIOR_FIT, { freeIntercept: false }).a).toBeCloseTo(scale * PRIOR_FIT.a, 12);
    expect(fitCost(clean).a).toBeCloseTo(0.4, 9);
  });
});

describe('makespan', () => {
  it('lays trials on the first free slot, in order', () => {
    expect(makespan([1, 1, 1, 1, 1], 2)).toBe(3);
    expect(makespan([5, 1, 1, 1], 2)).toBe(5);
    expect(makespan([1, 1, 1, 5], 2)).toBe(6); // small-first: the big one starts last, at 1 s
    expect(makespan([2], 4, [3, 1])).toBe(3);
    expect(makespan([], 3)).toBe(0);
    // One slot: the sum.
    expect(makespan([0.5, 2, 7], 1)).toBe(9.5);
  });
});

/** A finished trial of the quickstart's shape with a planted time a + b·work. */
function planted(host: string, backend: string, a: number, b: number) {
  const spec = loadSweep(join(repoRoot, 'sweeps', 'quickstart.yaml'));
  const list = expandSweep(spec, 'quickstart.yaml');
  return { spec, list, rows: list.map((t, i): TimedTrial => ({ config: t.config, host, backend, seconds: a + b * trialWork(t.config), finishedAt: i })) };
}

describe('timeModelFor', () => {
  it('fits on this host and backend only; auto takes the backend the host used last', () => {
    const mine = planted('h1', 'native', 0.5, 1 / 4e9).rows;
    const other = planted('h2', 'native', 9, 1e-6).rows;
    const wasm = planted('h1', 'wasm', 2, 1 / 1e9).rows.map((r) => ({ ...r, finishedAt: r.finishedAt - 100 }));
    const m = timeModelFor([...mine, ...other, ...wasm], 'h1');
    expect(m.backend).toBe('native');
    expect(m.source).toBe('fit on 20 trials of host h1, backend native');
    expect(Object.keys(m.families)).toEqual(['sphere']);
    expect(m.families.sphere!.a).toBeCloseTo(0.5, 6);
    expect(m.families.sphere!.b * 4e9).toBeCloseTo(1, 6);
    const w = timeModelFor([...mine, ...other, ...wasm], 'h1', 'wasm');
    expect(w.families.sphere!.a).toBeCloseTo(2, 6);
    expect(timeModelFor(mine, 'h3').source).toMatch(/^no measurements yet \(0 trials of host h3\), prior/);
  });

  it('a family without its own trials (here: no training) takes the host\'s throughput and the prior-shaped intercept', () => {
    const { rows, list } = planted('h1', 'native', 0.5, 1 / 4e9);
    const m = timeModelFor(rows, 'h1');
    const c = list[0]!.config;
    const noTrain = { ...c, train: { ...c.train, steps: 0 } };
    expect(trialFamily(noTrain)).toBe('sphere (no training)');
    expect(trialSeconds(m, noTrain)).toBeCloseTo(m.fit.a + m.fit.b * trialWork(noTrain), 12);
    expect(trialSeconds(m, c)).toBeCloseTo(0.5 + trialWork(c) / 4e9, 9);
  });

  it('the sweep time is the planted core-seconds, laid on the workers', () => {
    const a = 0.5;
    const b = 1 / 4e9;
    const { list, rows } = planted('h1', 'native', a, b);
    const configs = list.map((t) => t.config);
    const t = sweepTime(timeModelFor(rows, 'h1'), configs, 1);
    const expected = configs.reduce((s, c) => s + a + (b * estimateTrialCost(c).flopsPerStep * c.train.steps), 0);
    // trialWork adds the steps' fixed cost, the kernels and the test rows to training FLOPs: a few % here.
    expect(t.coreSeconds).toBeGreaterThan(expected);
    expect(t.coreSeconds).toBeLessThan(expected * 1.15);
    expect(t.wallSeconds).toBeCloseTo(t.coreSeconds + 1, 6);
  });
});

describe('trialWork', () => {
  it('grows by the per-step estimate with each training step, and counts kernels and evaluation without steps', () => {
    const { list } = planted('h', 'native', 0, 0);
    const c = list[0]!.config;
    const at = (steps: number) => trialWork({ ...c, train: { ...c.train, steps } });
    expect(at(300) - at(100)).toBeCloseTo(200 * (estimateTrialCost(c).flopsPerStep + STEP_OVERHEAD_FLOPS), -3);
    expect(at(0)).toBeGreaterThan(0);
    expect(trialWork({ ...c, kernels: { ...c.kernels, probe: 0 }, train: { ...c.train, steps: 0 } })).toBeLessThan(at(0));
  });
});

describe('plan prints the time for the workers it will use', () => {
  it('from a fit on the database\'s trials of this host, or the prior without one', async () => {
    const db = join(dir, 'timed.db');
    const a = 0.25;
    const b = 1 / 8e9;
    const { spec, list } = planted(hostname(), 'native', a, b);
    const d = openDb(db);
    try {
      upsertSweep(d, spec, list);
      for (const t of list) {
        const result = {
          status: 'completed' as const, metrics: { trainLoss: 0, testLoss: null, stepsRun: 1, kernel: null }, curve: [],
          backend: 'native', timings: { totalMs: 1000 * (a + b * trialWork(t.config)) }, versions: {},
        };
        recordResult(d, t.id, result, { worker: 'w', host: hostname() });
      }
    } finally {
      closeDb(d);
    }
    const sweep = join(repoRoot, 'sweeps', 'quickstart.yaml');
    const r = await runCli(['plan', sweep, '--db', db, '--concurrency', '1', '--limit', '0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const core = list.reduce((s, t) => s + a + b * trialWork(t.config), 0);
    expect(r.stdout).toContain(`(fit on 20 trials of host ${hostname()}, backend native)`);
    expect(r.stdout).toMatch(new RegExp(`time: ≈ ${Math.round(core)} s of compute`));
    expect(r.stdout).toMatch(new RegExp(`local: ≈ ${Math.round(core + 1)} s wall on 1 worker × 1 compute thread \\(± 15 %`));
    expect(r.stdout).toMatch(/with --redis: ≈ \d+ s per worker slot/);
    const json = JSON.parse((await runCli(['plan', sweep, '--db', db, '--concurrency', '2', '--json'])).stdout) as {
      time: { workers: number; wallSeconds: number; coreSeconds: number; fitTrials: number };
    };
    expect(json.time.workers).toBe(2);
    expect(json.time.fitTrials).toBe(20);
    expect(json.time.coreSeconds).toBeCloseTo(core, 6);
    expect(json.time.wallSeconds).toBeLessThan(core);
    const none = await runCli(['plan', sweep, '--db', join(dir, 'absent.db'), '--limit', '0']);
    expect(none.stdout).toMatch(/no measurements yet \(0 trials of host .*\), prior: 0\.3 s \+ 5 GFLOP\/s per trial/);
    const bad = await runCli(['plan', sweep, '--concurrency', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --concurrency: expected a whole number from 1 to 256, got "0"|--concurrency: expected a whole number from 1 to 256/);
  });
});
