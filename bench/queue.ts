/**
 * `npm run bench:queue`: N no-op trials (sleepMs 0) end to end through Redis with 2 worker processes started
 * through the CLI, from enqueue to the row committed in SQLite. Prints trials/s and per-trial latency
 * percentiles. Environment: BENCH_N (default 3000), BENCH_CONCURRENCY (sandboxes per worker, default 2),
 * BENCH_WORKERS (default 2), BENCH_THREADS=1 (worker threads instead of child processes), REDIS_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { runDistributed } from '../orchestrator/distributed/session.js';
import type { CollectedResult } from '../orchestrator/distributed/collector.js';
import { sweepSpecSchema } from '../orchestrator/sweep.js';

const n = Number(process.env.BENCH_N ?? 3000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 2);
const nWorkers = Number(process.env.BENCH_WORKERS ?? 2);
const threads = process.env.BENCH_THREADS === '1';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `hsbench-${randomBytes(3).toString('hex')}`;
const cli = fileURLToPath(new URL('../../bin/hypersweep.js', import.meta.url));

function startWorker(): Promise<ChildProcess> {
  const args = [cli, 'worker', '--redis', redisUrl, '--prefix', prefix, '--concurrency', String(concurrency)];
  if (threads) args.push('--threads');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/ready on/.test(out)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${out}`)));
  });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function wipe(): Promise<void> {
  const r = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hypersweep-bench-'));
  const workers: ChildProcess[] = [];
  try {
    // Warm up the sandboxes (child processes are forked on first use) with a small sweep first.
    for (let i = 0; i < nWorkers; i++) workers.push(await startWorker());
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    const spec = (name: string, count: number, offset: number) =>
      sweepSpecSchema.parse({
        name, task: 'noop', fixed: { 'noop.sleepMs': 0 },
        grid: { seed: Array.from({ length: count }, (_, i) => offset + i) },
      });
    await runDistributed({ spec: spec('warmup', 4 * nWorkers * concurrency, 1_000_000), db: join(dir, 'b.db'), redisUrl, prefix, out: quiet, handleSignals: false });

    const results: CollectedResult[] = [];
    const t0 = Date.now();
    const summary = await runDistributed({
      spec: spec('bench', n, 0), db: join(dir, 'b.db'), redisUrl, prefix, out: quiet, handleSignals: false,
      onResults: (batch) => results.push(...batch),
    });
    const seconds = (Date.now() - t0) / 1000;
    if (summary.counts.completed !== n) throw new Error(`expected ${n} completed trials, got ${JSON.stringify(summary.counts)}`);
    const lat = (f: (r: CollectedResult) => number | undefined) => results.map(f).filter((x): x is number => x !== undefined);
    const row = (label: string, xs: number[]) =>
      `  ${label.padEnd(40)} p50 ${pct(xs, 50).toFixed(1).padStart(8)} ms   p99 ${pct(xs, 99).toFixed(1).padStart(8)} ms`;
    console.log(`bench:queue — ${n} noop trials, ${nWorkers} worker processes × ${concurrency} ${threads ? 'worker threads' : 'sandbox child processes'}, Redis ${redisUrl}`);
    console.log(`  throughput (enqueue → last row committed)  ${(n / seconds).toFixed(0)} trials/s  (${seconds.toFixed(2)} s)`);
    console.log(row('one trial in a worker (start → done)', lat((r) => (r.finishedAt && r.startedAt ? r.finishedAt - r.startedAt : undefined))));
    console.log(row('done → row committed (collector)', lat((r) => (r.finishedAt ? r.committedAt - r.finishedAt : undefined))));
    console.log(row('queue wait (enqueued → started)', lat((r) => (r.startedAt ? r.startedAt - r.enqueuedAt : undefined))));
    console.log(row('end to end (enqueued → committed)', lat((r) => r.committedAt - r.enqueuedAt)));
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.on('exit', r)))));
    await wipe();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
