import { and, asc, count, eq, inArray, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { HypersweepError } from '../core/errors.js';
import { trialConfigSchema } from '../core/config.js';
import type { Db } from './db.js';
import { cubeReady, readStoredCube } from './queries-cube.js';
import { fitLogLogSlope, median, slopeMethod, summarize, summaryFromSums, type LogGroup, type SlopeFit } from './queries-stats.js';
import { kernelMetrics, metricPoints, sweeps, sweepTrials, trials } from './tables.js';

/**
 * Aggregates over a sweep's trials: kernel agreement, convergence, NTK movement, and the flat export. Every
 * statement is a drizzle builder or a `sql` template with bound parameters; config keys are checked against
 * the trial config schema before they reach a statement.
 */

export type ConfigValue = string | number | boolean | null;

/** A `--where key=value` filter on a config key. */
export interface Filter {
  key: string;
  value: ConfigValue;
}

export interface Selection {
  sweep: string;
  where?: readonly Filter[];
}

// ---- config keys -------------------------------------------------------------------------------------

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenKeys(v as Record<string, unknown>, key));
    else out.push(key);
  }
  return out;
}

/** Every dotted config key (f.width, train.lr, ...), from the trial config schema with defaults applied. */
export const configKeys: readonly string[] = flattenKeys(trialConfigSchema.parse({ task: 'noop' }));
const configKeySet = new Set(configKeys);

/** Keys that have their own indexed column in `trials`; the rest are read with json_extract. */
const keyColumns: Record<string, SQL> = {
  task: sql`${trials.task}`,
  seed: sql`${trials.seed}`,
  'f.width': sql`${trials.fWidth}`,
  'f.depth': sql`${trials.fDepth}`,
  'g.width': sql`${trials.gWidth}`,
  'g.depth': sql`${trials.gDepth}`,
  'train.lr': sql`${trials.lr}`,
};

function checkKey(key: string, where: string): string {
  if (!configKeySet.has(key)) {
    throw new HypersweepError(`${where}: unknown config key '${key}' (known: ${configKeys.join(', ')})`);
  }
  return key;
}

/** The SQL expression of a (checked) config key: its column, or json_extract with the path bound. */
export function keyExpr(key: string): SQL {
  return keyColumns[key] ?? sql`json_extract(${trials.config}, ${'$.' + checkKey(key, 'config key')})`;
}

/** `key=value` strings → filters; the value is read as JSON when it parses (3, 0.1, "x"), else as a string. */
export function parseWhere(list: readonly string[] | undefined): Filter[] {
  return (list ?? []).map((item) => {
    const eqAt = item.indexOf('=');
    if (eqAt <= 0) throw new HypersweepError(`--where ${item}: expected key=value (e.g. f.depth=3)`);
    const key = checkKey(item.slice(0, eqAt).trim(), `--where ${item}`);
    const raw = item.slice(eqAt + 1).trim();
    let value: ConfigValue;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object') throw new HypersweepError(`--where ${item}: value must be a scalar`);
      value = parsed as ConfigValue;
    } catch (err) {
      if (err instanceof HypersweepError) throw err;
      value = raw;
    }
    return { key, value };
  });
}

/** `f.width,g.width` → checked keys. */
export function parseBy(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const keys = s.split(',').map((k) => k.trim()).filter((k) => k.length > 0);
  if (keys.length === 0) throw new HypersweepError(`--by '${s}': name at least one config key`);
  return keys.map((k) => checkKey(k, `--by ${s}`));
}

// ---- selection -----------------------------------------------------------------------------------------

