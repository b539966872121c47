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
import { markRunning, recordProgress, recordResult, upsertSweep } from '../schema/store.js';
import { repoRoot } from './helpers/cli.js';

/**
 * The dashboard's views in real Chromium: the trials table (sort checked against a naive sort of the planted
 * values, config-key filter), the URL round trip, the compare view's highlighting, the parallel coordinates of a
 * three-key sweep, the claims panel and a running trial's streamed curve. Screenshots are saved in the test's
 * temporary directory (checked non-empty) and copied to test-output/ for a look.
 */

const outDir = join(repoRoot, 'test-output');

interface Planted {
  id: string;
  config: TrialConfigInput;
  added: number;
  initNtk: number;
  finalNtk: number;
  initGp: number;
  alignment: number;
  movement: number;
  trainLoss: number;
  testLoss: number;
}

const planted = new Map<string, Planted[]>();

/** Store a sweep with planted values: distance 3·w^(−1/2)·(1 ± 5 %), movement 1/w, loss falling with lr. */
function store(db: Db, name: string, configs: TrialConfigInput[], spec: Record<string, unknown> = {}, running: number[] = []): void {
  upsertSweep(db, { name, task: 'sphere', retries: 0, ...spec }, configs.map((c) => ({ id: trialId(c), config: canonicalConfig(c) })));
  const list: Planted[] = [];
  configs.forEach((c, i) => {
    const id = trialId(c);
    const w = c.f!.width! * Math.exp(-0.3 * (c.f!.depth! - 1));
    const noise = 1 + 0.05 * (((i * 7) % 5) - 2) / 2;
    const d = 3 * w ** -0.5 * noise;
    const p: Planted = {
      id, config: c, added: i, initNtk: d, finalNtk: 1.3 * d, initGp: d / 2, alignment: 1 - d / 10, movement: noise / w,
      trainLoss: 0.05 / (c.train!.lr! * 10) * noise * (1 + (c.seed ?? 0) / 10), testLoss: 0,
    };
    p.testLoss = 1.5 * p.trainLoss;
    list.push(p);
    if (running.includes(i)) {
      markRunning(db, id, { worker: 'w1', host: 'h', attempt: 1 });
      return;
    }
    const k = (x: number) => ({ ntkRelFrob: x, gpRelFrob: x / 2, ntkAlignment: 1 - x / 10, gpAlignment: 0.9, paperCodeNtkRelFrob: x, paperCodeGpRelFrob: x });
    recordResult(db, id, {
      status: 'completed',
      metrics: { trainLoss: p.trainLoss, testLoss: p.testLoss, stepsRun: 20, kernel: { init: k(d), final: { ...k(1.3 * d), gpRelFrob: 0.65 * d }, movement: p.movement } },
      curve: [[0, 1], [10, Math.sqrt(p.trainLoss)], [20, p.trainLoss]], backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  });
  planted.set(name, list);
}

const cfg = (fw: number, gw: number, fd: number, lr: number, seed: number): TrialConfigInput => ({ task: 'sphere', seed, f: { width: fw, depth: fd }, g: { width: gw }, train: { lr } });

let dir: string;
let file: string;
let db: Db;
let writer: Db;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-browser-views-'));
  file = join(dir, 'v.db');
  writer = openDb(file);
  // A quickstart-like sweep (n and m together, 4 seeds) with claims and one running trial.
  const quick = [64, 128, 256, 512, 1024].flatMap((fw) => [0, 1, 2, 3].map((s) => cfg(fw, fw / 4, 3, 0.1, s)));
  store(writer, 'quick', quick, {
    expect: [
      // Seeds 0–2: the running trial (seed 3) would make a claim over it inconclusive.
      { name: 'init NTK distance falls like width^-1/2', type: 'power-law', metric: 'init_distance', axis: 'f.width', where: { seed: [0, 1, 2] }, slope: { min: -0.65, max: -0.35 } },
      { name: 'distance at width 512 is 1', type: 'value', metric: 'init_distance', where: { 'f.width': 512 }, target: 1, tolerance: 0.1 },
    ],
  }, [19]);
  // Three keys vary: widths × depths × learning rates, two seeds.
  store(writer, 'cube3', [16, 64, 256].flatMap((fw) => [1, 2, 3].flatMap((fd) => [0.01, 0.1, 1].flatMap((lr) => [0, 1].map((s) => cfg(fw, 8, fd, lr, s))))));
  // (g.width differs between sweeps: a trial shared by two sweeps would get the second one's planted values.)
  store(writer, 'depths', [16, 64, 256].flatMap((fw) => [1, 2, 3].flatMap((fd) => [0, 1, 2].map((s) => cfg(fw, 4, fd, 0.1, s)))));
  store(writer, 'lr', [0.01, 0.1, 1].flatMap((lr) => [0, 1, 2].map((s) => cfg(64, 32, 3, lr, s))));
  recordProgress(writer, planted.get('quick')![19].id, [[0, 1], [10, 0.5]]);
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
  await p.waitForFunction(() => !document.querySelector('#trials')?.closest('section')?.querySelector('tbody:empty'));
}

async function open(sweep: string): Promise<void> {
  if (!page.url().startsWith(base)) {
    await page.goto(`${base}/?sweep=${encodeURIComponent(sweep)}`);
  } else {
    await page.locator(`#sweeps tbody tr[data-sweep="${sweep}"]`).click();
  }
  await page.waitForFunction((s) => document.querySelector('#sweep-name')?.textContent === s, sweep);
  await ready(page);
}

/** `selector`: that element; 'viewport': what is on screen; else the full page. */
async function shot(p: Page, name: string, selector?: string): Promise<void> {
  const path = join(dir, name);
  const take = (to: string) =>
    selector && selector !== 'viewport' ? p.locator(selector).screenshot({ path: to }) : p.screenshot({ path: to, fullPage: selector !== 'viewport' });
  await take(path);
  expect(statSync(path).size).toBeGreaterThan(5000);
  await take(join(outDir, name));
}

const rowIds = (p: Page) => p.locator('#trials tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.id ?? ''));
const count = (sel: string) => page.locator(sel).count();

/** The naive order: by value (missing last), ties in the order added; `desc` reverses the values only. */
function naive(list: Planted[], value: (p: Planted) => number | string, dir: 'asc' | 'desc'): string[] {
  const sgn = dir === 'asc' ? 1 : -1;
  return [...list].sort((a, b) => {
    const x = value(a);
    const y = value(b);
    return (x < y ? -sgn : x > y ? sgn : 0) || a.added - b.added;
  }).map((p) => p.id);
}

async function sortBy(col: string, dir: 'asc' | 'desc'): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const cur = await page.locator(`#trials th[data-col="${col}"]`).getAttribute('aria-sort');
    if (cur === (dir === 'asc' ? 'ascending' : 'descending')) return;
    const before = page.url();
    await page.locator(`#trials th[data-col="${col}"]`).click();
    await page.waitForFunction((b) => location.href !== b, before);
    await page.waitForFunction((c) => document.querySelector(`#trials th[data-col="${c}"]`)?.hasAttribute('aria-sort'), col);
  }
}

