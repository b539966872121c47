import { Queue } from 'bullmq';
import { closeDb, openDb } from '../../schema/db.js';
import { getSweep, pendingTrials, recordFailure } from '../../schema/store.js';
import { HypersweepError } from '../../core/errors.js';
import { CANCEL_TTL_S, TRIALS_QUEUE, keys, type TrialJobData } from '../../core/protocol.js';
import { assertRedisReachable, checkRedisUrl, createConnection, resolveRedisTarget } from '../../core/redis.js';

export interface CancelOptions {
  sweep: string;
  db?: string;
  redisUrl: string;
  prefix?: string;
  /** Also abort the sweep's running trials (workers poll a cancel set and abort the trial's AbortSignal). */
  kill?: boolean;
}

export interface CancelSummary {
  /** Waiting/delayed trials removed from the queue and marked cancelled. */
  removed: number;
  /** Trials running now: aborted with --kill (recorded `cancelled` by the orchestrator), else left to finish. */
  running: number;
}

/** `hypersweep cancel SWEEP [--kill]`. The database is marked before the jobs are removed, so no collector re-adds them. */
export async function cancelDistributed(opts: CancelOptions): Promise<CancelSummary> {
  checkRedisUrl(opts.redisUrl);
  const target = resolveRedisTarget({ redis: opts.redisUrl, prefix: opts.prefix })!;
  await assertRedisReachable(target.url);
  const file = opts.db ?? './hypersweep.db';
  const db = openDb(file, { migrate: true, mustExist: true });
  const conn = createConnection(target.url);
  const queue = new Queue<TrialJobData>(TRIALS_QUEUE, { connection: conn, prefix: target.prefix });
  queue.on('error', () => {}); // connection errors surface through the calls that fail
  try {
    if (!getSweep(db, opts.sweep)) throw new HypersweepError(`cancel: no sweep named "${opts.sweep}" in ${file}`);
    const open = pendingTrials(db, opts.sweep).filter((t) => t.status === 'queued' || t.status === 'running');
    const states = await Promise.all(open.map((t) => queue.getJobState(t.id)));
    const waiting: string[] = [];
    const active: string[] = [];
    open.forEach((t, i) => {
      const s = states[i];
      if (s === 'active') active.push(t.id);
      else if (s !== 'completed' && s !== 'failed') waiting.push(t.id); // waiting, delayed, prioritized, or no job
    });
    db.transaction(
      () => {
        for (const id of waiting) recordFailure(db, id, { error: 'cancelled before it ran', attempts: 0, status: 'cancelled' });
      },
      { behavior: 'immediate' },
    );
    // A job that became active meanwhile cannot be removed (it is locked): it runs, and its result is kept.
    await Promise.all(waiting.map((id) => queue.remove(id).catch(() => 0)));
    if (opts.kill && active.length > 0) {
      await conn.sadd(keys.cancel(target.prefix), ...active);
      await conn.expire(keys.cancel(target.prefix), CANCEL_TTL_S);
    }
    return { removed: waiting.length, running: active.length };
  } finally {
    await queue.close().catch(() => {});
    conn.disconnect();
    closeDb(db);
  }
}
