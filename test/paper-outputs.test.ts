import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialIdOf } from '../core/identity.js';
import { dataSeedOf, regressionDrawsOf, splitOf, type TrialConfig } from '../core/config.js';
import { expandSweep } from '../orchestrator/expand.js';
import { loadSweep } from '../orchestrator/sweep.js';
import { jackknifeSe, sampleMoments } from '../schema/queries-outputs.js';
import { createRng } from '../worker/tasks/index.js';
import { buildTask } from '../worker/tasks/index.js';
import { repoRoot, runCli } from './helpers/cli.js';

/**
 * Non-Gaussian outputs at finite m (docs/paper.md): the estimators, the 15/m formula by direct simulation, the
 * query on real trials, and the new config keys leaving every earlier trial id unchanged.
 */

describe('moments and the 15/m formula', () => {
  it('sampleMoments: known values, and Gaussian data has excess kurtosis ≈ 0 within 4·√(24/N)', () => {
    const m = sampleMoments([1, -1, 1, -1]);
    expect(m.mean).toBe(0);
    expect(m.variance).toBeCloseTo(4 / 3, 12);
    expect(m.excessKurtosis).toBeCloseTo(-2, 12); // two-point distribution: m4/m2² = 1
    const rng = createRng(1, 'gauss');
    const N = 20_000;
    const g = sampleMoments(Array.from({ length: N }, () => rng.normal()));
    expect(Math.abs(g.excessKurtosis)).toBeLessThan(4 * Math.sqrt(24 / N));
  });

  it('h = m^(−1/2)·Σ w_i·√2·relu(g_i) (n → ∞, L = 2, unit inputs) has excess kurtosis 15/m', () => {
    const rng = createRng(7, 'fifteen-over-m');
    const draws = 200_000;
    for (const m of [1, 4]) {
      const h = Array.from({ length: draws }, () => {
        let s = 0;
        for (let i = 0; i < m; i++) s += rng.normal() * Math.SQRT2 * Math.max(rng.normal(), 0);
        return s / Math.sqrt(m);
      });
      const s = sampleMoments(h);
      expect(s.variance).toBeCloseTo(1, 1);
      // sd of the estimate here ≈ 0.07 (m = 4) and ≈ 0.6 (m = 1, 8th moment 88200): tolerances ≈ 4 sd
      expect(Math.abs(s.excessKurtosis - 15 / m)).toBeLessThan(m === 4 ? 0.3 : 2.5);
    }
  });

  it('jackknifeSe of the mean is s/√N', () => {
    const rows = [[1], [2], [4], [7], [3]];
    const xs = rows.map((r) => r[0]);
    const sd = Math.sqrt(sampleMoments(xs).variance);
    expect(jackknifeSe(rows, (rs) => rs.reduce((a, r) => a + r[0], 0) / rs.length)).toBeCloseTo(sd / Math.sqrt(xs.length), 12);
  });
});

describe('new config keys leave earlier trial ids unchanged', () => {
  const stored = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/quickstart-trial-ids.json'), 'utf8')) as Array<{ id: string; config: unknown }>;

  it("sweeps/quickstart.yaml expands to the stored quickstart's trial ids", () => {
    const ids = expandSweep(loadSweep(join(repoRoot, 'sweeps/quickstart.yaml'))).map((t) => t.id).sort();
    expect(ids).toEqual(stored.map((s) => s.id).sort());
    for (const s of stored) expect(trialIdOf(canonicalConfig(s.config))).toBe(s.id);
  });

  it('spelling out a new key at its default value keeps the id; other values change it', () => {
    const base = stored[0].config as TrialConfig;
    const id = (patch: { data?: object; kernels?: object }) =>
      trialIdOf(canonicalConfig({ ...base, data: { ...base.data, ...patch.data }, kernels: { ...base.kernels, ...patch.kernels } }));
    expect(id({ data: { split: 'random' }, kernels: { regressionDraws: 1, initOutputs: false } })).toBe(stored[0].id);
    expect(id({ kernels: { initOutputs: true } })).not.toBe(stored[0].id);
    const completion = { task: 'mnist-completion', g: { input: 'rff' } };
    const plain = trialIdOf(canonicalConfig(completion));
    expect(trialIdOf(canonicalConfig({ ...completion, data: { split: 'random' }, kernels: { regressionDraws: 1 } }))).toBe(plain);
    expect(trialIdOf(canonicalConfig({ ...completion, data: { split: 'paper' } }))).not.toBe(plain);
    expect(trialIdOf(canonicalConfig({ ...completion, kernels: { regressionDraws: 5 } }))).not.toBe(plain);
    expect(id({ data: { seed: 3 } })).not.toBe(stored[0].id);
    const c = canonicalConfig(base);
    expect([dataSeedOf(c), splitOf(c), regressionDrawsOf(c)]).toEqual([c.seed, 'random', 1]);
  });

  it('data.seed fixes the data while the init seed varies; unset, the data follows seed', () => {
    const cfg = (seed: number, dataSeed?: number) =>
      canonicalConfig({ task: 'sphere', seed, data: { nTrain: 4, nTest: 0, ...(dataSeed === undefined ? {} : { seed: dataSeed }) } });
    const z = (c: TrialConfig) => Array.from(buildTask(c).train.z);
    expect(z(cfg(1, 5))).toEqual(z(cfg(2, 5)));
    expect(z(cfg(5))).toEqual(z(cfg(1, 5)));
    expect(z(cfg(1))).not.toEqual(z(cfg(2)));
  });
});

