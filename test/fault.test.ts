import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  REDIS_URL, runCmd, noopSweep, spawnRaw, waitActive, readTrials, spawnCli, startWorker, statusCounts, stop, tempDir, uniquePrefix, until, removeTempDirs, wipePrefix,
  type Proc,
} from './queue-helpers.js';

// Fault tolerance against the real Redis: each test has its own prefix and never touches other keys.

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => {});
});
afterAll(removeTempDirs);

/** Short locks so a dead worker's trial is picked up again within about a second. */
const fastStall = ['--lock-duration-ms', '1000', '--stalled-interval-ms', '500'];

function track(p: Proc): Proc {
  cleanup.push(() => stop(p));
  return p;
}

function orchestrator(sweep: string, db: string, prefix: string): Proc {
  return track(spawnCli(['run', sweep, '--redis', REDIS_URL, '--prefix', prefix, '--db', db]));
}

const resume = (name: string, db: string, prefix: string) =>
  runCmd(['resume', name, '--redis', REDIS_URL, '--prefix', prefix, '--db', db]);

function expectAllCompletedOnce(db: string, n: number): void {
  const rows = readTrials(db);
  expect(rows).toHaveLength(n);
  expect(new Set(rows.map((r) => r.id)).size).toBe(n);
  expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
}

describe('when a worker process is killed with SIGKILL in the middle of a trial', () => {
  it('another worker runs the trial again and the sweep completes with one result per trial', async () => {
    const dir = tempDir();
    const db = join(dir, 'k.db');
    const prefix = uniquePrefix('kill9');
    cleanup.push(() => wipePrefix(prefix));
    const victim = track(await startWorker(prefix, fastStall));
    const orch = orchestrator(noopSweep(dir, 'k9', [0, 1, 2, 3], 1500), db, prefix);
    const [killed] = await waitActive(prefix);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = track(await startWorker(prefix, [...fastStall, '--concurrency', '2']));
    const survivorId = /worker (\S+) ready/.exec(survivor.output())![1];
    const end = await orch.exited;
    expect(end.code).toBe(0);
    expectAllCompletedOnce(db, 4);
    // The trial that was running on the killed worker was finished by the survivor.
    expect(readTrials(db).find((r) => r.id === killed)!.worker).toBe(survivorId);
  });
});

describe('when BullMQ fails a trial for stalling more than maxStalledCount times', () => {
  it('the orchestrator re-enqueues it from the database (BullMQ would not retry it) and it completes', async () => {
    const dir = tempDir();
    const db = join(dir, 's.db');
    const prefix = uniquePrefix('stall');
    cleanup.push(() => wipePrefix(prefix));
    // maxStalledCount 0: the first lost lock already fails the job, as a second crash would with the default 1.
    const flags = [...fastStall, '--max-stalled-count', '0'];
    const victim = track(await startWorker(prefix, flags));
    const orch = orchestrator(noopSweep(dir, 'st', [0, 1, 2], 1000), db, prefix);
    await waitActive(prefix);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = track(await startWorker(prefix, [...flags, '--concurrency', '2']));
    await survivor.waitFor(/failed \(attempt \d+\): job stalled more than allowable limit/);
    const end = await orch.exited;
    expect(end.code).toBe(0);
    expect(orch.stdout()).toMatch(/its worker was lost; re-enqueued \(1\/3\)/);
    expectAllCompletedOnce(db, 3);
  });
});

describe('when the orchestrator is stopped with SIGINT', () => {
  it('exits leaving the sweep resumable, and resume completes it', async () => {
    const dir = tempDir();
    const db = join(dir, 'i.db');
    const prefix = uniquePrefix('sigint');
    cleanup.push(() => wipePrefix(prefix));
    track(await startWorker(prefix, ['--concurrency', '2']));
    const orch = orchestrator(noopSweep(dir, 'si', [0, 1, 2, 3, 4, 5], 400), db, prefix);
    await until(() => (statusCounts(db).completed ?? 0) >= 1, 20_000, 'a completed trial');
    orch.child.kill('SIGINT');
    const end = await orch.exited;
    expect(end.code).toBe(130);
    expect(orch.stdout()).toMatch(/continue with `hypersweep resume si`/);
    const r = await resume('si', db, prefix);
    expect(r.code).toBe(0);
    expectAllCompletedOnce(db, 6);
  });
});

