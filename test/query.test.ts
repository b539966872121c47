import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { agreement, agreementFromCube, convergence, cubeKeys, movement, movementFromCube } from '../schema/queries-aggregate.js';
import { sweepCube } from '../schema/queries-cube.js';
import { exportTrials } from '../schema/queries-export.js';
import { heatmap, heatmapFromCube, heatmapMetrics } from '../schema/queries-heatmap.js';
import { parseWhere, varyingKeys } from '../schema/queries-keys.js';
import { fitLogLogSlope, tQuantile } from '../schema/queries-stats.js';
import { recordFailure, recordResult, upsertSweep } from '../schema/store.js';
import type { TrialConfigInput } from '../core/config.js';
import { mulberry32 as rng } from '../worker/model/rng.js';
import type { TrialResult } from '../core/result.js';
import { runCli } from './helpers/cli.js';

// ---- planted data ------------------------------------------------------------------------------------

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Independent two-pass mean and sample sd. */
function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
  return { mean, sd };
}

interface Planted {
  config: TrialConfigInput;
  id: string;
  initNtk: number;
  initAlign: number;
  movement: number;
  rate: number;
  curve: Array<[number, number]>;
}

const C = 3;
const NOISE = 0.15;

/** distance = C·w^(−1/2)·exp(NOISE·z), movement = w^(−1)·exp(NOISE·z'), loss curve exp(−rate·step). */
function plant(name: string, configs: TrialConfigInput[], seed: number, widthOf: (c: TrialConfigInput) => number): Planted[] {
  const r = rng(seed);
  return configs.map((config) => {
    const w = widthOf(config);
    const rate = 0.01 + 0.05 * r();
    const curve: Array<[number, number]> = [];
    for (let s = 0; s <= 200; s += 10) curve.push([s, Math.exp(-rate * s)]);
    return {
      config,
      id: trialId(config),
      initNtk: C * w ** -0.5 * Math.exp(NOISE * gaussian(r)),
      initAlign: 1 - 0.1 * r(),
      movement: w ** -1 * Math.exp(NOISE * gaussian(r)),
      rate,
      curve,
    };
  });
}

function result(p: Planted): TrialResult {
  const agreementOf = (x: number, a: number) => ({
    ntkRelFrob: x, gpRelFrob: x / 2, ntkAlignment: a, gpAlignment: a, paperCodeNtkRelFrob: 2 * x, paperCodeGpRelFrob: x,
  });
  return {
    status: 'completed',
    metrics: {
      trainLoss: p.curve.at(-1)![1],
      testLoss: 2 * p.curve.at(-1)![1],
      stepsRun: 200,
      kernel: { init: agreementOf(p.initNtk, p.initAlign), final: agreementOf(1.5 * p.initNtk, p.initAlign), movement: p.movement },
    },
    curve: p.curve,
    backend: 'wasm',
    timings: { total: 1 },
    versions: { node: process.version },
  };
}

function store(db: Db, name: string, planted: Planted[]): void {
  upsertSweep(db, { name, task: 'sphere', retries: 0 }, planted.map((p) => ({ id: p.id, config: canonical(p.config) })));
  for (const p of planted) recordResult(db, p.id, result(p), { worker: 'w', host: 'h' });
}

// upsertSweep wants the canonical config (defaults applied).
const canonical = (c: TrialConfigInput) => canonicalConfig(c);

const widths = [16, 32, 64, 128, 256, 512];
const seeds = [0, 1, 2, 3, 4, 5, 6, 7];

const sphere = (fw: number, gw: number, seed: number, extra: Partial<TrialConfigInput> = {}): TrialConfigInput => ({
  task: 'sphere', seed, f: { width: fw, depth: 3 }, g: { width: gw, depth: 2 }, ...extra,
});

