import { and, count, eq, inArray, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { HypersweepError } from '../core/errors.js';
import type { Db } from './db.js';
import { cubeKeyColumns } from './keys.js';
import { cubeKeyOf, type CubeRow } from './queries-cube.js';
import {
  compareKeys, groupFields, groupKeyOf, keyExpr, noRows, varyingKeys, whereOf, type GroupKey, type Selection,
} from './queries-keys.js';
import { axesOf, fitsAlong, type Axes, type FitInfo, type LogSums, type SeriesFit } from './queries-slope.js';
import { median, summarize, summaryFromSums } from './queries-stats.js';
import { kernelMetrics, metricPoints, sweepTrials, trials } from './tables.js';

/**
 * Aggregates over a sweep's trials: kernel agreement, NTK movement (with their width slopes) and convergence.
 * Agreement and movement are built the same way from per-group sums (GroupSums): either by one SQL pass over
 * the selected trials and kernel rows (groupSums), or from the sweep cube (cubeGroupSums), then merged over the
 * keys that vary and summarised by toAgreement / toMovement.
 */

export const phases = ['init', 'final'] as const;
export const kinds = ['ntk', 'gp'] as const;
export const modes = ['exact', 'paper-code'] as const;

/** Count, sum and sum of squares of a value (sum null: no values). */
export interface Moments {
  n: number;
  sum: number | null;
  sumSq: number | null;
}

/** The sums of one group: the value's moments and log sums, and a second value's moments (alignment). */
export interface GroupSums {
  key: GroupKey;
  value: Moments;
  log: LogSums;
  second: Moments | null;
}

const addNullable = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);
const addMoments = (a: Moments, b: Moments): Moments => ({ n: a.n + b.n, sum: addNullable(a.sum, b.sum), sumSq: addNullable(a.sumSq, b.sumSq) });

/**
 * Merge groups over `by` (default: the keys other than seed that vary among them). Every field is a count or a
 * sum, so merging is exact.
 */
function mergeGroups(keys: readonly string[], groups: readonly GroupSums[], by?: readonly string[]): { by: string[]; groups: GroupSums[] } {
  const over = by ? [...by] : keys.filter((k) => k !== 'seed' && new Set(groups.map((g) => JSON.stringify(g.key[k] ?? null))).size > 1);
  const merged = new Map<string, GroupSums>();
  for (const g of groups) {
    const key: GroupKey = Object.fromEntries(over.map((k) => [k, g.key[k] ?? null]));
    const id = JSON.stringify(over.map((k) => key[k]));
    const m = merged.get(id);
    if (!m) merged.set(id, { ...g, key });
    else {
      m.value = addMoments(m.value, g.value);
      m.log = { nLog: m.log.nLog + g.log.nLog, sumLog: m.log.sumLog + g.log.sumLog, sumLog2: m.log.sumLog2 + g.log.sumLog2 };
      m.second = m.second && g.second ? addMoments(m.second, g.second) : m.second;
    }
  }
  return { by: over, groups: [...merged.values()] };
}

/** What groupSums aggregates: kernel rows of one (phase, kind, mode), their value column and a second column. */
interface KernelValue {
  phase: (typeof phases)[number];
  kind: (typeof kinds)[number];
  mode: (typeof modes)[number];
  value: SQLWrapper;
  second?: SQLWrapper;
  where?: SQL;
}

