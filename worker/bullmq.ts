/**
 * `hypersweep worker`: a BullMQ Worker on the `trials` queue whose processor is the sandboxed file
 * worker/sandbox.js (child processes by default, worker threads on request). Trials never run on this
 * process's event loop, so job locks are always renewed. Heartbeats go to a Redis hash the orchestrator
 * copies into the workers table; `cancel --kill` requests are polled from a Redis set.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Child, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createConnection, redactUrl, type RedisTarget } from '../core/redis.js';
import { TRIALS_QUEUE, keys, type Heartbeat } from '../core/protocol.js';

export interface TrialWorkerOptions {
  target: RedisTarget;
  /** Trials run at once, each in its own sandbox. @defaultValue 1 */
  concurrency?: number;
  /** Compute backend handed to executeTrial (wasm, cpu, webgpu, …); undefined: its default. */
  backend?: string;
  /** Run sandboxes as worker threads instead of child processes. @defaultValue false */
  threads?: boolean;
  /** Milliseconds a job lock lasts without renewal before the job counts as stalled. @defaultValue 30000 */
  lockDurationMs?: number;
  /** Milliseconds between stalled-job checks. @defaultValue 30000 */
  stalledIntervalMs?: number;
  /**
   * Stalls (lost lock) a trial may have before BullMQ fails it instead of re-queueing it; the orchestrator then
   * re-enqueues it from the database. @defaultValue 1
   */
  maxStalledCount?: number;
  /** Milliseconds between heartbeats and cancel polls. @defaultValue 2000 */
  heartbeatMs?: number;
  /** Milliseconds graceful shutdown waits for running trials before abandoning them (they are retried). @defaultValue 30000 */
  shutdownTimeoutMs?: number;
  /** Lines of log output (worker start, trial done/failed). */
  log?: (line: string) => void;
}

export interface TrialWorkerHandle {
  id: string;
  /**
   * Stop taking trials and wait for running ones up to the deadline. Past it, running trials are abandoned
   * (`abandoned` > 0): the caller must then exit the process, which ends their sandboxes.
   */
  close(): Promise<{ abandoned: number }>;
  /** Resolves once the worker is connected and waiting for trials. */
  ready: Promise<void>;
}

const guarded = Symbol.for('hypersweep.guardSandboxStart');

/**
 * BullMQ 6.7's sandbox pool hangs a job for good when its child process dies while starting (before it reports
 * its processor loaded): Child's exit handler drops every listener, including the one that would reject the
 * start, so the job stays active and its lock keeps being renewed by this live process; no stall check ever
 * frees it. This makes a child's exit during start reject the start, so the job fails with a retryable error
 * and is retried like a trial whose sandbox died mid-run. Applied once per process; a BullMQ without that
 * private method is left as it is.
 */
export function guardSandboxStart(): boolean {
  const proto = Child.prototype as unknown as {
    initChild?: (this: Child) => Promise<void>;
    [guarded]?: true;
  };
  const original = proto.initChild;
  if (typeof original !== 'function') return false;
  if (proto[guarded]) return true;
  proto.initChild = function (this: Child): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) =>
        reject(new Error(`sandbox exited while starting (code ${String(code)}, signal ${String(signal)})`));
      this.once('exit', onExit);
      original.call(this).then(resolve, reject).finally(() => this.off('exit', onExit));
    });
  };
  proto[guarded] = true;
  return true;
}
/** The compiled sandboxed processor (dist/worker/sandbox.js beside this file). */
export function sandboxFile(): string {
  const file = fileURLToPath(new URL('./sandbox.js', import.meta.url));
  if (!existsSync(file)) throw new Error(`sandboxed processor ${file} is missing: run \`npm run build\``);
  return file;
}

