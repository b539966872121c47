import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import type { TrialResult } from '../core/result.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { agreement, convergence, movement } from '../schema/queries-aggregate.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { sweepDetail } from '../orchestrator/sweep-status.js';
import { mulberry32 as rng } from '../worker/model/rng.js';
import { runCli } from './helpers/cli.js';

/**
 * Axes other than f.width: a width × depth grid (D) and a learning-rate sweep (E), stored with the store's
 * functions. Planted: distance = 3·w^(−1/2)·e^(0.15 z), movement = w^(−1)·e^(0.15 z'), with an effective
 * width w = f.width·e^(−0.4·f.depth) in D (so log distance rises 0.2 per layer and falls 1/2 per log width)
 * and w = 1/lr in E (so log movement rises 1 per log lr). Loss curves exp(−rate·step), every 10 steps.
 */

const gaussian = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

interface Planted { config: TrialConfigInput; id: string; distance: number; movement: number; curve: Array<[number, number]> }

function plant(configs: TrialConfigInput[], seed: number, wOf: (c: TrialConfigInput) => number, rateOf: (c: TrialConfigInput) => number): Planted[] {
  const r = rng(seed);
  return configs.map((config) => {
    const w = wOf(config);
    const rate = rateOf(config) * (0.8 + 0.4 * r());
    const curve: Array<[number, number]> = [];
    for (let s = 0; s <= 200; s += 10) curve.push([s, 2 * Math.exp(-rate * s)]);
    return { config, id: trialId(config), distance: 3 * w ** -0.5 * Math.exp(0.15 * gaussian(r)), movement: w ** -1 * Math.exp(0.15 * gaussian(r)), curve };
  });
}

function result(p: Planted): TrialResult {
  const k = { ntkRelFrob: p.distance, gpRelFrob: p.distance, ntkAlignment: 0.9, gpAlignment: 0.9, paperCodeNtkRelFrob: p.distance, paperCodeGpRelFrob: p.distance };
  return {
    status: 'completed',
    metrics: { trainLoss: p.curve.at(-1)![1], testLoss: p.curve.at(-1)![1], stepsRun: 200, kernel: { init: k, final: k, movement: p.movement } },
    curve: p.curve, backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
  };
}

function store(db: Db, name: string, planted: Planted[]): void {
  upsertSweep(db, { name, task: 'sphere', retries: 0 }, planted.map((p) => ({ id: p.id, config: canonicalConfig(p.config) })));
  for (const p of planted) recordResult(db, p.id, result(p), { worker: 'w', host: 'h' });
}

const seeds = [0, 1, 2, 3, 4, 5];
const fWidths = [16, 64, 256, 1024];
const depths = [1, 2, 3];
const lrs = [0.01, 0.1, 1, 10];

let dir: string;
let dbFile: string;
let db: Db;
let grid: Planted[];
let lrSweep: Planted[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-axes-'));
  dbFile = join(dir, 'axes.db');
  db = openDb(dbFile);
  const sphere = (fw: number, fd: number, lr: number, seed: number, gw = 8): TrialConfigInput => ({
    task: 'sphere', seed, f: { width: fw, depth: fd }, g: { width: gw, depth: 2 }, train: { lr },
  });
  grid = plant(fWidths.flatMap((w) => depths.flatMap((d) => seeds.map((s) => sphere(w, d, 0.1, s)))), 7,
    (c) => c.f!.width! * Math.exp(-0.4 * c.f!.depth!), () => 0.02);
  store(db, 'D', grid);
  // Faster training with larger lr: rate 0.002·lr^(1/2)·…, so some groups converge and some do not.
  // g.width 16: no trial shared with D (a shared trial holds one result).
  lrSweep = plant(lrs.flatMap((lr) => seeds.map((s) => sphere(64, 3, lr, s, 16))), 8, (c) => 1 / c.train!.lr!, (c) => 0.03 * c.train!.lr! ** 0.5);
  store(db, 'E', lrSweep);
});

