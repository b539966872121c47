import { z } from 'zod';
import { trialConfigSchema } from './config.js';
import { trialResultSchema } from './result.js';
import { trialIdPattern } from './identity.js';
import { codeIdentitySchema } from './code-identity.js';

/**
 * The wire format between the orchestrator and workers: plain, versioned, validated with zod on both ends.
 * One BullMQ queue, `trials`, holds every trial (job id = trial id); a trial's result is the job's return
 * value, read back by the orchestrator from the completed set and removed only after the database commit.
 */

/** The version of trial jobs this code writes and reads (`v`); a worker hands back jobs of any other version. */
export const PROTOCOL_VERSION = 1;

/** BullMQ queue name of the trials. */
export const TRIALS_QUEUE = 'trials';

export const trialJobDataSchema = z.strictObject({
  v: z.literal(1),
  trialId: z.string().regex(trialIdPattern, 'not a trial id'),
  /** The sweep that enqueued it (for `cancel`); a trial shared by sweeps is computed once. */
  sweep: z.string().min(1),
  config: trialConfigSchema,
  /** Times the orchestrator re-enqueued this trial after BullMQ failed it for stalling (its worker was lost). */
  requeues: z.number().int().nonnegative().optional(),
});
export type TrialJobData = z.infer<typeof trialJobDataSchema>;

export const trialJobReturnSchema = z.strictObject({
  v: z.literal(1),
  trialId: z.string().regex(trialIdPattern, 'not a trial id'),
  worker: z.string(),
  host: z.string(),
  result: trialResultSchema,
  /**
   * The code that produced the result (core/code-identity.ts). Optional, so results of workers older than this
   * field still validate (stored with unknown provenance); an orchestrator older than it refuses results that
   * carry it, so upgrade the orchestrator before the workers.
   */
  code: codeIdentitySchema.optional(),
});
export type TrialJobReturn = z.infer<typeof trialJobReturnSchema>;

/**
 * A running trial's progress (BullMQ job progress): runTrial's latest report plus the loss-curve points logged
 * since the previous update (a chunk, so a reader concatenating chunks gets the whole curve so far).
 */
export const jobProgressSchema = z.strictObject({
  v: z.literal(1),
  phase: z.string(),
  step: z.number().int().nonnegative().optional(),
  steps: z.number().int().nonnegative().optional(),
  loss: z.number().optional(),
  curve: z.array(z.tuple([z.number(), z.number()])),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

/** A worker's heartbeat, one field per worker in the `workers` hash. */
export const heartbeatSchema = z.strictObject({
  v: z.literal(1),
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  backend: z.string().nullable(),
  concurrency: z.number().int().positive(),
  /** Trial ids running now. */
  current: z.array(z.string()),
  startedAt: z.number(),
  heartbeatAt: z.number(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** The failure reason a cancelled trial's job ends with (thrown as UnrecoverableError by the sandbox). */
export const CANCELLED_REASON = 'hypersweep: trial cancelled';
/** BullMQ's failedReason for a job that stalled more than maxStalledCount times (moveStalledJobsToWait.lua). */
export const STALLED_REASON = 'job stalled more than allowable limit';

/** Redis keys of our own, next to BullMQ's under the same prefix. */
export const keys = {
  /** Hash: worker id → Heartbeat JSON. */
  workers: (prefix: string) => `${prefix}:hypersweep:workers`,
  /** Set of trial ids whose running attempt should be aborted (`cancel --kill`). */
  cancel: (prefix: string) => `${prefix}:hypersweep:cancel`,
  /** BullMQ's job hash for a trial. */
  job: (prefix: string, trialId: string) => `${prefix}:${TRIALS_QUEUE}:${trialId}`,
};

/** How long workers treat a cancel request as live. */
export const CANCEL_TTL_S = 24 * 3600;