/** The sweep to query: the one named (must exist), or the only sweep in the database. */
export function resolveSweep(db: Db, name: string | undefined): string {
  const names = db.select({ name: sweeps.name }).from(sweeps).orderBy(asc(sweeps.name)).all().map((r) => r.name);
  if (name === undefined) {
    if (names.length === 1) return names[0];
    if (names.length === 0) throw new HypersweepError('the database has no sweeps yet (run `hypersweep run SWEEP.yaml` first)');
    throw new HypersweepError(`--sweep: required, the database has ${names.length} sweeps (${names.join(', ')})`);
  }
  if (!names.includes(name)) {
    throw new HypersweepError(`--sweep ${name}: no such sweep${names.length ? ` (sweeps: ${names.join(', ')})` : ''}`);
  }
  return name;
}

function whereOf(sel: Selection, ...more: Array<SQL | undefined>): SQL | undefined {
  const filters = (sel.where ?? []).map((f) => {
    const v = typeof f.value === 'boolean' ? Number(f.value) : f.value;
    return v === null ? sql`${keyExpr(f.key)} is null` : sql`${keyExpr(f.key)} = ${v}`;
  });
  return and(eq(sweepTrials.sweep, sel.sweep), ...filters, ...more);
}

function describeSelection(sel: Selection): string {
  const w = (sel.where ?? []).map((f) => `${f.key}=${JSON.stringify(f.value)}`);
  return `sweep ${sel.sweep}${w.length ? ` where ${w.join(', ')}` : ''}`;
}

/** Config keys with their own column (cheap to group by: no JSON parsing). */
export const columnKeys: readonly string[] = Object.keys(keyColumns);

/** Config keys (other than seed) that take more than one value among the selected trials; `keys` limits the search. */
export function varyingKeys(db: Db, sel: Selection, keys: readonly string[] = configKeys): string[] {
  const fields: Record<string, SQL<number>> = {};
  keys.forEach((k, i) => (fields[`k${i}`] = sql<number>`count(distinct ${keyExpr(k)})`));
  const row = db
    .select(fields)
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(whereOf(sel))
    .get();
  if (!row) return [];
  return keys.filter((k, i) => k !== 'seed' && Number(row[`k${i}`]) > 1);
}

type GroupKey = Record<string, ConfigValue>;

function groupFields(by: readonly string[]): Record<string, SQL<ConfigValue>> {
  const out: Record<string, SQL<ConfigValue>> = {};
  by.forEach((k, i) => (out[`g${i}`] = sql<ConfigValue>`${keyExpr(k)}`));
  return out;
}

function groupKeyOf(by: readonly string[], row: Record<string, unknown>): GroupKey {
  const key: GroupKey = {};
  by.forEach((k, i) => (key[k] = (row[`g${i}`] ?? null) as ConfigValue));
  return key;
}

function compareKeys(by: readonly string[]) {
  return (a: { key: GroupKey }, b: { key: GroupKey }): number => {
    for (const k of by) {
      const x = a.key[k];
      const y = b.key[k];
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x) < String(y) ? -1 : 1;
    }
    return 0;
  };
}

// ---- slope applicability -------------------------------------------------------------------------------

export interface FitInfo extends Partial<SlopeFit> {
  /** The width the value was fitted against: f.width, g.width, or f.width=g.width (both grow together). */
  axis: string | null;
  method: string;
  /** Why there is no fit, when there is none. */
  note: string | null;
}

interface SlopeInput {
  key: GroupKey;
  log: LogSums;
}

/**
 * Fit log(value) against log(width) when exactly one width axis varies among the groups and every other group
 * key is fixed, or when f.width and g.width vary together with a constant ratio (fit against f.width; the
 * exponent is the same against either).
 */
