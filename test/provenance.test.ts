import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli, type CliResult } from './helpers/cli.js';
import { trialJobReturnSchema } from '../core/protocol.js';
import {
  REDIS_URL, noopSweep, removeTempDirs, runCmd, startWorker, stop, tempDir, uniquePrefix, wipePrefix,
} from './queue-helpers.js';

/**
 * Provenance of trial results: the code identity (version, hash of the compiled core/ and worker/, git commit),
 * stored per trial in local and distributed mode; stale results reported by `run`, re-run once by
 * `run --rerun-stale`; the `--code` filter; an older database upgraded with its trials of unknown provenance.
 */

afterAll(removeTempDirs);
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});

/** The test's own computation of the code hash: every .js under dist/core and dist/worker, by sorted relative path. */
function expectedHash(dist: string): string {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) files.push(relative(dist, p).split(sep).join('/'));
    }
  };
  walk(join(dist, 'core'));
  walk(join(dist, 'worker'));
  files.sort();
  const h = createHash('sha256');
  for (const f of files) {
    const b = readFileSync(join(dist, f));
    h.update(`${f}\0${b.length}\0`).update(b);
  }
  return h.digest('hex');
}

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot }).toString().trim();

/** A copy of the package (bin, dist, migrations, package.json; node_modules linked) somewhere else: other code. */
function copyPackage(): string {
  const dir = join(tempDir(), 'pkg');
  mkdirSync(dir);
  for (const p of ['bin', 'dist', 'package.json']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  cpSync(join(repoRoot, 'schema', 'migrations'), join(dir, 'schema', 'migrations'), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** The identity printed by a fresh node process from the compiled module of a package copy. */
function identityIn(pkg: string): { version: string; hash: string; commit: string | null } {
  const mod = join(pkg, 'dist', 'core', 'code-identity.js');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(mod)}); console.log(JSON.stringify(m.codeIdentity()));`], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { version: string; hash: string; commit: string | null };
}

interface Row { id: string; status: string; attempts: number; code_version: string | null; code_hash: string | null; git_commit: string | null; finished_at: number | null }
function rows(db: string): Row[] {
  const c = new Database(db, { readonly: true });
  try {
    return c.prepare('SELECT id, status, attempts, code_version, code_hash, git_commit, finished_at FROM trials ORDER BY id').all() as Row[];
  } finally {
    c.close();
  }
}
function sql(db: string, text: string, ...params: unknown[]): void {
  const c = new Database(db);
  try {
    c.prepare(text).run(...params);
  } finally {
    c.close();
  }
}

function count(db: string, text: string): unknown {
  const c = new Database(db, { readonly: true });
  try {
    return c.prepare(text).pluck().get();
  } finally {
    c.close();
  }
}

/** The CLI of another directory (a package copy), like runCli. */
function runOther(pkg: string, args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(pkg, 'bin', 'hypersweep.js'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const exportRows = async (db: string, sweep: string, code?: string): Promise<Array<Record<string, unknown>>> => {
  const r = await runCli(['export', '--sweep', sweep, '--db', db, '--format', 'json', ...(code ? ['--code', code] : [])]);
  if (r.code !== 0) return [];
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
};

const realDist = join(repoRoot, 'dist');

describe('code identity', () => {
  it('is the same in two processes and at two paths, ignores mtimes and other files, and changes with a compiled worker file', () => {
    const a = copyPackage();
    const b = copyPackage();
    const ia1 = identityIn(a);
    const ia2 = identityIn(a);
    const ib = identityIn(b);
    expect(ia1).toEqual(ia2);
    expect(ib).toEqual(ia1);
    // What the test computes itself from the real build; a copy is not a git checkout.
    expect(ia1).toEqual({ version, hash: expectedHash(realDist), commit: null });
    // mtimes and files that are not compiled code change nothing.
    utimesSync(join(b, 'dist', 'worker', 'execute.js'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    writeFileSync(join(b, 'dist', 'worker', 'notes.txt'), 'not code');
    expect(identityIn(b).hash).toBe(ia1.hash);
    // One byte more in a compiled worker file: another hash, the one the test computes for the changed tree.
    appendFileSync(join(b, 'dist', 'worker', 'execute.js'), '\n');
    const changed = identityIn(b);
    expect(changed.hash).not.toBe(ia1.hash);
    expect(changed.hash).toBe(expectedHash(join(b, 'dist')));
  });

  it('names the checkout commit in the repository (with -dirty when core/ or worker/ differ from it)', () => {
    const here = identityIn(repoRoot);
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'core', 'worker'], { cwd: repoRoot }).toString().trim() !== '';
    expect(here).toEqual({ version, hash: expectedHash(realDist), commit: dirty ? `${head}-dirty` : head });
  });

  it('is optional in a worker result (older workers) and validated when present', () => {
    const result = { status: 'completed', metrics: { trainLoss: null, testLoss: null, stepsRun: 0, kernel: null }, curve: [], backend: 'none', timings: {}, versions: {} };
    const base = { v: 1, trialId: 't0123456789abcdef0123', worker: 'w', host: 'h', result };
    expect(trialJobReturnSchema.safeParse(base).success).toBe(true);
    expect(trialJobReturnSchema.safeParse({ ...base, code: { version, hash: 'a'.repeat(64), commit: null } }).success).toBe(true);
    expect(trialJobReturnSchema.safeParse({ ...base, code: { version, hash: 'xyz', commit: null } }).success).toBe(false);
    expect(trialJobReturnSchema.safeParse({ ...base, code: { version, hash: 'a'.repeat(64), commit: 'main' } }).success).toBe(false);
  });
});

describe('local mode: provenance, stale results, --rerun-stale, --code', () => {
  it('stores the identity; reports results of other and unknown code without re-running them; --rerun-stale re-runs exactly those once', async () => {
    const dir = tempDir();
    const db = join(dir, 'l.db');
    const sweep = noopSweep(dir, 'prov', [0, 1, 2, 3, 4], 10);
    // Other code: a copy whose compiled worker differs by one byte runs the sweep first.
    const other = copyPackage();
    appendFileSync(join(other, 'dist', 'worker', 'execute.js'), '\n');
    const otherHash = expectedHash(join(other, 'dist'));
    const first = runOther(other, ['run', sweep, '--db', db, '--concurrency', '2']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(rows(db).map((r) => [r.code_version, r.code_hash, r.git_commit])).toEqual(Array(5).fill([version, otherHash, null]));
    // One trial with no provenance at all (as an older hypersweep left it), one from this code.
    const ids = rows(db).map((r) => r.id);
    sql(db, 'UPDATE trials SET code_version = NULL, code_hash = NULL, git_commit = NULL WHERE id = ?', ids[0]);
    const current = expectedHash(realDist);
    sql(db, 'UPDATE trials SET code_hash = ? WHERE id = ?', current, ids[1]);
    const before = rows(db);

    const plain = await runCli(['run', sweep, '--db', db]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^4 of 5 finished trials were produced by other code \\(hypersweep ${version}, code ${otherHash.slice(0, 12)}, not a git checkout; unknown code\\); rerun them with --rerun-stale$`, 'm'));
    expect(plain.stdout).toMatch(/all 5 trials already finished/);
    expect(rows(db)).toEqual(before); // nothing re-run

    const status = await runCli(['status', 'prov', '--db', db]);
    expect(status.stdout).toMatch(/code: 4 of 5 finished trials were produced by other code/);
    const overview = await runCli(['status', '--db', db, '--json']);
    expect(JSON.parse(overview.stdout)).toEqual([expect.objectContaining({ sweep: 'prov', stale: 4 })]);

    expect((await exportRows(db, 'prov', 'stale')).map((r) => r.id).sort()).toEqual([ids[0], ...ids.slice(2)].sort());
    expect((await exportRows(db, 'prov', 'current')).map((r) => r.id)).toEqual([ids[1]]);
    expect((await exportRows(db, 'prov', 'unknown')).map((r) => r.id)).toEqual([ids[0]]);
    expect((await exportRows(db, 'prov', otherHash.slice(0, 8))).map((r) => r.codeHash)).toEqual(Array(3).fill(otherHash));
    const bad = await runCli(['export', '--sweep', 'prov', '--db', db, '--code', 'newest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--code newest: expected current, stale, unknown or a code hash/);

    const rerun = await runCli(['run', sweep, '--db', db, '--rerun-stale']);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/re-running 4 of 5 finished trials, produced by other code/);
    expect(rerun.stdout).toMatch(/5 trials \(0 new, 1 already finished\), running 4/);
    const after = rows(db);
    expect(after.map((r) => r.id)).toEqual(ids); // no trial added or duplicated
    expect(count(db, 'SELECT count(*) FROM sweep_trials')).toBe(5);
    for (const r of after) expect(r).toMatchObject({ status: 'completed', attempts: 1, code_version: version, code_hash: current });
    expect(after[1]).toEqual(before[1]); // the current one untouched
    for (const i of [0, 2, 3, 4]) expect(after[i]!.git_commit).toMatch(new RegExp(`^${head}(-dirty)?$`));
    for (const i of [0, 2, 3, 4]) expect(after[i]!.finished_at).toBeGreaterThan(before[i]!.finished_at!);

    const again = await runCli(['run', sweep, '--db', db, '--rerun-stale']);
    expect(again.stdout).not.toMatch(/other code/);
    expect(again.stdout).toMatch(/all 5 trials already finished/);
    expect(rows(db)).toEqual(after);
  }, 120_000);
});

