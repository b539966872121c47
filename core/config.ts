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
    .strictObject({
      width: posInt.optional(),
      depth: posInt.optional(),
      /**
       * f's hidden widths, input side first (f: dx → widths[0] → … → N_g, so depth = widths.length + 1), instead
       * of width × depth. f.width then reads as the largest of them and f.depth as widths.length + 1.
       */
      widths: z.array(posInt).min(1).max(64).optional(),
      /** A bias on every layer of f (its output layer too: g's weights get one each). Unset: false. */
      biases: optionalUnless(z.boolean(), false),
    })
    .prefault({})
    .transform((f, ctx): { width: number; depth: number; widths?: number[]; biases?: boolean } => {
      if (!f.widths) return { ...f, width: f.width ?? 256, depth: f.depth ?? 3 };
      const width = Math.max(...f.widths);
      const depth = f.widths.length + 1;
      // A canonical config (width and depth already derived) parses to itself.
      if (f.width !== undefined && f.width !== width) ctx.addIssue({ code: 'custom', path: ['width'], message: `f.widths sets the widths (largest ${width}); remove f.width` });
      if (f.depth !== undefined && f.depth !== depth) ctx.addIssue({ code: 'custom', path: ['depth'], message: `f.widths sets the depth (${depth} = ${f.widths.length} hidden layers + 1); remove f.depth` });
      return { ...f, width, depth };
    }),
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
      /**
       * 'model' (unset): a ReLU between every two of g's weight layers. 'paper-code': the official rotation code's
       * g, which has no ReLU after its second weight layer (needs g.depth ≥ 3).
       */
      variant: optionalUnless(z.enum(['model', 'paper-code']), 'model'),
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
      /** mnist-rotation: how images are rotated: 'bilinear' (unset) or 'nearest' (the official code's). */
      interpolation: optionalUnless(z.enum(['bilinear', 'nearest']), 'bilinear'),
      /** mnist-rotation: pixel values: 'unit' (unset: pixel/255) or 'standardized' ((pixel/255 − 0.1307)/0.3081). */
      pixels: optionalUnless(z.enum(['unit', 'standardized']), 'unit'),
      /**
       * mnist-rotation: 'fixed' (unset): the angles are drawn once; 'per-epoch': fresh angles for every sample on
       * every pass, training and test (needs train.epochs).
       */
      augment: optionalUnless(z.enum(['fixed', 'per-epoch']), 'fixed'),
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
      /**
       * Passes over the training set (each a fresh shuffle, the last batch possibly smaller), replacing
       * train.steps; the test set is evaluated after every epoch (metrics.testCurve). Unset: train.steps steps.
       */
      epochs: posInt.max(10_000).optional(),
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
  /**
   * 'ntk' (unset): the NTK parametrization of docs/model.md. 'standard': PyTorch's nn.Linear defaults (weights and
   * biases U(−1/√fan_in, 1/√fan_in), no 1/√fan_in factor in the forward pass, inputs as given).
   */
  model: z
    .strictObject({ parametrization: optionalUnless(z.enum(['ntk', 'standard']), 'ntk') })
    .optional()
    .transform((m) => (m?.parametrization === undefined ? undefined : m)),
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

/** The network's parametrization (model.parametrization; unset: 'ntk'). */
export const parametrizationOf = (c: Pick<TrialConfig, 'model'>): 'ntk' | 'standard' => c.model?.parametrization ?? 'ntk';
/** g's variant (g.variant; unset: 'model'). */
export const gVariantOf = (c: Pick<TrialConfig, 'g'>): 'model' | 'paper-code' => c.g.variant ?? 'model';

export type TrialConfigInput = z.input<typeof trialConfigSchema>;
export type TrialConfig = z.output<typeof trialConfigSchema>;
