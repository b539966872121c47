import { z } from 'zod';
import { InputError, formatPath } from '../../core/errors.js';
import { trialConfigSchema } from '../../core/config.js';
import { didYouMean } from '../../core/suggest.js';
import { ExprError, exprKeys, parseExpr, type Expr } from './expr.js';

/**
 * Claims: the `expect:` list of a sweep file. Each item states something about the sweep's results and names
 * the test that decides it (docs/claims.md). Validated here with one-line errors `FILE: expect[i].key: problem`.
 */

export const claimTypes = ['power-law', 'plateau', 'ordering', 'value'] as const;
export type ClaimType = (typeof claimTypes)[number];

/** Short metric names; the rest are `kernel.<phase>.<kind>.<mode>.<relFrob|alignment>`, `kernel.movement`, `metrics.<path>`. */
export const metricAliases = {
  init_distance: 'kernel.init.ntk.exact.relFrob',
  final_distance: 'kernel.final.ntk.exact.relFrob',
  movement: 'kernel.movement',
  train_loss: 'train_loss',
  test_loss: 'test_loss',
  test_accuracy: 'test_accuracy',
} as const;

const kernelMetricRe = /^kernel\.(init|final)\.(ntk|gp)\.(exact|paper-code)\.(relFrob|alignment)$/;
const jsonMetricRe = /^metrics\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

export function isMetricName(s: string): boolean {
  return s in metricAliases || s === 'kernel.movement' || kernelMetricRe.test(s) || jsonMetricRe.test(s);
}

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? flattenKeys(v as Record<string, unknown>, key) : [key];
  });
}

/** Every dotted trial-config key (seed, f.width, train.lr, ...). */
const claimConfigKeys: readonly string[] = flattenKeys(trialConfigSchema.parse({ task: 'noop' }));
const configKeySet = new Set(claimConfigKeys);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
export type Scalar = z.infer<typeof scalar>;

const configKey = z.string().superRefine((k, ctx) => {
  if (!configKeySet.has(k)) ctx.addIssue({ code: 'custom', message: `unknown config key "${k}" (e.g. f.width, g.width, seed, train.lr)` });
});

/** `{key: value}` or `{key: [v1, v2]}`: trials whose config matches every key (any listed value). */
const filter = z
  .record(z.string(), z.union([scalar, z.array(scalar).min(1)]))
  .superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (!configKeySet.has(k)) ctx.addIssue({ code: 'custom', path: [k], message: `unknown config key "${k}" (e.g. f.width, g.width, seed, train.lr)` });
    }
  });
export type ClaimFilter = z.infer<typeof filter>;

const unknownMetric = `unknown metric (use ${Object.keys(metricAliases).join(', ')}, kernel.<init|final>.<ntk|gp>.<exact|paper-code>.<relFrob|alignment>, kernel.movement or metrics.<path>, or an arithmetic expression of them)`;

/**
 * A metric name, or an arithmetic expression of metric names computed per trial (schema/claims/expr.ts), e.g.
 * `metrics.kernelRegression.hyperkernel.mseHidden - metrics.kernelRegression.baselines.meanImage.mseHidden`.
 */
const metric = z.string().superRefine((m, ctx) => {
  if (isMetricName(m)) return;
  if (!/[-+*/^()]/.test(m)) {
    ctx.addIssue({ code: 'custom', message: unknownMetric });
    return;
  }
  try {
    const e = parseExpr(m);
    const bad = exprKeys(e).find((k) => !isMetricName(k));
    if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(m)}: "${bad}" is not a metric (${unknownMetric.replace(/^unknown metric /, '')})` });
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(m)}: ${err.message}` });
  }
});

const common = {
  /** A label for the output; default: the claim in words. */
  name: z.string().min(1).optional(),
  metric,
  where: filter.default({}),
  /** Confidence level of every interval and test of the claim (1 − the test's level α). */
  confidence: z.number().gt(0.5, 'must be in (0.5, 1)').lt(1, 'must be in (0.5, 1)').default(0.95),
};

const range = z
  .tuple([z.number().positive(), z.number().positive()])
  .refine(([a, b]) => a <= b, 'range: [low, high] with low ≤ high');

const powerLaw = z.strictObject({
  type: z.literal('power-law'),
  ...common,
  /** The width (or any positive numeric config key) the metric is fitted against. */
  axis: configKey,
  /** Only trials with the axis in [low, high]. */
  range: range.optional(),
  /** The exponent b of metric ≈ a·axis^b lies in [min, max] (either may be left out). */
  slope: z
    .strictObject({ min: z.number().optional(), max: z.number().optional() })
    .refine((s) => s.min !== undefined || s.max !== undefined, 'give min, max or both')
    .refine((s) => s.min === undefined || s.max === undefined || s.min < s.max, 'min must be below max'),
});