export function slopeOverGroups(by: readonly string[], groups: readonly SlopeInput[]): FitInfo {
  const none = (note: string): FitInfo => ({ axis: null, method: slopeMethod, note });
  const varying = by.filter((k) => new Set(groups.map((g) => JSON.stringify(g.key[k]))).size > 1);
  const widths = varying.filter((k) => k === 'f.width' || k === 'g.width');
  const others = varying.filter((k) => k !== 'f.width' && k !== 'g.width');
  if (widths.length === 0) return none('no width axis varies among the groups');
  if (others.length > 0) return none(`more than a width varies (${others.join(', ')}); filter with --where or narrow --by`);
  let axis: string;
  let widthOf: (k: GroupKey) => number;
  if (widths.length === 1) {
    axis = widths[0];
    widthOf = (k) => Number(k[axis]);
  } else {
    const ratios = new Set(groups.map((g) => (Number(g.key['g.width']) / Number(g.key['f.width'])).toPrecision(12)));
    if (ratios.size !== 1) return none('f.width and g.width both vary but not together; filter one with --where');
    const [r] = [...ratios];
    axis = Number(r) === 1 ? 'f.width=g.width' : `f.width (g.width = ${Number(r)}·f.width)`;
    widthOf = (k) => Number(k['f.width']);
  }
  const lg: LogGroup[] = groups.map((g) => ({ width: widthOf(g.key), ...g.log }));
  const fit = fitLogLogSlope(lg);
  if (!fit) return none('fewer than two widths with positive values');
  return { axis, method: slopeMethod, note: null, ...fit };
}

// ---- group collapsing ----------------------------------------------------------------------------------

/**
 * Merge rows grouped by `keys` into groups over only the keys that vary among them. Every numeric field is a
 * count or a sum, so merging is exact; this finds the varying keys and aggregates in one pass over the data.
 */
function collapse<R extends Record<string, unknown>>(keys: readonly string[], rows: R[], sums: readonly (keyof R & string)[]): { by: string[]; rows: R[] } {
  const by = keys.filter((k, i) => k !== 'seed' && new Set(rows.map((r) => JSON.stringify(r[`g${i}`] ?? null))).size > 1);
  const idx = by.map((k) => keys.indexOf(k));
  const merged = new Map<string, R>();
  for (const r of rows) {
    const id = JSON.stringify(idx.map((i) => r[`g${i}`] ?? null));
    const m = merged.get(id);
    if (!m) {
      const out: Record<string, unknown> = {};
      idx.forEach((i, j) => (out[`g${j}`] = r[`g${i}`]));
      for (const f of sums) out[f] = r[f];
      merged.set(id, out as R);
    } else {
      for (const f of sums) {
        const a = m[f] as number | null;
        const b = r[f] as number | null;
        (m as Record<string, unknown>)[f] = a === null ? b : b === null ? a : a + b;
      }
    }
  }
  return { by, rows: [...merged.values()] };
}

// ---- agreement -----------------------------------------------------------------------------------------

export const phases = ['init', 'final'] as const;
export const kinds = ['ntk', 'gp'] as const;
export const modes = ['exact', 'paper-code'] as const;

