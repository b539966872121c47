import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalConfig, trialId } from '../core/identity.js';
import { closeDb, openDb } from '../schema/db.js';
import { recordResult, upsertSweep } from '../schema/store.js';
import { runCli } from './helpers/cli.js';

/** One CLI grammar: the sweep named either way everywhere, --format everywhere (--json its alias). */

let dir: string;
let db: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-grammar-'));
  db = join(dir, 'g.db');
  const h = openDb(db);
  const configs = [1, 2].map((seed) => canonicalConfig({ task: 'sphere', seed, f: { width: 8 }, g: { width: 4 } }));
  upsertSweep(h, { name: 'one', task: 'sphere', retries: 0 }, configs.map((config) => ({ id: trialId(config), config })));
  for (const c of configs) {
    recordResult(h, trialId(c), {
      status: 'completed', metrics: { trainLoss: 0.5, testLoss: 0.6, stepsRun: 2, kernel: null }, curve: [[0, 1], [1, 0.5]],
      backend: 'wasm', timings: { total: 1 }, versions: { node: process.version },
    }, { worker: 'w', host: 'h' });
  }
  closeDb(h);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the sweep, named either way', () => {
  it.each([
    [['status', 'one'], ['status', '--sweep', 'one']],
    [['query', 'convergence', 'one'], ['query', 'convergence', '--sweep', 'one']],
    [['export', 'one'], ['export', '--sweep', 'one']],
  ])('%j prints what %j prints', async (a, b) => {
    const x = await runCli([...a, '--db', db]);
    const y = await runCli([...b, '--db', db]);
    expect(x.code).toBe(0);
    expect(x.stdout.length).toBeGreaterThan(0);
    expect(x.stdout).toBe(y.stdout);
  });

  it.each([
    [['status', 'one', '--sweep', 'two'], /two sweeps named: 'one' and --sweep two/],
    [['query', 'movement', 'one', '--sweep', 'two'], /two sweeps named/],
    [['resume'], /resume: name the sweep: hypersweep resume --sweep NAME/],
    [['cancel'], /cancel: name the sweep/],
  ])('%j is one line and exit 2', async (args, re) => {
    const r = await runCli([...args, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });
});

describe('--format everywhere', () => {
  it('status --format json equals status --json (the alias)', async () => {
    const a = await runCli(['status', '--sweep', 'one', '--db', db, '--format', 'json']);
    const b = await runCli(['status', '--sweep', 'one', '--db', db, '--json']);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const d = JSON.parse(a.stdout) as { by: string[]; groups: unknown[] };
    expect(d.by).toEqual([]);
    expect(d.groups).toHaveLength(1);
  });

  it('plan --format json equals plan --json', async () => {
    const a = await runCli(['plan', 'sweeps/quickstart.yaml', '--format', 'json']);
    const b = await runCli(['plan', 'sweeps/quickstart.yaml', '--json']);
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
  });

  it.each([
    [['status', '--db', 'x.db', '--format', 'xml'], /--format xml: expected table, json/],
    [['plan', 'sweeps/quickstart.yaml', '--format', 'csv'], /--format csv: expected text, json/],
    [['export', '--db', 'x.db', '--format', 'table'], /--format table: expected csv, json/],
  ])('%j: an unknown format is one line and exit 2', async (args, re) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(re);
  });
});