describe('query outputs on real trials (dist/ CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hs-outputs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('excess kurtosis across 150 init seeds is clearly > 0, roughly 15/m at n = 1024, and smaller at larger m', async () => {
    const seeds = Array.from({ length: 150 }, (_, i) => i).join(', ');
    const sweep = join(dir, 'ng.yaml');
    writeFileSync(
      sweep,
      `name: ng\ntask: sphere\nfixed:\n  f: {depth: 2, width: 1024}\n  g.depth: 2\n  data: {seed: 0, nTrain: 4, nTest: 0, dx: 16}\n` +
        `  train.steps: 0\n  kernels: {probe: 4, initOutputs: true}\ngrid:\n  g.width: [4, 32]\n  seed: [${seeds}]\n`,
    );
    const db = join(dir, 'r.db');
    const run = await runCli(['run', sweep, '--db', db, '--concurrency', '2'], { timeoutMs: 300_000 });
    expect(run.code, run.stderr).toBe(0);
    const q = await runCli(['query', 'outputs', '--db', db, '--pooled-only', '--format', 'json']);
    expect(q.code, q.stderr).toBe(0);
    const out = JSON.parse(q.stdout) as { by: string[]; groups: Array<Record<string, number | string>> };
    expect(out.by).toEqual(['g.width']);
    const at = (m: number) => out.groups.find((g) => g['g.width'] === m)!;
    const m4 = at(4), m32 = at(32);
    for (const g of [m4, m32]) {
      expect(g.seeds).toBe(150);
      expect(g.kgpDiag).toBeCloseTo(1, 9);
      expect(Math.abs(Number(g.variance) - 1)).toBeLessThan(0.35);
      expect(g.predicted15overM).toBe(15 / Number(g['g.width']));
    }
    // a Gaussian would give 0 ± √(24/150) = 0.4
    expect(Number(m4.excessKurtosis)).toBeGreaterThan(3 * Number(m4.seGaussian));
    expect(Number(m4.excessKurtosis)).toBeGreaterThan(0.4 * 3.75);
    expect(Number(m4.excessKurtosis)).toBeLessThan(1.6 * 3.75);
    expect(Number(m4.excessKurtosis)).toBeGreaterThan(Number(m32.excessKurtosis));
  }, 300_000);

  it('a sweep without stored init outputs is one line and exit 2', async () => {
    const sweep = join(dir, 'noop.yaml');
    writeFileSync(sweep, 'name: plain\ntask: noop\ngrid: {seed: [0, 1]}\n');
    const db = join(dir, 'plain.db');
    expect((await runCli(['run', sweep, '--db', db, '--concurrency', '1'])).code).toBe(0);
    const q = await runCli(['query', 'outputs', '--db', db]);
    expect(q.code).toBe(2);
    expect(q.stderr.trim().split('\n')).toHaveLength(1);
    expect(q.stderr).toMatch(/no trial of sweep plain stored init outputs \(run it with kernels.initOutputs: true/);
  });
});
