import { z } from 'zod';
import { taskConfigIssues } from './task-check.js';

/**
 * The trial config: the one input of `runTrial`, the payload of a queued job, and (canonicalised, with
 * defaults applied) the source of the trial id. Unknown keys are errors at every level.
 */
export const taskNames = ['sphere', 'mnist-completion', 'mnist-rotation', 'noop'] as const;
export type TaskName = (typeof taskNames)[number];

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/**
 * Keys added after the first sweeps were stored are optional with no default and leave the canonical config
 * when they hold their default value, so every earlier config keeps its trial id; read them with the resolvers
 * below (dataSeedOf, splitOf, regressionDrawsOf).
 */
const optionalUnless = <T extends z.ZodType>(schema: T, dflt: z.output<T>) =>
  schema.optional().transform((v): z.output<T> | undefined => (v === dflt ? undefined : v));

export const trialConfigSchema = z.strictObject({
  task: z.enum(taskNames),
  seed: nonNegInt.default(0),
  /** Hypernetwork f: hidden width n and number of weight layers H. */
  f: z
    .strictObject({ width: posInt.default(256), depth: posInt.default(3) })
    .prefault({}),
  /** Primary network g: hidden width m, weight layers L, input map, output size k. */
  g: z
    .strictObject({
      width: posInt.default(64),
      depth: posInt.default(2),
      input: z.enum(['linear', 'rff']).default('linear'),
      rffFeatures: posInt.default(64),
      /** RBF bandwidth of the random Fourier features: exp(−γ‖z−z'‖²). */
      rffGamma: z.number().positive().default(0.25),
      outputs: posInt.default(1),
    })
    .prefault({}),
  data: z
    .strictObject({
      nTrain: posInt.default(64),
      nTest: nonNegInt.default(64),
      dx: posInt.default(8),
      dz: posInt.default(4),
      /** sphere targets: a fixed random teacher hypernetwork, or i.i.d. N(0,1). */
      target: z.enum(['teacher', 'gaussian']).default('teacher'),
      /** mnist-completion: random pixels drawn per training image. */
      pixelsPerImage: posInt.default(20),
      /** mnist-completion: what f sees: the top half (completion) or the full image (representation). */
      mask: z.enum(['top-half', 'none']).default('top-half'),
      /** Seed of the data (points, targets, images, pixel draws, random Fourier features); unset: `seed`. */
      seed: nonNegInt.optional(),
      /**
       * mnist-completion: which images. 'random' (unset): seeded random non-blank images of each MNIST file.
       * 'paper': the official protocol, training images = train-file rows 5000, 5001, … in order, test images =
       * t10k rows 0, 1, … in order.
       */
      split: optionalUnless(z.enum(['random', 'paper']), 'random'),
    })
    .prefault({}),
  train: z
    .strictObject({
      optimizer: z.enum(['gd', 'sgd', 'adam']).default('gd'),
      lr: z.number().positive().default(0.1),
      steps: nonNegInt.default(200),
      /** 0 means full batch. */
      batchSize: nonNegInt.default(0),
      loss: z.enum(['mse', 'xent']).default('mse'),
      /** Record the training loss every this many steps. */
      logEvery: posInt.default(10),
    })
    .prefault({}),
  kernels: z
    .strictObject({
      /** Probe points for empirical kernels; 0 turns kernel metrics off. */
      probe: nonNegInt.default(32),
      mode: z.enum(['exact', 'paper-code']).default('exact'),
      /** Independent inits averaged for the Monte-Carlo GP kernel estimate. */
      ensemble: posInt.default(1),
      /**
       * mnist-completion: most training pixels in the kernel-regression experiment (whole images; a float64 N×N
       * Cholesky, ≈ 1.2 s at 2000 and ≈ 1 min at the paper's 500 × 20 = 10,000 on one core).
       */
      regressionMaxTrain: posInt.max(50_000).default(2000),
      /**
       * mnist-completion: independent draws of data.pixelsPerImage pixels per training image, one kernel
       * regression each, predictions averaged (the official code uses 5). Unset: 1.
       */
      regressionDraws: optionalUnless(posInt.max(100), 1),
      /** Store h(u) at the probe points at init (metrics.initOutputs) for `query outputs`. Unset: false. */
      initOutputs: optionalUnless(z.boolean(), false),
    })
    .prefault({}),
  limits: z
    .strictObject({ memoryMb: posInt.default(4096) })
    .prefault({}),
  /** task `noop` only: sleep this long, for queue tests and benchmarks. */
  noop: z.strictObject({ sleepMs: nonNegInt.default(0) }).prefault({}),
})
  // Key combinations a task cannot run (e.g. mnist-completion without g.input 'rff'), reported at the key.
  .superRefine((c, ctx) => {
    for (const issue of taskConfigIssues(c)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

/** The data's seed: data.seed, or the trial's seed when unset. */
export const dataSeedOf = (c: Pick<TrialConfig, 'seed' | 'data'>): number => c.data.seed ?? c.seed;
/** mnist-completion's image selection (data.split; unset: 'random'). */
export const splitOf = (c: Pick<TrialConfig, 'data'>): 'random' | 'paper' => c.data.split ?? 'random';
/** Kernel-regression pixel draws per training image (kernels.regressionDraws; unset: 1). */
export const regressionDrawsOf = (c: Pick<TrialConfig, 'kernels'>): number => c.kernels.regressionDraws ?? 1;

export type TrialConfigInput = z.input<typeof trialConfigSchema>;
export type TrialConfig = z.output<typeof trialConfigSchema>;
