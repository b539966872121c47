import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import { distinctDigits, heatmapSpec, legendValues, wrapItems } from '../dashboards/client/charts.js';
import type { TrialRow } from '../dashboards/data.js';
import { buildReport } from '../dashboards/report.js';
import { seedSweep, type SeededTrial } from '../dashboards/seed.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { markRunning, recordProgress, recordResult, upsertSweep } from '../schema/store.js';
import type { TrialStatus } from '../schema/tables.js';

/**
 * The dashboard's table and view endpoints over HTTP (sort and filter checked against a naive computation over
 * the seeded trials, zod-checked parameters), the running trials' partial curves the store keeps, and the
 * report's one fit per series.
 */

let dir: string;
let db: Db;
let writer: Db;
let server: Server;
let base: string;
let seeded: SeededTrial[];
const statusOf = (i: number, n: number): TrialStatus => (i >= n - 3 ? 'queued' : i % 11 === 4 ? 'failed' : 'completed');

// A width × depth sweep stored through the store: distance 3·(f.width·e^(−0.4·f.depth))^(−1/2)·(1 ± 4 %).
const widths = [16, 64, 256, 1024];
const depths = [1, 2, 3];
const depthDistance = (fw: number, fd: number, seed: number) => 3 * (fw * Math.exp(-0.4 * fd)) ** -0.5 * (1 + 0.04 * (seed - 1));

// An lr × width sweep: distance, training and test loss planted per trial.
const lrs = [0.001, 0.01, 0.1];
const lrWidths = [16, 64];
const lrDistance = (fw: number, lr: number, seed: number) => 2 * fw ** -0.5 * lr ** 0.3 * (1 + 0.05 * (seed - 1));
const lrTrain = (fw: number, lr: number, seed: number) => lr * fw ** -0.2 * (1 + 0.1 * seed);
const lrTest = (fw: number, lr: number, seed: number) => 2 * lrTrain(fw, lr, seed) + 0.001 * seed;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-views-'));
  const file = join(dir, 'v.db');
  writer = openDb(file);
  seeded = seedSweep(writer, { sweep: 'grid', fWidths: [16, 32, 64], gWidths: [8, 16], seeds: 6, statusOf });
  const cfgs: TrialConfigInput[] = widths.flatMap((fw) => depths.flatMap((fd) => [0, 1, 2].map((seed) => ({ task: 'sphere' as const, seed, f: { width: fw, depth: fd }, g: { width: 4 } }))));
  upsertSweep(writer, { name: 'depths', task: 'sphere', retries: 0 }, cfgs.map((c) => ({ id: trialId(c), config: canonicalConfig(c) })));
  for (const c of cfgs) {
    const d = depthDistance(c.f!.width!, c.f!.depth!, c.seed!);
    const k = { ntkRelFrob: d, gpRelFrob: d, ntkAlignment: 0.9, gpAlignment: 0.9, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d };
    recordResult(writer, trialId(c), {
      status: 'completed', metrics: { trainLoss: 0.01, testLoss: 0.02, stepsRun: 20, kernel: { init: k, final: k, movement: d * d } },
      curve: [[0, 1], [20, 0.01]], backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  }
  const lrCfgs: TrialConfigInput[] = lrs.flatMap((lr) => lrWidths.flatMap((fw) => [0, 1, 2].map((seed) => ({ task: 'sphere' as const, seed, f: { width: fw }, train: { lr } }))));
  upsertSweep(writer, { name: 'lrs', task: 'sphere', retries: 0 }, lrCfgs.map((c) => ({ id: trialId(c), config: canonicalConfig(c) })));
  for (const c of lrCfgs) {
    const [fw, lr, seed] = [c.f!.width!, c.train!.lr!, c.seed!];
    const d = lrDistance(fw, lr, seed);
    const k = { ntkRelFrob: d, gpRelFrob: d, ntkAlignment: 0.9, gpAlignment: 0.9, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d };
    recordResult(writer, trialId(c), {
      status: 'completed', metrics: { trainLoss: lrTrain(fw, lr, seed), testLoss: lrTest(fw, lr, seed), stepsRun: 20, kernel: { init: k, final: k, movement: d * d } },
      curve: [[0, 1], [20, 0.01]], backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  }
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db, { cache: false });
  base = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  closeDb(db);
  closeDb(writer);
  rmSync(dir, { recursive: true, force: true });
});

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as T };
}

