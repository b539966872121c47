/**
 * The BullMQ sandboxed processor: loaded by BullMQ in a long-lived child process (or worker thread), one per
 * concurrency slot, each running one trial at a time. Never imported by the worker's main process, whose event
 * loop must stay free to renew job locks.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { trialJobDataSchema, trialJobReturnSchema, CANCELLED_REASON, type TrialJobReturn } from '../orchestrator/distributed/protocol.js';
import { zodErrorLine } from '../orchestrator/errors.js';
import { executeTrial } from './execute.js';
import { trialResultSchema } from './result.js';

// A forked child whose parent died (kill -9) must not keep training: its result could never be delivered.
if (typeof process.send === 'function') process.on('disconnect', () => process.exit(1));

const workerId = process.env.HYPERSWEEP_WORKER_ID ?? `${hostname()}-${process.pid}`;
const backend = process.env.HYPERSWEEP_BACKEND || undefined;
/** Minimum milliseconds between two progress updates sent to Redis. */
const progressEveryMs = 250;

/** Errors no retry can fix: fail the job at once (BullMQ checks the class name across the sandbox boundary). */
const unrecoverableNames = new Set(['MemoryCapError', 'InputError', 'HypersweepError', 'ZodError']);

export default async function processTrial(
  job: SandboxedJob<unknown, TrialJobReturn>,
  _token?: string,
  signal?: AbortSignal,
): Promise<TrialJobReturn> {
  const parsed = trialJobDataSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(zodErrorLine(`job ${job.id} data`, parsed.error));
  const { trialId, config } = parsed.data;
  if (signal?.aborted) throw new UnrecoverableError(CANCELLED_REASON);

  let lastProgress = 0;
  const onProgress = (p: unknown): void => {
    const now = Date.now();
    if (now - lastProgress < progressEveryMs) return;
    lastProgress = now;
    if (p !== null && typeof p === 'object') void job.updateProgress(p as Record<string, unknown>).catch(() => {});
    else if (typeof p === 'number') void job.updateProgress(p).catch(() => {});
  };

  let result;
  try {
    result = await executeTrial(config, { onProgress, signal, backend });
  } catch (err) {
    if (signal?.aborted) throw new UnrecoverableError(CANCELLED_REASON);
    const e = err instanceof Error ? err : new Error(String(err));
    if (unrecoverableNames.has(e.name)) throw new UnrecoverableError(`${e.name}: ${e.message}`);
    throw e;
  }
  const checked = trialResultSchema.safeParse(result);
  if (!checked.success) throw new UnrecoverableError(zodErrorLine(`trial ${trialId} result`, checked.error));
  return trialJobReturnSchema.parse({ v: 1, trialId, worker: workerId, host: hostname(), result: checked.data });
}