export function startTrialWorker(opts: TrialWorkerOptions): TrialWorkerHandle {
  const o = {
    concurrency: 1, threads: false, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1, heartbeatMs: 2000,
    shutdownTimeoutMs: 30_000, log: (line: string) => console.log(line), ...opts,
  };
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new RangeError('concurrency must be an integer ≥ 1');
  const host = hostname();
  const id = `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const startedAt = Date.now();
  const env = { ...process.env, HYPERSWEEP_WORKER_ID: id, ...(o.backend ? { HYPERSWEEP_BACKEND: o.backend } : {}) };

  if (!guardSandboxStart()) o.log('warning: this BullMQ has no Child.initChild to guard: a sandbox that dies while starting can leave its job active for good (the guard is written for bullmq 6.7.0, the pinned version)');
  const connection = createConnection(o.target.url, { blocking: true });
  const control: Redis = createConnection(o.target.url);
  const worker = new Worker(TRIALS_QUEUE, sandboxFile(), {
    connection,
    prefix: o.target.prefix,
    name: id,
    concurrency: o.concurrency,
    useWorkerThreads: o.threads,
    workerForkOptions: { env },
    workerThreadsOptions: { env },
    lockDuration: o.lockDurationMs,
    stalledInterval: o.stalledIntervalMs,
    maxStalledCount: o.maxStalledCount,
    autorun: true,
  });

  const current = new Set<string>();
  worker.on('active', (job: Job) => job.id && current.add(job.id));
  worker.on('completed', (job: Job) => {
    if (job.id) current.delete(job.id);
  });
  worker.on('failed', (job: Job | undefined, err: Error) => {
    if (job?.id) current.delete(job.id);
    o.log(`trial ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message.split('\n')[0]}`);
  });
  let lastError = '';
  worker.on('error', (err: Error) => {
    // Connection drops and a wiped prefix surface here; BullMQ keeps going. Log each distinct error once.
    if (err.message !== lastError) o.log(`worker error: ${err.message.split('\n')[0]}`);
    lastError = err.message;
  });

  const beat = async (): Promise<void> => {
    const hb: Heartbeat = {
      v: 1, id, host, pid: process.pid, backend: o.backend ?? null, concurrency: o.concurrency,
      current: [...current], startedAt, heartbeatAt: Date.now(),
    };
    await control.hset(keys.workers(o.target.prefix), id, JSON.stringify(hb));
    if (current.size > 0) {
      const ids = [...current];
      const flags = await control.smismember(keys.cancel(o.target.prefix), ...ids);
      ids.forEach((trial, i) => {
        if (flags[i] === 1 && worker.cancelJob(trial, 'cancelled')) o.log(`trial ${trial}: cancel requested, aborting`);
      });
    }
  };
  const timer = setInterval(() => void beat().catch(() => {}), o.heartbeatMs);
  const ready = worker.waitUntilReady().then(async () => {
    await beat().catch(() => {});
    o.log(`worker ${id} ready on ${redactUrl(o.target.url)} prefix ${o.target.prefix}, concurrency ${o.concurrency}` +
      `${o.backend ? `, backend ${o.backend}` : ''} (${o.threads ? 'worker threads' : 'child processes'})`);
  });

  let closing: Promise<{ abandoned: number }> | undefined;
  let abandoned = 0;
  const close = (): Promise<{ abandoned: number }> =>
    (closing ??= (async () => {
      clearInterval(timer);
      let timedOut = false;
      const deadline = new Promise<void>((resolve) =>
        setTimeout(() => ((timedOut = true), resolve()), o.shutdownTimeoutMs).unref(),
      );
      await Promise.race([worker.close(), deadline]);
      if (timedOut) {
        // The caller exits the process: sandboxes die with it (children exit on disconnect), the job locks
        // expire, and another worker's stall check re-queues the trials.
        abandoned = current.size;
        o.log(`shutdown deadline (${o.shutdownTimeoutMs} ms) passed: abandoning ${abandoned} running trial(s); they will be retried`);
      }
      await control.hdel(keys.workers(o.target.prefix), id).catch(() => {});
      control.disconnect();
      if (!timedOut) connection.disconnect();
      return { abandoned };
    })());

  return { id, close, ready };
}