/** Every page of the trials endpoint, concatenated. */
async function allRows(query: string): Promise<TrialRow[]> {
  const out: TrialRow[] = [];
  for (let offset = 0; ; offset += 7) {
    const r = await get<{ total: number; rows: TrialRow[] }>(`/api/sweeps/grid/trials?limit=7&offset=${offset}&${query}`);
    expect(r.status).toBe(200);
    out.push(...r.body.rows);
    if (offset + 7 >= r.body.total) return out;
  }
}

describe('trials table endpoint', () => {
  it('sorts by any column across pages like a naive sort (missing values last, ties in the order added)', async () => {
    const byId = new Map((await allRows('')).map((r, i) => [r.id, { r, i }]));
    expect([...byId.keys()]).toEqual(seeded.map((t) => t.id)); // unsorted: the order added
    const cols: Array<[string, keyof TrialRow]> = [['initNtk', 'initNtk'], ['f.width', 'fWidth'], ['trainLoss', 'trainLoss'], ['movement', 'movement'], ['seed', 'seed']];
    for (const [col, field] of cols) {
      for (const dir of ['asc', 'desc'] as const) {
        const got = (await allRows(`sort=${col}&dir=${dir}`)).map((r) => r.id);
        const s = dir === 'asc' ? 1 : -1;
        const want = [...byId.values()].sort((a, b) => {
          const x = a.r[field] as number | null;
          const y = b.r[field] as number | null;
          if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0) || a.i - b.i;
          return s * (x - y) || a.i - b.i;
        }).map((e) => e.r.id);
        expect(got, `${col} ${dir}`).toEqual(want);
      }
    }
  });

  it('filters by config keys (a column key and a JSON key) and by status', async () => {
    const rows = await allRows(`where=${encodeURIComponent('f.width=32;g.width=16')}`);
    expect(rows.map((r) => r.id)).toEqual(seeded.filter((t) => t.fWidth === 32 && t.gWidth === 16).map((t) => t.id));
    const json = await allRows(`where=${encodeURIComponent('train.optimizer=gd;seed=2')}&status=completed`);
    expect(json.map((r) => r.id)).toEqual(seeded.filter((t) => t.seed === 2 && t.status === 'completed').map((t) => t.id));
    expect(await allRows(`where=${encodeURIComponent('train.optimizer=adam')}`)).toEqual([]);
  });

  it('has the kernel columns of each trial', async () => {
    const rows = await allRows('');
    const done = rows.filter((r) => r.status === 'completed');
    // seed.ts plants the init GP distance at half the init NTK distance and the final NTK at 1.4 times it.
    for (const r of done) {
      expect(r.initGp! / r.initNtk!).toBeCloseTo(0.5, 12);
      expect(r.finalNtk! / r.initNtk!).toBeCloseTo(1.4, 12);
      expect(r.alignment!).toBeCloseTo(1 - r.initNtk! / 10, 12);
    }
    expect(rows.filter((r) => r.status !== 'completed').every((r) => r.initNtk === null && r.movement === null)).toBe(true);
  });

  it('answers 400 with one line naming the parameter for a bad sort column, direction, filter key or axis', async () => {
    const bad = [
      ['/api/sweeps/grid/trials?sort=nope', /trials: sort/],
      ['/api/sweeps/grid/trials?sort=id&dir=up', /trials: dir/],
      ['/api/sweeps/grid/trials?where=f.widht%3D3', /unknown config key 'f\.widht'.*f\.width/],
      ['/api/sweeps/grid/trials?where=nonsense', /expected key=value/],
      ['/api/sweeps/grid/values?key=g.widht', /unknown config key 'g\.widht'/],
      ['/api/sweeps/grid/agreement?x=f.wdth', /unknown config key 'f\.wdth'/],
      ['/api/sweeps/grid/running?limit=0', /running: limit/],
    ] as const;
    for (const [path, msg] of bad) {
      const r = await get<{ error: string }>(path);
      expect(r.status, path).toBe(400);
      expect(r.body.error, path).toMatch(msg);
      expect(r.body.error).not.toContain('\n');
    }
  });

  it('lists the varying keys and a key\'s values', async () => {
    const k = await get<{ varying: string[]; all: string[] }>('/api/sweeps/grid/keys');
    expect(k.body.varying.sort()).toEqual(['f.width', 'g.width']);
    expect(k.body.all).toContain('train.optimizer');
    const v = await get<{ values: number[]; more: boolean }>('/api/sweeps/grid/values?key=f.width');
    expect(v.body).toEqual({ key: 'f.width', values: [16, 32, 64], more: false });
  });
});

