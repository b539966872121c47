import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, runCli } from './helpers/cli.js';
import { runLocal } from '../orchestrator/local/runner.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { LocalProgress, countsLine } from '../orchestrator/local/progress.js';

const dir = mkdtempSync(join(tmpdir(), 'hs-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
interface Row { id: string; status: string; attempts: number; worker: string | null; finished_at: number | null; error: string | null; git_commit: string | null }
const readTrials = (db: string): Row[] => {
  const c = new Database(db, { readonly: true });
  try {
    return c.prepare('select id, status, attempts, worker, finished_at, error, git_commit from trials order by id').all() as Row[];
  } finally {
    c.close();
  }
};
const hasTfjsNode = () => ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'].some((p) => {
  try {
    createRequire(import.meta.url).resolve(p);
    return true;
  } catch {
    return false;
  }
});
const sink = () => {
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { out, text: () => text };
};

describe('local mode (hypersweep run without Redis)', () => {
  it('runs every trial on a pool of threads, the main thread writing each result, and reruns nothing', async () => {
    const sweep = write('noop.yaml', 'name: noop-local\ntask: noop\ngrid: {seed: [0, 1, 2, 3, 4, 5], noop.sleepMs: [20, 60]}\n');
    const db = join(dir, 'local.db');
    const r = await runCli(['run', sweep, '--db', db, '--concurrency', '3', '--progress-ms', '100']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/noop-local: 12 trials \(12 new, 0 already finished\), running 12 on 3 threads/);
    expect(r.stdout).toMatch(/hypersweep status noop-local --db /);
    expect(r.stdout).toMatch(/hypersweep query agreement --sweep noop-local/);
    expect(r.stdout).toMatch(/hypersweep dashboard/);
    const rows = readTrials(db);
    expect(rows).toHaveLength(12);
    expect(rows.every((t) => t.status === 'completed' && t.attempts === 1)).toBe(true);
    expect(new Set(rows.map((t) => t.worker)).size).toBe(3); // all slots took trials
    expect(rows[0]!.git_commit).toMatch(/^[0-9a-f]{40}(-dirty)?$/); // provenance: the checkout's commit
    const again = await runCli(['run', sweep, '--db', db, '--concurrency', '3']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/all 12 trials already finished/);
    expect(readTrials(db)).toEqual(rows); // nothing ran, nothing rewritten
    // One more grid value: only its trials run.
    write('noop.yaml', 'name: noop-local\ntask: noop\ngrid: {seed: [0, 1, 2, 3, 4, 5, 6], noop.sleepMs: [20, 60]}\n');
    const more = await runCli(['run', sweep, '--db', db, '--processes', '--concurrency', '2']);
    expect(more.code).toBe(0);
    expect(more.stdout).toMatch(/14 trials \(2 new, 12 already finished\), running 2 on 2 processes/);
    expect(readTrials(db).filter((t) => t.status === 'completed')).toHaveLength(14);
    const overview = await runCli(['status', '--db', db]);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(/^noop-local\s+noop\s+14\s+0\s+0\s+14\s+0\s+0\s+0\s/m);
    expect(overview.stdout).toMatch(/^local-3\s+\S+\s+-\s+idle\s+\d+s ago$/m);
    const status = await runCli(['status', 'noop-local', '--db', db]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/14 trials: queued 0, running 0, completed 14/);
  });

  it('runs a small real sphere sweep, storing curves and kernel agreement, and reruns nothing', async () => {
    const sweep = write('sphere.yaml', `
name: sphere-small
task: sphere
fixed: {f.depth: 2, g.depth: 2, data: {nTrain: 16, nTest: 8}, train: {steps: 20, logEvery: 5}, kernels: {probe: 6}}
grid: {seed: [0, 1]}
zip: [{f.width: [16, 64], g.width: [8, 16]}]
order: small-first
`);
    const db = join(dir, 'sphere.db');
    const r = await runCli(['run', sweep, '--db', db, '--concurrency', '2', '--backend', 'wasm']);
    expect(r.stderr).not.toMatch(/locked/i);
    expect(r.code).toBe(0);
    const c = new Database(db, { readonly: true });
    const rows = c.prepare('select id, status, backend, train_loss, steps_run from trials').all() as Array<{ id: string; status: string; backend: string; train_loss: number | null; steps_run: number }>;
    expect(rows).toHaveLength(4);
    for (const t of rows) {
      expect(t).toMatchObject({ status: 'completed', backend: 'wasm', steps_run: 20 });
      expect(Number.isFinite(t.train_loss)).toBe(true);
      const k = c.prepare('select phase, kind, mode, rel_frob, movement from kernel_metrics where trial_id = ?').all(t.id) as Array<{ phase: string; kind: string; mode: string; rel_frob: number; movement: number | null }>;
      expect(k).toHaveLength(8);
      expect(k.filter((x) => x.movement !== null).map((x) => [x.phase, x.kind, x.mode])).toEqual([['final', 'ntk', 'exact']]);
      const points = c.prepare("select step, value from metric_points where trial_id = ? and series = 'train_loss' order by step").all(t.id) as Array<{ step: number; value: number }>;
      expect(points.length).toBeGreaterThanOrEqual(4);
      expect(points.at(-1)!.step).toBeLessThanOrEqual(20);
    }
    c.close();
    const again = await runCli(['run', sweep, '--db', db]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/all 4 trials already finished/);
  });

  it('goes distributed when $REDIS_URL is set, unless --local', async () => {
    const sweep = write('env.yaml', 'name: env\ntask: noop\ngrid: {seed: [0, 1]}\n');
    const db = join(dir, 'env.db');
    const env = { REDIS_URL: 'redis://127.0.0.1:1' }; // nothing listens there
    const dist = await runCli(['run', sweep, '--db', db], { env });
    expect(dist.code).toBe(2);
    expect(dist.stderr.trim()).toMatch(/^hypersweep: --redis redis:\/\/127\.0\.0\.1:1: cannot reach Redis/);
    expect(existsSync(db)).toBe(false);
    const local = await runCli(['run', sweep, '--db', db, '--local', '--concurrency', '1'], { env });
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(/running 2 on 1 thread;/);
  });

  it('refuses a second writer, keeps finished trials on Ctrl-C and resumes only the rest', async () => {
    const sweep = write('slow.yaml', `name: slow\ntask: noop\nfixed: {noop.sleepMs: 300}\ngrid: {seed: [${Array.from({ length: 24 }, (_, i) => i)}]}\n`);
    const db = join(dir, 'slow.db');
    const child = spawn(process.execPath, [cliPath, 'run', sweep, '--db', db, '--concurrency', '2', '--progress-ms', '50'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Once at least two trials have finished: a second runner on the same file is refused, then Ctrl-C.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (/slow ([2-9]|1\d)\/24/.test(stdout)) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    const second = await runCli(['run', sweep, '--db', db]);
    expect(second.code).toBe(2);
    expect(second.stderr.trim()).toBe(`hypersweep: --db ${db}: another hypersweep run or resume (pid ${child.pid}) is writing this database; wait for it or stop it (one writer per file)`);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(130);
    expect(stdout).toMatch(/SIGINT: stopping/);
    const rows = readTrials(db);
    const done = rows.filter((t) => t.status === 'completed');
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(24);
    expect(rows.filter((t) => t.status !== 'completed').every((t) => t.status === 'queued')).toBe(true);
    const rerun = await runCli(['run', sweep, '--db', db, '--concurrency', '2']);
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`running ${24 - done.length} on 2 threads`);
    const after = readTrials(db);
    expect(after.every((t) => t.status === 'completed')).toBe(true);
    // The trials finished before Ctrl-C were not run again.
    for (const d of done) expect(after.find((t) => t.id === d.id)).toEqual(d);
  });

  it('fails a trial that can never fit at once, without retrying, and exits 1', async () => {
    const sweep = write('cap.yaml', 'name: cap\ntask: sphere\nfixed: {f.width: 4096, g.width: 512, limits.memoryMb: 1}\nretries: 3\n');
    const db = join(dir, 'cap.db');
    const r = await runCli(['run', sweep, '--db', db, '--concurrency', '1']);
    expect(r.code).toBe(1);
    const [row] = readTrials(db);
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row!.error).toMatch(/^MemoryCapError: trial needs about \d+ MB/);
    const status = await runCli(['status', 'cap', '--db', db]);
    expect(status.stdout).toMatch(/failed:\n  t[0-9a-f]{20} after 1 attempt\(s\): MemoryCapError/);
  });

  it.skipIf(hasTfjsNode())('stops with one line when the backend is unavailable, leaving every trial queued', async () => {
    const sweep = write('tf.yaml', 'name: tf\ntask: sphere\nfixed: {f.width: 16, g.width: 8, train.steps: 5, kernels.probe: 4}\ngrid: {seed: [0, 1, 2]}\n');
    const db = join(dir, 'tf.db');
    const r = await runCli(['run', sweep, '--db', db, '--concurrency', '2', '--backend', 'tensorflow']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hypersweep: backend tensorflow is not available/);
    expect(readTrials(db).map((t) => t.status)).toEqual(['queued', 'queued', 'queued']);
  });

  it('retries failures and crashed runners up to `retries`, then records the failure', async () => {
    // A stand-in trial runner speaking the pool protocol: seed 0 succeeds on its second attempt, seed 1 crashes
    // its thread every time, seed 2 succeeds at once.
    const entry = write('flaky-runner.mjs', `
      import { parentPort } from 'node:worker_threads';
      import { appendFileSync, readFileSync, existsSync } from 'node:fs';
      const log = ${JSON.stringify(join(dir, 'flaky.log'))};
      const result = { status: 'completed', metrics: { trainLoss: 1, testLoss: 2, stepsRun: 3, kernel: null }, curve: [[0, 1], [3, 0.5]], backend: 'none', timings: {}, versions: {} };
      parentPort.on('message', (m) => {
        if (m.type !== 'run') return;
        const seen = existsSync(log) ? readFileSync(log, 'utf8').split('\\n').filter((l) => l === m.trialId).length : 0;
        appendFileSync(log, m.trialId + '\\n');
        if (m.config.seed === 1) process.exit(3);
        if (m.config.seed === 0 && seen === 0) parentPort.postMessage({ type: 'failed', trialId: m.trialId, error: { name: 'Error', message: 'flaky', kind: 'retryable' } });
        else parentPort.postMessage({ type: 'done', trialId: m.trialId, result });
      });
      parentPort.postMessage({ type: 'ready', pid: process.pid });
    `);
    const db = join(dir, 'flaky.db');
    const spec = parseSweep('name: flaky\ntask: noop\ngrid: {seed: [0, 1, 2]}\nretries: 2\n', 'flaky.yaml');
    const { out, text } = sink();
    const s = await runLocal({ spec, db, concurrency: 2, entry, out, tty: false, progressMs: 50, handleSignals: false });
    expect(s.counts).toMatchObject({ completed: 2, failed: 1, queued: 0, running: 0 });
    const rows = readTrials(db);
    const ids = expandSweep(spec).map((t) => t.id);
    const bySeed = (seed: number) => rows.find((r) => r.id === ids[seed]);
    expect(bySeed(0)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(bySeed(1)).toMatchObject({ status: 'failed', attempts: 3 });
    expect(bySeed(1)!.error).toMatch(/^Crash: trial runner exited \(code 3\)/);
    expect(bySeed(2)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(text()).toMatch(/attempt 1\/3 failed on local-\d \(Error: flaky\); will retry/);
    const c = new Database(db, { readonly: true });
    expect(c.prepare('select count(*) as n from metric_points').get()).toEqual({ n: 4 });
    c.close();
  });

  it('draws live progress on a TTY (counts, ETA, parallelism, each runner\'s trial) and plain lines otherwise', () => {
    const snap = {
      sweep: 's', total: 10, ranHere: 4, toRun: 10, etaMs: 90_000, workers: 2, elapsedMs: 10_000,
      counts: { queued: 4, running: 2, completed: 3, failed: 1, diverged: 0, cancelled: 0 },
      slots: [
        { id: 'local-1', current: { trialId: 'tabc', startedAt: Date.now() - 3000, progress: { phase: 'train', step: 40, steps: 200, loss: 0.5 } } },
        { id: 'local-2', current: null },
      ],
    };
    const tty = sink();
    const p = new LocalProgress(tty.out, true, 1000);
    p.update(snap);
    p.update(snap);
    const frames = tty.text().split('\x1b[3F\x1b[J'); // the second frame redraws the 3 lines of the first
    expect(frames).toHaveLength(2);
    expect(frames[1]).toBe(frames[0]);
    expect(frames[0]).toMatch(/^s 4\/10 \[#{10}\.{14}\]  completed 3  failed 1  running 2  queued 4  elapsed 10s  ETA 1m30s  2 workers × 1 compute thread\n/);
    expect(frames[0]).toMatch(/\n  local-1: tabc 3s step 40\/200 loss 0\.500\n  local-2: idle\n$/);
    const plain = sink();
    const q = new LocalProgress(plain.out, false, 60_000);
    q.update(snap);
    q.update(snap); // within everyMs: nothing
    q.finish(snap); // always printed
    expect(plain.text().split('\n').filter(Boolean)).toEqual([countsLine(snap), countsLine(snap)]);
    expect(plain.text()).not.toContain('\x1b');
  });
});
