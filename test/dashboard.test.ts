import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep, type SeededTrial } from '../dashboards/seed.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import type { TrialStatus } from '../schema/tables.js';
import { downsample } from '../schema/queries-stats.js';
import { cliPath } from './helpers/cli.js';

let dir: string;
let file: string;
let db: Db;
let server: Server;
let base: string;
let seeded: SeededTrial[];

const fWidths = [16, 32, 64, 128];
const gWidths = [8, 16];
const statusOf = (i: number, n: number): TrialStatus => (i >= n - 3 ? 'queued' : i === n - 4 ? 'running' : i % 7 === 2 ? 'failed' : i === 5 ? 'diverged' : 'completed');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-'));
  file = join(dir, 'd.db');
  const w = openDb(file);
  seeded = seedSweep(w, { sweep: 'demo sweep', fWidths, gWidths, seeds: 5, statusOf });
  closeDb(w);
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db);
  const a = await listen(server, 0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string; body: unknown; text: string }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.startsWith('application/json') ? JSON.parse(text) : null };
}

const sweepPath = '/api/sweeps/' + encodeURIComponent('demo sweep');

describe('downsample (LTTB)', () => {
  it('keeps the ends, returns at most max points in step order, and keeps a spike', () => {
    const pts: Array<[number, number]> = Array.from({ length: 1000 }, (_, i) => [i, i === 500 ? 100 : Math.exp(-i / 100)]);
    const d = downsample(pts, 50);
    expect(d).toHaveLength(50);
    expect(d[0]).toEqual(pts[0]);
    expect(d.at(-1)).toEqual(pts[999]);
    expect(d.map(([s]) => s)).toEqual([...d.map(([s]) => s)].sort((a, b) => a - b));
    expect(d.some(([s]) => s === 500)).toBe(true);
    expect(downsample(pts.slice(0, 10), 50)).toEqual(pts.slice(0, 10));
  });
});

