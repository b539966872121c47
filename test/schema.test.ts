import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep } from '../dashboards/seed.js';
import { closeDb, isSnapshot, liveReader, migrationsFolder, openDb } from '../schema/db.js';
import { derivedMigrationText } from '../schema/ddl.js';
import { keyColumns } from '../schema/keys.js';
import { cubeDirect, readStoredCube } from '../schema/queries-cube.js';
import { trials, workers } from '../schema/tables.js';
import { cliPath, runCli } from './helpers/cli.js';

/**
 * The schema lives in the drizzle migrations; writers apply them (upgrading an older database), readers open
 * read-only, never change a byte, and refuse what is not a hypersweep database of this version with one line.
 */

let dir: string;
let good: string;

const hashOf = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const journal = JSON.parse(readFileSync(join(migrationsFolder(), 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-schema-'));
  good = join(dir, 'good.db');
  const w = openDb(good);
  seedSweep(w, { sweep: 'S', fWidths: [16, 64], gWidths: [8, 32], seeds: 3, statusOf: (i) => (i % 5 === 4 ? 'failed' : 'completed') });
  closeDb(w);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('schema declaration and migrations', () => {
  it('derives the trials key columns from keys.ts', () => {
    const cols = getTableColumns(trials);
    for (const k of keyColumns) {
      expect(cols[k.field].name).toBe(k.column);
      expect(cols[k.field].notNull).toBe(true);
      expect(cols[k.field].getSQLType()).toBe(k.type);
    }
    expect(Object.keys(getTableColumns(workers))).not.toContain('device');
  });

  it('commits, as its newest derived-objects migration, exactly what ddl.ts generates', () => {
    const derived = journal.entries.filter((e) => e.tag.endsWith('_derived_objects')).at(-1);
    expect(derived).toBeDefined();
    expect(readFileSync(join(migrationsFolder(), `${derived!.tag}.sql`), 'utf8')).toBe(derivedMigrationText());
  });

  it('upgrades a database made by the previous version (views, indexes and cube made outside the migrations)', async () => {
    // The previous version recorded only 0000_init, had workers.device, and made the derived objects itself.
    const old = join(dir, 'old.db');
    copyFileSync(good, old);
    const c = new Database(old);
    c.exec('ALTER TABLE workers ADD COLUMN device text');
    // nor the provenance columns (0003), which the view over trials names
    c.exec('DROP VIEW v_trials_flat; ALTER TABLE trials DROP COLUMN code_version; ALTER TABLE trials DROP COLUMN code_hash');
    c.prepare('DELETE FROM __drizzle_migrations WHERE created_at > ?').run(journal.entries[0].when);
    c.exec("DELETE FROM sweep_cube WHERE f_width = 16"); // a stale cube: the upgrade must rebuild it from the tables
    c.close();
    const read = await runCli(['status', '--db', old]);
    expect(read.code).toBe(2);
    expect(read.stderr.trim().split('\n')).toHaveLength(1);
    expect(read.stderr).toMatch(/older hypersweep; upgrade its schema first with `hypersweep query views --db /);
    const up = await runCli(['query', 'views', '--db', old]);
    expect(up.stdout).toMatch(new RegExp(`upgraded the schema \\(${journal.entries.length - 1} migrations\\)`));
    expect(up.code).toBe(0);
    const db = openDb(old, { readonly: true });
    expect(db.$client.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(journal.entries.length);
    expect(db.$client.prepare("SELECT count(*) FROM pragma_table_info('workers') WHERE name = 'device'").pluck().get()).toBe(0);
    const key = (r: { fWidth: number; gWidth: number; trials: number | null; iSum: number | null }) => [r.fWidth, r.gWidth, r.trials, r.iSum];
    expect(readStoredCube(db, 'S').map(key).sort()).toEqual(cubeDirect(db, { sweep: 'S' }).map(key).sort());
    expect(readStoredCube(db, 'S')).toHaveLength(4);
    closeDb(db);
  });
});

/** Run the dashboard on `file`, fetch two API routes, stop it; resolves with the exit code and the API statuses. */
function dashboardRun(file: string): Promise<{ code: number | null; stderr: string; statuses: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'dashboard', '--db', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    const statuses: number[] = [];
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/[^/]+\//.exec(out);
      if (m && statuses.length === 0) {
        statuses.push(0);
        void (async () => {
          statuses.length = 0;
          for (const route of ['api/sweeps', 'api/sweeps/S/heatmap?metric=final_loss']) statuses.push((await fetch(m[0] + route)).status);
          child.kill('SIGTERM');
        })().catch(reject);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr, statuses });
    });
  });
}

const readers = (file: string, out: string): string[][] => [
  ['status', '--db', file],
  ['status', 'S', '--db', file, '--json'],
  ['query', 'agreement', '--db', file],
  ['query', 'convergence', '--db', file, '--format', 'json'],
  ['query', 'movement', '--db', file, '--by', 'f.width'],
  ['export', '--db', file, '--format', 'json'],
  ['report', '--db', file, '--out', out],
];

describe('readers never change the file', () => {
  it('status, query, export, report and dashboard leave the bytes as they were and create no -wal/-shm', async () => {
    const listing = () => readdirSync(dir).sort();
    const before = hashOf(good);
    const files = listing();
    expect(existsSync(`${good}-wal`)).toBe(false);
    const outDir = mkdtempSync(join(tmpdir(), 'hs-schema-out-'));
    try {
      for (const args of readers(good, join(outDir, 'r.html'))) {
        const r = await runCli(args);
        expect([args.join(' '), r.code, r.stderr]).toEqual([args.join(' '), 0, '']);
        expect(hashOf(good), args.join(' ')).toBe(before);
        expect(listing(), args.join(' ')).toEqual(files);
      }
      const d = await dashboardRun(good);
      expect(d).toEqual({ code: 0, stderr: '', statuses: [200, 200] });
      expect(hashOf(good)).toBe(before);
      expect(listing()).toEqual(files);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('reads a read-only file', async () => {
    const ro = join(dir, 'ro', 'ro.db');
    mkdirSync(join(dir, 'ro'));
    copyFileSync(good, ro);
    chmodSync(ro, 0o444);
    const r = await runCli(['query', 'agreement', '--db', ro, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).groups).toHaveLength(4);
    expect(readdirSync(join(dir, 'ro'))).toEqual(['ro.db']);
  });

  it('a long-lived reader (the dashboard) opened with no writer present follows a writer that starts later', () => {
    const live = join(dir, 'live.db');
    copyFileSync(good, live);
    const reader = liveReader(live);
    const first = reader.current();
    const n = () => reader.current().$client.prepare("SELECT count(*) FROM trials WHERE status = 'cancelled'").pluck().get();
    expect(n()).toBe(0);
    const w = openDb(live);
    w.$client.prepare("UPDATE trials SET status = 'cancelled' WHERE id = (SELECT min(id) FROM trials)").run();
    expect(n()).toBe(1);
    if (isSnapshot(first)) expect(reader.current()).not.toBe(first);
    closeDb(w);
    reader.close();
  });
});

describe('files that are not a hypersweep database of this version', () => {
  const bad: Record<string, (file: string) => void> = {
    empty: (f) => writeFileSync(f, ''),
    text: (f) => writeFileSync(f, 'name,value\nx,1\n'.repeat(20)),
    truncated: (f) => writeFileSync(f, readFileSync(good).subarray(0, 8192)),
    foreign: (f) => {
      const c = new Database(f);
      c.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES (1)');
      c.close();
    },
    newer: (f) => {
      copyFileSync(good, f);
      const c = new Database(f);
      c.prepare("INSERT INTO __drizzle_migrations (hash, created_at) VALUES ('future', ?)").run(journal.entries.at(-1)!.when + 1000);
      c.close();
    },
  };
  const expected: Record<string, RegExp> = {
    empty: /the file is empty, not a hypersweep database/,
    text: /not a SQLite database/,
    truncated: /the database is truncated/,
    foreign: /not a hypersweep database/,
    newer: /made by a newer hypersweep .*upgrade hypersweep/,
  };

  it('every reader, and a writer, says so in one line with exit 2 and leaves the file alone', async () => {
    const sub = join(dir, 'bad');
    mkdirSync(sub);
    for (const [name, make] of Object.entries(bad)) {
      const f = join(sub, `${name}.db`);
      make(f);
      const before = hashOf(f);
      const runs = [...readers(f, join(sub, 'out.html')), ['dashboard', '--db', f, '--port', '0'], ...(name === 'empty' ? [] : [['query', 'views', '--db', f]])];
      const results = await Promise.all(runs.map((args) => runCli(args, { timeoutMs: 60_000 })));
      results.forEach((r, i) => {
        const what = `${name}: ${runs[i].join(' ')}`;
        expect([what, r.code]).toEqual([what, 2]);
        expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
        expect(r.stderr, what).toMatch(expected[name]);
        expect(r.stderr, what).not.toMatch(/\n\s+at /);
      });
      expect(hashOf(f), name).toBe(before);
      expect(readdirSync(sub).filter((x) => x.startsWith(`${name}.db-`)), name).toEqual([]);
      expect(existsSync(join(sub, 'out.html'))).toBe(false);
    }
  });

  it('a damaged page found mid-query is one line and exit 2 for query, export and report', async () => {
    const f = join(dir, 'damaged.db');
    // The root pages of the results tables and indexes overwritten; the schema, the migrations and sweeps still read.
    const c = openDb(good, { readonly: true });
    const roots = c.$client
      .prepare("SELECT rootpage FROM sqlite_master WHERE rootpage > 0 AND tbl_name IN ('trials', 'kernel_metrics', 'sweep_trials', 'sweep_cube')")
      .pluck()
      .all() as number[];
    closeDb(c);
    const bytes = Buffer.from(readFileSync(good));
    const pageSize = bytes.readUInt16BE(16);
    for (const p of roots) bytes.fill(0xa5, (p - 1) * pageSize, p * pageSize);
    writeFileSync(f, bytes);
    for (const args of [['query', 'agreement', '--db', f], ['export', '--db', f, '--format', 'csv'], ['report', '--db', f, '--out', join(dir, 'damaged.html')]]) {
      const r = await runCli(args);
      expect([args[0], r.code]).toEqual([args[0], 2]);
      expect(r.stderr.trim().split('\n'), args[0]).toHaveLength(1);
      expect(r.stderr, args[0]).toMatch(/cannot read the database: .*malformed|not a database/);
    }
  });
});