/** Per-group sums of a kernel value over the selection, grouped by `keys`, by one SQL pass; empty groups dropped. */
function groupSums(db: Db, sel: Selection, keys: readonly string[], v: KernelValue): GroupSums[] {
  const k = kernelMetrics;
  const m = (x: SQLWrapper) => ({ n: count(x), sum: sql<number | null>`sum(${x})`, sumSq: sql<number | null>`sum(${x} * ${x})` });
  const x = m(v.value);
  const s = v.second ? m(v.second) : undefined;
  return db
    .select({
      ...groupFields(keys),
      n: x.n, sum: x.sum, sumSq: x.sumSq,
      ...(s ? { sN: s.n, sSum: s.sum, sSumSq: s.sumSq } : {}),
      nLog: sql<number>`count(case when ${v.value} > 0 then 1 end)`,
      sumLog: sql<number>`coalesce(sum(case when ${v.value} > 0 then ln(${v.value}) end), 0)`,
      sumLog2: sql<number>`coalesce(sum(case when ${v.value} > 0 then ln(${v.value}) * ln(${v.value}) end), 0)`,
    })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .innerJoin(k, and(eq(k.trialId, trials.id), eq(k.phase, v.phase), eq(k.kind, v.kind), eq(k.mode, v.mode)))
    .where(whereOf(sel, v.where))
    .groupBy(...keys.map((key) => keyExpr(key)))
    .all()
    .filter((r) => r.n > 0) // with no group keys, an empty selection still gives one row
    .map((r) => ({
      key: groupKeyOf(keys, r),
      value: { n: r.n, sum: r.sum, sumSq: r.sumSq },
      log: { nLog: r.nLog, sumLog: r.sumLog, sumLog2: r.sumLog2 },
      second: 'sN' in r && r.sN !== undefined ? { n: r.sN, sum: r.sSum ?? null, sumSq: r.sSumSq ?? null } : null,
    }));
}

/** Which keys to draw along (x) and to tell apart (series); both are added to the group keys. */
export interface AxisAsk {
  x?: string;
  series?: string;
}

/** The group keys: `by` (or the keys that vary), plus x and series when asked for. */
function groupKeys(by: readonly string[], ask: AxisAsk): string[] {
  return [...new Set([...by, ...[ask.x, ask.series].filter((k): k is string => k !== undefined)])];
}

/** Rows in reading order: series by series, x ascending within each. */
function sortGroups<G extends { key: GroupKey }>(by: readonly string[], axes: Axes, groups: G[]): G[] {
  const order = [...axes.series, ...by.filter((k) => k !== axes.x && !axes.series.includes(k)), ...(axes.x ? [axes.x] : [])];
  return groups.sort(compareKeys(order));
}

/** The cube's sums of one value (`p` its prefix: i, f or m; `a` its alignment prefix), for the groups that have values. */
export function cubeGroupSums(rows: readonly CubeRow[], p: 'i' | 'f' | 'm', a?: 'ia' | 'fa'): GroupSums[] {
  return rows
    .filter((r) => Number(r[`${p}N`]) > 0)
    .map((r) => ({
      key: cubeKeyOf(r),
      value: { n: Number(r[`${p}N`]), sum: r[`${p}Sum`], sumSq: r[`${p}Sq`] },
      log: { nLog: Number(r[`${p}LogN`]), sumLog: Number(r[`${p}Log`]), sumLog2: Number(r[`${p}Log2`]) },
      second: a ? { n: Number(r[`${a}N`]), sum: r[`${a}Sum`], sumSq: r[`${a}Sq`] } : null,
    }));
}

/** The cube keys, by dotted config key. */
export const cubeKeys: readonly string[] = cubeKeyColumns.map((c) => c.key);

// ---- agreement -----------------------------------------------------------------------------------------

export interface AgreementOptions extends Selection, AxisAsk {
  phase?: (typeof phases)[number];
  kind?: (typeof kinds)[number];
  mode?: (typeof modes)[number];
  /** Group keys; default: every config key that varies (seed excluded, it is what sd runs over). */
  by?: readonly string[];
  /**
   * Instead of `by`: candidate keys (cheap column keys, say); the groups are over those of them that vary,
   * found in the same pass as the aggregate.
   */
  byVarying?: readonly string[];
}

export interface AgreementGroup {
  key: GroupKey;
  log: LogSums;
  n: number;
  distanceMean: number | null;
  distanceSd: number | null;
  alignmentN: number;
  alignmentMean: number | null;
  alignmentSd: number | null;
}

/** A fitted query's axes and fits: `fit` is the only series' fit (else none, with a note), `fits` one per series. */
export interface Fitted {
  axes: Axes;
  fit: FitInfo;
  fits: SeriesFit[];
}

export interface AgreementResult extends Fitted {
  sweep: string;
  phase: string;
  kind: string;
  mode: string;
  by: string[];
  groups: AgreementGroup[];
}

