import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { TRIALS_QUEUE, jobProgressSchema } from '../core/protocol.js';
import {
  REDIS_URL, runCmd, countRows, countRowsWhere, noopSweep, readTrials, spawnCli, startWorker, statusCounts, stop, tempDir, uniquePrefix, until, removeTempDirs,
  wipePrefix, type Proc,
} from './queue-helpers.js';

// Real Redis on 127.0.0.1:6379, a unique prefix per test, real worker processes started through the CLI.

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});
afterAll(removeTempDirs);

async function workers(prefix: string, n: number, extra: string[] = [], each: string[][] = []): Promise<Proc[]> {
  const ws = await Promise.all(Array.from({ length: n }, (_, i) => startWorker(prefix, [...extra, ...(each[i] ?? [])])));
  for (const w of ws) cleanup.push(() => stop(w));
  cleanup.push(() => wipePrefix(prefix));
  return ws;
}

const run = (sweep: string, db: string, prefix: string) =>
  runCmd(['run', sweep, '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);

describe('run --redis with two worker processes', () => {
  it('completes every trial with exactly one row; running again adds nothing; a new grid value adds only its trials', async () => {
    const dir = tempDir();
    const db = join(dir, 'r.db');
    const prefix = uniquePrefix('e2e');
    // One worker sandboxes trials in child processes, the other in worker threads.
    const ws = await workers(prefix, 2, [], [[], ['--threads']]);

    const first = await run(noopSweep(dir, 'e2e', [0, 1, 2, 3, 4, 5, 6, 7], 300), db, prefix);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const rows = readTrials(db);
    expect(rows).toHaveLength(8);
    expect(new Set(rows.map((r) => r.id)).size).toBe(8);
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    expect(countRows(db, 'sweep_trials')).toBe(8);
    // Both worker processes took trials (each ran in a sandbox of its own).
    const ids = ws.map((w) => /worker (\S+) ready/.exec(w.output())![1]);
    const by = new Set(rows.map((r) => r.worker));
    expect([...by].sort()).toEqual([...ids].sort());
    // Heartbeats reached the workers table.
    expect(countRows(db, 'workers')).toBeGreaterThanOrEqual(1);

    const again = await run(noopSweep(dir, 'e2e', [0, 1, 2, 3, 4, 5, 6, 7], 300), db, prefix);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 enqueued/);
    expect(readTrials(db)).toEqual(rows);

    const more = await run(noopSweep(dir, 'e2e', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 300), db, prefix);
    expect(more.code).toBe(0);
    expect(more.stdout).toMatch(/2 enqueued/);
    const after = readTrials(db);
    expect(after).toHaveLength(10);
    expect(after.filter((r) => !rows.some((o) => o.id === r.id))).toHaveLength(2);
    expect(after.every((r) => r.status === 'completed')).toBe(true);
  });

  it('runs real training trials (TensorFlow.js wasm) inside the sandbox from dist/: loss curves and kernel rows stored once', async () => {
    const dir = tempDir();
    const db = join(dir, 'sp.db');
    const prefix = uniquePrefix('sphere');
    await workers(prefix, 1, ['--backend', 'wasm']);
    const sweep = join(dir, 'sp.yaml');
    writeFileSync(sweep, [
      'name: sp', 'task: sphere',
      'fixed: {f.width: 16, f.depth: 2, g.width: 8, g.depth: 2, train.steps: 20, train.logEvery: 5, data.nTrain: 16, data.nTest: 8, kernels.probe: 4}',
      'grid: {seed: [0, 1]}', '',
    ].join('\n'));
    const r = await run(sweep, db, prefix);
    expect(r.code).toBe(0);
    const rows = readTrials(db);
    expect(rows.map((t) => t.status)).toEqual(['completed', 'completed']);
    const perTrial = (table: 'metric_points' | 'kernel_metrics', id: string) => countRowsWhere(db, table, id);
    for (const t of rows) {
      expect(perTrial('metric_points', t.id)).toBeGreaterThan(1);
      expect(perTrial('kernel_metrics', t.id)).toBe(8); // init/final × ntk/gp × exact/paper-code
    }
    expect(countRows(db, 'metric_points')).toBe(rows.reduce((n, t) => n + perTrial('metric_points', t.id), 0));
  });

  it('fails an over-memory-cap trial at once (one attempt, no retry) with the reason recorded', async () => {
    const dir = tempDir();
    const db = join(dir, 'm.db');
    const prefix = uniquePrefix('cap');
    await workers(prefix, 1);
    const sweep = join(dir, 'cap.yaml');
    writeFileSync(sweep, [
      'name: cap', 'task: sphere', 'retries: 3',
      'fixed: {f.depth: 3, g.depth: 2, train.steps: 1, limits.memoryMb: 1}',
      'grid: {f.width: [4096]}', '',
    ].join('\n'));
    const r = await run(sweep, db, prefix);
    expect(r.code).toBe(1); // `run` exits 1 when a trial failed
    const [row] = readTrials(db);
    expect(row.status).toBe('failed');
    expect(row.attempts).toBe(1);
    expect(row.error).toMatch(/MemoryCapError/);
  });

  it('cancel --kill removes waiting trials and aborts the running one; all end cancelled', async () => {
    const dir = tempDir();
    const db = join(dir, 'c.db');
    const prefix = uniquePrefix('cancel');
    await workers(prefix, 1);
    // 120 s trials (first progress after 30 s, a quarter): none can finish before the cancel, however loaded the machine.
    const orch = spawnCli(['run', noopSweep(dir, 'cx', [0, 1, 2, 3, 4], 120_000), '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);
    cleanup.push(() => stop(orch));
    await until(() => (statusCounts(db).running ?? 0) === 1, 20_000, 'a running trial');
    // The running trial reports progress through BullMQ (validated wire format).
    const running = readTrials(db).find((r) => r.status === 'running')!;
    const queue = new Queue(TRIALS_QUEUE, { connection: { url: REDIS_URL }, prefix });
    cleanup.push(() => queue.close());
    await until(async () => jobProgressSchema.safeParse((await queue.getJob(running.id))?.progress).success, 45_000, 'job progress');
    const c = await runCmd(['cancel', 'cx', '--kill', '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/4 waiting trial\(s\) removed.*abort requested for 1 running/);
    const end = await orch.exited;
    expect(end.code).toBe(0);
    expect(statusCounts(db)).toEqual({ cancelled: 5 });
  });
});

describe('malformed inputs', () => {
  it.each([
    ['a bad Redis URL', 'http://127.0.0.1:6379', /--redis .*scheme must be redis/],
    ['an unreachable Redis', 'redis://127.0.0.1:1', /--redis .*cannot reach Redis/],
  ])('run with %s: one line, exit 2, no database written', async (_what, url, message) => {
    const dir = tempDir();
    const db = join(dir, 'bad.db');
    const t0 = Date.now();
    const r = await runCmd(['run', noopSweep(dir, 'bad', [0], 0), '--redis', url, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(db)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it.each([
    ['worker', ['worker']],
    ['resume', ['resume', 'any', '--db', '/nonexistent/x.db']],
    ['cancel', ['cancel', 'any', '--db', '/nonexistent/x.db']],
  ])('%s with an unreachable Redis: one line, exit 2', async (_name, args) => {
    const r = await runCmd([...args, '--redis', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach Redis/);
  });

  it.each([['resume'], ['cancel']])('%s with a database that does not exist: one line, exit 2, no file created', async (cmd) => {
    const db = join(tempDir(), 'missing.db');
    const r = await runCmd([cmd, 'any', '--redis', REDIS_URL, '--prefix', uniquePrefix('nodb'), '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/missing\.db/);
    expect(existsSync(db)).toBe(false);
  });

  it('worker refuses a bad --concurrency with one line and exit 2', async () => {
    const r = await runCmd(['worker', '--redis', REDIS_URL, '--concurrency', 'zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/concurrency/);
  });
});
