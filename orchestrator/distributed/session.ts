import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeDb, openDb, type Db } from '../../schema/db.js';
import { getSweep, markQueued, pendingTrials, sweepCounts, sweepTrialRows, upsertSweep, type StatusCounts } from '../../schema/store.js';
import { HypersweepError, parseOrThrow } from '../../core/errors.js';
import { canonicalConfig } from '../../core/identity.js';
import type { TrialConfig } from '../../core/config.js';
import { loadSweep, sweepSpecSchema, type SweepSpec } from '../sweep.js';
import { expandSweep, type ExpandedTrial } from '../expand.js';
import { drainCompleted, drainFailed, syncActive, syncHeartbeats, type CollectedResult, type CollectorContext } from './collector.js';
import { enqueueTrials, jobStates, type EnqueuePolicy } from './enqueue.js';
import { claimWriter } from '../writer-lock.js';
import { bindSweepName } from '../sweep-binding.js';
import { ProgressView, type ProgressSnapshot } from './progress.js';
import { handleStale } from '../stale.js';
import { timingRows } from '../../schema/cost-samples.js';
import { timeModelFor, trialSeconds } from '../cost-model.js';
import { EtaEstimator } from '../eta.js';
import { TRIALS_QUEUE, keys, type Heartbeat, type TrialJobData } from '../../core/protocol.js';
import { assertRedisReachable, checkRedisUrl, createConnection, redactUrl, resolveRedisTarget, type RedisTarget } from '../../core/redis.js';

/** Options shared by `run --redis` and `resume`. */
export interface SessionOptions {
  /** Results database file. @defaultValue './hypersweep.db' */
  db?: string;
  /** Redis URL (`--redis` / REDIS_URL). */
  redisUrl: string;
  /** BullMQ prefix (`--prefix` / HYPERSWEEP_PREFIX). @defaultValue 'hypersweep' */
  prefix?: string;
  /** Milliseconds between plain progress lines (not on a TTY). @defaultValue 5000 */
  progressMs?: number;
  /** Milliseconds the collector sleeps when Redis has nothing new. @defaultValue 50 */
  pollMs?: number;
  /** Milliseconds between checks that every unfinished trial still has a job in Redis. @defaultValue 5000 */
  reconcileMs?: number;
  /** Stop (leaving the sweep resumable) on SIGINT/SIGTERM. @defaultValue true */
  handleSignals?: boolean;
  /** Where progress goes. @defaultValue process.stdout */
  out?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Redraw progress in place. @defaultValue out.isTTY */
  tty?: boolean;
  /** Called after each committed batch of results. */
  onResults?: (batch: CollectedResult[]) => void;
  /** Stop early (tests, embedding). */
  signal?: AbortSignal;
  /** Re-queue finished trials whose stored result other code produced (`run --rerun-stale`). @defaultValue false */
  rerunStale?: boolean;
}

export interface RunDistributedOptions extends SessionOptions {
  /** A sweep file to load, or an already parsed spec. */
  sweepPath?: string;
  spec?: SweepSpec;
  /** Rebind a sweep name stored with a different spec to this one (`--replace`). @defaultValue false */
  replace?: boolean;
}

export interface DistributedSummary {
  sweep: string;
  counts: StatusCounts;
  /** Trials new to the database (run only). */
  added: number;
  /** Jobs added to Redis by this session (first enqueue, re-enqueues after loss). */
  enqueued: number;
  /** Stopped by a signal before the sweep finished: resume it with `hypersweep resume`. */
  interrupted: boolean;
  elapsedMs: number;
}

/**
 * `hypersweep run SWEEP --redis URL`: record the sweep and its trials, enqueue every unfinished trial that has
 * no job in Redis, then collect results into the database until no trial is queued or running.
 * Checks the Redis URL and reachability before touching the database.
 */
export async function runDistributed(opts: RunDistributedOptions): Promise<DistributedSummary> {
  const target = await checkTarget(opts);
  const spec = opts.spec ?? (opts.sweepPath !== undefined ? loadSweep(opts.sweepPath) : undefined);
  if (!spec) throw new HypersweepError('run: give a sweep file');
  const trials = expandSweep(spec, opts.sweepPath ?? spec.name);
  const file = opts.db ?? './hypersweep.db';
  const db = openDb(file, { migrate: true });
  try {
    const release = claimWriter(db, file);
    try {
      bindSweepName(db, spec, trials, { replace: opts.replace ?? false, file });
      const { added } = upsertSweep(db, spec, trials);
      return { ...(await new DistributedSession(db, spec, trials, target, opts).run(false)), added };
    } finally {
      release();
    }
  } finally {
    closeDb(db);
  }
}