afterAll(() => {
  closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

const covers = (fit: { slopeLow?: number | null; slopeHigh?: number | null }, b: number) => {
  expect(fit.slopeLow!).toBeLessThan(b);
  expect(fit.slopeHigh!).toBeGreaterThan(b);
};

describe('width × depth sweep', () => {
  it('defaults x to the width and fits one power law per depth', () => {
    const r = agreement(db, { sweep: 'D' });
    expect(r.axes).toEqual({ x: 'f.width', series: ['f.depth'], followers: [] });
    expect(r.groups).toHaveLength(fWidths.length * depths.length);
    expect(r.fit.slope).toBeUndefined();
    expect(r.fit.note).toMatch(/one fit per series of f.depth \(3 series\)/);
    expect(r.fits.map((f) => f.label)).toEqual(['f.depth=1', 'f.depth=2', 'f.depth=3']);
    for (const f of r.fits) {
      expect(f.fit.scale).toBe('log');
      expect(f.fit.nPoints).toBe(fWidths.length * seeds.length);
      covers(f.fit, -0.5);
    }
    // Rows read series by series, x ascending within each.
    expect(r.groups.slice(0, 4).map((g) => [g.key['f.depth'], g.key['f.width']])).toEqual(fWidths.map((w) => [1, w]));
  });

  it('fits along depth (log value on depth) when x is f.depth, one fit per width', () => {
    const r = agreement(db, { sweep: 'D', x: 'f.depth' });
    expect(r.axes.x).toBe('f.depth');
    expect(r.axes.series).toEqual(['f.width']);
    expect(r.fits).toHaveLength(fWidths.length);
    // Four 95% intervals: one may miss by chance, so each slope is checked within 4 standard errors.
    for (const f of r.fits) {
      expect(f.fit.scale).toBe('linear');
      expect(f.fit.axis).toBe('f.depth');
      expect(Math.abs(f.fit.slope! - 0.2)).toBeLessThan(4 * f.fit.se!);
    }
    const m = movement(db, { sweep: 'D', x: 'f.depth' });
    for (const f of m.fits) expect(Math.abs(f.fit.slope! - 0.4)).toBeLessThan(4 * f.fit.se!);
  });

  it('fits each series independently: a series fit equals the fit of the filtered query', () => {
    const all = agreement(db, { sweep: 'D' });
    const one = agreement(db, { sweep: 'D', where: [{ key: 'f.depth', value: 2 }] });
    expect(one.fits).toHaveLength(1);
    expect(all.fits[1].fit.slope).toBeCloseTo(one.fit.slope!, 12);
    expect(all.fits[1].fit.slopeLow).toBeCloseTo(one.fit.slopeLow!, 12);
  });

  it('status groups by both varying keys', () => {
    const d = sweepDetail(db, 'D');
    expect(d.by).toEqual(['f.width', 'f.depth']);
    expect(d.groups).toHaveLength(fWidths.length * depths.length);
    for (const g of d.groups) {
      expect(g.trials).toBe(seeds.length);
      const mine = grid.filter((p) => p.config.f!.width === g.key['f.width'] && p.config.f!.depth === g.key['f.depth']);
      expect(g.meanTrainLoss!).toBeCloseTo(mine.reduce((a, p) => a + p.curve.at(-1)![1], 0) / mine.length, 12);
    }
  });
});

describe('learning-rate sweep', () => {
  it('does not merge learning rates: status has one row per lr', () => {
    const d = sweepDetail(db, 'E');
    expect(d.by).toEqual(['train.lr']);
    expect(d.groups.map((g) => g.key['train.lr'])).toEqual(lrs);
  });

  it('fits movement against lr on log-log axes', () => {
    const r = movement(db, { sweep: 'E' });
    expect(r.axes.x).toBe('train.lr');
    expect(r.fit.axis).toBe('train.lr');
    expect(r.fit.scale).toBe('log');
    covers(r.fit, 1);
  });

  it('convergence: the default is relative to the first logged loss, and matches an independent count', () => {
    const r = convergence(db, { sweep: 'E' });
    expect(r.criterion).toEqual({ kind: 'relative', rel: 0.01 });
    expect(r.by).toEqual(['train.lr']);
    let reached = 0;
    for (const g of r.groups) {
      const mine = lrSweep.filter((p) => p.config.train!.lr === g.key['train.lr']);
      const hits = mine.map((p) => p.curve.find(([, v]) => v <= 0.01 * p.curve[0][1])?.[0]).filter((s) => s !== undefined);
      expect(g.reached).toBe(hits.length);
      const ratios = mine.map((p) => p.curve.at(-1)![1] / p.curve[0][1]).sort((a, b) => a - b);
      expect(g.ratioMedian!).toBeCloseTo((ratios[2] + ratios[3]) / 2, 12);
      reached += g.reached;
    }
    // Not vacuous: the small learning rates miss the criterion, the large ones meet it.
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(lrSweep.length);
    const abs = convergence(db, { sweep: 'E', eps: 0.05 });
    expect(abs.criterion).toEqual({ kind: 'absolute', eps: 0.05 });
    for (const g of abs.groups) {
      const mine = lrSweep.filter((p) => p.config.train!.lr === g.key['train.lr']);
      expect(g.reached).toBe(mine.filter((p) => p.curve.some(([, v]) => v < 0.05)).length);
    }
  });
});

describe('CLI axes', () => {
  it('prints one slope line per series and says what is fitted', async () => {
    const t = await runCli(['query', 'agreement', '--db', dbFile, '--sweep', 'D']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/x=f\.width {2}series=f\.depth/);
    const lines = t.stdout.split('\n').filter((l) => l.includes('slope of log distance'));
    expect(lines).toHaveLength(3);
    lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^\\[f\\.depth=${i + 1}\\] slope of log distance vs log f\\.width: -0\\.\\d+, 95% CI`)));
    expect(t.stdout).not.toMatch(/none/);
    const byDepth = await runCli(['query', 'movement', '--db', dbFile, '--sweep', 'D', '--x', 'f.depth', '--series', 'f.width']);
    expect(byDepth.code).toBe(0);
    expect(byDepth.stdout).toMatch(/^\[f\.width=16\] slope of log movement vs f\.depth: 0\.\d+/m);
  });

  it('JSON carries x, series and every series fit', async () => {
    const r = await runCli(['query', 'agreement', '--db', dbFile, '--sweep', 'D', '--format', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { x: string; series: string[]; fits: Array<{ label: string; slope: number; slopeScale: string }> };
    expect(out.x).toBe('f.width');
    expect(out.series).toEqual(['f.depth']);
    expect(out.fits.map((f) => f.label)).toEqual(['f.depth=1', 'f.depth=2', 'f.depth=3']);
    const lib = agreement(db, { sweep: 'D' });
    out.fits.forEach((f, i) => expect(f.slope).toBeCloseTo(lib.fits[i].fit.slope!, 12));
  });

  it('convergence says its criterion; status lists every lr', async () => {
    const c = await runCli(['query', 'convergence', '--db', dbFile, '--sweep', 'E']);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/criterion=train loss <= 0\.01 x its first logged value/);
    expect(c.stdout).toMatch(/ratioMedian/);
    const s = await runCli(['status', 'E', '--db', dbFile]);
    expect(s.code).toBe(0);
    for (const lr of lrs) expect(s.stdout).toMatch(new RegExp(`^\\s*${lr}\\s+6\\s+6\\s`, 'm'));
  });

  it('export --curves: long format trial, step, metric, value, in CSV and JSON', async () => {
    const c = await runCli(['export', '--db', dbFile, '--sweep', 'E', '--curves', '--where', 'train.lr=10']);
    expect(c.code).toBe(0);
    const lines = c.stdout.trim().split('\n');
    expect(lines[0]).toBe('trial,step,metric,value');
    const mine = lrSweep.filter((p) => p.config.train!.lr === 10);
    expect(lines).toHaveLength(1 + mine.length * 21);
    const j = await runCli(['export', '--db', dbFile, '--sweep', 'E', '--curves', '--format', 'json']);
    const rows = JSON.parse(j.stdout) as Array<{ trial: string; step: number; metric: string; value: number }>;
    expect(rows).toHaveLength(lrSweep.length * 21);
    for (const p of lrSweep) {
      const got = rows.filter((r) => r.trial === p.id);
      expect(got.map((r) => [r.step, r.value])).toEqual(p.curve);
      expect(new Set(got.map((r) => r.metric))).toEqual(new Set(['train_loss']));
    }
  });

  it('rejects an unknown axis key, and --rel with --eps, in one line with exit 2', async () => {
    for (const args of [
      ['query', 'agreement', '--db', dbFile, '--sweep', 'D', '--x', 'f.wdth'],
      ['query', 'movement', '--db', dbFile, '--sweep', 'D', '--series', 'nope'],
      ['query', 'convergence', '--db', dbFile, '--sweep', 'E', '--rel', '0.1', '--eps', '1e-3'],
      ['query', 'convergence', '--db', dbFile, '--sweep', 'E', '--rel', '-1'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});
