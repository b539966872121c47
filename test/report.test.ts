import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { launchChromium } from './helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep, type SeededTrial } from '../dashboards/seed.js';
import { closeDb, openDb } from '../schema/db.js';
import { repoRoot, runCli } from './helpers/cli.js';
import { codeIdentity } from '../core/code-identity.js';

let dir: string;
let file: string;
let seeded: SeededTrial[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-report-'));
  file = join(dir, 'r.db');
  const db = openDb(file);
  seeded = seedSweep(db, { sweep: 'rep', fWidths: [16, 64, 256], gWidths: [8, 32], seeds: 3, statusOf: (i) => (i === 4 ? 'failed' : 'completed') });
  closeDb(db);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hypersweep report', () => {
  it('writes one self-contained HTML file with the charts, their data and the tables', async () => {
    const out = join(dir, 'report.html');
    const r = await runCli(['report', '--db', file, '--sweep', 'rep', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    // No external references: no src/href to http(s), no <link>, no <script src>.
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/<script[^>]*\bsrc\s*=/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    // The libraries and the charts' data are inside.
    expect(html).toContain('vegaEmbed');
    const specs = JSON.parse(/<script type="application\/json" id="chart-specs">([\s\S]*?)<\/script>/.exec(html)![1]) as Array<{ id: string; spec: { data?: { values: unknown[] } } }>;
    expect(specs.map((s) => s.id)).toEqual(expect.arrayContaining(['curves', 'distance', 'movement', 'heat-init', 'heat-loss']));
    const curves = specs.find((s) => s.id === 'curves')!.spec.data!.values as Array<{ trial: string }>;
    const finishedIds = new Set(seeded.filter((t) => t.status === 'completed').map((t) => t.id));
    expect(curves.length).toBeGreaterThan(0);
    for (const p of curves) expect(finishedIds.has(p.trial)).toBe(true);
    expect((specs.find((s) => s.id === 'heat-init')!.spec.data!.values).length).toBe(6);
    expect(html).toMatch(/Kernel agreement \(init, NTK, exact\)/);
    expect(html).toMatch(/Convergence/);
    expect(html).toContain(seeded[4].id); // the failed trial is listed
  });

  it('shows which code produced the finished trials, one row per code, this build marked', async () => {
    const f = join(dir, 'codes.db');
    copyFileSync(file, f);
    const done = seeded.filter((t) => t.status === 'completed');
    const here = codeIdentity();
    const c = new Database(f);
    const set = c.prepare('UPDATE trials SET code_version = ?, code_hash = ?, git_commit = ? WHERE id = ?');
    for (const t of done.slice(0, 3)) set.run(here.version, here.hash, here.commit, t.id);
    for (const t of done.slice(3, 5)) set.run('0.0.9', 'c'.repeat(64), null, t.id);
    c.close();
    const out = join(dir, 'codes.html');
    expect((await runCli(['report', '--db', f, '--sweep', 'rep', '--out', out])).code).toBe(0);
    const table = /<table id="codes">([\s\S]*?)<\/table>/.exec(readFileSync(out, 'utf8'))![1]!;
    const rows = [...table.matchAll(/<tr>((?:<td>.*?<\/td>)+)<\/tr>/g)].map((m) => [...m[1]!.matchAll(/<td>(.*?)<\/td>/g)].map((x) => x[1]));
    expect(rows).toEqual([
      [String(done.length - 5), '–', 'unknown (stored before provenance was recorded)', '–', 'other code'],
      ['3', here.version, here.hash, here.commit ?? '–', 'this build'],
      ['2', '0.0.9', 'c'.repeat(64), '–', 'other code'],
    ]);
  });

  it('renders offline in Chromium', async () => {
    const out = join(dir, 'report2.html');
    expect((await runCli(['report', '--db', file, '--out', out])).code).toBe(0);
    const browser = await launchChromium();
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
      await page.goto('file://' + out);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      expect(await page.locator('[data-chart="heat-init"] g.cells_marks path').count()).toBe(6);
      expect(await page.locator('[data-chart="distance"] g.means_marks path').count()).toBe(6);
      expect(requests.filter((u) => !u.startsWith('data:'))).toEqual([]);
      expect(errors).toEqual([]);
      // Rendered under the report's own policy: hashed scripts only, no eval.
      expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);
      mkdirSync(join(repoRoot, 'test-output'), { recursive: true });
      await page.screenshot({ path: join(repoRoot, 'test-output', 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('escapes every database value it writes into HTML (a crafted database runs no script)', async () => {
    // A crafted database: a sweep name, task, trial id, width and error text that are markup.
    const evil = join(dir, 'evil.db');
    const w = openDb(evil);
    const t = seedSweep(w, { sweep: 'plain', fWidths: [16, 64], gWidths: [8], seeds: 2, statusOf: (i) => (i === 1 ? 'failed' : 'completed') });
    closeDb(w);
    const name = 'x</title><script>window.__pwned = "sweep"</script>';
    const id = '<img src=x onerror="window.__pwned=\'id\'"><script>window.__pwned = "id"</script>';
    const sq = new Database(evil);
    sq.pragma('foreign_keys = OFF');
    sq.transaction(() => {
      for (const table of ['sweeps']) sq.prepare(`UPDATE ${table} SET name = ?, task = ? WHERE name = 'plain'`).run(name, '<script>window.__pwned="task"</script>');
      for (const table of ['trials', 'sweep_trials']) sq.prepare(`UPDATE ${table} SET sweep = ? WHERE sweep = 'plain'`).run(name);
      sq.prepare('UPDATE trials SET id = ?, f_width = ?, error = ? WHERE id = ?').run(id, '<svg onload="window.__pwned=1">', '</code><script>window.__pwned = "error"</script>', t[1].id);
      for (const table of ['sweep_trials', 'metric_points', 'kernel_metrics']) sq.prepare(`UPDATE ${table} SET trial_id = ? WHERE trial_id = ?`).run(id, t[1].id);
    })();
    sq.close();
    const out = join(dir, 'evil.html');
    const r = await runCli(['report', '--db', evil, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    // Only our own scripts: the three libraries, the chart data (JSON) and the bootstrap.
    expect(html.match(/<script\b/gi)).toHaveLength(5);
    // A second line of defence: the page's CSP lets only the hashed scripts run.
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ('sha256-[A-Za-z0-9+/=]+' ?){4};/);
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, ''); // the page outside our scripts
    expect(markup.match(/<(img|svg|script)\b[^>]*>/gi)).toBeNull();
    expect(markup).toContain('&#60;script&#62;window.__pwned = &#34;error&#34;');
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto('file://' + out);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
      expect(await page.title()).toBe(`hypersweep report: ${name}`);
      const failed = await page.locator('#failed li').first().textContent();
      expect(failed).toContain(id); // shown as text
      expect(failed).toContain('</code><script>window.__pwned = "error"</script>');
    } finally {
      await browser.close();
    }
  });

  it('fails with one line on an unknown sweep', async () => {
    const r = await runCli(['report', '--db', file, '--sweep', 'nope', '--out', join(dir, 'x.html')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