let dir: string;
let dbFile: string;
let db: Db;
let fSweep: Planted[];
let together: Planted[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-query-'));
  dbFile = join(dir, 'q.db');
  db = openDb(dbFile);
  // Sweep A: f.width varies, g.width fixed; distance ∝ f.width^(-1/2).
  fSweep = plant('A', widths.flatMap((w) => seeds.map((s) => sphere(w, 8, s))), 1, (c) => c.f!.width!);
  store(db, 'A', fSweep);
  // Sweep B: n and m grow together.
  together = plant('B', [8, 16, 32, 64].flatMap((w) => seeds.map((s) => sphere(w, w, s, { train: { lr: 0.05 } }))), 2, (c) => c.f!.width!);
  store(db, 'B', together);
  // Sweep C: a full grid (both widths vary independently) plus one failed trial.
  const grid = plant('C', [16, 64].flatMap((fw) => [4, 16].flatMap((gw) => [0, 1].map((s) => sphere(fw, gw, s, { train: { steps: 7 } })))), 3, (c) => c.f!.width!);
  store(db, 'C', grid);
  const failed = sphere(16, 4, 9, { train: { steps: 7 } });
  upsertSweep(db, { name: 'C', task: 'sphere', retries: 0 }, [{ id: trialId(failed), config: canonical(failed) }]);
  recordFailure(db, trialId(failed), { error: 'boom, "quoted", and\nnewline', attempts: 1, status: 'failed' });
});

afterAll(() => {
  closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

// ---- pure statistics ---------------------------------------------------------------------------------

describe('Student t quantile', () => {
  it('matches printed tables', () => {
    // Two-sided 95% critical values from standard t tables.
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.706, 3);
    expect(tQuantile(0.975, 5)).toBeCloseTo(2.571, 3);
    expect(tQuantile(0.975, 10)).toBeCloseTo(2.228, 3);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.042, 3);
    expect(tQuantile(0.975, 1e6)).toBeCloseTo(1.96, 2);
    expect(tQuantile(0.5, 7)).toBeCloseTo(0, 6);
  });
});

describe('fitLogLogSlope', () => {
  it('equals a naive OLS over the raw points', () => {
    const r = rng(7);
    const pts: Array<[number, number]> = [];
    for (const w of [10, 20, 40, 80]) for (let s = 0; s < 5; s++) pts.push([w, 2 * w ** -0.7 * Math.exp(0.2 * gaussian(r))]);
    const xs = pts.map(([w]) => Math.log(w));
    const ys = pts.map(([, y]) => Math.log(y));
    const n = xs.length;
    const mx = xs.reduce((a, b) => a + b) / n;
    const my = ys.reduce((a, b) => a + b) / n;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < n; i++) {
      sxy += (xs[i] - mx) * (ys[i] - my);
      sxx += (xs[i] - mx) ** 2;
    }
    const b = sxy / sxx;
    const rss = ys.reduce((a, y, i) => a + (y - (my + b * (xs[i] - mx))) ** 2, 0);
    const se = Math.sqrt(rss / (n - 2) / sxx);
    const groups = [10, 20, 40, 80].map((w) => {
      const logs = pts.filter(([x]) => x === w).map(([, y]) => Math.log(y));
      return { width: w, nLog: logs.length, sumLog: logs.reduce((a, v) => a + v, 0), sumLog2: logs.reduce((a, v) => a + v * v, 0) };
    });
    const fit = fitLogLogSlope(groups)!;
    expect(fit.slope).toBeCloseTo(b, 10);
    expect(fit.se!).toBeCloseTo(se, 10);
    expect(fit.intercept).toBeCloseTo(my - b * mx, 10);
    expect(fit.df).toBe(n - 2);
  });

  it('covers the true exponent about 95% of the time', () => {
    const r = rng(11);
    let covered = 0;
    const runs = 400;
    for (let k = 0; k < runs; k++) {
      const groups = [16, 32, 64, 128].map((w) => {
        const logs = Array.from({ length: 3 }, () => Math.log(C * w ** -0.5) + 0.3 * gaussian(r));
        return { width: w, nLog: 3, sumLog: logs.reduce((a, v) => a + v, 0), sumLog2: logs.reduce((a, v) => a + v * v, 0) };
      });
      const fit = fitLogLogSlope(groups)!;
      if (fit.slopeLow! <= -0.5 && -0.5 <= fit.slopeHigh!) covered++;
    }
    // Binomial(400, 0.95): sd ≈ 0.011, so ±4 sd.
    expect(covered / runs).toBeGreaterThan(0.9);
    expect(covered / runs).toBeLessThan(0.995);
  });

  it('needs two distinct widths', () => {
    expect(fitLogLogSlope([{ width: 8, nLog: 3, sumLog: 0, sumLog2: 1 }])).toBeNull();
  });
});