export interface ResumeOptions extends SessionOptions {
  sweep: string;
}

/**
 * `hypersweep resume SWEEP`: collect what Redis already holds, then re-enqueue every trial of the sweep that is
 * neither completed/diverged nor genuinely waiting or running in Redis (failed and cancelled ones included), and
 * collect until done.
 */
export async function resumeDistributed(opts: ResumeOptions): Promise<DistributedSummary> {
  const target = await checkTarget(opts);
  const file = opts.db ?? './hypersweep.db';
  const db = openDb(file, { migrate: true, mustExist: true });
  const release = claimWriter(db, file);
  try {
    const row = getSweep(db, opts.sweep);
    if (!row) throw new HypersweepError(`resume: no sweep named "${opts.sweep}" in ${file}`);
    const spec = parseOrThrow(sweepSpecSchema, row.spec, `${file}: sweep ${opts.sweep}`);
    const trials: ExpandedTrial[] = sweepTrialRows(db, opts.sweep).map((t) => ({
      id: t.id, config: canonicalConfig(t.config, `${file}: trial ${t.id}`), axes: {},
    }));
    return { ...(await new DistributedSession(db, spec, ranked(spec, trials), target, opts).run(true)), added: 0 };
  } finally {
    release();
    closeDb(db);
  }
}

async function checkTarget(opts: SessionOptions): Promise<RedisTarget> {
  checkRedisUrl(opts.redisUrl);
  const target = resolveRedisTarget({ redis: opts.redisUrl, prefix: opts.prefix });
  if (!target) throw new HypersweepError('--redis: missing');
  await assertRedisReachable(target.url);
  return target;
}

/** Small-first sweeps: re-rank stored trials the way expandSweep orders them. */
function ranked(spec: SweepSpec, trials: ExpandedTrial[]): ExpandedTrial[] {
  if (spec.order !== 'small-first') return trials;
  const order = new Map(expandSweep(spec).map((t, i) => [t.id, i]));
  return [...trials].sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity));
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * One orchestrator session on a sweep: the BullMQ queue and connection, the enqueueing of trials without a job,
 * and the collect loop writing results to the database until no trial is queued or running (or a stop).
 */
class DistributedSession {
  private readonly t0 = Date.now();
  private readonly out: NodeJS.WriteStream | NodeJS.WritableStream;
  private readonly view: ProgressView;
  private readonly abort = new AbortController();
  private signals = 0;
  private readonly conn: Redis;
  private readonly queue: Queue<TrialJobData>;
  private readonly policy: EnqueuePolicy;
  private readonly ctx: CollectorContext;
  private readonly configs: Map<string, TrialConfig>;
  private enqueued = 0;
  private counts: StatusCounts;
  private initialFinished: number;
  private running: Array<{ trialId: string; worker: string; progress: unknown }> = [];
  private workers: Heartbeat[] = [];
  /** The ETA (same model as plan): built once the queue is reconciled. */
  private eta: EtaEstimator | null = null;
  private etaFinished = -1;

  constructor(
    private readonly db: Db,
    private readonly spec: SweepSpec,
    trials: ExpandedTrial[],
    private readonly target: RedisTarget,
    private readonly opts: SessionOptions,
  ) {
    this.out = opts.out ?? process.stdout;
    const tty = opts.tty ?? ('isTTY' in this.out && this.out.isTTY === true);
    this.view = new ProgressView(this.out, tty, opts.progressMs ?? 5000);
    this.conn = createConnection(target.url);
    this.queue = new Queue<TrialJobData>(TRIALS_QUEUE, { connection: this.conn, prefix: target.prefix });
    this.queue.on('error', () => {}); // connection errors surface through the calls that fail
    this.policy = {
      retries: spec.retries,
      rank: spec.order === 'small-first' ? new Map(trials.map((t, i) => [t.id, i])) : undefined,
    };
    this.ctx = { db, queue: this.queue, conn: this.conn, prefix: target.prefix, policy: this.policy, onResults: opts.onResults, log: (l) => this.log(l) };
    this.configs = new Map(trials.map((t) => [t.id, t.config]));
    this.counts = sweepCounts(db, spec.name);
    this.initialFinished = finished(this.counts);
  }

  private log(line: string): void {
    this.out.write(`${line}\n`);
  }

