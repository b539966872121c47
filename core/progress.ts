/** Progress of a running trial as it travels from a trial to its runner (thread message, Redis job progress). */
import { z } from 'zod';

/** The phases runTrial goes through, in order (a trial may skip some). */
export const trialPhases = [
  'setup', // validate, memory cap, backend
  'data', // build the task's data
  'init', // create the network
  'kernels-init', // empirical kernels at init
  'train',
  'kernels-final', // empirical kernels after training
  'analytic', // analytic kernels on the probe points and agreement metrics
  'test', // test loss / accuracy
  'kernel-regression', // mnist-completion: analytic kernel regression
  'done',
] as const;
export type TrialPhase = (typeof trialPhases)[number];

export const trialProgressSchema = z.strictObject({
  /** One of trialPhases (kept a string on the wire so older readers accept newer phases). */
  phase: z.string(),
  /** Training steps done / planned (phase 'train'). */
  step: z.number().int().nonnegative().optional(),
  steps: z.number().int().nonnegative().optional(),
  /** Latest training loss (finite). */
  loss: z.number().optional(),
});
export type TrialProgress = z.infer<typeof trialProgressSchema>;