// ---- queries on planted databases ----------------------------------------------------------------------

describe('query agreement', () => {
  it('groups by the varying key and matches an independent mean and sd per width', () => {
    const r = agreement(db, { sweep: 'A' });
    expect(r.by).toEqual(['f.width']);
    expect(r.groups.map((g) => g.key['f.width'])).toEqual(widths);
    for (const g of r.groups) {
      const mine = fSweep.filter((p) => p.config.f!.width === g.key['f.width']);
      const d = meanSd(mine.map((p) => p.initNtk));
      const a = meanSd(mine.map((p) => p.initAlign));
      expect(g.n).toBe(seeds.length);
      expect(g.distanceMean!).toBeCloseTo(d.mean, 12);
      expect(g.distanceSd!).toBeCloseTo(d.sd, 10);
      expect(g.alignmentMean!).toBeCloseTo(a.mean, 12);
      expect(g.alignmentSd!).toBeCloseTo(a.sd, 10);
    }
  });

  it('recovers the planted exponent -1/2 within its 95% interval', () => {
    const { fit } = agreement(db, { sweep: 'A' });
    expect(fit.axis).toBe('f.width');
    expect(fit.slopeLow!).toBeLessThan(-0.5);
    expect(fit.slopeHigh!).toBeGreaterThan(-0.5);
    expect(fit.slopeHigh! - fit.slopeLow!).toBeLessThan(0.2);
    expect(Math.exp(fit.intercept!)).toBeGreaterThan(C * 0.8);
    expect(Math.exp(fit.intercept!)).toBeLessThan(C * 1.25);
    expect(fit.nPoints).toBe(widths.length * seeds.length);
  });

  it('selects phase, kind and mode', () => {
    const r = agreement(db, { sweep: 'A', phase: 'final', kind: 'gp', mode: 'paper-code' });
    const mine = fSweep.filter((p) => p.config.f!.width === 16);
    // final paper-code GP distance was planted as 1.5·x.
    expect(r.groups[0].distanceMean!).toBeCloseTo(meanSd(mine.map((p) => 1.5 * p.initNtk)).mean, 12);
    expect(r.groups[0].alignmentMean).toBeNull();
  });

  it('fits against the common width when n and m grow together', () => {
    const r = agreement(db, { sweep: 'B' });
    expect(r.by.sort()).toEqual(['f.width', 'g.width']);
    expect(r.fit.axis).toBe('f.width=g.width');
    expect(r.fit.slopeLow!).toBeLessThan(-0.5);
    expect(r.fit.slopeHigh!).toBeGreaterThan(-0.5);
  });

  it('fits one slope per g.width series when both widths vary independently, and one when the other is filtered', () => {
    const r = agreement(db, { sweep: 'C' });
    expect(r.fit.slope).toBeUndefined();
    expect(r.fit.note).toMatch(/one fit per series of g.width/);
    expect(r.fits.map((f) => [f.label, f.fit.axis, f.fit.nPoints])).toEqual([['g.width=4', 'f.width', 4], ['g.width=16', 'f.width', 4]]);
    const one = agreement(db, { sweep: 'C', where: parseWhere(['g.width=4']) });
    expect(one.by).toEqual(['f.width']);
    expect(one.fit.axis).toBe('f.width');
  });

  it('filters with --where on JSON config keys and rejects unknown keys', () => {
    const r = agreement(db, { sweep: 'A', where: parseWhere(['f.width=64', 'train.optimizer="gd"']), by: ['f.width'] });
    expect(r.groups).toHaveLength(1);
    expect(r.groups[0].n).toBe(seeds.length);
    expect(() => parseWhere(['f.bogus=1'])).toThrow(/unknown config key 'f.bogus' \(known: task, seed/);
    expect(() => parseWhere(['f.wdth=1'])).toThrow(/unknown config key 'f.wdth'; did you mean "f.width"\?/);
    expect(() => agreement(db, { sweep: 'A', where: parseWhere(['f.width=3']) })).toThrow(/no kernel metrics/);
  });

  it('finds the varying keys of a sweep', () => {
    expect(varyingKeys(db, { sweep: 'B' }).sort()).toEqual(['f.width', 'g.width']);
  });
});

describe('query movement', () => {
  it('recovers the planted exponent -1 and matches mean/sd', () => {
    const r = movement(db, { sweep: 'A' });
    expect(r.fit.slopeLow!).toBeLessThan(-1);
    expect(r.fit.slopeHigh!).toBeGreaterThan(-1);
    const mine = fSweep.filter((p) => p.config.f!.width === 128);
    const g = r.groups.find((x) => x.key['f.width'] === 128)!;
    expect(g.movementMean!).toBeCloseTo(meanSd(mine.map((p) => p.movement)).mean, 12);
    expect(g.movementSd!).toBeCloseTo(meanSd(mine.map((p) => p.movement)).sd, 10);
  });
});

describe('query convergence', () => {
  it('counts the seeds whose curve reaches eps and the median first step', () => {
    const eps = 0.05;
    const r = convergence(db, { sweep: 'A', eps });
    for (const g of r.groups) {
      const mine = fSweep.filter((p) => p.config.f!.width === g.key['f.width']);
      // Independently: the first logged step (every 10) with exp(-rate·step) < eps.
      const hits = mine.map((p) => p.curve.find(([, v]) => v < eps)?.[0]).filter((s): s is number => s !== undefined);
      hits.sort((a, b) => a - b);
      const med = hits.length === 0 ? null : hits.length % 2 ? hits[(hits.length - 1) / 2] : (hits[hits.length / 2 - 1] + hits[hits.length / 2]) / 2;
      expect(g.n).toBe(mine.length);
      expect(g.fractionReached).toBeCloseTo(hits.length / mine.length, 12);
      expect(g.medianSteps).toBe(med);
      const loss = meanSd(mine.map((p) => p.curve.at(-1)![1]));
      expect(g.lossMean!).toBeCloseTo(loss.mean, 12);
      expect(g.lossSd!).toBeCloseTo(loss.sd, 10);
    }
    // The planted rates make some seeds miss eps = 0.05 within 200 steps: the check is not vacuous.
    const all = r.groups.reduce((a, g) => a + g.reached, 0);
    expect(all).toBeGreaterThan(0);
    expect(all).toBeLessThan(fSweep.length);
  });

  it('leaves failed trials out', () => {
    const r = convergence(db, { sweep: 'C', by: ['f.width'] });
    expect(r.groups.map((g) => g.n)).toEqual([4, 4]);
  });
});

describe('sweep cube (the dashboard\'s one-pass aggregate)', () => {
  it('gives the same agreement, movement and heatmaps as the direct queries', () => {
    for (const sweep of ['A', 'B', 'C']) {
      const cube = sweepCube(db, { sweep });
      for (const phase of ['init', 'final'] as const) {
        const a = agreementFromCube(cube, sweep, phase);
        const b = agreement(db, { sweep, phase, byVarying: cubeKeys });
        const c = agreement(db, { sweep, phase }); // default grouping: every varying config key
        expect(a.by).toEqual(b.by);
        expect(a.by).toEqual(c.by);
        expect(a.groups.map((g) => g.key)).toEqual(c.groups.map((g) => g.key));
        a.groups.forEach((g, i) => {
          expect(g.n).toBe(c.groups[i].n);
          expect(g.distanceMean!).toBeCloseTo(c.groups[i].distanceMean!, 12);
          expect(g.distanceSd!).toBeCloseTo(c.groups[i].distanceSd!, 9);
          expect(g.alignmentMean!).toBeCloseTo(c.groups[i].alignmentMean!, 12);
        });
        expect(a.fit.slope ?? null).toEqual(c.fit.slope === undefined ? null : expect.closeTo(c.fit.slope, 10));
      }
      const m = movementFromCube(cube, sweep);
      const n = movement(db, { sweep });
      expect(m.groups.map((g) => [g.key, g.n])).toEqual(n.groups.map((g) => [g.key, g.n]));
      m.groups.forEach((g, i) => expect(g.movementMean!).toBeCloseTo(n.groups[i].movementMean!, 12));
      const axesList = [
        { row: 'g.width', col: 'f.width' }, { row: 'f.depth', col: 'g.width' }, { row: 'train.lr', col: 'f.width' },
        { row: 'f.width', col: 'task' }, { row: null, col: 'g.depth' }, { row: null, col: null },
      ];
      for (const axes of axesList) {
        for (const metric of heatmapMetrics) {
          const x = heatmapFromCube(cube, metric, axes);
          const y = heatmap(db, { sweep }, metric, axes).filter((c) => c.n > 0);
          const what = `${sweep} ${metric} ${axes.row} × ${axes.col}`;
          expect(x.length, what).toBeGreaterThan(0);
          expect(x.map((c) => [c.row, c.col, c.n]), what).toEqual(y.map((c) => [c.row, c.col, c.n]));
          x.forEach((c, i) => {
            expect(c.mean!).toBeCloseTo(y[i].mean!, 12);
            if (c.sd === null) expect(y[i].sd).toBeNull();
            else expect(c.sd).toBeCloseTo(y[i].sd!, 9);
          });
        }
      }
    }
  });
});

describe('SQL views', () => {
  it('agree with the query functions', () => {
    // The views come with the migrations (schema/ddl.ts, derived-objects migration).
    const q = agreement(db, { sweep: 'A' });
    const rows = db.$client
      .prepare("SELECT f_width, n, distance_mean, distance_sd FROM v_agreement WHERE sweep = ? AND phase = 'init' AND kind = 'ntk' AND mode = 'exact' ORDER BY f_width")
      .all('A') as Array<{ f_width: number; n: number; distance_mean: number; distance_sd: number }>;
    expect(rows.map((x) => x.f_width)).toEqual(widths);
    rows.forEach((row, i) => {
      expect(row.n).toBe(q.groups[i].n);
      expect(row.distance_mean).toBeCloseTo(q.groups[i].distanceMean!, 12);
      expect(row.distance_sd).toBeCloseTo(q.groups[i].distanceSd!, 10);
    });
    const flat = db.$client.prepare('SELECT count(*) AS n FROM v_trials_flat WHERE sweep = ?').get('C') as { n: number };
    expect(flat.n).toBe(9);
    const mv = db.$client.prepare('SELECT movement_mean FROM v_movement WHERE sweep = ? AND f_width = 128').get('A') as { movement_mean: number };
    expect(mv.movement_mean).toBeCloseTo(movement(db, { sweep: 'A' }).groups.find((g) => g.key['f.width'] === 128)!.movementMean!, 12);
    const cv = db.$client.prepare('SELECT n, loss_mean FROM v_convergence WHERE sweep = ? AND f_width = 16').get('A') as { n: number; loss_mean: number };
    expect(cv.n).toBe(seeds.length);
    expect(cv.loss_mean).toBeCloseTo(convergence(db, { sweep: 'A' }).groups[0].lossMean!, 12);
  });
});

// ---- CLI (built dist/) ---------------------------------------------------------------------------------

/** A small RFC 4180 parser, independent of the exporter. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

describe('hypersweep query / export (CLI)', () => {
  it('prints agreement as JSON with plainly named slope fields', async () => {
    const r = await runCli(['query', 'agreement', '--db', dbFile, '--sweep', 'A', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown> & { groups: Array<Record<string, number>> };
    const lib = agreement(db, { sweep: 'A' });
    expect(out.slope).toBeCloseTo(lib.fit.slope!, 12);
    expect(out.slopeLow).toBeCloseTo(lib.fit.slopeLow!, 12);
    expect(out.slopeHigh).toBeCloseTo(lib.fit.slopeHigh!, 12);
    expect(out.slopeAxis).toBe('f.width');
    expect(out.groups[0]['f.width']).toBe(16);
    expect(out.groups[0].distanceMean).toBeCloseTo(lib.groups[0].distanceMean!, 12);
  });

  it('prints a table with the slope line, and csv', async () => {
    const t = await runCli(['query', 'movement', '--db', dbFile, '--sweep', 'A']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/movementMean/);
    expect(t.stdout).toMatch(/slope of log movement vs log f.width: -?\d/);
    const c = await runCli(['query', 'convergence', '--db', dbFile, '--sweep', 'A', '--format', 'csv', '--eps', '0.05']);
    expect(c.code).toBe(0);
    const rows = parseCsv(c.stdout);
    expect(rows[0]).toEqual(['f.width', 'n', 'lossN', 'lossMean', 'lossSd', 'ratioMedian', 'reached', 'fractionReached', 'medianSteps']);
    expect(rows).toHaveLength(1 + widths.length);
  });

  it('exports CSV and JSON that round-trip to the database values', async () => {
    const csvFile = join(dir, 'c.csv');
    const jsonFile = join(dir, 'c.json');
    const a = await runCli(['export', '--db', dbFile, '--sweep', 'C', '--format', 'csv', '--out', csvFile]);
    const b = await runCli(['export', '--db', dbFile, '--sweep', 'C', '--format', 'json', '--out', jsonFile]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as Array<Record<string, string | number | null>>;
    const [header, ...body] = parseCsv(readFileSync(csvFile, 'utf8'));
    expect(json).toHaveLength(9);
    expect(body).toHaveLength(9);
    for (const col of ['id', 'status', 'f.width', 'g.width', 'seed', 'train.steps', 'trainLoss', 'kernel.init.ntk.exact.relFrob', 'kernel.movement', 'error']) {
      expect(header).toContain(col);
    }
    body.forEach((cells, i) => {
      header.forEach((col, j) => {
        const v = json[i][col];
        expect(cells[j], `${col} of row ${i}`).toBe(v === null ? '' : String(v));
      });
    });
    // Compare with the database itself.
    const failed = json.find((r) => r.status === 'failed')!;
    expect(failed.error).toBe('boom, "quoted", and\nnewline');
    expect(failed.trainLoss).toBeNull();
    const dbRows = exportTrials(db, { sweep: 'C' }).rows;
    expect(json).toEqual(dbRows);
    const raw = db.$client.prepare('SELECT rel_frob FROM kernel_metrics WHERE trial_id = ? AND phase = ? AND kind = ? AND mode = ?');
    for (const r of json.filter((x) => x.status === 'completed')) {
      expect(r['kernel.init.ntk.exact.relFrob']).toBe((raw.get(r.id, 'init', 'ntk', 'exact') as { rel_frob: number }).rel_frob);
      expect(r['f.width']).toBeTypeOf('number');
    }
  });

  it('creates the SQL views from the command line (upgrading an older database)', async () => {
    // A database made before the views existed: migrated tables, no views or covering indexes, and the
    // derived-objects migration not recorded.
    const fresh = join(dir, 'views.db');
    const w = openDb(fresh);
    w.$client.exec('DROP VIEW v_trials_flat; DROP VIEW v_agreement; DROP VIEW v_convergence; DROP VIEW v_movement');
    w.$client.exec('DROP INDEX trials_cover_idx; DROP INDEX trials_cells_idx; DROP INDEX kernel_metrics_cover_idx');
    w.$client.exec('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)');
    closeDb(w);
    const old = await runCli(['query', 'agreement', '--db', fresh]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/older hypersweep.*hypersweep query views --db/);
    const r = await runCli(['query', 'views', '--db', fresh]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/upgraded the schema \(1 migration\)/);
    const again = await runCli(['query', 'views', '--db', fresh]);
    expect(again.stdout).toMatch(/up to date/);
    const v = openDb(fresh, { readonly: true });
    const names = (v.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name").all() as Array<{ name: string }>).map((x) => x.name);
    closeDb(v);
    expect(names).toEqual(['v_agreement', 'v_convergence', 'v_movement', 'v_trials_flat']);
  });

  it('fails with one line and exit 2 on an unknown sweep, an unknown key and an empty result', async () => {
    for (const args of [
      ['query', 'agreement', '--db', dbFile, '--sweep', 'nope'],
      ['query', 'agreement', '--db', dbFile, '--sweep', 'A', '--where', 'f.nope=1'],
      ['query', 'movement', '--db', dbFile, '--sweep', 'A', '--by', 'bogus'],
      ['query', 'convergence', '--db', dbFile, '--sweep', 'A', '--where', 'f.width=3'],
      ['query', 'agreement', '--db', dbFile],
      ['export', '--db', dbFile, '--sweep', 'A', '--format', 'xml'],
      ['query', 'agreement', '--db', join(dir, 'missing.db'), '--sweep', 'A'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^hypersweep: /);
    }
  });
});
