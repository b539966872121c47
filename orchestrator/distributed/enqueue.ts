import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrialConfig } from '../../core/config.js';
import { keys, type TrialJobData } from '../../core/protocol.js';

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

/** Which of these trial ids have no job at all under the prefix (pipelined EXISTS on the job hashes). */
export async function missingJobs(conn: Redis, prefix: string, ids: string[]): Promise<string[]> {
  const missing: string[] = [];
  const chunk = 1000;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = ids.slice(i, i + chunk);
    const pipe = conn.pipeline();
    for (const id of part) pipe.exists(keys.job(prefix, id));
    const res = (await pipe.exec()) ?? [];
    part.forEach((id, j) => {
      const [err, n] = res[j] ?? [null, 0];
      if (err) throw err;
      if (n === 0) missing.push(id);
    });
  }
  return missing;
}
