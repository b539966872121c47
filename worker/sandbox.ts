/**
 * The BullMQ sandboxed processor: loaded by BullMQ in a long-lived child process (or worker thread), one per
 * concurrency slot, each running one trial at a time. Never imported by the worker's main process, whose event
 * loop must stay free to renew job locks.
 */
import { hostname } from 'node:os';
import { DelayedError, UnrecoverableError, type SandboxedJob } from 'bullmq';
import {
  trialJobDataSchema, trialJobReturnSchema, CANCELLED_REASON, PROTOCOL_VERSION, type JobProgress, type TrialJobReturn,
} from '../core/protocol.js';
import { backendNames, BackendUnavailableError, isBackendName } from '../core/backend.js';
import { classify, zodErrorLine } from '../core/errors.js';
import { executeTrial } from './execute.js';
import { trialProgressSchema } from '../core/progress.js';
import { trialResultSchema } from '../core/result.js';
import { codeIdentity } from '../core/code-identity.js';

// A forked child whose parent died (kill -9) must not keep training: its result could never be delivered.
if (typeof process.send === 'function') process.on('disconnect', () => process.exit(1));

const workerId = process.env.HYPERSWEEP_WORKER_ID ?? `${hostname()}-${process.pid}`;
// Set by the worker from its checked --backend flag; checked again here, where it arrives (in processTrial).
const backendEnv = process.env.HYPERSWEEP_BACKEND || undefined;
/** A job of another protocol version is handed back for 1–2 times this many milliseconds. */
const FOREIGN_DELAY_MS = 5000;
/** Minimum milliseconds between two progress updates sent to Redis. */
const progressEveryMs = 250;

export default async function processTrial(
  job: SandboxedJob<unknown, TrialJobReturn>,
  token?: string,
  signal?: AbortSignal,
): Promise<TrialJobReturn> {
  const foreign = foreignVersion(job.data);
  if (foreign !== undefined) {
    // Another protocol version (a newer orchestrator): not this worker's to judge. Hand the job back, delayed so a
    // compatible worker can take it first; no attempt is spent and the trial never fails here.
    const delayMs = FOREIGN_DELAY_MS + Math.floor(Math.random() * FOREIGN_DELAY_MS);
    await job.moveToDelayed(Date.now() + delayMs, token);
    console.log(`trial ${job.id}: protocol v${foreign} is not spoken by this worker (v${PROTOCOL_VERSION}); left in the queue for a compatible worker`);
    throw new DelayedError();
  }
  const parsed = trialJobDataSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(zodErrorLine(`job ${job.id} data`, parsed.error));
  const { trialId, config } = parsed.data;
  if (signal?.aborted) throw new UnrecoverableError(CANCELLED_REASON);
  if (backendEnv !== undefined && !isBackendName(backendEnv)) {
    throw new BackendUnavailableError(backendEnv, `HYPERSWEEP_BACKEND is not one of ${backendNames.join(', ')}`);
  }
  const backend = backendEnv;

  // At most one update per progressEveryMs (the first one progressEveryMs into the trial, so short trials cost
  // no Redis calls), carrying the latest report and the loss points logged since the previous update.
  let lastSent = Date.now();
  let chunk: Array<[number, number]> = [];
  const onProgress = (raw: unknown): void => {
    // runTrial reports {phase, step, steps, loss}; the noop task only {step, steps}.
    const r = trialProgressSchema.safeParse(raw !== null && typeof raw === 'object' ? { phase: 'run', ...raw } : raw);
    if (!r.success) return;
    const p = r.data;
    if (p.step !== undefined && p.loss !== undefined && Number.isFinite(p.loss)) chunk.push([p.step, p.loss]);
    const now = Date.now();
    if (now - lastSent < progressEveryMs) return;
    lastSent = now;
    const msg: JobProgress = { v: 1, ...p, curve: chunk };
    chunk = [];
    void job.updateProgress(msg).catch(() => {});
  };

  let result;
  try {
    result = await executeTrial(config, { onProgress, signal, backend });
  } catch (err) {
    if (signal?.aborted) throw new UnrecoverableError(CANCELLED_REASON);
    const e = err instanceof Error ? err : new Error(String(err));
    // A user error (core/errors.ts classify) fails the job at once. BullMQ rebuilds a sandbox's error as a plain
    // Error and tests its name, so it must be UnrecoverableError itself. Fatal (a backend missing on this machine)
    // and retryable errors are retried: another worker may have the backend.
    if (classify(err) === 'user') throw new UnrecoverableError(`${e.name}: ${e.message}`);
    throw e;
  }
  const checked = trialResultSchema.safeParse(result);
  if (!checked.success) throw new UnrecoverableError(zodErrorLine(`trial ${trialId} result`, checked.error));
  return trialJobReturnSchema.parse({ v: 1, trialId, worker: workerId, host: hostname(), result: checked.data, code: codeIdentity() });
}

/** The job's protocol version when it is a number other than ours (malformed data is judged by the schema). */
function foreignVersion(data: unknown): number | undefined {
  if (data === null || typeof data !== 'object' || !('v' in data)) return undefined;
  const v = (data as { v: unknown }).v;
  return typeof v === 'number' && v !== PROTOCOL_VERSION ? v : undefined;
}