export interface AgreementOptions extends Selection {
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

/** Per-group sufficient statistics of log(value) over the values > 0 (for slope fits on subsets). */
export interface LogSums {
  nLog: number;
  sumLog: number;
  sumLog2: number;
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

export interface AgreementResult {
  sweep: string;
  phase: string;
  kind: string;
  mode: string;
  by: string[];
  groups: AgreementGroup[];
  fit: FitInfo;
}

function logSums(x: SQLWrapper) {
  return {
    nLog: sql<number>`count(case when ${x} > 0 then 1 end)`,
    sumLog: sql<number>`coalesce(sum(case when ${x} > 0 then ln(${x}) end), 0)`,
    sumLog2: sql<number>`coalesce(sum(case when ${x} > 0 then ln(${x}) * ln(${x}) end), 0)`,
  };
}

function noRows(sel: Selection, what: string): never {
  throw new HypersweepError(`no ${what} for ${describeSelection(sel)}`);
}

/** Relative Frobenius distance and alignment of empirical vs analytic kernels, per group, with the width slope. */
export function agreement(db: Db, opts: AgreementOptions): AgreementResult {
  const phase = opts.phase ?? 'init';
  const kind = opts.kind ?? 'ntk';
  const mode = opts.mode ?? 'exact';
  const keys = [...(opts.by ?? opts.byVarying ?? varyingKeys(db, opts))];
  const k = kernelMetrics;
  const raw = db
    .select({
      ...groupFields(keys),
      n: count(k.relFrob),
      sum: sql<number | null>`sum(${k.relFrob})`,
      sumSq: sql<number | null>`sum(${k.relFrob} * ${k.relFrob})`,
      aN: count(k.alignment),
      aSum: sql<number | null>`sum(${k.alignment})`,
      aSumSq: sql<number | null>`sum(${k.alignment} * ${k.alignment})`,
      ...logSums(k.relFrob),
    })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .innerJoin(k, and(eq(k.trialId, trials.id), eq(k.phase, phase), eq(k.kind, kind), eq(k.mode, mode)))
    .where(whereOf(opts))
    .groupBy(...keys.map((key) => keyExpr(key)))
    .all()
    .filter((r) => r.n > 0); // with no group keys, an empty selection still gives one row
  if (raw.length === 0) noRows(opts, `kernel metrics (${phase}, ${kind}, ${mode})`);
  const { by, rows } = opts.by === undefined && opts.byVarying !== undefined
    ? collapse(keys, raw, ['n', 'sum', 'sumSq', 'aN', 'aSum', 'aSumSq', 'nLog', 'sumLog', 'sumLog2'])
    : { by: keys, rows: raw };
  const groups = rows.map((r) => {
    const d = summaryFromSums(r.n, r.sum, r.sumSq);
    const a = summaryFromSums(r.aN, r.aSum, r.aSumSq);
    return {
      key: groupKeyOf(by, r),
      n: d.n,
      distanceMean: d.mean,
      distanceSd: d.sd,
      alignmentN: a.n,
      alignmentMean: a.mean,
      alignmentSd: a.sd,
      log: { nLog: r.nLog, sumLog: r.sumLog, sumLog2: r.sumLog2 },
    };
  });
  groups.sort(compareKeys(by));
  const fit = slopeOverGroups(by, groups);
  return { sweep: opts.sweep, phase, kind, mode, by, groups, fit };
}

// ---- movement ------------------------------------------------------------------------------------------

export interface MovementGroup {
  key: GroupKey;
  log: LogSums;
  n: number;
  movementMean: number | null;
  movementSd: number | null;
}

export interface MovementResult {
  sweep: string;
  by: string[];
  groups: MovementGroup[];
  fit: FitInfo;
}

/** NTK movement ‖Θ̂_T − Θ̂_0‖/‖Θ̂_0‖ (final, ntk, exact rows) per group, with its width slope. */
export function movement(db: Db, opts: Selection & { by?: readonly string[]; byVarying?: readonly string[] }): MovementResult {
  const keys = [...(opts.by ?? opts.byVarying ?? varyingKeys(db, opts))];
  const k = kernelMetrics;
  const raw = db
    .select({
      ...groupFields(keys),
      n: count(k.movement),
      sum: sql<number | null>`sum(${k.movement})`,
      sumSq: sql<number | null>`sum(${k.movement} * ${k.movement})`,
      ...logSums(k.movement),
    })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .innerJoin(k, and(eq(k.trialId, trials.id), eq(k.phase, 'final'), eq(k.kind, 'ntk'), eq(k.mode, 'exact')))
    .where(whereOf(opts, sql`${k.movement} is not null`))
    .groupBy(...keys.map((key) => keyExpr(key)))
    .all()
    .filter((r) => r.n > 0);
  if (raw.length === 0) noRows(opts, 'NTK movement values');
  const { by, rows } = opts.by === undefined && opts.byVarying !== undefined
    ? collapse(keys, raw, ['n', 'sum', 'sumSq', 'nLog', 'sumLog', 'sumLog2'])
    : { by: keys, rows: raw };
  const groups = rows.map((r) => {
    const s = summaryFromSums(r.n, r.sum, r.sumSq);
    return {
      key: groupKeyOf(by, r),
      n: s.n,
      movementMean: s.mean,
      movementSd: s.sd,
      log: { nLog: r.nLog, sumLog: r.sumLog, sumLog2: r.sumLog2 },
    };
  });
  groups.sort(compareKeys(by));
  const fit = slopeOverGroups(by, groups);
  return { sweep: opts.sweep, by, groups, fit };
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
  /** Fraction of the n trials whose train_loss curve went below eps. */
  reached: number;
  fractionReached: number;
  /** Median over those trials of the first logged step with loss < eps. */
  medianSteps: number | null;
}

export interface ConvergenceResult {
  sweep: string;
  eps: number;
  by: string[];
  groups: ConvergenceGroup[];
}

/** Final training loss, and how often / how fast the loss curve reached eps, per group. */
export function convergence(db: Db, opts: Selection & { by?: readonly string[]; eps?: number }): ConvergenceResult {
  const eps = opts.eps ?? 1e-3;
  if (!(eps > 0)) throw new HypersweepError(`--eps ${eps}: must be a positive number`);
  const by = [...(opts.by ?? varyingKeys(db, opts))];
  const mp = metricPoints;
  const firstHit = sql<number | null>`(select min(${mp.step}) from ${mp} where ${mp.trialId} = ${trials.id} and ${mp.series} = 'train_loss' and ${mp.value} < ${eps})`;
  const rows = db
    .select({ ...groupFields(by), loss: trials.trainLoss, hit: firstHit })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(whereOf(opts, inArray(trials.status, ['completed', 'diverged'])))
    .all();
  if (rows.length === 0) noRows(opts, 'finished trials');
  const acc = new Map<string, { key: GroupKey; losses: number[]; hits: number[]; n: number }>();
  for (const r of rows) {
    const key = groupKeyOf(by, r);
    const id = JSON.stringify(by.map((k) => key[k]));
    let g = acc.get(id);
    if (!g) acc.set(id, (g = { key, losses: [], hits: [], n: 0 }));
    g.n++;
    if (r.loss !== null) g.losses.push(r.loss);
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
      reached: g.hits.length,
      fractionReached: g.hits.length / g.n,
      medianSteps: median(g.hits),
    };
  });
  groups.sort(compareKeys(by));
  return { sweep: opts.sweep, eps, by, groups };
}