function toAgreement(meta: { sweep: string; phase: string; kind: string; mode: string }, by: string[], sums: readonly GroupSums[], ask: AxisAsk = {}): AgreementResult {
  const groups = sums.map((g) => {
    const d = summaryFromSums(g.value.n, g.value.sum, g.value.sumSq);
    const a = g.second ? summaryFromSums(g.second.n, g.second.sum, g.second.sumSq) : summaryFromSums(0, null, null);
    return { key: g.key, n: d.n, distanceMean: d.mean, distanceSd: d.sd, alignmentN: a.n, alignmentMean: a.mean, alignmentSd: a.sd, log: g.log };
  });
  const f = fitsAlong(by, groups, ask);
  return { ...meta, by, groups: sortGroups(by, f.axes, groups), ...f };
}

/** Relative Frobenius distance and alignment of empirical vs analytic kernels, per group, with the width slope. */
export function agreement(db: Db, opts: AgreementOptions): AgreementResult {
  const phase = opts.phase ?? 'init';
  const kind = opts.kind ?? 'ntk';
  const mode = opts.mode ?? 'exact';
  const keys = groupKeys(opts.by ?? opts.byVarying ?? varyingKeys(db, opts), opts);
  const raw = groupSums(db, opts, keys, { phase, kind, mode, value: kernelMetrics.relFrob, second: kernelMetrics.alignment });
  if (raw.length === 0) noRows(opts, `kernel metrics (${phase}, ${kind}, ${mode})`);
  const { by, groups } = opts.by === undefined && opts.byVarying !== undefined ? mergeGroups(keys, raw) : { by: keys, groups: raw };
  return toAgreement({ sweep: opts.sweep, phase, kind, mode }, by, groups, opts);
}

/** NTK-exact agreement (init or final) from the cube, grouped by the cube keys that vary. */
export function agreementFromCube(rows: readonly CubeRow[], sweep: string, phase: 'init' | 'final'): AgreementResult {
  const sums = phase === 'init' ? cubeGroupSums(rows, 'i', 'ia') : cubeGroupSums(rows, 'f', 'fa');
  if (sums.length === 0) throw new HypersweepError(`no kernel metrics (${phase}, ntk, exact) for sweep ${sweep}`);
  const { by, groups } = mergeGroups(cubeKeys, sums);
  return toAgreement({ sweep, phase, kind: 'ntk', mode: 'exact' }, by, groups);
}

// ---- movement ------------------------------------------------------------------------------------------

export interface MovementGroup {
  key: GroupKey;
  log: LogSums;
  n: number;
  movementMean: number | null;
  movementSd: number | null;
}

export interface MovementResult extends Fitted {
  sweep: string;
  by: string[];
  groups: MovementGroup[];
}

function toMovement(sweep: string, by: string[], sums: readonly GroupSums[], ask: AxisAsk = {}): MovementResult {
  const groups = sums.map((g) => {
    const s = summaryFromSums(g.value.n, g.value.sum, g.value.sumSq);
    return { key: g.key, n: s.n, movementMean: s.mean, movementSd: s.sd, log: g.log };
  });
  const f = fitsAlong(by, groups, ask);
  return { sweep, by, groups: sortGroups(by, f.axes, groups), ...f };
}

/** NTK movement ‖Θ̂_T − Θ̂_0‖/‖Θ̂_0‖ (final, ntk, exact rows) per group, with its width slope. */
export function movement(db: Db, opts: Selection & AxisAsk & { by?: readonly string[]; byVarying?: readonly string[] }): MovementResult {
  const keys = groupKeys(opts.by ?? opts.byVarying ?? varyingKeys(db, opts), opts);
  const k = kernelMetrics;
  const raw = groupSums(db, opts, keys, { phase: 'final', kind: 'ntk', mode: 'exact', value: k.movement, where: sql`${k.movement} is not null` });
  if (raw.length === 0) noRows(opts, 'NTK movement values');
  const { by, groups } = opts.by === undefined && opts.byVarying !== undefined ? mergeGroups(keys, raw) : { by: keys, groups: raw };
  return toMovement(opts.sweep, by, groups, opts);
}

/** NTK movement from the cube, grouped by the cube keys that vary. */
export function movementFromCube(rows: readonly CubeRow[], sweep: string): MovementResult {
  const sums = cubeGroupSums(rows, 'm');
  if (sums.length === 0) throw new HypersweepError(`no NTK movement values for sweep ${sweep}`);
  const { by, groups } = mergeGroups(cubeKeys, sums);
  return toMovement(sweep, by, groups);
}

