import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Db } from '../../schema/db.js';
import type { TrialStatus } from '../../schema/tables.js';
import { markQueued, markRunning, recordFailure, recordProgress, recordResult } from '../../schema/store.js';
import { zodErrorLine } from '../../core/errors.js';
import {
  CANCELLED_REASON, STALLED_REASON, heartbeatSchema, jobProgressSchema, keys, trialJobDataSchema, trialJobReturnSchema,
  type Heartbeat, type TrialJobData, type TrialJobReturn,
} from '../../core/protocol.js';
import { jobOptions, type EnqueuePolicy } from './enqueue.js';
import { knownTrialStatuses, saveHeartbeats, setAttempts } from './queries.js';

/**
 * The durable result path. A trial's result is its job's return value, kept in BullMQ's completed set;
 * the orchestrator (the single database writer) reads completed and failed jobs in batches, writes them in
 * one immediate transaction, and removes the jobs only after the commit. A crash anywhere leaves the job in
 * Redis, and the next collector writes it again (the writes are idempotent upserts).
 */

export interface CollectorContext {
  db: Db;
  queue: Queue<TrialJobData>;
  conn: Redis;
  prefix: string;
  policy: EnqueuePolicy;
  /** Jobs read per batch. @defaultValue 500 */
  batchSize?: number;
  /** Called after each committed batch of results (benchmarks, tests). */
  onResults?: (batch: CollectedResult[]) => void;
  log: (line: string) => void;
}

export interface CollectedResult {
  trialId: string;
  status: 'completed' | 'diverged';
  /** Milliseconds since the epoch: enqueue (job created), start of the last attempt, job finished, row committed. */
  enqueuedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  committedAt: number;
}

/**
 * The oldest jobs in a finished state whose trials this database knows. Jobs of other databases' trials (another
 * orchestrator on the same prefix) are skipped by paging past them, never touched.
 */
async function fetchMine(
  ctx: CollectorContext,
  state: 'completed' | 'failed',
): Promise<{ mine: Job[]; known: Map<string, TrialStatus> }> {
  const size = ctx.batchSize ?? 500;
  for (let start = 0, pages = 0; pages < 20; start += size, pages++) {
    const jobs = await ctx.queue.getJobs([state], start, start + size - 1, true);
    if (jobs.length === 0) break;
    const known = knownTrialStatuses(ctx.db, jobs.map((j) => j.id ?? ''));
    const mine = jobs.filter((j) => j.id && known.has(j.id));
    if (mine.length > 0) return { mine, known };
  }
  return { mine: [], known: new Map() };
}

/** Read up to one batch of completed jobs, commit their results, remove them. Returns the number handled. */
export async function drainCompleted(ctx: CollectorContext): Promise<number> {
  const { mine } = await fetchMine(ctx, 'completed');
  if (mine.length === 0) return 0;
  const good: Array<{ job: Job; ret: TrialJobReturn }> = [];
  const bad: Array<{ job: Job; error: string }> = [];
  const lost: Job[] = [];
  for (const job of mine) {
    const r = trialJobReturnSchema.safeParse(job.returnvalue);
    if (r.success && r.data.trialId === job.id) good.push({ job, ret: r.data });
    else if (r.success) lost.push(job); // another trial's result under this id: its job hash was lost and reused
    else bad.push({ job, error: zodErrorLine(`trial ${job.id} result payload`, r.error) });
  }
  ctx.db.transaction(
    () => {
      for (const { ret } of good) recordResult(ctx.db, ret.trialId, ret.result, { worker: ret.worker, host: ret.host, code: ret.code ?? null });
      setAttempts(ctx.db, good.map(({ job }) => ({ id: job.id!, attempts: attemptsOf(job) })));
      for (const { job, error } of bad) {
        recordFailure(ctx.db, job.id!, { error, attempts: attemptsOf(job), status: 'failed' });
      }
    },
    { behavior: 'immediate' },
  );
  requeueLost(ctx, lost);
  const committedAt = Date.now();
  await removeJobs(ctx.queue, mine);
  ctx.onResults?.(
    good.map(({ job, ret }) => ({
      trialId: ret.trialId, status: ret.result.status, enqueuedAt: job.timestamp, startedAt: job.processedOn,
      finishedAt: job.finishedOn, committedAt,
    })),
  );
  for (const { error } of bad) ctx.log(`rejected a result: ${error}`);
  return mine.length;
}

/**
 * Read up to one batch of failed jobs. A job that BullMQ failed because it stalled too often (its worker died)
 * was never retried by BullMQ: re-enqueue it, up to the sweep's retries. Others are final: record them.
 */