  /** Collect until the sweep is done or stopped; `retryFinal` (resume) re-queues failed and cancelled trials first. */
  async run(retryFinal: boolean): Promise<Omit<DistributedSummary, 'added'>> {
    const { spec, target, opts } = this;
    if (opts.signal) opts.signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    const onSignal = (sig: NodeJS.Signals) => this.onSignal(sig);
    if (opts.handleSignals ?? true) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    try {
      await this.queue.waitUntilReady();
      await warnIfEvicting(this.conn, (l) => this.log(l));
      // Results that reached Redis while no orchestrator was running are written first.
      while ((await drainCompleted(this.ctx)) + (await drainFailed(this.ctx)) > 0) { /* drain */ }
      // After the drain, so a result still waiting in Redis is judged (and re-run) like any stored one.
      if (handleStale(this.db, spec.name, opts.rerunStale ?? false, (l) => this.log(l)).requeued > 0) {
        this.counts = sweepCounts(this.db, spec.name);
        this.initialFinished = finished(this.counts);
      }
      if (retryFinal) await this.requeueFinal();
      await this.reconcile();
      this.startEta();
      this.log(`${spec.name}: ${this.counts.total} trials, ${this.enqueued} enqueued on ${redactUrl(target.url)} prefix ${target.prefix}`);
      await this.collect();
      this.counts = sweepCounts(this.db, spec.name);
      this.view.finish(this.snapshot());
      const unfinished = this.counts.queued + this.counts.running;
      const interrupted = unfinished > 0;
      // Stopped by SIGINT/SIGTERM: the conventional exit status, whatever command embeds this session.
      if (interrupted && this.signals > 0) process.exitCode = 130;
      if (interrupted) this.log(`${spec.name}: stopped with ${unfinished} trial(s) unfinished; continue with \`hypersweep resume ${spec.name}\``);
      return { sweep: spec.name, counts: this.counts, enqueued: this.enqueued, interrupted, elapsedMs: Date.now() - this.t0 };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await this.queue.close().catch(() => {});
      this.conn.disconnect();
    }
  }

  private onSignal(sig: NodeJS.Signals): void {
    this.signals += 1;
    if (this.signals > 1) process.exit(130);
    this.log(`${sig}: stopping; every unfinished trial stays in Redis and the database (press Ctrl-C again to quit now)`);
    this.abort.abort();
  }

  private async requeueFinal(): Promise<void> {
    const again = pendingTrials(this.db, this.spec.name).filter((t) => t.status === 'failed' || t.status === 'cancelled');
    if (again.length === 0) return;
    await this.conn.srem(keys.cancel(this.target.prefix), ...again.map((t) => t.id));
    markQueued(this.db, again.map((t) => t.id));
    this.log(`resume: retrying ${again.length} failed or cancelled trial(s)`);
  }

  /**
   * Reconcile the database's unfinished trials with their jobs' BullMQ states (docs/distributed.md has the table):
   * a trial without a job, or whose job hash is in no BullMQ list or set (an orphan: the list was lost), is
   * enqueued again; an orphan that had finished goes back to the completed or failed set to be collected; waiting,
   * active, delayed and prioritized jobs are left to the workers; completed and failed ones to the drains.
   */
  private async reconcile(): Promise<void> {
    const open = pendingTrials(this.db, this.spec.name).filter((t) => t.status === 'queued' || t.status === 'running');
    const states = await jobStates(this.conn, this.target.prefix, open.map((t) => t.id));
    const again: typeof open = [];
    let refiled = 0;
    for (const t of open) {
      const st = states.get(t.id)!;
      if (st.state === 'missing') again.push(t);
      else if (st.state === 'orphan' && !st.locked) {
        if (await this.refile(t.id, st.finished)) refiled += 1;
        else again.push(t);
      }
    }
    if (refiled > 0) this.log(`reconcile: ${refiled} finished job(s) found in no BullMQ set, filed back for collection`);
    if (again.length === 0) return;
    const orphans = again.filter((t) => states.get(t.id)!.state === 'orphan');
    // An orphaned hash blocks a new job with the same id: remove it first (it holds no lock, no worker runs it).
    for (const t of orphans) await this.queue.remove(t.id);
    if (orphans.length > 0) this.log(`reconcile: ${orphans.length} job(s) in no BullMQ list (lost wait list?) re-added`);
    const list = again.map((t) => ({ id: t.id, config: this.configs.get(t.id) ?? canonicalConfig(t.config, `trial ${t.id}`) }));
    const stale = again.filter((t) => t.status === 'running').map((t) => t.id);
    if (stale.length > 0) markQueued(this.db, stale);
    this.enqueued += await enqueueTrials(this.queue, this.spec.name, list, this.policy);
  }

