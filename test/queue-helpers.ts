/** Shared by the queue and fault tests: real worker processes, a unique Redis prefix per test, db checks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { cliPath, repoRoot, type CliResult } from './helpers/cli.js';

export const REDIS_URL = process.env.HYPERSWEEP_TEST_REDIS ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(tag: string): string {
  return `hst-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

const tempDirs: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hypersweep-queue-'));
  tempDirs.push(dir);
  return dir;
}

/** Remove the folders tempDir made (call in afterAll). */
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Write a noop sweep of `seeds` trials, each sleeping `sleepMs`. */
export function noopSweep(dir: string, name: string, seeds: number[], sleepMs: number, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\ntask: noop\nfixed: {noop.sleepMs: ${sleepMs}}\ngrid: {seed: [${seeds.join(', ')}]}\n${extra}`);
  return file;
}

/** A CLI process in the background, its output collected. */
export interface Proc {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a line matching `re` was printed. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<void>;
}

export function spawnCli(args: string[]): Proc {
  return spawnRaw(process.execPath, [cliPath, ...args]);
}

export function spawnRaw(command: string, args: string[]): Proc {
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer, isErr: boolean) => {
    out += d.toString();
    if (isErr) stderr += d.toString();
    else stdout += d.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', (d: Buffer) => onData(d, false));
  child.stderr!.on('data', (d: Buffer) => onData(d, true));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(out)) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${re} in:\n${out}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  return { child, output: () => out, stdout: () => stdout, stderr: () => stderr, exited, waitFor };
}

/** Start `hypersweep worker` (the production entry: bin → dist, ESM) and wait until it is ready. */
export async function startWorker(prefix: string, extra: string[] = []): Promise<Proc> {
  const p = spawnCli(['worker', '--redis', REDIS_URL, '--prefix', prefix, '--heartbeat-ms', '200', ...extra]);
  await p.waitFor(/ready on/);
  return p;
}

/** SIGTERM and wait (graceful shutdown); SIGKILL if it takes longer than `ms`. */
export async function stop(p: Proc, ms = 10_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), ms);
  await p.exited;
  clearTimeout(t);
}

/** Delete every key under the prefix (what FLUSHALL would do to this test's data, without touching others'). */
export async function wipePrefix(prefix: string): Promise<number> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return n;
}

export interface TrialRow {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
  worker: string | null;
}

/** Read the results database directly (an independent check of what the orchestrator wrote). */
export function readTrials(dbFile: string): TrialRow[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, status, attempts, error, worker FROM trials ORDER BY id').all() as TrialRow[];
  } finally {
    db.close();
  }
}

export function countRows(dbFile: string, table: 'trials' | 'metric_points' | 'sweep_trials' | 'workers'): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Rows of one trial in a per-trial table. */
export function countRowsWhere(dbFile: string, table: 'metric_points' | 'kernel_metrics', trialId: string): number {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE trial_id = ?`).get(trialId) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Poll until `pred` holds (or throw after `timeoutMs`). */
export async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Statuses counted from the db, or {} while the db does not exist yet. */
export function statusCounts(dbFile: string): Record<string, number> {
  try {
    const out: Record<string, number> = {};
    for (const t of readTrials(dbFile)) out[t.status] = (out[t.status] ?? 0) + 1;
    return out;
  } catch {
    return {};
  }
}

/** Run a CLI command to its end, stdout and stderr kept apart. */
export async function runCmd(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  const p = spawnCli(args);
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await p.exited;
  clearTimeout(t);
  return { code, signal, stdout: p.stdout(), stderr: p.stderr() };
}

/** Trial ids BullMQ holds as active under the prefix right now (read from Redis, without the orchestrator's lag). */
export async function activeTrials(prefix: string): Promise<string[]> {
  const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
  try {
    return await r.lrange(`${prefix}:trials:active`, 0, -1);
  } finally {
    r.disconnect();
  }
}

/** Wait until at least one trial is active and return the active ids. */
export async function waitActive(prefix: string, timeoutMs = 20_000): Promise<string[]> {
  let ids: string[] = [];
  await until(async () => (ids = await activeTrials(prefix)).length > 0, timeoutMs, 'an active trial');
  return ids;
}
