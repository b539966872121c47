import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrialResult } from '../core/result.js';
import { expandSweep } from '../orchestrator/expand.js';
import { loadSweep, type SweepSpec } from '../orchestrator/sweep.js';
import { planTrials } from '../orchestrator/sweep-plan.js';
import { parseClaims } from '../schema/claims/spec.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { metricPoints } from '../schema/tables.js';
import { mulberry32 } from '../worker/model/rng.js';
import { repoRoot, runCli } from './helpers/cli.js';

/**
 * `report --paper` on a database seeded with small paper sweeps (the real sweep files' specs with fewer seeds,
 * planted results through the store's own writer), one sweep left out, one claim that must fail, and markup in
 * stored text. Rendered in real Chromium: marks per plot, no request, no CSP violation, no injected script.
 */

let dir: string;
let dbFile: string;
let sweepsDir: string;
const EVIL = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';

const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

function seed(db: Db, spec: SweepSpec, metrics: (axes: Record<string, unknown>, seed: number) => Record<string, unknown>): number {
  const list = expandSweep(spec);
  upsertSweep(db, spec, list);
  for (const t of list) {
    const m = metrics({ ...t.axes, ...flat(t.config) }, t.config.seed);
    const result: TrialResult = {
      status: 'completed',
      metrics: { trainLoss: 0.1, testLoss: 0.2, stepsRun: 0, kernel: null, ...m },
      curve: [[0, 1], [10, 0.5]], backend: 'wasm', timings: {}, versions: {},
    };
    recordResult(db, t.id, result, { worker: 'w', host: 'h' });
  }
  return list.length;
}