describe('dashboard API', () => {
  it('reports status counts per sweep', async () => {
    const r = await get('/api/sweeps');
    expect(r.status).toBe(200);
    const [s] = r.body as Array<{ name: string; counts: Record<string, number>; total: number; active: boolean; done: number }>;
    expect(s.name).toBe('demo sweep');
    for (const st of ['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled']) {
      expect(s.counts[st], st).toBe(seeded.filter((t) => t.status === st).length);
    }
    expect(s.total).toBe(seeded.length);
    expect(s.active).toBe(true);
  });

  it('pages trials in insertion order, with a status filter', async () => {
    const r = await get(`${sweepPath}/trials?offset=10&limit=7`);
    const body = r.body as { total: number; rows: Array<{ id: string }> };
    expect(body.total).toBe(seeded.length);
    expect(body.rows.map((x) => x.id)).toEqual(seeded.slice(10, 17).map((t) => t.id));
    const f = (await get(`${sweepPath}/trials?status=failed&limit=500`)).body as { total: number; rows: Array<{ id: string }> };
    expect(f.rows.map((x) => x.id)).toEqual(seeded.filter((t) => t.status === 'failed').map((t) => t.id));
    expect(f.total).toBe(f.rows.length);
  });

  it('samples loss curves across width cells and downsamples them keeping the ends', async () => {
    const body = (await get(`${sweepPath}/curves?limit=16&points=5`)).body as { trials: Array<{ id: string; fWidth: number; gWidth: number; points: number[][] }> };
    // Up to 16 / 8 cells = 2 finished trials (lowest seeds) per cell.
    const expected = fWidths.flatMap((fw) => gWidths.map((gw) => seeded.filter((t) => t.fWidth === fw && t.gWidth === gw && (t.status === 'completed' || t.status === 'diverged'))));
    expect(body.trials.map((t) => t.id).sort()).toEqual(expected.flatMap((c) => c.slice(0, 2).map((t) => t.id)).sort());
    const cells = new Set(body.trials.map((t) => `${t.fWidth}x${t.gWidth}`));
    expect(cells.size).toBe(fWidths.length * gWidths.length);
    const raw = db.$client.prepare("SELECT step, value FROM metric_points WHERE trial_id = ? AND series = 'train_loss' ORDER BY step");
    for (const t of body.trials) {
      const pts = raw.all(t.id) as Array<{ step: number; value: number }>;
      expect(t.points).toHaveLength(5);
      expect(t.points[0]).toEqual([pts[0].step, pts[0].value]);
      expect(t.points[4]).toEqual([pts.at(-1)!.step, pts.at(-1)!.value]);
    }
  });

  it('fits distance vs f.width per g.width series and the planted -1/2 lies in each interval', async () => {
    const body = (await get(`${sweepPath}/agreement?phase=init&kind=ntk&mode=exact`)).body as {
      axis: string; points: unknown[]; fits: Array<{ series: string; fit: { slopeLow: number; slopeHigh: number; axis: string } }>;
    };
    expect(body.axis).toBe('f.width');
    expect(body.fits.map((f) => f.series).sort()).toEqual(['g.width=16', 'g.width=8']);
    for (const f of body.fits) {
      expect(f.fit.slopeLow).toBeLessThan(-0.5);
      expect(f.fit.slopeHigh).toBeGreaterThan(-0.5);
    }
    expect(body.points).toHaveLength(8);
  });

  it('gives heatmap cells for each metric', async () => {
    for (const metric of ['init_distance', 'final_distance', 'movement', 'final_loss', 'test_loss']) {
      const body = (await get(`${sweepPath}/heatmap?metric=${metric}`)).body as { cells: Array<{ n: number; mean: number }> };
      expect(body.cells.length, metric).toBeGreaterThan(0);
      expect(body.cells.length).toBeLessThanOrEqual(8);
    }
  });

  it('shows one trial in detail, and 404 for an unknown one', async () => {
    const failed = seeded.find((t) => t.status === 'failed')!;
    const body = (await get(`/api/trials/${failed.id}`)).body as { id: string; error: string; sweeps: string[]; config: { f: { width: number } } };
    expect(body.id).toBe(failed.id);
    expect(body.error).toMatch(/out of memory/);
    expect(body.sweeps).toEqual(['demo sweep']);
    expect(body.config.f.width).toBe(failed.fWidth);
    expect((await get('/api/trials/tdeadbeef')).status).toBe(404);
  });

  it('answers 400 with a JSON message on bad parameters', async () => {
    for (const path of [
      `${sweepPath}/trials?limit=abc`,
      `${sweepPath}/trials?limit=0`,
      `${sweepPath}/trials?status=sleeping`,
      `${sweepPath}/curves?bogus=1`,
      `${sweepPath}/curves?limit=5&limit=6`,
      `${sweepPath}/heatmap?metric=loss;drop table trials`,
      `${sweepPath}/agreement?phase=middle`,
      '/api/sweeps?x=1',
    ]) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.type).toMatch(/^application\/json/);
      expect((r.body as { error: string }).error, path).toMatch(/\w+: /);
    }
  });

  it('answers 404 on unknown routes and sweeps, 405 on other methods', async () => {
    for (const path of ['/nope', '/api/nope', '/api/sweeps/nope/curves', `${sweepPath}/bogus`, '/vendor/other.js']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect((r.body as { error: string }).error).toBeTypeOf('string');
    }
    expect((await get('/api/sweeps', { method: 'POST' })).status).toBe(405);
  });

  it('serves the page and the chart libraries from node_modules, nothing from outside', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/(src|href)\s*=\s*["']?https?:/i);
    for (const lib of ['/vendor/vega.min.js', '/vendor/vega-lite.min.js', '/vendor/vega-embed.min.js', '/app.js', '/charts.js']) {
      const r = await get(lib);
      expect(r.status, lib).toBe(200);
      expect(r.type).toMatch(/javascript/);
      expect(r.text.length).toBeGreaterThan(1000);
    }
  });
});

describe('hypersweep dashboard (CLI)', () => {
  it('binds 127.0.0.1 by default and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [cliPath, 'dashboard', '--db', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /http:\/\/([^/]+)\//.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[0]);
        }
      });
      child.on('exit', () => reject(new Error(`exited: ${out}`)));
    });
    expect(new URL(url).hostname).toBe('127.0.0.1');
    const r = await fetch(url + 'api/sweeps');
    expect(r.status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });
});