// ---- export --------------------------------------------------------------------------------------------

/** Kernel columns of the export: kernel.<phase>.<kind>.<mode>.relFrob / .alignment, and kernel.movement. */
export const kernelColumns: readonly string[] = [
  ...phases.flatMap((p) =>
    kinds.flatMap((k) => modes.flatMap((m) => [`kernel.${p}.${k}.${m}.relFrob`, `kernel.${p}.${k}.${m}.alignment`])),
  ),
  'kernel.movement',
];

const trialColumns = [
  'id', 'status', 'trainLoss', 'testLoss', 'testAccuracy', 'stepsRun', 'backend', 'attempts', 'error',
] as const;

export interface ExportTable {
  columns: string[];
  rows: Array<Record<string, ConfigValue>>;
}

function flattenValues(obj: unknown, prefix: string, out: Record<string, ConfigValue>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flattenValues(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : ((obj ?? null) as ConfigValue);
  }
}

/** Every trial of the selection: id, status, its config flattened (f.width, ...), final metrics and kernel metrics. */
export function exportTrials(db: Db, sel: Selection): ExportTable {
  const rows = db
    .select({ t: trials })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(whereOf(sel))
    .orderBy(asc(sql`${sweepTrials}.rowid`))
    .all()
    .map((r) => r.t);
  if (rows.length === 0) noRows(sel, 'trials');
  const kernel = new Map<string, Record<string, ConfigValue>>();
  const k = kernelMetrics;
  const krows = db
    .select({ trialId: k.trialId, phase: k.phase, kind: k.kind, mode: k.mode, relFrob: k.relFrob, alignment: k.alignment, movement: k.movement })
    .from(sweepTrials)
    .innerJoin(k, eq(k.trialId, sweepTrials.trialId))
    .where(eq(sweepTrials.sweep, sel.sweep))
    .all();
  for (const r of krows) {
    let m = kernel.get(r.trialId);
    if (!m) kernel.set(r.trialId, (m = {}));
    m[`kernel.${r.phase}.${r.kind}.${r.mode}.relFrob`] = r.relFrob;
    m[`kernel.${r.phase}.${r.kind}.${r.mode}.alignment`] = r.alignment;
    if (r.phase === 'final' && r.kind === 'ntk' && r.mode === 'exact') m['kernel.movement'] = r.movement;
  }
  const columns = [...trialColumns, ...configKeys, ...kernelColumns];
  const out = rows.map((t) => {
    const row: Record<string, ConfigValue> = {};
    for (const c of trialColumns) row[c] = (t[c] ?? null) as ConfigValue;
    const flat: Record<string, ConfigValue> = {};
    flattenValues(t.config, '', flat);
    for (const c of configKeys) row[c] = flat[c] ?? null;
    const km = kernel.get(t.id) ?? {};
    for (const c of kernelColumns) row[c] = km[c] ?? null;
    return row;
  });
  return { columns, rows: out };
}

