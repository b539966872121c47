import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import type { TrialResult } from '../core/result.js';
import { checkExitCode, runCheck } from '../orchestrator/claims/check.js';
import type { ClaimTrial } from '../schema/claims/data.js';
import { decide, evaluateClaim } from '../schema/claims/evaluate.js';
import { parseClaims, type Claim } from '../schema/claims/spec.js';
import { meanInterval, powerFit, welchTest } from '../schema/claims/stats.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { closeDb, openDb } from '../schema/db.js';
import { buildReport } from '../dashboards/report.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { mulberry32 } from '../worker/model/rng.js';
import { repoRoot, runCli } from './helpers/cli.js';

// ---- statistics against independent values ------------------------------------------------------------

describe('Welch t-test', () => {
  // Reference values: the two worked examples of the Wikipedia article "Welch's t-test" (t = −2.46, ν = 25.0,
  // two-sided p = 0.021; t = −1.57, ν = 9.9, p = 0.149), to more digits from numpy with the t density integrated
  // numerically (Simpson, 2·10⁵ panels), independent of the incomplete-beta code.
  it('matches worked example 1 (equal sizes)', () => {
    const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
    const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
    const w = welchTest(a, b)!;
    expect(w.t).toBeCloseTo(-2.455356398286006, 10);
    expect(w.df).toBeCloseTo(24.988529290231416, 10);
    expect(w.pLess).toBeCloseTo(0.01068900073143536, 8);
    expect(w.pLess + w.pGreater).toBeCloseTo(1, 12);
  });
  it('matches worked example 2 (unequal sizes and variances)', () => {
    const a = [17.2, 20.9, 22.6, 18.1, 21.7, 21.4, 23.5, 24.2, 14.7, 21.8];
    const b = [21.5, 22.8, 21.0, 23.0, 21.6, 23.6, 22.5, 20.7, 23.4, 21.8, 20.7, 21.7, 21.5, 22.5, 23.6, 21.5, 22.5, 23.5, 21.5, 21.8];
    const w = welchTest(a, b)!;
    expect(w.t).toBeCloseTo(-1.5654335235985037, 10);
    expect(w.df).toBeCloseTo(9.904741248650831, 10);
    expect(w.pLess).toBeCloseTo(0.07442084830266432, 8);
  });
  it('needs two values in each sample and some variance', () => {
    expect(welchTest([1], [2, 3])).toBeNull();
    expect(welchTest([1, 1], [2, 2])).toBeNull();
  });
});

describe('mean interval and power fit', () => {
  it('mean ± t(0.975, 7)·s/√n (t from printed tables: 2.365)', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8];
    const m = meanInterval(xs, 0.95)!;
    const sd = Math.sqrt(42 / 7); // Σ(x − 4.5)² = 42
    expect(m.mean).toBe(4.5);
    expect(m.high - m.mean).toBeCloseTo((2.364624 * sd) / Math.sqrt(8), 5);
    expect(meanInterval([1], 0.95)).toBeNull();
  });
  it('log-log slope and its 90% interval match numpy.polyfit (t(0.95, 6) = 1.943180 from tables)', () => {
    const x = [64, 64, 128, 128, 256, 256, 512, 512];
    const y = [0.4, 0.36, 0.27, 0.25, 0.19, 0.18, 0.13, 0.125];
    const f = powerFit(x.map((xi, i) => ({ x: xi, y: y[i]! })), 0.9)!;
    expect(f.slope).toBeCloseTo(-0.5211781371146933, 10);
    expect(f.se).toBeCloseTo(0.019772334192592583, 10);
    expect(f.high - f.slope).toBeCloseTo(1.94318 * 0.019772334192592583, 5);
    expect([f.n, f.xs, f.df]).toEqual([8, 4, 6]);
    expect(powerFit([{ x: 1, y: 1 }, { x: 1, y: 2 }, { x: 1, y: 3 }], 0.95)).toBeNull();
  });
  it('decides an interval against a region', () => {
    expect(decide(-0.6, -0.4, { min: -0.65, max: -0.35 }).verdict).toBe('holds');
    expect(decide(-0.3, -0.1, { min: -0.65, max: -0.35 }).verdict).toBe('fails');
    expect(decide(-0.4, -0.3, { min: -0.65, max: -0.35 })).toEqual({ verdict: 'inconclusive', reason: 'the interval straddles -0.35' });
    expect(decide(0.1, 0.2, { max: 0 }).verdict).toBe('fails');
  });
});