describe('dashboard views in Chromium', () => {
  it('sorts the trials on the server by any column, as a naive sort of the planted values does', async () => {
    await open('cube3');
    const list = planted.get('cube3')!;
    expect(list.length).toBe(54);
    const cases: Array<[string, 'asc' | 'desc', (p: Planted) => number | string]> = [
      ['initNtk', 'asc', (p) => p.initNtk],
      ['movement', 'desc', (p) => p.movement],
      ['train.lr', 'desc', (p) => p.config.train!.lr!],
      ['trainLoss', 'asc', (p) => p.trainLoss],
      ['id', 'asc', (p) => p.id],
    ];
    for (const [col, dir, value] of cases) {
      await sortBy(col, dir);
      const want = naive(list, value, dir);
      expect(await rowIds(page), `${col} ${dir}, page 1`).toEqual(want.slice(0, 25));
      await page.click('#next');
      await page.waitForFunction(() => document.querySelector('#page')?.textContent?.startsWith('26–'));
      expect(await rowIds(page), `${col} ${dir}, page 2`).toEqual(want.slice(25, 50));
      await page.click('#prev');
      await page.waitForFunction(() => document.querySelector('#page')?.textContent?.startsWith('1–'));
    }
  });

  it('filters by a config key and value', async () => {
    await page.selectOption('#filter-key', 'f.depth');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#filter-value option')).some((o) => o.textContent === '2'));
    expect(await page.locator('#filter-value option').allTextContents()).toEqual(['1', '2', '3']);
    await page.selectOption('#filter-value', { label: '2' });
    await page.click('#filter-add');
    await page.waitForFunction(() => document.querySelector('#page')?.textContent?.endsWith('of 18'));
    const want = naive(planted.get('cube3')!.filter((p) => p.config.f!.depth === 2), (p) => p.id, 'asc');
    expect(await rowIds(page)).toEqual(want);
    expect(await page.locator('#filters .chip').allTextContents()).toEqual(['f.depth=2×']);
  });

  it('keeps the view in the URL: a fresh page at that URL shows the same sweep, sort, filter, trial and comparison', async () => {
    const ids = await rowIds(page);
    await page.locator(`#trials tbody tr[data-id="${ids[3]}"]`).click();
    await page.waitForSelector('#detail-curve[data-rendered="true"]');
    await page.locator(`#trials tbody tr[data-id="${ids[0]}"] input`).check();
    await page.locator(`#trials tbody tr[data-id="${ids[1]}"] input`).check();
    await page.selectOption('#metric', 'movement');
    await page.waitForFunction(() => location.search.includes('metric=movement'));
    const url = page.url();
    const q = new URL(url).searchParams;
    expect(q.get('sweep')).toBe('cube3');
    expect(q.get('sort')).toBe('id');
    expect(q.get('where')).toBe('f.depth=2');
    expect(q.get('trial')).toBe(ids[3]);
    expect(q.get('compare')).toBe(`${ids[0]},${ids[1]}`);
    const fresh = await newPage();
    await fresh.goto(url);
    await ready(fresh);
    await fresh.waitForSelector('#detail-curve[data-rendered="true"]');
    await fresh.waitForSelector('#compare-curves[data-rendered="true"]');
    expect(await fresh.locator('#sweep-name').textContent()).toBe('cube3');
    expect(await rowIds(fresh)).toEqual(ids);
    expect(await fresh.locator('#trials th[aria-sort]').getAttribute('data-col')).toBe('id');
    expect(await fresh.locator('#filters .chip').allTextContents()).toEqual(['f.depth=2×']);
    expect(await fresh.locator('#metric').inputValue()).toBe('movement');
    expect(await fresh.locator('#detail-info dd').first().textContent()).toBe(ids[3]);
    expect(await fresh.locator('#trials tbody tr.selected').getAttribute('data-id')).toBe(ids[3]);
    expect(await fresh.locator('#compare').isVisible()).toBe(true);
    // The detail side panel is in the viewport wherever the page is scrolled.
    await fresh.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    const box = await fresh.locator('#detail').boundingBox();
    expect(box && box.y >= 0 && box.y < 1000 && box.height > 500).toBe(true);
    await shot(fresh, 'views-detail.png', 'viewport');
    expect(fresh.url()).toBe(url);
    await fresh.close();
  });

  it('compares trials: overlaid curves, the differing config keys highlighted', async () => {
    const list = planted.get('cube3')!;
    // Two trials that differ in seed and lr only.
    const a = list.find((p) => p.config.f!.width === 64 && p.config.f!.depth === 2 && p.config.train!.lr === 0.1 && p.config.seed === 0)!;
    const b = list.find((p) => p.config.f!.width === 64 && p.config.f!.depth === 2 && p.config.train!.lr === 1 && p.config.seed === 1)!;
    await page.locator('#detail-close').click();
    // The two trials picked before: open their comparison, then close it (which clears the selection).
    await page.click('#compare-open');
    await page.waitForSelector('#compare-curves[data-rendered="true"]');
    await page.locator('#compare-close').click();
    await page.waitForFunction(() => document.querySelector('#compare-open')?.textContent === 'compare (0)');
    for (const p of [a, b]) await page.locator(`#trials tbody tr[data-id="${p.id}"] input`).check();
    await page.click('#compare-open');
    await page.waitForSelector('#compare-curves[data-rendered="true"]');
    const flat = (c: unknown, pre = ''): Record<string, string> =>
      c !== null && typeof c === 'object' && !Array.isArray(c)
        ? Object.assign({}, ...Object.entries(c).map(([k, v]) => flat(v, pre ? `${pre}.${k}` : k)))
        : { [pre]: JSON.stringify(c) };
    const fa = flat(canonicalConfig(a.config));
    const fb = flat(canonicalConfig(b.config));
    const differing = Object.keys(fa).filter((k) => fa[k] !== fb[k]).sort();
    expect(differing).toEqual(['seed', 'train.lr']);
    const highlighted = await page.locator('#compare-table tr.diff').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.key ?? ''));
    expect(highlighted.sort()).toEqual(differing);
    expect(await count('#compare-table tbody tr')).toBe(Object.keys(fa).length);
    expect(await count('#compare-curves g.comparelines_marks path')).toBe(2);
    expect(await count('#compare-curves g.comparepoints_marks path')).toBe(6);
    await shot(page, 'views-compare.png', '#compare');
  });

  it('draws parallel coordinates for a sweep with three varying keys, not for one with two', async () => {
    await page.locator('#compare-close').click();
    const cells = 3 * 3 * 3;
    expect(await page.locator('#parallel-card').isVisible()).toBe(true);
    expect(await count('#parallel g.plines_marks path')).toBe(cells);
    expect(await count('#parallel g.paxes_marks line')).toBe(3 + 5); // 3 keys + 5 outcomes
    // Loss curves coloured by the sweep's series key (the first varying key other than the widths), legend named by it.
    expect(await page.locator('#curves .role-legend .role-legend-title').textContent()).toBe('f.depth');
    const t = await page.locator('#parallel').textContent();
    expect(t).toMatch(/f\.width/);
    expect(t).toMatch(/\(log\)/);
    await shot(page, 'views-parallel.png', '#parallel-card');
    await shot(page, 'views-cube3.png');
    await open('depths');
    expect(await page.locator('#parallel-card').isVisible()).toBe(false);
    await shot(page, 'views-depths.png');
    await open('lr');
    await shot(page, 'views-lr.png');
  });

  it('shows the claims with their verdicts and streams a running trial\'s curve', async () => {
    await open('quick');
    await page.waitForSelector('#claims-card:not([hidden]) .claim');
    expect(await page.locator('#claims-body .claim').evaluateAll((ds) => ds.map((d) => (d as HTMLElement).dataset.verdict))).toEqual(['holds', 'fails']);
    expect(await page.locator('#running-card').isVisible()).toBe(true);
    expect(await count('#running g.runninglines_marks path')).toBe(1);
    expect(await count('#running g.runningpoints_marks path')).toBe(2);
    // The runner reports two more steps: the page redraws the curve within its 2 s poll.
    recordProgress(writer, planted.get('quick')![19].id, [[20, 0.3], [30, 0.2]]);
    await page.waitForFunction(() => document.querySelectorAll('#running g.runningpoints_marks path').length === 4, undefined, { timeout: 15_000 });
    await shot(page, 'views-quick.png');
    // The loss curves are coloured by the series key chosen.
    await page.selectOption('#series-key', 'g.width');
    await page.waitForFunction(() => location.search.includes('series=g.width'));
    await page.waitForFunction(() => document.querySelector('#curves')?.textContent?.includes('colour: g.width'));
    expect(await page.locator('#curves .role-legend .role-legend-title').textContent()).toBe('g.width');
    expect(errors).toEqual([]);
  });
});
