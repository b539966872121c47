import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep, type SeededTrial } from '../dashboards/seed.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import type { TrialStatus } from '../schema/tables.js';
import { repoRoot } from './helpers/cli.js';

/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core (never `playwright install`).
 * Counts the SVG marks Vega drew against what the seeded database implies.
 */

const outDir = join(repoRoot, 'test-output');

const fWidths = [16, 32, 64, 128, 256];
const gWidths = [8, 16, 32];
const seeds = 4;
// The last 5 trials are queued, the 2 before running, every 17th failed: the last cell has no finished trial.
const statusOf = (i: number, n: number): TrialStatus => (i >= n - 5 ? 'queued' : i >= n - 7 ? 'running' : i % 17 === 3 ? 'failed' : 'completed');

let dir: string;
let db: Db;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
let seeded: SeededTrial[];
const errors: string[] = [];
let csp = '';

const finished = (t: SeededTrial) => t.status === 'completed' || t.status === 'diverged';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-browser-'));
  const file = join(dir, 'b.db');
  const w = openDb(file);
  seeded = seedSweep(w, { sweep: 'widths', fWidths, gWidths, seeds, statusOf });
  closeDb(w);
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db);
  base = `http://127.0.0.1:${(await listen(server, 0, '127.0.0.1')).port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
  // Nothing outside this server may be requested.
  await page.route('**/*', (route) => (route.request().url().startsWith(base) ? route.continue() : route.abort()));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  // CSP violations (an inline script, eval in Vega) are recorded by the page itself.
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const res = await page.goto(base + '/');
  csp = (await res?.allHeaders())?.['content-security-policy'] ?? '';
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (db) closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

const count = (sel: string) => page.locator(sel).count();

describe('dashboard in Chromium', () => {
  it('shows the status counts of the seeded sweep', async () => {
    for (const st of ['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled']) {
      const text = await page.locator(`#sweeps tr[data-sweep="widths"] td[data-status="${st}"]`).textContent();
      expect(Number(text), st).toBe(seeded.filter((t) => t.status === st).length);
    }
    const done = seeded.filter((t) => t.status !== 'queued' && t.status !== 'running').length;
    expect(await page.locator('#sweeps td.progress span').textContent()).toBe(`${done} / ${seeded.length}`);
    expect(await page.locator('#live').textContent()).toMatch(/polling/);
  });

  it('draws one loss curve per sampled trial', async () => {
    const cells = fWidths.flatMap((fw) => gWidths.map((gw) => seeded.filter((t) => t.fWidth === fw && t.gWidth === gw && finished(t))));
    // Lowest seeds of each cell, round-robin: at most ceil(40 / cells) per cell and 40 in all.
    const perCell = Math.ceil(40 / cells.length);
    const expected = Math.min(40, cells.reduce((a, c) => a + Math.min(perCell, c.length), 0));
    expect(expected).toBeGreaterThan(cells.length);
    expect(await count('#curves g.curves_marks path')).toBe(expected);
  });

  it('draws distance vs width: a point and an error bar per width cell, a fit per g.width, one reference line', async () => {
    const cellsWithData = fWidths.flatMap((fw) => gWidths.filter((gw) => seeded.some((t) => t.fWidth === fw && t.gWidth === gw && finished(t)))).length;
    expect(cellsWithData).toBe(fWidths.length * gWidths.length - 1);
    expect(await count('#distance g.means_marks path')).toBe(cellsWithData);
    expect(await count('#distance g.errorbars_marks line')).toBe(cellsWithData);
    expect(await count('#distance g.fitlines_marks path')).toBe(gWidths.length);
    expect(await count('#distance g.reference_marks path')).toBe(1);
    expect(await page.locator('#distance').textContent()).toMatch(/slope per series \(95% CI; OLS of log y vs log f\.width\)/);
    expect(await count('#movement g.means_marks path')).toBe(cellsWithData);
  });

  it('draws one heatmap cell per (f.width, g.width) with data, for each metric', async () => {
    const withData = fWidths.flatMap((fw) => gWidths.filter((gw) => seeded.some((t) => t.fWidth === fw && t.gWidth === gw && finished(t)))).length;
    expect(await count('#heatmap g.cells_marks path')).toBe(withData);
    await page.selectOption('#metric', 'final_loss');
    await page.waitForFunction(() => document.querySelector('#heatmap')?.textContent?.includes('final training loss'));
    await page.waitForSelector('#heatmap[data-rendered="true"]');
    expect(await count('#heatmap g.cells_marks path')).toBe(withData);
  });

  it('opens a trial with its config, kernel metrics and curve', async () => {
    await page.locator('#trials tbody tr').first().click();
    await page.waitForSelector('#detail-curve[data-rendered="true"]');
    const first = seeded[0];
    expect(await page.locator('#detail-info').textContent()).toContain(first.id);
    expect(await page.locator('#detail-config').textContent()).toContain(`"width": ${first.fWidth}`);
    expect(await count('#detail-info table.small tbody tr')).toBe(8); // phase × kind × mode
    const points = Number(await page.locator('#detail-info dd').nth(6).textContent()); // "curve points"
    expect(points).toBe(21); // seeded: 21 logged steps, under the 200-point limit
    expect(await count('#detail-curve g.trialpoints_marks path')).toBe(points);
    expect(await count('#detail-curve g.trialline_marks path')).toBe(1);
  });

  it('pages the trial table', async () => {
    expect(await page.locator('#page').textContent()).toBe(`1–25 of ${seeded.length}`);
    await page.click('#next');
    await page.waitForFunction(() => document.querySelector('#page')?.textContent?.startsWith('26–'));
    expect(await page.locator('#trials tbody tr td.mono').first().textContent()).toBe(seeded[25].id);
  });

  it('saves a screenshot and logged no errors', async () => {
    await page.selectOption('#metric', 'init_distance');
    await page.waitForFunction(() => document.querySelector('#heatmap')?.textContent?.includes('init NTK distance'));
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'dashboard.png'), fullPage: true });
    expect(existsSync(join(outDir, 'dashboard.png'))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('rendered every chart under the strict Content-Security-Policy, with no violation', async () => {
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
    for (const id of ['curves', 'distance', 'heatmap', 'movement']) expect(await page.locator(`#${id}[data-rendered="true"] svg`).count(), id).toBe(1);
  });
});
