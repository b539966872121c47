/** The CLI actions of `worker`, `resume` and `cancel` (loaded lazily by their command files). */
import { z } from 'zod';
import { parseOrThrow } from '../../core/errors.js';
import type { WorkerFlags } from '../cli/commands/worker.js';
import type { ResumeFlags } from '../cli/commands/resume.js';
import type { CancelFlags } from '../cli/commands/cancel.js';
import { assertRedisReachable, requireRedisTarget } from '../../core/redis.js';

const intFlag = (min: number) => z.coerce.number({ error: 'expected a number' }).int('expected an integer').min(min);

const workerFlagsSchema = z.object({
  concurrency: intFlag(1),
  lockDurationMs: intFlag(100),
  stalledIntervalMs: intFlag(100),
  maxStalledCount: intFlag(0),
  heartbeatMs: intFlag(50),
  shutdownTimeoutMs: intFlag(0),
  // The names of worker/backend's backendNames (not imported here: that module loads tfjs-core).
  backend: z.enum(['auto', 'native', 'wasm', 'cpu', 'tensorflow', 'webgpu']).optional(),
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