// ---- heatmap -------------------------------------------------------------------------------------------

export const heatmapMetrics = ['init_distance', 'final_distance', 'movement', 'final_loss', 'test_loss'] as const;
export type HeatmapMetric = (typeof heatmapMetrics)[number];

export interface HeatmapCell {
  fWidth: number;
  gWidth: number;
  n: number;
  mean: number | null;
  sd: number | null;
}

/** Mean ± sd of a metric per (f.width, g.width) cell (NTK exact for the kernel metrics). */
export function heatmap(db: Db, sel: Selection, metric: HeatmapMetric): HeatmapCell[] {
  const k = kernelMetrics;
  const base = {
    fWidth: trials.fWidth,
    gWidth: trials.gWidth,
  };
  const agg = (x: SQLWrapper) => ({
    n: sql<number>`count(${x})`,
    sum: sql<number | null>`sum(${x})`,
    sumSq: sql<number | null>`sum(${x} * ${x})`,
  });
  let rows: Array<{ fWidth: number; gWidth: number; n: number; sum: number | null; sumSq: number | null }>;
  if (metric === 'final_loss' || metric === 'test_loss') {
    const col = metric === 'final_loss' ? trials.trainLoss : trials.testLoss;
    rows = db
      .select({ ...base, ...agg(col) })
      .from(sweepTrials)
      .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
      .where(whereOf(sel))
      .groupBy(trials.fWidth, trials.gWidth)
      .all();
  } else {
    const phase = metric === 'final_distance' || metric === 'movement' ? 'final' : 'init';
    const x = metric === 'movement' ? sql`${k.movement}` : sql`${k.relFrob}`;
    rows = db
      .select({ ...base, ...agg(x) })
      .from(sweepTrials)
      .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
      .innerJoin(k, and(eq(k.trialId, trials.id), eq(k.phase, phase), eq(k.kind, 'ntk'), eq(k.mode, 'exact')))
      .where(whereOf(sel))
      .groupBy(trials.fWidth, trials.gWidth)
      .all();
  }
  return rows
    .map((r) => ({ fWidth: r.fWidth, gWidth: r.gWidth, ...summaryFromSums(r.n, r.sum, r.sumSq) }))
    .sort((a, b) => a.fWidth - b.fWidth || a.gWidth - b.gWidth);
}

// ---- sweep cube: one pass for the dashboard's default views ---------------------------------------------

/** The config keys with their own column, seed excluded: what the cube groups by. */
export const cubeKeys: readonly string[] = columnKeys.filter((k) => k !== 'seed');