const plateau = z.strictObject({
  type: z.literal('plateau'),
  ...common,
  axis: configKey,
  range: range.optional(),
  /** No decay: the exponent b of metric ≈ a·axis^b is above this bound (e.g. −0.1: slower than axis^−0.1). */
  slopeAbove: z.number(),
  /** ... and the mean at the largest axis value is above this level. */
  floor: z.number(),
});

const ordering = z.strictObject({
  type: z.literal('ordering'),
  ...common,
  /** The group whose mean is claimed to be the smaller one ... */
  lower: filter,
  /** ... and the group claimed larger (each a filter on top of `where`). */
  higher: filter,
});

/** A target that varies with the config: `{expr: "15 / g.width"}` (schema/claims/expr.ts; keys are config keys). */
const targetExpr = z.strictObject({ expr: z.string().min(1) }).superRefine((t, ctx) => {
  let e: Expr;
  try {
    e = parseExpr(t.expr);
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['expr'], message: `${JSON.stringify(t.expr)}: ${err.message}` });
    return;
  }
  for (const k of exprKeys(e)) {
    if (!configKeySet.has(k)) {
      ctx.addIssue({ code: 'custom', path: ['expr'], message: `${JSON.stringify(t.expr)}: unknown config key "${k}"${didYouMean(k, claimConfigKeys)}` });
      return;
    }
  }
});

const value = z
  .strictObject({
    type: z.literal('value'),
    ...common,
    /** The analytic prediction: a number, or an expression of config keys checked per value of those keys. */
    target: z.union([z.number(), targetExpr]),
    /**
     * Check the claim separately at each value (combination) of these keys; default: the keys the target
     * expression reads (none for a number: one check over the whole selection).
     */
    per: z.union([configKey, z.array(configKey).min(1)]).optional(),
    /** Absolute tolerance: the mean lies in [target − tolerance, target + tolerance] ... */
    tolerance: z.number().positive().optional(),
    /** ... or relative: tolerance = relTolerance · |target| (per value when the target varies). */
    relTolerance: z.number().positive().optional(),
  })
  .refine((v) => (v.tolerance === undefined) !== (v.relTolerance === undefined), 'give exactly one of tolerance, relTolerance');

const schemas = { 'power-law': powerLaw, plateau, ordering, value } as const;

export type PowerLawClaim = z.output<typeof powerLaw>;
export type PlateauClaim = z.output<typeof plateau>;
export type OrderingClaim = z.output<typeof ordering>;
export type ValueClaim = z.output<typeof value>;
export type Claim = PowerLawClaim | PlateauClaim | OrderingClaim | ValueClaim;

/**
 * Parse a sweep file's `expect:` list. `where` names the file (or the stored sweep). Throws InputError at the
 * first problem: `where: expect[2].slope.min: expected number, received string`.
 */
export function parseClaims(raw: unknown, where: string): Claim[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new InputError(`${where}: expect`, 'expected a list of claims');
  return raw.map((item, i) => {
    const at = `${where}: expect[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new InputError(at, `expected a map with type (${claimTypes.join(', ')}), metric, ...`);
    }
    const type = (item as Record<string, unknown>).type;
    if (typeof type !== 'string' || !(claimTypes as readonly string[]).includes(type)) {
      throw new InputError(`${at}.type`, `expected one of ${claimTypes.join(', ')}${type === undefined ? '' : `, got ${JSON.stringify(type)}`}`);
    }
    const schema = schemas[type as ClaimType];
    const r = schema.safeParse(item);
    if (r.success) return r.data as Claim;
    const issue = r.error.issues[0]!;
    const path = formatPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      const key = (issue as { keys: string[] }).keys[0]!;
      const known = Object.keys(schema.shape);
      return fail(`${at}.${path ? `${path}.` : ''}${key}`, `unknown key${path ? '' : ` (a ${type} claim has ${known.join(', ')})`}`);
    }
    const message =
      issue.code === 'invalid_union' && issue.path.at(-1) === 'target' ? 'expected a number or {expr: "an expression of config keys"} (e.g. {expr: "15 / g.width"})'
        : issue.code === 'invalid_union' && issue.path.at(-1) === 'per' ? 'expected a config key or a list of config keys'
          : issue.message;
    return fail(path ? `${at}.${path}` : at, message);
  });
}

function fail(where: string, problem: string): never {
  throw new InputError(where, problem);
}
