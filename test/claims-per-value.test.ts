import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import type { TrialResult } from '../core/result.js';
import type { ClaimTrial } from '../schema/claims/data.js';
import { evaluateClaim } from '../schema/claims/evaluate.js';
import { evalExpr, exprKeys, parseExpr } from '../schema/claims/expr.js';
import { parseClaims } from '../schema/claims/spec.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { closeDb, openDb } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { mulberry32 } from '../worker/model/rng.js';
import { runCli } from './helpers/cli.js';

// ---- the target expression language ------------------------------------------------------------------------

describe('target expressions', () => {
  const env: Record<string, number> = { 'g.width': 4, 'f.width': 1024, 'train.lr': 0.1 };
  const ev = (src: string) => evalExpr(parseExpr(src), (k) => env[k]!);
  it('evaluate like the same arithmetic written in JavaScript', () => {
    expect(ev('15 / g.width')).toBe(15 / 4);
    expect(ev('15 * g.width ^ -1')).toBe(15 * 4 ** -1);
    expect(ev('2 ^ 3 ^ 2')).toBe(2 ** (3 ** 2)); // right associative
    expect(ev('-2 ^ 2')).toBe(-(2 ** 2)); // ^ binds tighter than a leading minus
    expect(ev('1 - 2 - 3')).toBe(1 - 2 - 3); // left associative
    expect(ev('12 / 3 / 2')).toBe(12 / 3 / 2);
    expect(ev('sqrt(f.width) * (1 + 2) - 1e-1')).toBe(Math.sqrt(1024) * 3 - 0.1);
    expect(ev('exp(log(g.width)) + abs(-train.lr) + .5')).toBeCloseTo(4 + 0.1 + 0.5, 12);
    expect(ev('3 * 2 + 4 / 2')).toBe(8);
  });
  it('list the config keys they read', () => {
    expect(exprKeys(parseExpr('15 / g.width + f.width * g.width'))).toEqual(['g.width', 'f.width']);
    expect(exprKeys(parseExpr('3.75'))).toEqual([]);
  });
  it('reject bad syntax with the column', () => {
    expect(() => parseExpr('15 /')).toThrow('expected a number, a config key or "(", got end of expression at column 5');
    expect(() => parseExpr('(1 + 2')).toThrow('expected ")", got end of expression at column 7');
    expect(() => parseExpr('1 + 2)')).toThrow('unexpected ")" at column 6');
    expect(() => parseExpr('15 % m')).toThrow('unexpected "%" at column 4');
    expect(() => parseExpr('process.exit(1)')).toThrow(/^unknown function "process.exit"/);
    expect(() => parseExpr('  ')).toThrow('empty expression at column 1');
    expect(() => parseExpr('2 3')).toThrow('unexpected "3" at column 3');
  });
});

// ---- syntax in sweep files -----------------------------------------------------------------------------------

