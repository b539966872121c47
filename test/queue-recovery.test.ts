import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  REDIS_URL, noopSweep, readTrials, removeTempDirs, runCmd, spawnCli, startWorker, statusCounts, stop, tempDir,
  uniquePrefix, until, waitActive, wipePrefix, type Proc,
} from './queue-helpers.js';

// Issue 11's queue holes, each reproduced against the real Redis (a unique prefix per test).

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});
afterAll(removeTempDirs);

function track(p: Proc): Proc {
  cleanup.push(() => stop(p));
  return p;
}

const fastStall = ['--lock-duration-ms', '1000', '--stalled-interval-ms', '500'];

function allCompletedOnce(db: string, n: number): void {
  const rows = readTrials(db);
  expect(rows).toHaveLength(n);
  expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
}

describe('when Redis loses only the wait list (job hashes survive)', () => {
  it('resume finds the orphaned job hashes, re-adds their trials and completes the sweep', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const prefix = uniquePrefix('lostwait');
    cleanup.push(() => wipePrefix(prefix));
    // No worker yet: every job sits in the wait list.
    const orch = track(spawnCli(['run', noopSweep(dir, 'lw', [0, 1, 2, 3, 4], 50), '--redis', REDIS_URL, '--prefix', prefix, '--db', db]));
    await orch.waitFor(/5 enqueued/);
    orch.child.kill('SIGKILL');
    await orch.exited;
    const r = new Redis(REDIS_URL);
    cleanup.push(async () => r.disconnect());
    expect(await r.llen(`${prefix}:trials:wait`)).toBe(5);
    await r.del(`${prefix}:trials:wait`);
    track(await startWorker(prefix, ['--concurrency', '2']));
    const res = await runCmd(['resume', 'lw', '--redis', REDIS_URL, '--prefix', prefix, '--db', db], 30_000);
    expect(res.stdout).toMatch(/lw: 5 trials, 5 enqueued/);
    expect(res.code).toBe(0);
    allCompletedOnce(db, 5);
    // The orphaned hashes were replaced, not left behind: nothing of this sweep remains in Redis.
    expect(await r.keys(`${prefix}:trials:t*`)).toEqual([]);
  }, 60_000);
});