export async function drainFailed(ctx: CollectorContext): Promise<number> {
  const { mine, known } = await fetchMine(ctx, 'failed');
  if (mine.length === 0) return 0;
  const requeue: Array<{ job: Job; data: TrialJobData; requeues: number }> = [];
  const final: Array<{ job: Job; error: string; status: 'failed' | 'cancelled' }> = [];
  const lost: Job[] = [];
  for (const job of mine) {
    const reason = job.failedReason ?? 'unknown failure';
    const parsed = trialJobDataSchema.safeParse(job.data);
    const requeues = parsed.success ? (parsed.data.requeues ?? 0) : 0;
    const status = known.get(job.id!);
    if (status === 'completed' || status === 'diverged') continue; // an earlier attempt's result is stored
    if (payloadLost(job.data)) lost.push(job);
    else if (isLostReason(reason) && parsed.success && requeues < ctx.policy.retries + 1) {
      requeue.push({ job, data: parsed.data, requeues });
    } else if (reason === CANCELLED_REASON) {
      final.push({ job, error: 'cancelled while running', status: 'cancelled' });
    } else {
      const lost = isLostReason(reason) ? ` (worker lost ${requeues + 1} times)` : '';
      final.push({ job, error: `${reason.split('\n')[0]}${lost}`, status: 'failed' });
    }
  }
  if (final.length > 0) {
    ctx.db.transaction(
      () => {
        for (const { job, error, status } of final) recordFailure(ctx.db, job.id!, { error, attempts: attemptsOf(job), status });
      },
      { behavior: 'immediate' },
    );
    for (const { job, error } of final) ctx.log(`trial ${job.id} ${error.startsWith('cancelled') ? 'cancelled' : 'failed'}: ${error}`);
  }
  requeueLost(ctx, lost);
  await removeJobs(ctx.queue, mine);
  for (const { job, data, requeues } of requeue) {
    // The stale failed job is removed above: a custom job id is ignored while any job with that id exists.
    await ctx.queue.add('trial', { ...data, requeues: requeues + 1 }, jobOptions(job.id!, ctx.policy));
    ctx.log(`trial ${job.id}: its worker was lost; re-enqueued (${requeues + 1}/${ctx.policy.retries + 1})`);
  }
  return mine.length;
}

/**
 * Runs of a trial so far: every start of this job (BullMQ counts restarts after a stall in attemptsStarted, not in
 * attemptsMade) plus one per earlier job the orchestrator replaced after BullMQ failed it for stalling.
 */
export function attemptsOf(job: Job): number {
  const parsed = trialJobDataSchema.safeParse(job.data);
  const requeues = parsed.success ? (parsed.data.requeues ?? 0) : 0;
  return Math.max(1, job.attemptsStarted) + requeues;
}

/**
 * A job whose hash was lost while its id stayed in a list: BullMQ recreates a hash without payload when a worker
 * takes the id, and the sandbox rejects it. Not the trial's failure.
 */
function payloadLost(data: unknown): boolean {
  return data === null || data === undefined || (typeof data === 'object' && !('trialId' in data));
}

/** Trials whose job lost its state: back to `queued`; the next reconcile finds them without a job and re-adds them. */
function requeueLost(ctx: CollectorContext, jobs: Job[]): void {
  if (jobs.length === 0) return;
  markQueued(ctx.db, jobs.map((j) => j.id!));
  for (const job of jobs) ctx.log(`trial ${job.id}: its job's state was lost in Redis; re-enqueued`);
}

/** A failure caused by a lost worker, not by the trial. */
export function isLostReason(reason: string): boolean {
  return reason.includes(STALLED_REASON) || reason.includes('job started more than allowable limit');
}

async function removeJobs(queue: Queue, jobs: Job[]): Promise<void> {
  // A job whose lock is held cannot be removed; that only happens if it was retried meanwhile, so skip it.
  await Promise.all(jobs.map((j) => queue.remove(j.id!).catch(() => 0)));
}

/** Active jobs of this database's trials: mark them running with their worker; returns them for the progress view. */
export async function syncActive(
  ctx: CollectorContext,
): Promise<Array<{ trialId: string; worker: string; progress: unknown }>> {
  const jobs = await ctx.queue.getJobs(['active'], 0, 999, true);
  const known = knownTrialStatuses(ctx.db, jobs.map((j) => j.id ?? ''));
  const running: Array<{ trialId: string; worker: string; progress: unknown }> = [];
  const toMark: Job[] = [];
  for (const job of jobs) {
    const status = job.id ? known.get(job.id) : undefined;
    if (status === undefined) continue;
    running.push({ trialId: job.id!, worker: job.processedBy ?? '?', progress: job.progress });
    if (status === 'queued') toMark.push(job);
  }
  if (toMark.length > 0) {
    ctx.db.transaction(
      () => {
        for (const job of toMark) {
          const worker = job.processedBy ?? 'unknown';
          markRunning(ctx.db, job.id!, { worker, host: hostOf(worker), attempt: attemptsOf(job) });
        }
      },
      { behavior: 'immediate' },
    );
  }
  // The partial curves for the dashboard: the chunk each job reported since its previous update.
  for (const job of jobs) {
    const p = jobProgressSchema.safeParse(job.progress);
    if (p.success && p.data.curve.length > 0 && job.id) recordProgress(ctx.db, job.id, p.data.curve);
  }
  return running;
}

/** Worker ids are `host-pid-rand`. */
function hostOf(worker: string): string {
  return worker.replace(/-\d+-[0-9a-f]+$/, '');
}

/** Copy the workers' heartbeats from Redis into the workers table; drop hash entries silent for 10 minutes. */
export async function syncHeartbeats(ctx: CollectorContext): Promise<Heartbeat[]> {
  const raw = await ctx.conn.hgetall(keys.workers(ctx.prefix));
  const beats: Heartbeat[] = [];
  const stale: string[] = [];
  for (const [id, text] of Object.entries(raw)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const r = heartbeatSchema.safeParse(value);
    if (!r.success) continue;
    if (Date.now() - r.data.heartbeatAt > 10 * 60_000) stale.push(id);
    else beats.push(r.data);
  }
  if (stale.length > 0) await ctx.conn.hdel(keys.workers(ctx.prefix), ...stale);
  if (beats.length > 0) saveHeartbeats(ctx.db, beats);
  return beats;
}