const sweepText = (claim: string) => `name: s\ntask: sphere\ngrid:\n  seed: [0, 1]\nexpect:\n  - ${claim}\n`;
function parseError(claim: string): string {
  try {
    parseClaims(parseSweep(sweepText(claim), 'x.yaml').expect, 'x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(HypersweepError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('per-value claim syntax', () => {
  const base = 'type: value, metric: metrics.initOutputsExcess4, relTolerance: 0.5';
  it('accepts a number or an expression, with an optional per', () => {
    const spec = parseSweep(sweepText(`{${base}, target: {expr: "15 / g.width"}}\n  - {${base}, target: 2, per: [g.width, f.width]}`), 'x.yaml');
    const claims = parseClaims(spec.expect, 'x.yaml');
    expect(claims[0]).toMatchObject({ target: { expr: '15 / g.width' } });
    expect(claims[1]).toMatchObject({ target: 2, per: ['g.width', 'f.width'] });
  });
  it('names file, claim and key in one line for a bad expression', () => {
    expect(parseError(`{${base}, target: {expr: "15 / g.widht"}}`)).toBe(
      'x.yaml: expect[0].target.expr: "15 / g.widht": unknown config key "g.widht"; did you mean "g.width"?',
    );
    expect(parseError(`{${base}, target: {expr: "15 /"}}`)).toBe(
      'x.yaml: expect[0].target.expr: "15 /": expected a number, a config key or "(", got end of expression at column 5',
    );
    expect(parseError(`{${base}, target: {expr: "eval(1)"}}`)).toMatch(/^x\.yaml: expect\[0\]\.target\.expr: "eval\(1\)": unknown function "eval"/);
    expect(parseError(`{${base}, target: "15 / m"}`)).toBe('x.yaml: expect[0].target: expected a number or {expr: "an expression of config keys"} (e.g. {expr: "15 / g.width"})');
    expect(parseError(`{${base}, target: {expr: "1", scale: 2}}`)).toBe('x.yaml: expect[0].target.scale: unknown key');
    expect(parseError(`{${base}, target: 1, per: g.widht}`)).toMatch(/^x\.yaml: expect\[0\]\.per: /);
  });
});

// ---- verdicts per value on planted data ----------------------------------------------------------------------

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const trial = (config: Record<string, unknown>, y: number | null, status: ClaimTrial['status'] = 'completed'): ClaimTrial =>
  ({ id: JSON.stringify(config), status, config, metrics: {}, raw: { excess: y } });

/** value(m) + sd·z over `seeds` seeds at each m (f.width fixed). */
function planted(value: (m: number) => number, sd: number, seeds = 20, ms = [4, 16], rng = 3): ClaimTrial[] {
  const r = mulberry32(rng);
  return ms.flatMap((m) => Array.from({ length: seeds }, (_, s) => trial({ seed: s, 'f.width': 1024, 'g.width': m }, value(m) + sd * gauss(r))));
}

const claim = (extra: Record<string, unknown>) => parseClaims([{ type: 'value', metric: 'metrics.excess', target: { expr: '15 / g.width' }, relTolerance: 0.5, ...extra }], 't')[0]!;
const evaluate = (extra: Record<string, unknown>, trials: ClaimTrial[]) => evaluateClaim(claim(extra), 0, trials, 't');

describe('per-value verdicts', () => {
  it('holds at every m when the data follow 15/m, each part tested against its own target', () => {
    const r = evaluate({}, planted((m) => 15 / m, 0.05));
    expect(r.verdict).toBe('holds');
    expect(r.parts.map((p) => p.quantity)).toEqual(['mean at g.width=4', 'mean at g.width=16']);
    expect(r.parts.map((p) => p.target)).toEqual([15 / 4, 15 / 16]);
    expect(r.parts.map((p) => p.region)).toEqual([`in [${15 / 4 / 2}, ${(15 / 4) * 1.5}]`, `in [0.4688, 1.406]`]);
    expect(r.parts.map((p) => p.at)).toEqual([{ 'g.width': 4 }, { 'g.width': 16 }]);
    expect(r.parts.map((p) => p.verdict)).toEqual(['holds', 'holds']);
    expect([r.used, r.selected]).toEqual([40, 40]);
  });
  it('fails when one value is off (a constant 3.75 instead of 15/m), and says which', () => {
    const r = evaluate({}, planted(() => 3.75, 0.05));
    expect(r.parts.map((p) => p.verdict)).toEqual(['holds', 'fails']);
    expect(r.verdict).toBe('fails');
    expect(r.reason).toBe('mean at g.width=16: the interval lies outside in [0.4688, 1.406]');
  });
  it('is inconclusive when one value straddles its region and none fails', () => {
    // At m = 16 the mean sits on the upper bound 1.406 with a wide interval.
    const r = evaluate({}, planted((m) => (m === 4 ? 3.75 : 1.406), 0.5, 20, [4, 16], 8));
    expect(r.parts.map((p) => p.verdict)).toEqual(['holds', 'inconclusive']);
    expect(r.verdict).toBe('inconclusive');
    // A value with a single trial has no interval: inconclusive too.
    const one = evaluate({}, [...planted((m) => 15 / m, 0.05, 20, [4]), trial({ seed: 0, 'f.width': 1024, 'g.width': 16 }, 15 / 16)]);
    expect(one.parts[1]!.reason).toMatch(/too few values/);
    expect(one.verdict).toBe('inconclusive');
  });
  it('checks a constant target per value when per is given, and once without it', () => {
    const trials = planted(() => 2, 0.05);
    expect(evaluate({ target: 2, per: 'g.width' }, trials).parts).toHaveLength(2);
    expect(() => evaluate({ target: 2 }, trials)).toThrow(/g\.width varies within the selection/);
  });
  it('refuses a value group whose trials differ in more than the seed, and a target that is not finite', () => {
    const mixed = [...planted((m) => 15 / m, 0.05), trial({ seed: 0, 'f.width': 64, 'g.width': 4 }, 3)];
    expect(() => evaluate({}, mixed)).toThrow('t: expect[0]: f.width varies within the trials at g.width=4 (1024, 64): fix it with where: or the group filters');
    expect(evaluate({ where: { 'f.width': 1024 } }, mixed).verdict).toBe('holds');
    const zero = planted(() => 1, 0.05, 5, [0, 4]);
    expect(() => evaluate({}, zero)).toThrow('t: expect[0].target.expr: 15 / g.width is Infinity at g.width=0, not a finite number');
    const text = [trial({ seed: 0, 'g.width': 4, 'kernels.mode': 'exact' }, 1)];
    expect(() => evaluate({ target: { expr: 'kernels.mode * 2' } }, text)).toThrow('t: expect[0].target.expr: kernels.mode is exact at kernels.mode=exact, not a number');
  });
});

// ---- metrics computed per trial from other metrics ------------------------------------------------------------

describe('metric expressions', () => {
  const r = mulberry32(12);
  // Per trial: a model MSE 0.05 and a baseline 0.067, so the difference is −0.017 ± noise.
  const trials = Array.from({ length: 5 }, (_, s) => ({
    id: String(s), status: 'completed' as const, config: { seed: s }, metrics: {},
    raw: { model: 0.05 + 0.0005 * gauss(r), baseline: 0.067 },
  }));
  const diff = 'metrics.model - metrics.baseline';
  const v = (extra: Record<string, unknown>, ts: ClaimTrial[] = trials) =>
    evaluateClaim(parseClaims([{ type: 'value', metric: diff, ...extra }], 't')[0]!, 0, ts, 't');
  it('compute the difference per trial and test it like any metric', () => {
    const res = v({ target: -0.05, tolerance: 0.05 });
    expect(res.verdict).toBe('holds');
    const expected = trials.reduce((a, t) => a + (t.raw.model - t.raw.baseline), 0) / trials.length;
    expect(res.parts[0]!.estimate).toBeCloseTo(expected, 14);
    expect(v({ target: 0.05, tolerance: 0.05 }).verdict).toBe('fails'); // "the model is worse than the baseline"
  });
  it('leave out a trial where a metric in the expression is missing', () => {
    const res = v({ target: -0.05, tolerance: 0.05 }, [...trials, { ...trials[0]!, id: 'x', raw: { model: 0.05 } }]);
    expect(res.used).toBe(5);
    expect(res.notes).toEqual([`the selection: 1 finished trial has no value of ${diff}`]);
  });
  it('name a bad metric in one line', () => {
    expect(parseError(`{type: value, metric: "metrics.a - distance", target: 0, tolerance: 1}`)).toMatch(/^x\.yaml: expect\[0\]\.metric: "metrics\.a - distance": "distance" is not a metric/);
    expect(parseError(`{type: value, metric: "metrics.a - (metrics.b", target: 0, tolerance: 1}`)).toBe('x.yaml: expect[0].metric: "metrics.a - (metrics.b": expected ")", got end of expression at column 23');
  });
});

// ---- the command ---------------------------------------------------------------------------------------------

describe('hypersweep check with a per-value claim', () => {
  let dir: string;
  let dbFile: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hs-pervalue-'));
    dbFile = join(dir, 'c.db');
    const db = openDb(dbFile);
    const r = mulberry32(4);
    const configs: TrialConfigInput[] = [4, 16].flatMap((m) => [0, 1, 2, 3, 4, 5].map((seed) => ({ task: 'sphere', seed, f: { width: 64 }, g: { width: m } })));
    upsertSweep(db, { name: 'kurt', task: 'sphere', retries: 0 }, configs.map((c) => ({ id: trialId(canonicalConfig(c)), config: canonicalConfig(c) })));
    for (const c of configs) {
      // Planted: 15/m at m = 4, but 3 (not 15/16) at m = 16.
      const excess = (c.g!.width === 4 ? 3.75 : 3) + 0.05 * gauss(r);
      const result: TrialResult = {
        status: 'completed', metrics: { trainLoss: 1, testLoss: 1, stepsRun: 0, kernel: null, excess },
        curve: [], backend: 'wasm', timings: {}, versions: {},
      };
      recordResult(db, trialId(canonicalConfig(c)), result, { worker: 'w', host: 'h' });
    }
    closeDb(db);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (claimYaml: string) => {
    const f = join(dir, `k${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, `name: kurt\ntask: sphere\nexpect:\n  - ${claimYaml}\n`);
    return f;
  };

  it('prints one verdict line per value and the overall verdict; exit 1 when a value fails', async () => {
    const r = await runCli(['check', file('{type: value, metric: metrics.excess, target: {expr: "15 / g.width"}, relTolerance: 0.2}'), '--db', dbFile]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^\[0\] FAILS: /m);
    expect(r.stdout).toMatch(/^ {4}mean at g\.width=4 = 3\.7\d+, 95% interval \[[\d.]+, [\d.]+\], claimed in \[3, 4\.5\] \(target 3\.750\): holds /m);
    expect(r.stdout).toMatch(/^ {4}mean at g\.width=16 = [23]\.\d+, 95% interval \[[\d.]+, [\d.]+\], claimed in \[0\.75, 1\.125\] \(target 0\.9375\): fails /m);
    expect(r.stdout).toMatch(/verdict: fails: mean at g\.width=16: the interval lies outside/);
  });
  it('exits 0 when every value holds, and 2 with one line on a bad expression', async () => {
    const ok = await runCli(['check', file('{type: value, metric: metrics.excess, where: {g.width: 4}, target: {expr: "15 / g.width"}, tolerance: 0.5}'), '--db', dbFile, '--format', 'json']);
    expect(ok.code).toBe(0);
    const rep = JSON.parse(ok.stdout) as { claims: Array<{ parts: Array<{ target: number; at: Record<string, number> }> }> };
    expect(rep.claims[0]!.parts).toEqual([expect.objectContaining({ target: 3.75, at: { 'g.width': 4 } })]);
    const f = file('{type: value, metric: metrics.excess, target: {expr: "15 / (g.width"}, tolerance: 0.5}');
    const bad = await runCli(['check', f, '--db', dbFile]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain(`${f}: expect[0].target.expr: "15 / (g.width": expected ")", got end of expression at column 14`);
  });
});
