import { z } from 'zod';
import type { BackendName } from '../../core/backend.js';
import type { TrialConfig } from '../../core/config.js';
import { errorKinds } from '../../core/errors.js';

/** Messages between the local runner (main thread, the only db writer) and its pool of trial threads/processes. */

export interface RunMessage {
  type: 'run';
  trialId: string;
  /** Parsed again where it arrives (serve.ts): a message is an input like any other. */
  config: TrialConfig;
  backend?: BackendName;
}
export interface AbortMessage {
  type: 'abort';
  trialId: string;
}
export type ToWorker = RunMessage | AbortMessage;

export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), pid: z.number().int() }),
  z.strictObject({ type: z.literal('progress'), trialId: z.string(), progress: z.unknown() }),
  /** The result is validated (trialResultSchema) by recordResult. */
  z.strictObject({ type: z.literal('done'), trialId: z.string(), result: z.unknown() }),
  z.strictObject({
    type: z.literal('failed'),
    trialId: z.string(),
    /** serializeError's form: `kind` carries classify()'s verdict across the boundary. */
    error: z.strictObject({ name: z.string(), message: z.string(), kind: z.enum(errorKinds), stack: z.string().optional() }),
  }),
]);
export type FromWorker = z.infer<typeof fromWorkerSchema>;