type Cell = { row: number | null; col: number | null; n: number; mean: number; sd: number | null };
type Heat = { metric: string; row: string | null; col: string | null; cells: Cell[] };

/** Naive cells: the planted values grouped by (row, col), mean and sample sd by two passes. */
function naiveCells<T>(items: readonly T[], rowOf: (t: T) => number | null, colOf: (t: T) => number, value: (t: T) => number) {
  const groups = new Map<string, { row: number | null; col: number; xs: number[] }>();
  for (const t of items) {
    const id = `${rowOf(t)}|${colOf(t)}`;
    const g = groups.get(id) ?? { row: rowOf(t), col: colOf(t), xs: [] };
    g.xs.push(value(t));
    groups.set(id, g);
  }
  return [...groups.values()]
    .sort((a, b) => a.col - b.col || (a.row ?? 0) - (b.row ?? 0))
    .map((g) => {
      const mean = g.xs.reduce((a, x) => a + x, 0) / g.xs.length;
      const sd = g.xs.length < 2 ? null : Math.sqrt(g.xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (g.xs.length - 1));
      return { row: g.row, col: g.col, n: g.xs.length, mean, sd };
    });
}

function expectCells(got: Cell[], want: ReturnType<typeof naiveCells>): void {
  expect(got.map((c) => [c.row, c.col, c.n])).toEqual(want.map((c) => [c.row, c.col, c.n]));
  got.forEach((c, i) => {
    expect(c.mean).toBeCloseTo(want[i].mean, 12);
    if (want[i].sd === null) expect(c.sd).toBeNull();
    else expect(c.sd!).toBeCloseTo(want[i].sd!, 10);
  });
}

