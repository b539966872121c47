import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrialConfig } from '../../core/config.js';
import { TRIALS_QUEUE, keys, type TrialJobData } from '../../core/protocol.js';

/** BullMQ's largest priority (lower runs first). */
const MAX_PRIORITY = 2_097_152;

export interface EnqueuePolicy {
  /** The sweep's `retries`: a trial gets retries + 1 attempts. */
  retries: number;
  /** Priority by rank in the sweep's order (small-first sweeps only): trial id → 0-based rank. */
  rank?: Map<string, number>;
  /** Base delay of the exponential retry backoff. @defaultValue 1000 */
  backoffMs?: number;
}

export interface TrialToQueue {
  id: string;
  config: TrialConfig;
}

/** Job options of one trial: job id = trial id, attempts = retries + 1, exponential backoff, kept until collected. */
export function jobOptions(trialId: string, policy: EnqueuePolicy): JobsOptions {
  const rank = policy.rank?.get(trialId);
  return {
    jobId: trialId,
    attempts: policy.retries + 1,
    backoff: { type: 'exponential', delay: policy.backoffMs ?? 1000 },
    // Results are job return values: the orchestrator removes a job after committing it to the database.
    removeOnComplete: false,
    removeOnFail: false,
    ...(rank !== undefined ? { priority: Math.min(rank + 1, MAX_PRIORITY) } : {}),
  };
}

/** Add trials as jobs in chunks (addBulk). A trial whose job id already exists in Redis is silently kept as is. */
export async function enqueueTrials(
  queue: Queue<TrialJobData>,
  sweep: string,
  trials: TrialToQueue[],
  policy: EnqueuePolicy,
): Promise<number> {
  const chunk = 500;
  for (let i = 0; i < trials.length; i += chunk) {
    await queue.addBulk(
      trials.slice(i, i + chunk).map((t) => ({
        name: 'trial',
        data: { v: 1 as const, trialId: t.id, sweep, config: t.config },
        opts: jobOptions(t.id, policy),
      })),
    );
  }
  return trials.length;
}

/**
 * Where a trial's job is in BullMQ: one of its lists or sets, `missing` (no job hash), or `orphan` (a job hash
 * in no list or set: the list holding it was lost). For an orphan, `locked` says to leave it alone (a worker holds
 * its lock, or it moved into a list while we looked), `finished` whether it had completed (return value kept) or failed.
 */
export type JobState =
  | { state: 'wait' | 'paused' | 'active' | 'delayed' | 'prioritized' | 'waiting-children' | 'completed' | 'failed' | 'missing' }
  | { state: 'orphan'; locked: boolean; finished: 'completed' | 'failed' | undefined };

const zsets = ['delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
const lists = ['wait', 'paused', 'active'] as const;

/** The BullMQ state of each trial's job (whole lists read once; per id, pipelined EXISTS and ZSCOREs). */
export async function jobStates(conn: Redis, prefix: string, ids: string[]): Promise<Map<string, JobState>> {
  const base = `${prefix}:${TRIALS_QUEUE}`;
  const inList = new Map<string, (typeof lists)[number]>();
  for (const l of lists) for (const id of await conn.lrange(`${base}:${l}`, 0, -1)) inList.set(id, l);
  const out = new Map<string, JobState>();
  const per = 4 + zsets.length;
  const chunk = 500;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = ids.slice(i, i + chunk);
    const pipe = conn.pipeline();
    for (const id of part) {
      const job = keys.job(prefix, id);
      pipe.exists(job).exists(`${job}:lock`).hget(job, 'finishedOn').hexists(job, 'returnvalue');
      for (const z of zsets) pipe.zscore(`${base}:${z}`, id);
    }
    const res = (await pipe.exec()) ?? [];
    part.forEach((id, j) => {
      const r = res.slice(j * per, (j + 1) * per).map(([err, v]) => {
        if (err) throw err;
        return v;
      });
      const [exists, locked, finishedOn, hasReturn] = r;
      const list = inList.get(id);
      const zset = zsets.find((_, k) => r[4 + k] !== null);
      if (exists === 0) out.set(id, { state: 'missing' });
      else if (list) out.set(id, { state: list });
      else if (zset) out.set(id, { state: zset });
      else {
        const finished = finishedOn === null ? undefined : hasReturn === 1 ? 'completed' : 'failed';
        out.set(id, { state: 'orphan', locked: locked === 1, finished });
      }
    });
  }
  // A job can move between the list reads and the pipeline (wait → active → delayed): confirm each orphan
  // in one MULTI, which runs atomically between BullMQ's scripts.
  for (const [id, st] of out) {
    if (st.state !== 'orphan' || st.locked) continue;
    const m = conn.multi();
    for (const l of lists) m.lpos(`${base}:${l}`, id);
    for (const z of zsets) m.zscore(`${base}:${z}`, id);
    m.exists(`${keys.job(prefix, id)}:lock`);
    const r = ((await m.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v;
    });
    if (r.slice(0, lists.length + zsets.length).some((v) => v !== null) || r.at(-1) === 1) out.set(id, { ...st, locked: true });
  }
  return out;
}