describe('when the orchestrator is killed with SIGKILL mid-sweep', () => {
  it('resume collects what finished meanwhile, re-enqueues nothing twice, and completes', async () => {
    const dir = tempDir();
    const db = join(dir, 'o.db');
    const prefix = uniquePrefix('orch');
    cleanup.push(() => wipePrefix(prefix));
    for (let i = 0; i < 2; i++) track(await startWorker(prefix));
    const orch = orchestrator(noopSweep(dir, 'ok', [0, 1, 2, 3, 4, 5, 6, 7], 400), db, prefix);
    await until(() => (statusCounts(db).completed ?? 0) >= 2, 20_000, 'two completed trials');
    orch.child.kill('SIGKILL');
    await orch.exited;
    const before = statusCounts(db);
    expect(before.completed ?? 0).toBeLessThan(8);
    const r = await resume('ok', db, prefix);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Every trial still had its job in Redis (waiting, running or finished with its result): nothing re-enqueued.
    expect(r.stdout).toMatch(/ok: 8 trials, 0 enqueued/);
    expect(r.stdout).toMatch(/ok: 8\/8 done/);
    expectAllCompletedOnce(db, 8);
  });
});

describe('when Redis loses every key of the prefix mid-sweep (FLUSHALL, scoped to this test\'s prefix)', () => {
  it('resume rebuilds the queue from the database and completes', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.db');
    const prefix = uniquePrefix('wipe');
    cleanup.push(() => wipePrefix(prefix));
    for (let i = 0; i < 2; i++) track(await startWorker(prefix));
    const orch = orchestrator(noopSweep(dir, 'wiped', [0, 1, 2, 3, 4, 5, 6, 7], 400), db, prefix);
    await until(() => (statusCounts(db).completed ?? 0) >= 2, 20_000, 'two completed trials');
    orch.child.kill('SIGKILL');
    await orch.exited;
    expect(await wipePrefix(prefix)).toBeGreaterThan(0);
    const r = await resume('wiped', db, prefix);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/[1-6] enqueued/);
    expectAllCompletedOnce(db, 8);
  });
});

describe('when a worker gets SIGTERM in the middle of a trial', () => {
  it('finishes the running trial before exiting (exit 0), so it is not run again', async () => {
    const dir = tempDir();
    const db = join(dir, 'g.db');
    const prefix = uniquePrefix('term');
    cleanup.push(() => wipePrefix(prefix));
    const w = track(await startWorker(prefix));
    const orch = orchestrator(noopSweep(dir, 'gt', [0], 1500), db, prefix);
    await waitActive(prefix);
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    const id = /worker (\S+) ready/.exec(w.output())![1];
    expect((await orch.exited).code).toBe(0);
    const [row] = readTrials(db);
    expect(row).toMatchObject({ status: 'completed', attempts: 1, worker: id });
  });

  it('abandons it after --shutdown-timeout-ms, and another worker runs it', async () => {
    const dir = tempDir();
    const db = join(dir, 'h.db');
    const prefix = uniquePrefix('deadline');
    cleanup.push(() => wipePrefix(prefix));
    const w = track(await startWorker(prefix, [...fastStall, '--shutdown-timeout-ms', '200']));
    const orch = orchestrator(noopSweep(dir, 'dl', [0], 1500), db, prefix);
    await waitActive(prefix);
    const t0 = Date.now();
    w.child.kill('SIGTERM');
    expect((await w.exited).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(w.output()).toMatch(/abandoning 1 running trial/);
    const other = track(await startWorker(prefix, fastStall));
    const id = /worker (\S+) ready/.exec(other.output())![1];
    expect((await orch.exited).code).toBe(0);
    expect(readTrials(db)).toMatchObject([{ status: 'completed', worker: id }]);
  });
});

const redisServer = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((f) => existsSync(f));

describe('when the Redis server restarts without persistence mid-sweep (a private redis-server)', () => {
  it.skipIf(!redisServer)('the running orchestrator waits, re-enqueues the lost trials and completes', async () => {
    const dir = tempDir();
    const db = join(dir, 'r.db');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const url = `redis://127.0.0.1:${port}`;
    const startRedis = async () => {
      const r = spawnRaw(redisServer!, ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir]);
      await r.waitFor(/Ready to accept connections/);
      return r;
    };
    let redis = await startRedis();
    cleanup.push(() => stop(redis));
    const w = track(spawnCli(['worker', '--redis', url, '--concurrency', '2', '--heartbeat-ms', '200']));
    await w.waitFor(/ready on/);
    const orch = track(spawnCli(['run', noopSweep(dir, 'rr', [0, 1, 2, 3, 4, 5], 400), '--redis', url, '--db', db, '--progress-ms', '500']));
    await until(() => (statusCounts(db).running ?? 0) >= 1, 20_000, 'a running trial');
    redis.child.kill('SIGKILL');
    await redis.exited;
    await orch.waitFor(/Redis unavailable/);
    redis = await startRedis();
    const end = await orch.exited;
    expect(end.code).toBe(0);
    expect(orch.stdout()).toMatch(/Redis is back/);
    expectAllCompletedOnce(db, 6);
  });
});