function flat(o: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (o !== null && typeof o === 'object' && !Array.isArray(o)) for (const [k, v] of Object.entries(o)) flat(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = o;
  return out;
}

const agreement = (d: number) => ({ ntkRelFrob: d, gpRelFrob: d / 2, ntkAlignment: 1, gpAlignment: 1, paperCodeNtkRelFrob: d, paperCodeGpRelFrob: d });
const kernel = (init: number, movement = 0) => ({ kernel: { init: agreement(init), final: agreement(init), movement } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-paper-'));
  dbFile = join(dir, 'paper.db');
  sweepsDir = join(dir, 'paper');
  mkdirSync(sweepsDir);
  const names = ['width-joint', 'width-n-only', 'width-m-only', 'movement', 'non-gaussian', 'image-completion', 'rotation'];
  for (const n of names) copyFileSync(join(repoRoot, 'sweeps/paper', `${n}.yaml`), join(sweepsDir, `${n}.yaml`));
  const load = (n: string) => loadSweep(join(sweepsDir, `${n}.yaml`));
  const r = mulberry32(17);
  const db = openDb(dbFile);
  try {
    // width-joint: distance 3·w^(−1/2), both claims hold; a claim name and the description carry markup.
    const joint = load('width-joint');
    joint.grid = { seed: [0, 1, 2] };
    joint.description = EVIL;
    (joint.expect as Array<Record<string, unknown>>)[0]!.name = EVIL;
    seed(db, joint, (a) => kernel(3 * Number(a['f.width']) ** -0.5 * Math.exp(0.05 * gauss(r))));
    // width-n-only: flat at 0.6 (plateau holds).
    const nOnly = load('width-n-only');
    nOnly.grid = { seed: [0, 1, 2], 'f.width': [256, 512, 1024, 2048] };
    seed(db, nOnly, () => kernel(0.6 * Math.exp(0.05 * gauss(r))));
    // width-m-only is left out: the page gives the command that runs it.
    // movement: 0.3·(m/8)^(−1/2), flat in n.
    const mov = load('movement');
    mov.grid = { seed: [0, 1, 2], 'f.width': [128, 2048], 'g.width': [8, 512] };
    seed(db, mov, (a) => kernel(0.5, 0.3 * (Number(a['g.width']) / 8) ** -0.5 * Math.exp(0.05 * gauss(r))));
    // non-gaussian: Gaussian outputs, so the 15/m claim must FAIL (excess ≈ 0) at both m.
    const ng = load('non-gaussian');
    ng.grid = { 'f.width': [64, 1024], 'g.width': [4, 16], seed: Array.from({ length: 30 }, (_, i) => i) };
    seed(db, ng, () => {
      const h = Array.from({ length: 8 }, () => gauss(r));
      return { initOutputs: h, initOutputsKgp: h.map(() => 1), initOutputsExcess4: h.reduce((s, x) => s + x ** 4 - 3, 0) / h.length };
    });
    // image completion: planted MSEs per predictor.
    const ic = load('image-completion');
    seed(db, ic, (a) => {
      const off = a['kernels.mode'] === 'exact' ? 0 : -0.002;
      const score = (x: number) => ({ mseAll: x + off + 0.0005 * gauss(r), mseHidden: x + 0.006 + off, mseVisible: x - 0.006 + off });
      return { kernelRegression: { hyperkernel: score(0.05), gp: score(0.048), baselines: { meanImage: { mseAll: 0.0656, mseHidden: 0.0673 }, copyVisible: { mseAll: 0.0337, mseHidden: 0.0673 } } } };
    });
    // rotation: accuracy rising with m, and metrics.testCurve (the test pass after every epoch) as a trial stores it.
    const rot = loadSweep(join(sweepsDir, 'rotation.yaml'));
    seed(db, rot, (a) => {
      const acc = (e: number) => 0.2 + 0.03 * e + 0.1 * Math.log10(Number(a['g.width']));
      return {
        testAccuracy: acc(3) + 0.01 * gauss(r),
        testCurve: [1, 2, 3].map((epoch) => ({ epoch, testLoss: 2 - 0.1 * epoch, testAccuracy: acc(epoch) })),
      };
    });
  } finally {
    closeDb(db);
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const specsOf = (html: string) =>
  JSON.parse(/<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html)![1]!) as Array<{ id: string; spec: Record<string, unknown> }>;

describe('hypersweep report --paper', () => {
  let html: string;
  const out = () => join(dir, 'paper.html');

  it('writes one page with every present experiment, the absent ones with their command, and every claim', async () => {
    const r = await runCli(['report', '--paper', '--db', dbFile, '--sweeps-dir', sweepsDir, '--out', out()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    html = readFileSync(out(), 'utf8');
    const present = [...html.matchAll(/<section class="experiment" id="[^"]+" data-sweep="([^"]+)"/g)].map((m) => m[1]);
    // The paper's order, whatever the file names.
    expect(present).toEqual(['paper-width-joint', 'paper-width-n-only', 'paper-movement', 'paper-non-gaussian', 'paper-image-completion', 'paper-rotation']);
    expect(html).toMatch(/<li data-sweep="paper-width-m-only"><code>npx hypersweep run [^<]*width-m-only\.yaml --db [^<]*paper\.db<\/code>/);
    expect(specsOf(html).map((s) => s.id)).toEqual([
      'paper-width-joint-ntk', 'paper-width-joint-gp', 'paper-width-n-only-ntk', 'paper-movement-m', 'paper-non-gaussian-kurtosis',
      'paper-image-completion-mse', 'paper-rotation-accuracy', 'paper-rotation-curves',
    ]);
    // Every stored claim is in the summary with its verdict: 2 + 1 + 3 + 2 + 3 + 2.
    const summary = /<table id="summary">[\s\S]*?<\/table>/.exec(html)![0];
    const verdicts = [...summary.matchAll(/data-verdict="(\w+)"/g)].map((m) => m[1]);
    expect(verdicts).toHaveLength(13);
    expect(verdicts.slice(0, 6)).toEqual(['holds', 'holds', 'holds', 'holds', 'holds', 'holds']);
    // Gaussian outputs: the 15/m claim fails, and says where; the ordering claim cannot hold either.
    expect(verdicts[6]).toBe('fails');
    expect(summary).toMatch(/mean at g\.width=4 = [-\d.]+ \[[-\d.]+, [-\d.]+\], claimed in \[0\.375, 7\.125\]: fails/);
    // both kernels beat the mean image; accuracy rises with m (ordering and power law)
    expect(verdicts.slice(8)).toEqual(['holds', 'holds', 'holds', 'holds', 'holds']);
    // The protocol is filled from the stored spec, the settings listed.
    expect(html).toContain('n ∈ {128, 2048} × m ∈ {8, 512}');
    expect(html).toContain('seeds 0–29 (30 values) for each (n, m)');
    expect(html).toMatch(/<table id="completion-mse">/);
  });

  it('renders offline in Chromium with marks in every plot, escaping what the database holds', async () => {
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      const requests: string[] = [];
      page.on('request', (req) => (req.url().startsWith('file:') ? undefined : requests.push(req.url())));
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.addInitScript(() => {
        const w = window as unknown as { __csp: string[] };
        w.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto('file://' + out());
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      const marks = (chart: string, layer: string) => page.locator(`[data-chart="${chart}"] g[class*="${layer}_marks"] path`).count();
      expect(await marks('paper-width-joint-ntk', 'means')).toBe(6); // 6 widths
      expect(await marks('paper-width-n-only-ntk', 'means')).toBe(4);
      expect(await marks('paper-movement-m', 'means')).toBe(4); // 2 n × 2 m
      expect(await marks('paper-movement-m', 'fitlines')).toBe(2); // one fit per n
      expect(await marks('paper-non-gaussian-kurtosis', 'means')).toBe(4); // 2 n × 2 m
      expect(await marks('paper-non-gaussian-kurtosis', 'reference')).toBe(2); // 15/m per m
      expect(await marks('paper-image-completion-mse', 'bars')).toBe(16); // 2 modes × 2 pixel sets × 4 predictors
      expect(await marks('paper-rotation-accuracy', 'means')).toBe(4);
      expect(await page.locator('[data-chart="paper-rotation-curves"] g[class*="curves_marks"] path').count()).toBe(12); // one line per trial
      expect(requests.filter((u) => !u.startsWith('data:'))).toEqual([]);
      expect(errors).toEqual([]);
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
      expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
      // The markup is shown as text where it was stored: the claim name and the description (none is used as a question).
      expect(await page.locator('#summary tr', { hasText: EVIL }).count()).toBe(1);
      mkdirSync(join(repoRoot, 'test-output'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, 'test-output', 'paper-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, '');
    expect(markup.match(/<(img|script)\b[^>]*>/gi)).toBeNull();
    expect(html.match(/<script\b/gi)).toHaveLength(5); // three libraries, the chart data, the bootstrap
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  });

  it('refuses to write over the database or a sweep file, and a sweep name with --paper (one line, exit 2)', async () => {
    for (const target of [dbFile, join(sweepsDir, 'movement.yaml')]) {
      const r = await runCli(['report', '--paper', '--db', dbFile, '--sweeps-dir', sweepsDir, '--out', target]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('which this command reads');
    }
    const named = await runCli(['report', '--paper', 'paper-movement', '--db', dbFile, '--out', join(dir, 'x.html')]);
    expect(named.code).toBe(2);
    expect(named.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the paper sweeps in sweeps/paper/', () => {
  const files = readdirSync(join(repoRoot, 'sweeps/paper')).filter((f) => f.endsWith('.yaml'));
  it.each(files)('%s runs on a fresh clone: it expands, fits its memory cap and states claims for check', (f) => {
    const path = join(repoRoot, 'sweeps/paper', f);
    const spec = loadSweep(path);
    expect(spec.name).toBe(`paper-${f.replace(/\.yaml$/, '')}`);
    const plan = planTrials(spec, expandSweep(spec, path));
    expect(plan.totals.overCap).toBe(0);
    expect(parseClaims(spec.expect, path).length).toBeGreaterThan(0);
  });
});
