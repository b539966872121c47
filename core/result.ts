import { z } from 'zod';

/** Agreement between one empirical kernel set and the analytic kernels on the probe points. */
export const kernelAgreementSchema = z.strictObject({
  ntkRelFrob: z.number(),
  gpRelFrob: z.number(),
  ntkAlignment: z.number(),
  gpAlignment: z.number(),
  paperCodeNtkRelFrob: z.number(),
  paperCodeGpRelFrob: z.number(),
});
export type KernelAgreement = z.infer<typeof kernelAgreementSchema>;

/** What `runTrial` returns; also the wire format of a result travelling through Redis (validated there). */
export const trialResultSchema = z.strictObject({
  status: z.enum(['completed', 'diverged']),
  metrics: z.object({
    trainLoss: z.number().nullable(),
    testLoss: z.number().nullable(),
    testAccuracy: z.number().nullable().optional(),
    stepsRun: z.number().int(),
    kernel: z
      .strictObject({
        init: kernelAgreementSchema,
        final: kernelAgreementSchema,
        movement: z.number(),
      })
      .nullable(),
  }).passthrough(),
  curve: z.array(z.tuple([z.number(), z.number()])),
  backend: z.string(),
  timings: z.record(z.string(), z.number()),
  versions: z.record(z.string(), z.string()),
});
export type TrialResult = z.infer<typeof trialResultSchema>;