const cubeSums = [
  'trials', 'lossN', 'lossSum', 'lossSq', 'testN', 'testSum', 'testSq',
  'iN', 'iSum', 'iSq', 'iaN', 'iaSum', 'iaSq', 'iLogN', 'iLog', 'iLog2',
  'fN', 'fSum', 'fSq', 'faN', 'faSum', 'faSq', 'fLogN', 'fLog', 'fLog2',
  'mN', 'mSum', 'mSq', 'mLogN', 'mLog', 'mLog2',
] as const;
type CubeSum = (typeof cubeSums)[number];
export type CubeRow = Record<`g${number}`, ConfigValue> & Record<CubeSum, number | null>;

/**
 * Sums and counts of every metric the dashboard shows by default (final and test loss; init and final NTK exact
 * distance and alignment; movement), grouped by all cube keys, in one pass over the sweep. Every view below
 * (heatmaps, NTK-exact agreement, movement) is derived from these rows by exact merging of sums.
 */
export function sweepCube(db: Db, sel: Selection): CubeRow[] {
  // The whole sweep: read the stored cube (schema/queries-cube.ts), kept current by triggers.
  if ((sel.where ?? []).length === 0 && cubeReady(db)) return readStoredCube(db, sel.sweep) as unknown as CubeRow[];
  return sweepCubeDirect(db, sel);
}

/** sweepCube by one pass over the sweep's trials and kernel rows (what the stored cube must equal). */
export function sweepCubeDirect(db: Db, sel: Selection): CubeRow[] {
  const ki = alias(kernelMetrics, 'ki');
  const kf = alias(kernelMetrics, 'kf');
  const m = (x: SQLWrapper, p: string) => ({
    [`${p}N`]: sql<number>`count(${x})`,
    [`${p}Sum`]: sql<number | null>`sum(${x})`,
    [`${p}Sq`]: sql<number | null>`sum(${x} * ${x})`,
  });
  const l = (x: SQLWrapper, p: string) => {
    const s = logSums(x);
    return { [`${p}LogN`]: s.nLog, [`${p}Log`]: s.sumLog, [`${p}Log2`]: s.sumLog2 };
  };
  const fields = {
    ...groupFields(cubeKeys),
    trials: sql<number>`count(*)`,
    ...m(trials.trainLoss, 'loss'), ...m(trials.testLoss, 'test'),
    ...m(ki.relFrob, 'i'), ...m(ki.alignment, 'ia'), ...l(ki.relFrob, 'i'),
    ...m(kf.relFrob, 'f'), ...m(kf.alignment, 'fa'), ...l(kf.relFrob, 'f'),
    ...m(kf.movement, 'm'), ...l(kf.movement, 'm'),
  };
  const rows = db
    .select(fields)
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .leftJoin(ki, and(eq(ki.trialId, trials.id), eq(ki.phase, 'init'), eq(ki.kind, 'ntk'), eq(ki.mode, 'exact')))
    .leftJoin(kf, and(eq(kf.trialId, trials.id), eq(kf.phase, 'final'), eq(kf.kind, 'ntk'), eq(kf.mode, 'exact')))
    .where(whereOf(sel))
    .groupBy(...cubeKeys.map((k) => keyExpr(k)))
    .all();
  return rows as unknown as CubeRow[];
}

function fromCube(rows: readonly CubeRow[], count: CubeSum, fields: readonly CubeSum[], by?: readonly string[]): { by: string[]; rows: CubeRow[] } {
  const live = rows.filter((r) => Number(r[count]) > 0);
  if (by === undefined) return collapse(cubeKeys, live, fields);
  // Group by given cube keys: keep those columns and merge.
  const idx = by.map((k) => cubeKeys.indexOf(k));
  const renamed = live.map((r) => {
    const out: Record<string, unknown> = {};
    idx.forEach((i, j) => (out[`g${j}`] = r[`g${i}`]));
    for (const f of fields) out[f] = r[f];
    return out as CubeRow;
  });
  const merged = new Map<string, CubeRow>();
  for (const r of renamed) {
    const id = JSON.stringify(by.map((_, j) => r[`g${j}`]));
    const m = merged.get(id);
    if (!m) merged.set(id, { ...r });
    else for (const f of fields) m[f] = m[f] === null ? r[f] : r[f] === null ? m[f] : (m[f] as number) + (r[f] as number);
  }
  return { by: [...by], rows: [...merged.values()] };
}

