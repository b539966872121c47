import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, offlinePage } from './helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import type { TrialConfigInput } from '../core/config.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { repoRoot } from './helpers/cli.js';

/**
 * The heatmap's row/column selectors and the facet selector of the distance and movement charts, in real
 * Chromium: choosing them changes the marks (counted against the sweep's grid) and a fresh page at the URL
 * shows the same. Screenshots go to the test's temporary directory and to test-output/ for a look.
 */

const outDir = join(repoRoot, 'test-output');

// Three keys vary, each with its own number of values: 4 widths × 2 depths × 3 learning rates, 2 seeds.
const widths = [16, 64, 256, 1024];
const depths = [1, 2];
const lrs = [0.01, 0.1, 1];

let dir: string;
let db: Db;
let writer: Db;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-browser-heataxes-'));
  const file = join(dir, 'a.db');
  writer = openDb(file);
  const cfgs: TrialConfigInput[] = widths.flatMap((fw) => depths.flatMap((fd) => lrs.flatMap((lr) => [0, 1].map((seed) => ({
    task: 'sphere' as const, seed, f: { width: fw, depth: fd }, g: { width: 8 }, train: { lr },
  })))));
  upsertSweep(writer, { name: 'axes', task: 'sphere', retries: 0 }, cfgs.map((c) => ({ id: trialId(c), config: canonicalConfig(c) })));
  cfgs.forEach((c, i) => {
    const d = 3 * (c.f!.width! * Math.exp(-0.3 * c.f!.depth!)) ** -0.5 * (1 + 0.03 * (i % 3)) * (1 + c.train!.lr!);
    const k = { ntkRelFrob: d, gpRelFrob: d / 2, ntkAlignment: 0.9, gpAlignment: 0.9, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d };
    recordResult(writer, trialId(c), {
      status: 'completed', metrics: { trainLoss: 0.01 / c.train!.lr!, testLoss: 0.02, stepsRun: 20, kernel: { init: k, final: { ...k, ntkRelFrob: 1.3 * d }, movement: d / 3 } },
      curve: [[0, 1], [20, 0.01]], backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  });
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db, { minRefreshMs: 100 });
  base = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
  browser = await launchChromium();
  page = await newPage();
  mkdirSync(outDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (db) closeDb(db);
  if (writer) closeDb(writer);
  rmSync(dir, { recursive: true, force: true });
});

const newPage = () => offlinePage(browser, base, errors);

async function ready(p: Page): Promise<void> {
  await p.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  for (const id of ['heatmap', 'distance', 'movement']) await p.waitForSelector(`#${id}[data-rendered="true"]`);
}

/** Choose an option and wait for the URL to say it and the chart to be drawn again. */
async function choose(p: Page, select: string, value: string, param: string, chart: string): Promise<void> {
  await p.locator(`#${chart}`).evaluate((el) => (el.dataset.rendered = 'stale'));
  await p.selectOption(select, value);
  await p.waitForFunction(([k, v]) => new URLSearchParams(location.search).get(k) === v, [param, value]);
  await p.waitForSelector(`#${chart}[data-rendered="true"]`);
}

async function shot(p: Page, name: string, selector: string): Promise<void> {
  const path = join(dir, name);
  await p.locator(selector).screenshot({ path });
  expect(statSync(path).size).toBeGreaterThan(5000);
  await p.locator(selector).screenshot({ path: join(outDir, name) });
}

const count = (p: Page, sel: string) => p.locator(sel).count();
const axisTitles = (p: Page, id: string) => p.locator(`#${id} .role-axis-title`).allTextContents();

/** Reload the page's URL in a fresh page; check what `check` says there too. */
async function reloaded(check: (p: Page) => Promise<void>): Promise<void> {
  const fresh = await newPage();
  await fresh.goto(page.url());
  await ready(fresh);
  await check(fresh);
  expect(fresh.url()).toBe(page.url());
  await fresh.close();
}

describe('heatmap rows/columns and facets in Chromium', () => {
  it('draws f.width × f.depth by default, then the rows and columns chosen; a reload of the URL shows the same', async () => {
    await page.goto(`${base}/?sweep=axes`);
    await ready(page);
    expect(await count(page, '#heatmap g.cells_marks path')).toBe(widths.length * depths.length);
    expect(await axisTitles(page, 'heatmap')).toEqual(expect.arrayContaining(['f.width', 'f.depth']));
    expect(await page.locator('#heat-row option').allTextContents()).toEqual(['auto', 'f.width', 'f.depth', 'train.lr']);
    await choose(page, '#heat-row', 'train.lr', 'row', 'heatmap');
    expect(await count(page, '#heatmap g.cells_marks path')).toBe(widths.length * lrs.length);
    await choose(page, '#heat-col', 'f.depth', 'col', 'heatmap');
    expect(await count(page, '#heatmap g.cells_marks path')).toBe(depths.length * lrs.length);
    expect((await axisTitles(page, 'heatmap')).sort()).toEqual(['f.depth', 'train.lr']);
    await shot(page, 'axes-heatmap-lr-depth.png', '#heatmap');
    await reloaded(async (p) => {
      expect(await p.locator('#heat-row').inputValue()).toBe('train.lr');
      expect(await p.locator('#heat-col').inputValue()).toBe('f.depth');
      expect(await count(p, '#heatmap g.cells_marks path')).toBe(depths.length * lrs.length);
    });
    // Choosing the rows' key as the columns' sets the rows back to auto (the next varying key).
    await choose(page, '#heat-col', 'train.lr', 'col', 'heatmap');
    expect(await page.locator('#heat-row').inputValue()).toBe('');
    expect(await count(page, '#heatmap g.cells_marks path')).toBe(widths.length * lrs.length);
  });

  it('splits the distance and movement charts into one panel per value of the facet key; a reload shows the same', async () => {
    const points = widths.length * depths.length * lrs.length;
    // No facet: one panel, a fit per (f.depth, train.lr) series.
    expect(await count(page, '#distance g.means_marks')).toBe(1);
    expect(await count(page, '#distance g.means_marks path')).toBe(points);
    expect(await count(page, '#distance g.fitlines_marks path')).toBe(depths.length * lrs.length);
    await choose(page, '#facet-key', 'train.lr', 'facet', 'distance');
    await page.waitForSelector('#movement[data-rendered="true"]');
    for (const id of ['distance', 'movement']) {
      expect(await count(page, `#${id} g.means_marks`), id).toBe(lrs.length);
      expect(await count(page, `#${id} g.means_marks path`), id).toBe(points);
      expect(await count(page, `#${id} g.fitlines_marks path`), id).toBe(depths.length * lrs.length);
      expect(await count(page, `#${id} g.reference_marks path`), id).toBe(lrs.length);
    }
    expect(await page.locator('#distance').textContent()).toContain('train.lr');
    await shot(page, 'axes-facet-lr.png', '#distance');
    await choose(page, '#facet-key', 'f.depth', 'facet', 'distance');
    expect(await count(page, '#distance g.means_marks')).toBe(depths.length);
    expect(await count(page, '#distance g.means_marks path')).toBe(points);
    await shot(page, 'axes-facet-depth.png', '#distance');
    await reloaded(async (p) => {
      expect(await p.locator('#facet-key').inputValue()).toBe('f.depth');
      expect(await count(p, '#distance g.means_marks')).toBe(depths.length);
      expect(await count(p, '#movement g.means_marks')).toBe(depths.length);
    });
    expect(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])).toEqual([]);
    expect(errors).toEqual([]);
  });
});