// ---- syntax ----------------------------------------------------------------------------------------------

const sweepText = (expectYaml: string) => `name: s\ntask: sphere\ngrid:\n  seed: [0, 1]\nexpect:\n${expectYaml}`;
const parseError = (expectYaml: string): string => {
  try {
    parseSweep(sweepText(expectYaml), 'x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(HypersweepError);
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('claim syntax', () => {
  it('parses every claim type with defaults', () => {
    const spec = parseSweep(
      sweepText(`  - {type: power-law, metric: init_distance, axis: f.width, slope: {min: -0.6, max: -0.4}}
  - {type: plateau, metric: movement, axis: f.width, where: {g.width: 8}, slopeAbove: -0.25, floor: 0.05, confidence: 0.9}
  - {type: ordering, metric: kernel.final.gp.exact.relFrob, lower: {g.width: 512}, higher: {g.width: [8, 16]}}
  - {type: value, metric: metrics.probePoints, target: 32, relTolerance: 0.01}
`),
      'x.yaml',
    );
    const claims = parseClaims(spec.expect, 'x.yaml');
    expect(claims.map((c) => c.type)).toEqual(['power-law', 'plateau', 'ordering', 'value']);
    expect(claims[0]!.confidence).toBe(0.95);
    expect(claims[1]!.confidence).toBe(0.9);
    expect(claims[0]!.where).toEqual({});
  });
  it('names the claim index and key in one-line errors', () => {
    expect(parseError('  - {type: power-law, metric: init_distance, axis: f.width, slope: {min: x}}\n')).toMatch(/^x\.yaml: expect\[0\]\.slope\.min: /);
    expect(parseError('  - {type: power-law, metric: init_distance, axis: f.widht, slope: {max: 0}}\n')).toBe('x.yaml: expect[0].axis: unknown config key "f.widht" (e.g. f.width, g.width, seed, train.lr)');
    expect(parseError('  - {type: plateau, metric: init_distance, axis: f.width, slopeAbove: 0, floor: 0}\n  - {type: trend, metric: movement}\n')).toBe('x.yaml: expect[1].type: expected one of power-law, plateau, ordering, value, got "trend"');
    expect(parseError('  - {type: value, metric: init_distance, target: 1}\n')).toBe('x.yaml: expect[0]: give exactly one of tolerance, relTolerance');
    expect(parseError('  - {type: value, metric: distance, target: 1, tolerance: 1}\n')).toMatch(/^x\.yaml: expect\[0\]\.metric: unknown metric/);
    expect(parseError('  - {type: value, metric: movement, target: 1, tolerance: 1, where: {f.wdth: 3}}\n')).toMatch(/^x\.yaml: expect\[0\]\.where\.f\.wdth: unknown config key/);
    expect(parseError('  - {type: value, metric: movement, target: 1, tolerance: 1, alpha: 0.05}\n')).toMatch(/^x\.yaml: expect\[0\]\.alpha: unknown key \(a value claim has type, name, metric, where, confidence, /);
    expect(parseError('  - {type: value, metric: movement, target: 1, tolerance: 1, confidence: 95}\n')).toBe('x.yaml: expect[0].confidence: must be in (0.5, 1)');
    expect(parseError('  - {type: power-law, metric: movement, axis: g.width, slope: {}}\n')).toBe('x.yaml: expect[0].slope: give min, max or both');
    for (const m of [parseError('  - 3\n'), parseError('  - {type: value, metric: movement, target: 1, tolerance: 1, lower: {}}\n')]) expect(m).not.toContain('\n');
  });
});

// ---- verdicts on synthetic trials with known answers ---------------------------------------------------

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

function trial(config: Record<string, unknown>, metrics: Record<string, number | null>, status: ClaimTrial['status'] = 'completed'): ClaimTrial {
  return { id: JSON.stringify(config), status, config, metrics, raw: { probePoints: metrics['metrics.probePoints'] ?? null } };
}

/** init distance = c·width^b·exp(noise·z) over widths × seeds (f.width = g.width = width). */
function planted(widths: number[], seeds: number, c: number, b: number, noise: number, rng = 7): ClaimTrial[] {
  const r = mulberry32(rng);
  return widths.flatMap((w) =>
    Array.from({ length: seeds }, (_, s) =>
      trial({ seed: s, 'f.width': w, 'g.width': w }, { 'kernel.init.ntk.exact.relFrob': c * w ** b * Math.exp(noise * gauss(r)) }),
    ),
  );
}

const claim = (yaml: Record<string, unknown>): Claim => parseClaims([yaml], 't')[0]!;
const verdictOf = (c: Record<string, unknown>, trials: ClaimTrial[]) => evaluateClaim(claim(c), 0, trials, 't');

describe('power-law claims', () => {
  const trials = planted([64, 128, 256, 512, 1024], 6, 3, -0.5, 0.1);
  const base = { type: 'power-law', metric: 'init_distance', axis: 'f.width' };
  it('holds when the planted exponent −1/2 is inside the range', () => {
    const r = verdictOf({ ...base, slope: { min: -0.6, max: -0.4 } }, trials);
    expect(r.verdict).toBe('holds');
    expect(r.parts[0]!.estimate!).toBeCloseTo(-0.5, 1);
    expect([r.used, r.selected, r.parts[0]!.df]).toEqual([30, 30, 28]);
  });
  it('fails when the range excludes it (a plateau claimed for a decaying metric)', () => {
    expect(verdictOf({ ...base, slope: { min: -0.3 } }, trials).verdict).toBe('fails');
    expect(verdictOf({ ...base, slope: { max: -0.8 } }, trials).verdict).toBe('fails');
  });
  it('is inconclusive when the interval straddles a bound or there are too few trials', () => {
    const noisy = planted([64, 128], 3, 3, -0.5, 0.5, 3);
    const r = verdictOf({ ...base, slope: { min: -0.55, max: -0.45 } }, noisy);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/straddles/);
    const one = verdictOf({ ...base, slope: { max: 0 } }, planted([64], 4, 3, -0.5, 0.1));
    expect(one.verdict).toBe('inconclusive');
    expect(one.reason).toMatch(/too few values/);
  });
  it('is inconclusive while trials are pending, and when no trial has finished', () => {
    const withPending = [...trials, trial({ seed: 9, 'f.width': 2048, 'g.width': 2048 }, {}, 'queued')];
    const r = verdictOf({ ...base, slope: { min: -0.6, max: -0.4 } }, withPending);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toBe('1 of 31 trials not finished yet (queued or running)');
    const none = trials.map((t) => ({ ...t, status: 'failed' as const }));
    expect(verdictOf({ ...base, slope: { max: 0 } }, none).reason).toBe('no finished trial has a value');
  });
  it('uses only the range and where given', () => {
    const r = verdictOf({ ...base, slope: { max: 0 }, range: [128, 512] }, trials);
    expect(r.used).toBe(18);
  });
  it('refuses a fit that mixes configs at one width', () => {
    const mixed = [...planted([64, 128], 3, 3, -0.5, 0.1), trial({ seed: 0, 'f.width': 64, 'g.width': 8 }, { 'kernel.init.ntk.exact.relFrob': 1 })];
    expect(() => verdictOf({ ...base, slope: { max: 0 } }, mixed)).toThrow(/^t: expect\[0\]: g\.width varies at f\.width=64 \(64, 8\): fix it with where:$/);
    expect(() => verdictOf({ ...base, slope: { max: 0 }, where: { 'f.width': 4096 } }, mixed)).toThrow(/no trial of the sweep matches the selection \(f\.width=4096\)/);
  });
});

describe('plateau claims', () => {
  const flat = planted([256, 512, 1024, 2048], 8, 0.5, 0, 0.1, 11);
  const decaying = planted([256, 512, 1024, 2048], 8, 8, -0.5, 0.1, 12);
  const base = { type: 'plateau', metric: 'init_distance', axis: 'f.width', slopeAbove: -0.25 };
  it('holds for a flat metric above the floor', () => {
    const r = verdictOf({ ...base, floor: 0.2 }, flat);
    expect(r.verdict).toBe('holds');
    expect(r.parts.map((p) => p.quantity)).toEqual(['exponent b', 'mean at f.width=2048']);
    expect(r.parts[1]!.n).toBe(8);
  });
  it('fails for a metric decaying like width^−1/2', () => {
    const r = verdictOf({ ...base, floor: 0.01 }, decaying);
    expect(r.verdict).toBe('fails');
    expect(r.reason).toMatch(/^exponent b: the interval lies outside > -0.25/);
  });
  it('fails when the level at the largest width is below the floor, and is inconclusive when it straddles it', () => {
    expect(verdictOf({ ...base, floor: 1 }, flat).verdict).toBe('fails');
    const r = verdictOf({ ...base, floor: 0.5 }, flat);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toMatch(/^mean at f\.width=2048: the interval straddles 0.5$/);
  });
});

describe('ordering claims', () => {
  const r = mulberry32(5);
  const trials = [8, 512].flatMap((m) =>
    Array.from({ length: 4 }, (_, s) => trial({ seed: s, 'f.width': 2048, 'g.width': m }, { 'kernel.movement': (m === 8 ? 0.5 : 0.1) * Math.exp(0.1 * gauss(r)) })),
  );
  const base = { type: 'ordering', metric: 'movement', where: { 'f.width': 2048 } };
  it('holds when the lower group is significantly lower (one-sided Welch)', () => {
    const v = verdictOf({ ...base, lower: { 'g.width': 512 }, higher: { 'g.width': 8 } }, trials);
    expect(v.verdict).toBe('holds');
    expect(v.parts[0]!.p!).toBeLessThan(0.05);
    expect(v.parts[0]!.estimate!).toBeCloseTo(-0.4, 1);
  });
  it('fails when the order is significantly reversed', () => {
    expect(verdictOf({ ...base, lower: { 'g.width': 8 }, higher: { 'g.width': 512 } }, trials).verdict).toBe('fails');
  });
  it('is inconclusive without a significant difference', () => {
    const same = [8, 512].flatMap((m) => Array.from({ length: 4 }, (_, s) => trial({ seed: s, 'g.width': m }, { 'kernel.movement': 0.3 + 0.01 * ((s * 7 + m) % 5) })));
    const v = verdictOf({ type: 'ordering', metric: 'movement', lower: { 'g.width': 512 }, higher: { 'g.width': 8 } }, same);
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toMatch(/straddles 0/);
  });
  it('refuses groups whose trials differ in more than the seed', () => {
    const mixed = [...trials, trial({ seed: 0, 'f.width': 128, 'g.width': 8 }, { 'kernel.movement': 1 })];
    expect(() => verdictOf({ type: 'ordering', metric: 'movement', lower: { 'g.width': 512 }, higher: { 'g.width': 8 } }, mixed)).toThrow(
      /expect\[0\]: f\.width varies within the higher group/,
    );
  });
});

describe('value claims', () => {
  const r = mulberry32(9);
  const trials = Array.from({ length: 6 }, (_, s) => trial({ seed: s }, { 'metrics.probePoints': 1 + 0.02 * gauss(r) }));
  const base = { type: 'value', metric: 'metrics.probePoints' };
  it('holds / fails / is inconclusive against a target ± tolerance', () => {
    expect(verdictOf({ ...base, target: 1, tolerance: 0.1 }, trials).verdict).toBe('holds');
    expect(verdictOf({ ...base, target: 1, relTolerance: 0.1 }, trials).verdict).toBe('holds');
    expect(verdictOf({ ...base, target: 2, tolerance: 0.1 }, trials).verdict).toBe('fails');
    expect(verdictOf({ ...base, target: 1, tolerance: 0.001 }, trials).verdict).toBe('inconclusive');
  });
  it('is inconclusive with a single finished trial', () => {
    const v = verdictOf({ ...base, target: 1, tolerance: 0.1 }, [trials[0]!, { ...trials[1]!, status: 'failed' }]);
    expect(v.verdict).toBe('inconclusive');
    expect(v.reason).toMatch(/too few values for an interval \(1; need 2\)/);
    expect(v.notes).toEqual(['the selection: 1 failed or cancelled trial left out']);
  });
});

// ---- the store and the command -------------------------------------------------------------------------

describe('hypersweep check', () => {
  let dir: string;
  let dbFile: string;
  let sweepFile: string;
  const claims = [
    { name: 'distance falls like width^-1/2 <i>&</i>', type: 'power-law', metric: 'init_distance', axis: 'f.width', slope: { min: -0.6, max: -0.4 } },
    { type: 'ordering', metric: 'init_distance', lower: { 'f.width': 256 }, higher: { 'f.width': 64 } },
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hs-claims-'));
    dbFile = join(dir, 'c.db');
    const db = openDb(dbFile);
    const r = mulberry32(21);
    const configs: TrialConfigInput[] = [64, 128, 256].flatMap((w) => [0, 1, 2, 3].map((seed) => ({ task: 'sphere', seed, f: { width: w }, g: { width: w } })));
    upsertSweep(db, { name: 'planted', task: 'sphere', retries: 0, expect: claims }, configs.map((c) => ({ id: trialId(canonicalConfig(c)), config: canonicalConfig(c) })));
    for (const c of configs) {
      const d = 3 * c.f!.width! ** -0.5 * Math.exp(0.05 * gauss(r));
      const agreement = { ntkRelFrob: d, gpRelFrob: d, ntkAlignment: 1, gpAlignment: 1, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d };
      const result: TrialResult = {
        status: 'completed',
        metrics: { trainLoss: 1, testLoss: 1, stepsRun: 0, kernel: { init: agreement, final: agreement, movement: 0 } },
        curve: [[0, 1]], backend: 'wasm', timings: {}, versions: {},
      };
      recordResult(db, trialId(canonicalConfig(c)), result, { worker: 'w', host: 'h' });
    }
    closeDb(db);
    sweepFile = join(dir, 'planted.yaml');
    writeFileSync(sweepFile, `name: planted\ntask: sphere\nexpect:\n  - {type: power-law, metric: init_distance, axis: f.width, slope: {min: -0.3}}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates the stored claims from the database', () => {
    const rep = runCheck('planted', dbFile);
    expect(rep.claims.map((c) => c.verdict)).toEqual(['holds', 'holds']);
    expect(rep.claims[0]!.name).toBe('distance falls like width^-1/2 <i>&</i>');
    expect(rep.claims[1]!.parts[0]!.n).toBe(8);
    expect(checkExitCode(rep)).toBe(0);
  });
  it('shows the verdicts in the HTML report, escaped', () => {
    const db = openDb(dbFile, { readonly: true });
    try {
      const html = buildReport(db, 'planted');
      expect(html).toContain('<h2>Claims</h2>');
      expect(html).toContain('HOLDS</b> distance falls like width^-1/2 &#60;i&#62;&#38;&#60;/i&#62;');
      expect(html).not.toContain('<i>&</i>');
    } finally {
      closeDb(db);
    }
  });
  it("evaluates a file's current claims on the stored results", () => {
    const rep = runCheck(sweepFile, dbFile);
    expect(rep.claimsFrom).toBe(sweepFile);
    expect(rep.verdict).toBe('fails');
    expect(checkExitCode(rep)).toBe(1);
    expect(checkExitCode({ counts: { holds: 1, fails: 0, inconclusive: 1 } })).toBe(3);
  });
  it('exits 0 / 1 / 2 through the CLI, with JSON on request', async () => {
    const ok = await runCli(['check', 'planted', '--db', dbFile, '--format', 'json']);
    expect(ok.code).toBe(0);
    const rep = JSON.parse(ok.stdout) as { verdict: string; counts: Record<string, number> };
    expect(rep).toMatchObject({ verdict: 'holds', counts: { holds: 2, fails: 0, inconclusive: 0 } });
    const bad = await runCli(['check', sweepFile, '--db', dbFile]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/\[0\] FAILS: init_distance ∝ f\.width\^b with b > -0\.3/);
    const missing = await runCli(['check', 'nope', '--db', dbFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/nope: no such sweep/);
  });
});

describe('check stays light', () => {
  it('imports nothing of the worker or TensorFlow.js (static import graph of the command)', () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const stack = [resolve(repoRoot, 'orchestrator/cli/commands/check.ts'), resolve(repoRoot, 'orchestrator/claims/check.ts')];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else external.add(spec);
      }
    }
    expect([...seen].filter((f) => f.includes('/worker/'))).toEqual([]);
    expect([...external].filter((x) => x.includes('tensorflow') || x.includes('onnx'))).toEqual([]);
    expect(seen.size).toBeGreaterThan(10);
  });
});