// ---- convergence ---------------------------------------------------------------------------------------

export interface ConvergenceGroup {
  key: GroupKey;
  /** Finished trials (completed or diverged) in the group. */
  n: number;
  /** Final training loss over the trials that have one (a diverged loss is stored as null). */
  lossN: number;
  lossMean: number | null;
  lossSd: number | null;
  /** Median over the trials of final / first logged training loss (how far the loss came down). */
  ratioMedian: number | null;
  /** Trials (of the n) whose train_loss curve met the criterion, and their fraction. */
  reached: number;
  fractionReached: number;
  /** Median over those trials of the first logged step that met it. */
  medianSteps: number | null;
}

/**
 * "Converged": the logged training loss fell to `rel` × its first logged value (relative, the default: it
 * means the same on every task whatever its loss scale), or below `eps` (absolute).
 */
export type Criterion = { kind: 'relative'; rel: number } | { kind: 'absolute'; eps: number };

export const defaultCriterion: Criterion = { kind: 'relative', rel: 0.01 };

/** The criterion in words, for the output. */
export function criterionText(c: Criterion): string {
  return c.kind === 'relative' ? `train loss <= ${c.rel} x its first logged value` : `train loss < ${c.eps}`;
}

export interface ConvergenceResult {
  sweep: string;
  criterion: Criterion;
  by: string[];
  groups: ConvergenceGroup[];
}

/** Final training loss, and how often / how fast the loss curve met the criterion, per group. */
export function convergence(
  db: Db, opts: Selection & AxisAsk & { by?: readonly string[]; eps?: number; rel?: number },
): ConvergenceResult {
  const criterion: Criterion = opts.eps !== undefined ? { kind: 'absolute', eps: opts.eps } : opts.rel !== undefined ? { kind: 'relative', rel: opts.rel } : defaultCriterion;
  const level = criterion.kind === 'absolute' ? criterion.eps : criterion.rel;
  if (!(level > 0)) throw new HypersweepError(`--${criterion.kind === 'absolute' ? 'eps' : 'rel'} ${level}: must be a positive number`);
  const by = groupKeys(opts.by ?? varyingKeys(db, opts), opts);
  const mp = metricPoints;
  const curve = sql`${mp.trialId} = ${trials.id} and ${mp.series} = 'train_loss'`;
  // The innermost metric_points is the one the unqualified-by-alias columns resolve to (SQLite scoping).
  const first = sql<number | null>`(select ${mp.value} from ${mp} where ${curve} order by ${mp.step} limit 1)`;
  const met = criterion.kind === 'absolute' ? sql`${mp.value} < ${criterion.eps}` : sql`${mp.value} <= ${criterion.rel} * ${first}`;
  const firstHit = sql<number | null>`(select min(${mp.step}) from ${mp} where ${curve} and ${met})`;
  const rows = db
    .select({ ...groupFields(by), loss: trials.trainLoss, first, hit: firstHit })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(whereOf(opts, inArray(trials.status, ['completed', 'diverged'])))
    .all();
  if (rows.length === 0) noRows(opts, 'finished trials');
  const acc = new Map<string, { key: GroupKey; losses: number[]; ratios: number[]; hits: number[]; n: number }>();
  for (const r of rows) {
    const key = groupKeyOf(by, r);
    const id = JSON.stringify(by.map((k) => key[k]));
    let g = acc.get(id);
    if (!g) acc.set(id, (g = { key, losses: [], ratios: [], hits: [], n: 0 }));
    g.n++;
    if (r.loss !== null) g.losses.push(r.loss);
    if (r.loss !== null && r.first !== null && r.first > 0) g.ratios.push(r.loss / r.first);
    if (r.hit !== null) g.hits.push(r.hit);
  }
  const groups = [...acc.values()].map((g) => {
    const s = summarize(g.losses);
    return {
      key: g.key,
      n: g.n,
      lossN: s.n,
      lossMean: s.mean,
      lossSd: s.sd,
      ratioMedian: median(g.ratios),
      reached: g.hits.length,
      fractionReached: g.hits.length / g.n,
      medianSteps: median(g.hits),
    };
  });
  return { sweep: opts.sweep, criterion, by, groups: sortGroups(by, axesOf(by, groups, opts), groups) };
}