describe('heatmap rows and columns', () => {
  const depthTrials = widths.flatMap((fw) => depths.flatMap((fd) => [0, 1, 2].map((seed) => ({ fw, fd, seed }))));
  const lrTrials = lrs.flatMap((lr) => lrWidths.flatMap((fw) => [0, 1, 2].map((seed) => ({ fw, lr, seed }))));

  it('width × depth sweep: f.width along the columns, f.depth along the rows by default; cells are the mean ± sd over seeds', async () => {
    const r = await get<Heat>('/api/sweeps/depths/heatmap?metric=init_distance');
    expect(r.status).toBe(200);
    expect([r.body.row, r.body.col]).toEqual(['f.depth', 'f.width']);
    expectCells(r.body.cells, naiveCells(depthTrials, (t) => t.fd, (t) => t.fw, (t) => depthDistance(t.fw, t.fd, t.seed)));
    // Swapped on request, and one key alone when the other is the only other varying key.
    const s = await get<Heat>('/api/sweeps/depths/heatmap?metric=movement&row=f.width&col=f.depth');
    expect([s.body.row, s.body.col]).toEqual(['f.width', 'f.depth']);
    expectCells(s.body.cells, naiveCells(depthTrials, (t) => t.fw, (t) => t.fd, (t) => depthDistance(t.fw, t.fd, t.seed) ** 2));
    const c = await get<Heat>('/api/sweeps/depths/heatmap?col=f.depth');
    expect([c.body.row, c.body.col]).toEqual(['f.width', 'f.depth']);
  });

  it('lr × width sweep: by default f.width × train.lr; any key, also one outside the cube (seed), by the direct query', async () => {
    const r = await get<Heat>('/api/sweeps/lrs/heatmap?metric=final_loss');
    expect(r.status).toBe(200);
    expect([r.body.row, r.body.col]).toEqual(['train.lr', 'f.width']);
    expectCells(r.body.cells, naiveCells(lrTrials, (t) => t.lr, (t) => t.fw, (t) => lrTrain(t.fw, t.lr, t.seed)));
    const d = await get<Heat>('/api/sweeps/lrs/heatmap?metric=final_distance&row=f.width&col=train.lr');
    expectCells(d.body.cells, naiveCells(lrTrials, (t) => t.fw, (t) => t.lr, (t) => lrDistance(t.fw, t.lr, t.seed)));
    const s = await get<Heat>('/api/sweeps/lrs/heatmap?metric=test_loss&row=seed&col=train.lr');
    expect([s.body.row, s.body.col]).toEqual(['seed', 'train.lr']);
    expectCells(s.body.cells, naiveCells(lrTrials, (t) => t.seed, (t) => t.lr, (t) => lrTest(t.fw, t.lr, t.seed)));
    // A key that does not vary: one row.
    const g = await get<Heat>('/api/sweeps/lrs/heatmap?metric=final_loss&row=g.width&col=train.lr');
    expect(new Set(g.body.cells.map((c) => c.row)).size).toBe(1);
    expectCells(g.body.cells, naiveCells(lrTrials, () => g.body.cells[0].row, (t) => t.lr, (t) => lrTrain(t.fw, t.lr, t.seed)));
  });

  it('facets the distance and movement charts by a series key: the points and fits carry its value, the series the rest', async () => {
    type Chart = { x: string; facet: string | null; seriesKeys: string[]; points: Array<{ width: number; series: string; facet?: number }>; fits: Array<{ series: string; facet?: number }> };
    for (const route of ['agreement?facet=train.lr', 'movement?facet=train.lr']) {
      const r = await get<Chart>(`/api/sweeps/lrs/${route}`);
      expect(r.status).toBe(200);
      expect([r.body.x, r.body.facet, r.body.seriesKeys]).toEqual(['f.width', 'train.lr', []]);
      expect(r.body.points.map((p) => [p.facet, p.width, p.series])).toEqual(lrs.flatMap((lr) => lrWidths.map((w) => [lr, w, 'all'])));
      expect(r.body.fits.map((f) => [f.facet, f.series])).toEqual(lrs.map((lr) => [lr, 'all']));
    }
    // Without a facet, or with one that is the x axis: one panel, lr a series.
    for (const q of ['', '?facet=f.width']) {
      const r = await get<Chart>(`/api/sweeps/lrs/agreement${q}`);
      expect([r.body.facet, r.body.seriesKeys]).toEqual([null, ['train.lr']]);
      expect(r.body.points.every((p) => p.facet === undefined)).toBe(true);
    }
    const bad = await get<{ error: string }>('/api/sweeps/lrs/movement?facet=f.dept');
    expect([bad.status, bad.body.error]).toEqual([400, 'movement: facet: unknown config key \'f.dept\'; did you mean "f.depth"?']);
  });

  it('labels close values with enough digits to tell them apart (cells and colour bar)', () => {
    expect(distinctDigits([0.0281, 0.0284, 0.0292])).toBe(3);
    expect(distinctDigits([0.5, 1.5])).toBe(2);
    expect(distinctDigits([1.00001, 1.00002])).toBe(4); // at most 4
    const cells = [0.0281, 0.0284, 0.0292].map((mean, i) => ({ row: null, col: i, n: 2, mean, sd: 0.001 }));
    const spec = heatmapSpec({ metric: 'movement', row: null, col: 'train.lr', cells }) as { data: { values: Array<{ label: string }> }; layer: Array<{ encoding: { color?: { legend?: { format?: string; values?: number[] } } } }> };
    expect(spec.data.values.map((v) => v.label)).toEqual(['0.0281', '0.0284', '0.0292']);
    const legend = spec.layer[0].encoding.color!.legend!;
    const [lo, hi] = [0.0281, 0.0292];
    expect(legend.values!.map((v) => v.toPrecision(3))).toEqual([0, 1, 2, 3].map((i) => (lo * (hi / lo) ** (i / 3)).toPrecision(3)));
    expect(new Set(legend.values!.map((v) => v.toPrecision(Number(legend.format!.slice(1, -2))))).size).toBe(4);
  });

  it('answers 400 with one line for a bad row or col', async () => {
    for (const [q, want] of [
      ['row=f.widht', /^heatmap: row: unknown config key 'f\.widht'; did you mean "f\.width"\?$/],
      ['col=nope', /^heatmap: col: unknown config key 'nope'/],
      ['row=f.width&col=f.width', /^heatmap: col: row and col must be different keys$/],
      ['row=f.width&row=g.width', /^heatmap: row: given more than once$/],
      ['rows=f.width', /^heatmap: /],
    ] as const) {
      const r = await get<{ error: string }>(`/api/sweeps/lrs/heatmap?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error, q).toMatch(want);
      expect(r.body.error).not.toContain('\n');
    }
  });
});

describe('running trials and views', () => {
  it('keeps a running trial\'s partial curve from progress reports, and the final curve replaces it', async () => {
    const t = seeded.find((s) => s.status === 'queued')!;
    // Not running yet: nothing is stored.
    expect(recordProgress(writer, t.id, [[0, 1]])).toBe(0);
    markRunning(writer, t.id, { worker: 'w', host: 'h', attempt: 1 });
    expect(recordProgress(writer, t.id, [[0, 1], [10, 0.5], [10, 0.4], [20, Number.NaN], [-1, 2]])).toBe(3);
    const r = await get<{ total: number; trials: Array<{ id: string; points: Array<[number, number]> }> }>('/api/sweeps/grid/running');
    expect(r.body.total).toBe(1);
    expect(r.body.trials[0]).toMatchObject({ id: t.id, points: [[0, 1], [10, 0.4]] });
    recordResult(writer, t.id, {
      status: 'completed', metrics: { trainLoss: 0.1, testLoss: null, stepsRun: 30, kernel: null }, curve: [[0, 1], [30, 0.1]], backend: 'wasm', timings: { total: 1 }, versions: {},
    }, { worker: 'w', host: 'h' });
    expect(recordProgress(writer, t.id, [[40, 0.05]])).toBe(0);
    const d = await get<{ curve: Array<[number, number]> }>(`/api/trials/${t.id}`);
    expect(d.body.curve).toEqual([[0, 1], [30, 0.1]]);
    expect((await get<{ total: number }>('/api/sweeps/grid/running')).body.total).toBe(0);
  });

  it('gives the parallel-coordinates rows: the means per config cell of the varying keys', async () => {
    const r = await get<{ keys: string[]; rows: Array<{ key: Record<string, number>; n: number; initNtk: number | null }> }>('/api/sweeps/depths/parallel');
    expect(r.body.keys).toEqual(['f.width', 'f.depth']);
    expect(r.body.rows).toHaveLength(widths.length * depths.length);
    for (const row of r.body.rows) {
      const want = [0, 1, 2].reduce((a, s) => a + depthDistance(row.key['f.width'], row.key['f.depth'], s), 0) / 3;
      expect(row.n).toBe(3);
      expect(row.initNtk).toBeCloseTo(want, 12);
    }
  });

  it('claims endpoint: null for a sweep without expect', async () => {
    expect((await get<unknown>('/api/sweeps/grid/claims')).body).toEqual({ claims: null, error: null });
  });
});

describe('report: one fit per series', () => {
  it('prints a slope per f.depth equal to an OLS of log distance on log f.width over that depth\'s trials', () => {
    const html = buildReport(db, 'depths');
    for (const fd of depths) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (const fw of widths) for (const s of [0, 1, 2]) [xs.push(Math.log(fw)), ys.push(Math.log(depthDistance(fw, fd, s)))];
      const mx = xs.reduce((a, b) => a + b) / xs.length;
      const my = ys.reduce((a, b) => a + b) / ys.length;
      const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
      const m = new RegExp(`\\[f\\.depth=${fd}\\] slope of log distance vs log f\\.width: (-?[0-9.e-]+)`).exec(html);
      expect(m, `f.depth=${fd}`).not.toBeNull();
      expect(Number(m![1])).toBeCloseTo(slope, 3);
    }
    // Init and final agreement, and movement: three sections of three series each.
    expect(html.match(/\[f\.depth=\d\] slope of log/g)).toHaveLength(9);
  });
});

describe('chart helpers', () => {
  it('wraps subtitle items into lines within the width, none cut', () => {
    const items = Array.from({ length: 9 }, (_, i) => `f.depth=${i} train.lr=0.01: -0.5 [-0.55, -0.45]`);
    const lines = wrapItems(items, 100);
    expect(lines.join('   ')).toBe(items.join('   '));
    expect(lines.every((l) => l.length <= 100)).toBe(true);
  });

  it('gives a colour bar four labels from min to max, geometric on a log scale', () => {
    const v = legendValues(0.01, 10, true);
    expect(v).toHaveLength(4);
    expect(v[0]).toBeCloseTo(0.01, 15);
    expect(v[3]).toBeCloseTo(10, 12);
    expect(v[1] / v[0]).toBeCloseTo(10, 10);
    expect(legendValues(0, 3, false)).toEqual([0, 1, 2, 3]);
  });
});