/** NTK-exact agreement (init or final) from the cube, grouped by the cube keys that vary. */
export function agreementFromCube(rows: readonly CubeRow[], sweep: string, phase: 'init' | 'final'): AgreementResult {
  const p = phase === 'init' ? 'i' : 'f';
  const f = (s: string) => s as CubeSum;
  const sums = [f(`${p}N`), f(`${p}Sum`), f(`${p}Sq`), f(`${p}aN`), f(`${p}aSum`), f(`${p}aSq`), f(`${p}LogN`), f(`${p}Log`), f(`${p}Log2`)];
  const { by, rows: rs } = fromCube(rows, f(`${p}N`), sums);
  if (rs.length === 0) throw new HypersweepError(`no kernel metrics (${phase}, ntk, exact) for sweep ${sweep}`);
  const groups = rs.map((r) => {
    const d = summaryFromSums(Number(r[f(`${p}N`)]), r[f(`${p}Sum`)], r[f(`${p}Sq`)]);
    const a = summaryFromSums(Number(r[f(`${p}aN`)]), r[f(`${p}aSum`)], r[f(`${p}aSq`)]);
    return {
      key: groupKeyOf(by, r), n: d.n, distanceMean: d.mean, distanceSd: d.sd, alignmentN: a.n, alignmentMean: a.mean, alignmentSd: a.sd,
      log: { nLog: Number(r[f(`${p}LogN`)]), sumLog: Number(r[f(`${p}Log`)]), sumLog2: Number(r[f(`${p}Log2`)]) },
    };
  });
  groups.sort(compareKeys(by));
  return { sweep, phase, kind: 'ntk', mode: 'exact', by, groups, fit: slopeOverGroups(by, groups) };
}

/** NTK movement from the cube, grouped by the cube keys that vary. */
export function movementFromCube(rows: readonly CubeRow[], sweep: string): MovementResult {
  const { by, rows: rs } = fromCube(rows, 'mN', ['mN', 'mSum', 'mSq', 'mLogN', 'mLog', 'mLog2']);
  if (rs.length === 0) throw new HypersweepError(`no NTK movement values for sweep ${sweep}`);
  const groups = rs.map((r) => {
    const s = summaryFromSums(Number(r.mN), r.mSum, r.mSq);
    return { key: groupKeyOf(by, r), n: s.n, movementMean: s.mean, movementSd: s.sd, log: { nLog: Number(r.mLogN), sumLog: Number(r.mLog), sumLog2: Number(r.mLog2) } };
  });
  groups.sort(compareKeys(by));
  return { sweep, by, groups, fit: slopeOverGroups(by, groups) };
}

/** A heatmap (f.width × g.width) from the cube. */
export function heatmapFromCube(rows: readonly CubeRow[], metric: HeatmapMetric): HeatmapCell[] {
  const [n, s, q]: [CubeSum, CubeSum, CubeSum] =
    metric === 'final_loss' ? ['lossN', 'lossSum', 'lossSq']
      : metric === 'test_loss' ? ['testN', 'testSum', 'testSq']
        : metric === 'init_distance' ? ['iN', 'iSum', 'iSq']
          : metric === 'final_distance' ? ['fN', 'fSum', 'fSq']
            : ['mN', 'mSum', 'mSq'];
  const { rows: rs } = fromCube(rows, n, [n, s, q], ['f.width', 'g.width']);
  return rs
    .map((r) => ({ fWidth: Number(r.g0), gWidth: Number(r.g1), ...summaryFromSums(Number(r[n]), r[s], r[q]) }))
    .sort((a, b) => a.fWidth - b.fWidth || a.gWidth - b.gWidth);
}
