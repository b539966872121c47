/** The CLI actions of `worker`, `resume` and `cancel` (loaded lazily by their command files). */
import { z } from 'zod';
import { backendNames } from '../../core/backend.js';
import { parseOrThrow } from '../../core/errors.js';
import { assertRedisReachable, requireRedisTarget } from '../../core/redis.js';

/** The commands' flags as commander gives them (strings until checked here). */
export interface WorkerFlags {
  redis?: string;
  prefix?: string;
  concurrency?: string;
  backend?: string;
  threads?: boolean;
  lockDurationMs?: string;
  stalledIntervalMs?: string;
  maxStalledCount?: string;
  heartbeatMs?: string;
  shutdownTimeoutMs?: string;
}

export interface ResumeFlags {
  redis?: string;
  prefix?: string;
  db: string;
  progressMs?: string;
}

export interface CancelFlags {
  redis?: string;
  prefix?: string;
  db: string;
  kill?: boolean;
}

/** A whole-number flag in decimal digits (no sign, no hex, no exponent), at least `min`. */
const intFlag = (min: number) => {
  const msg = `expected a whole number ≥ ${min} in decimal digits`;
  return z.string().regex(/^\d{1,15}$/, msg).transform(Number).pipe(z.number().min(min, msg));
};

const workerFlagsSchema = z.object({
  concurrency: intFlag(1),
  lockDurationMs: intFlag(100),
  stalledIntervalMs: intFlag(100),
  maxStalledCount: intFlag(0),
  heartbeatMs: intFlag(50),
  shutdownTimeoutMs: intFlag(0),
  backend: z.enum(backendNames).optional(),
  threads: z.boolean().optional(),
});

export async function runWorkerCommand(flags: WorkerFlags): Promise<void> {
  const target = requireRedisTarget(flags, 'worker');
  const f = parseOrThrow(workerFlagsSchema, flags, 'worker flags');
  await assertRedisReachable(target.url);
  const { startTrialWorker } = await import('../../worker/bullmq.js');
  const w = startTrialWorker({ target, ...f });
  let stopping = false;
  const { abandoned } = await new Promise<{ abandoned: number }>((resolve) => {
    const stop = (sig: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.log(`${sig}: finishing running trials (up to ${f.shutdownTimeoutMs} ms), then exiting`);
      void w.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  console.log(`worker ${w.id} stopped`);
  // Abandoned trials still hold sandboxes and BullMQ timers: end the process (their locks expire, they are retried).
  if (abandoned > 0) process.stdout.write('', () => process.exit(0));
}

const progressFlag = z.object({ progressMs: intFlag(100).optional() });

export async function runResumeCommand(sweep: string, flags: ResumeFlags): Promise<void> {
  const target = requireRedisTarget(flags, 'resume');
  const { progressMs } = parseOrThrow(progressFlag, flags, 'resume flags');
  const { resumeDistributed } = await import('./session.js');
  const s = await resumeDistributed({ sweep, db: flags.db, redisUrl: target.url, prefix: target.prefix, progressMs });
  if (s.interrupted) process.exitCode = 130;
}

export async function runCancelCommand(sweep: string, flags: CancelFlags): Promise<void> {
  const target = requireRedisTarget(flags, 'cancel');
  const { cancelDistributed } = await import('./cancel.js');
  const s = await cancelDistributed({ sweep, db: flags.db, redisUrl: target.url, prefix: target.prefix, kill: flags.kill });
  const running = s.running === 0 ? '' : flags.kill
    ? `; abort requested for ${s.running} running trial(s)`
    : `; ${s.running} running trial(s) left to finish (add --kill to abort them)`;
  console.log(`${sweep}: ${s.removed} waiting trial(s) removed from the queue and marked cancelled${running}`);
}