describe('when a job carries a protocol version this worker does not speak', () => {
  it('the worker leaves it in the queue for a compatible worker and never fails it', async () => {
    const prefix = uniquePrefix('proto');
    cleanup.push(() => wipePrefix(prefix));
    const w = track(await startWorker(prefix));
    const q = new Queue('trials', { connection: { url: REDIS_URL } as never, prefix });
    cleanup.push(() => q.close());
    const config = { task: 'noop', seed: 1, noop: { sleepMs: 1 } };
    const id2 = `t${'a'.repeat(20)}`;
    await q.add('trial', { v: 2, trialId: id2, sweep: 'future', config }, { jobId: id2, attempts: 3 });
    await w.waitFor(/protocol v2/, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const state = await q.getJobState(id2);
    expect(['delayed', 'waiting', 'prioritized']).toContain(state);
    expect(await q.getFailedCount()).toBe(0);
  }, 30_000);
});

describe('one writer per database file across local and distributed modes', () => {
  it('a local run on the file a `run --redis` orchestrator is writing exits 2 with one line, and the reverse too', async () => {
    const dir = tempDir();
    const db = join(dir, 'one.db');
    const prefix = uniquePrefix('writer');
    cleanup.push(() => wipePrefix(prefix));
    const sweep = noopSweep(dir, 'ow', [0, 1, 2], 50);
    const orch = track(spawnCli(['run', sweep, '--redis', REDIS_URL, '--prefix', prefix, '--db', db]));
    await orch.waitFor(/3 enqueued/);
    const local = await runCmd(['run', sweep, '--local', '--db', db, '--concurrency', '1']);
    expect(local.code).toBe(2);
    expect(local.stderr.trim().split('\n')).toHaveLength(1);
    expect(local.stderr).toMatch(/one writer per file/);
    expect(readTrials(db).filter((t) => t.status === 'completed')).toEqual([]);
    orch.child.kill('SIGKILL');
    await orch.exited;

    const slow = noopSweep(dir, 'ow2', [0, 1, 2, 3], 1500);
    const lr = track(spawnCli(['run', slow, '--local', '--db', db, '--concurrency', '1']));
    await until(() => (statusCounts(db).running ?? 0) >= 1, 20_000, 'a running local trial');
    const dist = await runCmd(['run', slow, '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);
    expect(dist.code).toBe(2);
    expect(dist.stderr.trim().split('\n')).toHaveLength(1);
    expect(dist.stderr).toMatch(/one writer per file/);
    const resume = await runCmd(['resume', 'ow', '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);
    expect(resume.code).toBe(2);
    expect((await lr.exited).code).toBe(0);
  }, 90_000);

  it('a stale writer row whose pid now belongs to an unrelated, younger process does not block a run', async () => {
    const dir = tempDir();
    const db = join(dir, 'stale.db');
    const sweep = noopSweep(dir, 'st', [0, 1], 10);
    expect((await runCmd(['run', sweep, '--local', '--db', db, '--concurrency', '1'])).code).toBe(0);
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    cleanup.push(async () => other.kill('SIGKILL'));
    const longAgo = Date.now() - 3_600_000;
    const d = new Database(db);
    for (const id of ['local-1', 'writer']) {
      d.prepare('INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT(id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at')
        .run(id, (await import('node:os')).hostname(), other.pid, longAgo, longAgo);
    }
    d.close();
    const again = noopSweep(dir, 'st2', [0, 1, 2], 10);
    const r = await runCmd(['run', again, '--local', '--db', db, '--concurrency', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    allCompletedOnce(db, 3);
  }, 60_000);
});

describe('when a worker dies mid-trial and the trial is run again after its lock expires', () => {
  it('the stored attempts count both runs', async () => {
    const dir = tempDir();
    const db = join(dir, 'a.db');
    const prefix = uniquePrefix('attempts');
    cleanup.push(() => wipePrefix(prefix));
    const victim = track(await startWorker(prefix, fastStall));
    const orch = track(spawnCli(['run', noopSweep(dir, 'at', [0], 1500), '--redis', REDIS_URL, '--prefix', prefix, '--db', db]));
    const [killed] = await waitActive(prefix);
    victim.child.kill('SIGKILL');
    await victim.exited;
    track(await startWorker(prefix, fastStall));
    expect((await orch.exited).code).toBe(0);
    const row = readTrials(db).find((t) => t.id === killed)!;
    expect(row.status).toBe('completed');
    const d = new Database(db, { readonly: true });
    const { attempts } = d.prepare('SELECT attempts FROM trials WHERE id = ?').get(killed) as { attempts: number };
    d.close();
    expect(attempts).toBe(2);
  }, 60_000);
});

describe('a sweep name bound to a different spec', () => {
  it('is refused with one line and exit 2 unless --replace, which rebinds the name and keeps every trial', async () => {
    const dir = tempDir();
    const db = join(dir, 'n.db');
    const first = join(dir, 'first');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(first);
    expect((await runCmd(['run', noopSweep(first, 'same', [0, 1], 1), '--local', '--db', db, '--concurrency', '1'])).code).toBe(0);
    const other = noopSweep(dir, 'same', [5, 6, 7], 2);
    const r = await runCmd(['run', other, '--local', '--db', db, '--concurrency', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--replace/);
    expect(readTrials(db)).toHaveLength(2);
    const ok = await runCmd(['run', other, '--local', '--db', db, '--concurrency', '1', '--replace']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const d = new Database(db, { readonly: true });
    const members = (d.prepare("SELECT count(*) AS n FROM sweep_trials WHERE sweep = 'same'").get() as { n: number }).n;
    const stored = (d.prepare('SELECT count(*) AS n FROM trials').get() as { n: number }).n;
    d.close();
    expect(members).toBe(3); // the sweep is now the new spec's trials
    expect(stored).toBe(5); // the old trials are kept (content-addressed results)
    // Same spec again (only the order differs): no refusal.
    expect((await runCmd(['run', other, '--local', '--db', db, '--concurrency', '1', '--order', 'small-first'])).code).toBe(0);
  }, 60_000);
});