describe('an older database', () => {
  it('upgrades, and its trials read as unknown provenance: stale until re-run', async () => {
    const dir = tempDir();
    const db = join(dir, 'old.db');
    const sweep = noopSweep(dir, 'old', [0, 1, 2], 0);
    expect((await runCli(['run', sweep, '--db', db, '--concurrency', '1'])).code).toBe(0);
    // Make it what the previous version left: no provenance columns, no migrations after 0002.
    const c = new Database(db);
    const journal = JSON.parse(readFileSync(join(repoRoot, 'schema', 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> };
    const i = journal.entries.findIndex((e) => e.tag === '0003_trial_provenance');
    c.exec('DROP VIEW v_trials_flat; ALTER TABLE trials DROP COLUMN code_version; ALTER TABLE trials DROP COLUMN code_hash');
    c.prepare('UPDATE trials SET git_commit = NULL').run();
    c.prepare('DELETE FROM __drizzle_migrations WHERE created_at >= ?').run(journal.entries[i]!.when);
    c.close();

    const refused = await runCli(['status', 'old', '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/older hypersweep; upgrade its schema first with `hypersweep query views --db /);
    const up = await runCli(['query', 'views', '--db', db]);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`upgraded the schema \\(${journal.entries.length - i} migrations\\)`));
    expect(rows(db).map((r) => [r.status, r.code_hash])).toEqual(Array(3).fill(['completed', null]));
    const status = await runCli(['status', 'old', '--db', db]);
    expect(status.stdout).toMatch(/code: 3 of 3 finished trials were produced by other code \(unknown code\)/);
    expect(count(db, 'SELECT count(*) FROM v_trials_flat WHERE code_hash IS NULL')).toBe(3);
    const plain = await runCli(['run', sweep, '--db', db]);
    expect(plain.stdout).toMatch(/3 of 3 finished trials were produced by other code \(unknown code\); rerun them with --rerun-stale/);
    expect(rows(db).every((r) => r.code_hash === null)).toBe(true);
    const rerun = await runCli(['run', sweep, '--db', db, '--rerun-stale']);
    expect(rerun.code).toBe(0);
    expect(rows(db).map((r) => [r.status, r.attempts, r.code_hash])).toEqual(Array(3).fill(['completed', 1, expectedHash(realDist)]));
  }, 120_000);
});

describe('distributed mode (real Redis, a worker process)', () => {
  it('stores the identity the worker sends; a stale trial is reported, then re-run once with --rerun-stale', async () => {
    const dir = tempDir();
    const db = join(dir, 'd.db');
    const prefix = uniquePrefix('prov');
    const w = await startWorker(prefix);
    cleanup.push(() => wipePrefix(prefix));
    cleanup.push(() => stop(w));
    const sweep = noopSweep(dir, 'dprov', [0, 1, 2], 20);
    const run = (...extra: string[]) => runCmd(['run', sweep, '--redis', REDIS_URL, '--prefix', prefix, '--db', db, ...extra]);
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const current = expectedHash(realDist);
    const stored = rows(db);
    expect(stored).toHaveLength(3);
    for (const r of stored) {
      expect(r).toMatchObject({ status: 'completed', attempts: 1, code_version: version, code_hash: current });
      expect(r.git_commit).toMatch(new RegExp(`^${head}(-dirty)?$`));
    }
    const id = stored[2]!.id;
    sql(db, "UPDATE trials SET code_hash = ?, code_version = '0.0.9', git_commit = NULL WHERE id = ?", 'b'.repeat(64), id);
    const plain = await run();
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/1 of 3 finished trials were produced by other code \(hypersweep 0\.0\.9, code bbbbbbbbbbbb, not a git checkout\); rerun them with --rerun-stale/);
    expect(plain.stdout).toMatch(/0 enqueued/);
    expect(rows(db).find((r) => r.id === id)!.code_hash).toBe('b'.repeat(64));
    const rerun = await run('--rerun-stale');
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toMatch(/re-running 1 of 3 finished trials/);
    expect(rerun.stdout).toMatch(/1 enqueued/);
    const after = rows(db);
    expect(after.map((r) => r.id)).toEqual(stored.map((r) => r.id));
    expect(after.find((r) => r.id === id)).toMatchObject({ status: 'completed', attempts: 1, code_version: version, code_hash: current });
    expect(after.filter((r) => r.id !== id)).toEqual(stored.filter((r) => r.id !== id));
  }, 120_000);
});