  /** An orphaned job that had finished: put it back into its completed or failed set. False if it had not finished. */
  private async refile(id: string, finished: 'completed' | 'failed' | undefined): Promise<boolean> {
    if (finished === undefined) return false;
    const set = `${this.target.prefix}:${TRIALS_QUEUE}:${finished}`;
    await this.conn.zadd(set, Date.now(), id);
    return true;
  }

  /** The trials left, each with the time model's seconds (a fit on every host's trials in this database). */
  private startEta(): void {
    const model = timeModelFor(timingRows(this.db), null);
    const open = pendingTrials(this.db, this.spec.name).filter((t) => t.status === 'queued' || t.status === 'running');
    const rank = this.policy.rank;
    if (rank) open.sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
    this.eta = new EtaEstimator(new Map(open.map((t) => [t.id, trialSeconds(model, this.configs.get(t.id) ?? t.config)])), 1);
  }

  /** Feed the ETA what changed (trials started, trials finished, worker slots) and read it. */
  private etaMs(): number | null {
    const eta = this.eta;
    if (!eta) return null;
    const now = Date.now();
    eta.workers = Math.max(1, this.workers.reduce((s, w) => s + w.concurrency, 0));
    for (const r of this.running) if (!eta.isRunning(r.trialId)) eta.started(r.trialId, now);
    const done = finished(this.counts);
    if (done !== this.etaFinished) {
      this.etaFinished = done;
      const open = new Set(pendingTrials(this.db, this.spec.name).filter((t) => t.status === 'queued' || t.status === 'running').map((t) => t.id));
      for (const id of eta.unfinished()) if (!open.has(id)) eta.finished(id, now);
    }
    return eta.etaMs(now);
  }

  private snapshot(): ProgressSnapshot {
    return {
      sweep: this.spec.name, counts: this.counts, finishedHere: finished(this.counts) - this.initialFinished,
      elapsedMs: Date.now() - this.t0, running: this.running, workers: this.workers,
      progress: new Map(this.running.map((r) => [r.trialId, r.progress])),
      etaMs: this.etaMs(),
    };
  }

  /** The collect loop: drain results, sync running trials and heartbeats each second, reconcile now and then. */
  private async collect(): Promise<void> {
    const { opts } = this;
    let lastReconcile = Date.now();
    let lastSync = 0;
    let redisDown = '';
    while (!this.abort.signal.aborted) {
      let n = 0;
      try {
        n = (await drainCompleted(this.ctx)) + (await drainFailed(this.ctx));
        const now = Date.now();
        if (now - lastSync >= 1000) {
          lastSync = now;
          this.running = await syncActive(this.ctx);
          this.workers = await syncHeartbeats(this.ctx);
        }
        if (now - lastReconcile >= (opts.reconcileMs ?? 5000)) {
          lastReconcile = now;
          await this.reconcile();
        }
        if (redisDown) this.log('Redis is back; collecting again');
        redisDown = '';
      } catch (err) {
        // Redis went away (restart, network): keep the sweep, wait and retry. Anything else is a bug.
        if (this.conn.status === 'ready' && !isRedisError(err)) throw err;
        const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        if (msg !== redisDown) this.log(`Redis unavailable (${msg}); retrying (Ctrl-C stops, the sweep stays resumable)`);
        redisDown = msg;
        await sleep(1000, this.abort.signal);
        continue;
      }
      this.counts = sweepCounts(this.db, this.spec.name);
      if (this.counts.queued + this.counts.running === 0) break;
      this.view.update(this.snapshot());
      if (n === 0) await sleep(opts.pollMs ?? 50, this.abort.signal);
    }
  }
}

function finished(c: StatusCounts): number {
  return c.completed + c.diverged + c.failed + c.cancelled;
}

/** Jobs are state: a Redis that evicts keys under memory pressure loses trials silently. CONFIG may be disabled. */
async function warnIfEvicting(conn: Redis, log: (line: string) => void): Promise<void> {
  try {
    const r = (await conn.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    const policy = r[1];
    if (policy && policy !== 'noeviction') {
      log(`warning: Redis maxmemory-policy is ${policy}; set noeviction (queued trials could be evicted)`);
    }
  } catch {
    // Managed Redis often forbids CONFIG: nothing to check.
  }
}

function isRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /ReplyError|MaxRetriesPerRequest|Redis|Connection/i.test(err.name) || /ECONN|Connection is closed|ETIMEDOUT|EPIPE/.test(err.message);
}
