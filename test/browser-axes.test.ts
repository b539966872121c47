import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { repoRoot } from './helpers/cli.js';

/**
 * The dashboard's distance and movement charts for sweeps whose axis is not only f.width, in real Chromium:
 * a width × depth grid (x = f.width, one series per depth) and a learning-rate sweep (x = train.lr), stored
 * with the store's functions. Screenshots go to test-output/.
 */

const outDir = join(repoRoot, 'test-output');

const fWidths = [16, 64, 256];
const depths = [1, 2, 3];
const lrs = [0.01, 0.1, 1];
const seeds = [0, 1, 2];

function store(db: Db, name: string, configs: TrialConfigInput[], effWidth: (c: TrialConfigInput) => number): void {
  upsertSweep(db, { name, task: 'sphere', retries: 0 }, configs.map((c) => ({ id: trialId(c), config: canonicalConfig(c) })));
  configs.forEach((c, i) => {
    const w = effWidth(c);
    const d = 3 * w ** -0.5 * (1 + 0.05 * ((i % 3) - 1));
    const k = { ntkRelFrob: d, gpRelFrob: d, ntkAlignment: 0.9, gpAlignment: 0.9, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d };
    recordResult(db, trialId(c), {
      status: 'completed',
      metrics: { trainLoss: 0.01, testLoss: 0.02, stepsRun: 20, kernel: { init: k, final: k, movement: (1 / w) * (1 + 0.05 * ((i % 3) - 1)) } },
      curve: [[0, 1], [10, 0.1], [20, 0.01]], backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  });
}

let dir: string;
let db: Db;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-browser-axes-'));
  const file = join(dir, 'a.db');
  const w = openDb(file);
  const cfg = (fw: number, fd: number, lr: number, seed: number, gw: number): TrialConfigInput => ({ task: 'sphere', seed, f: { width: fw, depth: fd }, g: { width: gw }, train: { lr } });
  store(w, 'depths', fWidths.flatMap((fw) => depths.flatMap((fd) => seeds.map((s) => cfg(fw, fd, 0.1, s, 8)))), (c) => c.f!.width! * Math.exp(-0.4 * c.f!.depth!));
  store(w, 'lr', lrs.flatMap((lr) => seeds.map((s) => cfg(64, 3, lr, s, 16))), (c) => 1 / c.train!.lr!);
  closeDb(w);
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db);
  base = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
  await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  await page.goto(base + '/');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  mkdirSync(outDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (db) closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

const count = (sel: string) => page.locator(sel).count();

async function open(sweep: string): Promise<void> {
  await page.locator(`#sweeps tbody tr[data-sweep="${sweep}"]`).click();
  await page.waitForFunction((s) => document.querySelector('#sweep-name')?.textContent === s, sweep);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => ['#distance', '#movement'].every((id) => document.querySelector(id)?.getAttribute('data-rendered') === 'true'));
}

describe('dashboard axes in Chromium', () => {
  it('width × depth: distance vs f.width with one series and one fit per depth, legend named f.depth', async () => {
    await open('depths');
    expect(await count('#distance g.means_marks path')).toBe(fWidths.length * depths.length);
    expect(await count('#distance g.fitlines_marks path')).toBe(depths.length);
    expect(await count('#distance g.reference_marks path')).toBe(1);
    const text = await page.locator('#distance').textContent();
    expect(text).toMatch(/f\.width \(log scale\)/);
    expect(text).toMatch(/f\.depth/); // the legend's title
    expect(text).toMatch(/±1 sd over seeds/);
    await page.locator('#distance').screenshot({ path: join(outDir, 'axes-depths-distance.png') });
  });

  it('lr sweep: movement vs train.lr, no width reference, no empty chart', async () => {
    await open('lr');
    expect(await count('#movement g.means_marks path')).toBe(lrs.length);
    expect(await count('#movement g.fitlines_marks path')).toBe(1);
    expect(await count('#movement g.reference_marks path')).toBe(0);
    const text = await page.locator('#movement').textContent();
    expect(text).toMatch(/NTK movement vs train\.lr/);
    expect(text).toMatch(/train\.lr \(log scale\)/);
    expect(text).toMatch(/OLS of log y vs log train\.lr/);
    await page.locator('#movement').screenshot({ path: join(outDir, 'axes-lr-movement.png') });
    expect(errors).toEqual([]);
  });
});
