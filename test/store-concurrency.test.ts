import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { count } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { closeDb, migrationsFolder, openDb } from '../schema/db.js';
import { upsertSweep } from '../schema/store.js';
import { kernelMetrics, metricPoints, trials } from '../schema/tables.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { repoRoot } from './helpers/cli.js';

/**
 * One writer per db file is the rule, but a second writer (status while a run writes, a stray process) must wait
 * for the lock, not fail: several processes writing through the store functions on one WAL db with the busy
 * timeout never see "database is locked".
 */

const dir = mkdtempSync(join(tmpdir(), 'hs-store-conc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WRITERS = 4;
const PER_WRITER = 40;

const writerScript = (db: string, ids: string[], me: number) => `
  import { openDb, closeDb } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/schema/db.js')).href)};
  import { markRunning, recordResult, heartbeat } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/schema/store.js')).href)};
  const ids = ${JSON.stringify(ids)};
  const db = openDb(${JSON.stringify(db)}, { migrate: false });
  const a = { ntkRelFrob: 0.1, gpRelFrob: 0.2, ntkAlignment: 0.9, gpAlignment: 0.8, paperCodeNtkRelFrob: 0.3, paperCodeGpRelFrob: 0.4 };
  const curve = Array.from({ length: 50 }, (_, i) => [i * 10, 1 / (i + 1)]);
  for (const id of ids) {
    markRunning(db, id, { worker: 'w${me}', host: 'h', attempt: 1 });
    heartbeat(db, 'w${me}', { currentTrial: id });
    const result = { status: 'completed', metrics: { trainLoss: 0.1, testLoss: 0.2, stepsRun: 500, kernel: { init: a, final: a, movement: 0.01 } }, curve, backend: 'none', timings: {}, versions: {} };
    recordResult(db, id, result, { worker: 'w${me}', host: 'h' });
    recordResult(db, id, result, { worker: 'w${me}', host: 'h' }); // a duplicate delivery
  }
  closeDb(db);
`;

describe('concurrent writers on one WAL database', () => {
  it('all land, with no "database is locked"', async () => {
    const db = join(dir, 'conc.db');
    const spec = parseSweep(`name: conc\ntask: noop\ngrid: {seed: [${Array.from({ length: WRITERS * PER_WRITER }, (_, i) => i)}]}\n`, 'conc.yaml');
    const list = expandSweep(spec);
    const setup = openDb(db); // migrates once, before the writers start
    upsertSweep(setup, spec, list);
    closeDb(setup);
    const runs = Array.from({ length: WRITERS }, (_, w) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const ids = list.slice(w * PER_WRITER, (w + 1) * PER_WRITER).map((t) => t.id);
        const c = spawn(process.execPath, ['--input-type=module', '-e', writerScript(db, ids, w)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => resolve({ code, stderr }));
      }),
    );
    const results = await Promise.all(runs);
    for (const r of results) {
      expect(r.stderr).not.toMatch(/locked|busy/i);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const check = openDb(db, { migrate: false });
    const n = (t: typeof trials | typeof metricPoints | typeof kernelMetrics) => check.select({ n: count() }).from(t).get()!.n;
    expect(n(trials)).toBe(WRITERS * PER_WRITER);
    expect(check.select().from(trials).all().every((t) => t.status === 'completed')).toBe(true);
    expect(n(metricPoints)).toBe(WRITERS * PER_WRITER * 50);
    expect(n(kernelMetrics)).toBe(WRITERS * PER_WRITER * 8);
    closeDb(check);
  });
});

describe('opening a new database from several processes at once', () => {
  it('migrates it exactly once, and every process opens it', async () => {
    const db = join(dir, 'race.db');
    const script = `
      import { openDb, closeDb } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist/schema/db.js')).href)};
      closeDb(openDb(${JSON.stringify(db)}));
    `;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const c = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          c.on('close', (code) => resolve({ code, stderr }));
        }),
      ),
    );
    for (const r of results) expect(r).toEqual({ code: 0, stderr: '' });
    const check = openDb(db, { migrate: false });
    const committed = readMigrationFiles({ migrationsFolder: migrationsFolder() }).length;
    expect(check.$client.prepare('select count(*) as n from __drizzle_migrations').get()).toEqual({ n: committed });
    expect(check.select({ n: count() }).from(trials).get()!.n).toBe(0);
    closeDb(check);
  });
});
