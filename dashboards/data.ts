import { and, asc, count, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import { HypersweepError } from '../core/errors.js';
import type { Db } from '../schema/db.js';
import { agreement, agreementFromCube, cubeKeys, movement, movementFromCube, type AxisAsk } from '../schema/queries-aggregate.js';
import { storedStatusCounts, type CubeRow } from '../schema/queries-cube.js';
import { cubeHasAxes, heatmap, heatmapAxes, heatmapFromCube, type HeatmapAxes, type HeatmapCell, type HeatmapMetric } from '../schema/queries-heatmap.js';
import { configKeys, keyExpr, varyingKeys, whereOf, type ConfigValue, type Filter } from '../schema/queries-keys.js';
import { cubeKeyColumns } from '../schema/keys.js';
import { axisScale, type FitInfo, type LogSums, type SeriesFit as QuerySeriesFit } from '../schema/queries-slope.js';
import type { AxisScale } from '../schema/queries-stats.js';
import { downsample } from '../schema/queries-stats.js';
import { kernelMetrics, metricPoints, sweeps, sweepTrials, trials, trialStatuses, type Trial, type TrialStatus } from '../schema/tables.js';

/**
 * What the dashboard and the report show, computed on the server from bound-parameter queries: sweep status,
 * a sample of downsampled loss curves, kernel distance vs width, heatmaps, pages of trials, one trial.
 */

export interface SweepStatus {
  name: string;
  task: string;
  createdAt: number;
  counts: Record<TrialStatus, number>;
  total: number;
  /** completed + diverged + failed + cancelled: trials that will not run again. */
  done: number;
  progress: number;
  /** Some trial is queued or running. */
  active: boolean;
}

export function sweepList(db: Db): SweepStatus[] {
  const list = db.select({ name: sweeps.name, task: sweeps.task, createdAt: sweeps.createdAt }).from(sweeps).orderBy(asc(sweeps.createdAt), asc(sweeps.name)).all();
  // Counts per status from the stored cube (kept by triggers).
  const rows = storedStatusCounts(db);
  return list.map((s) => {
    const counts = Object.fromEntries(trialStatuses.map((st) => [st, 0])) as Record<TrialStatus, number>;
    for (const r of rows) if (r.sweep === s.name) counts[r.status] = r.n;
    const total = trialStatuses.reduce((a, st) => a + counts[st], 0);
    const done = counts.completed + counts.diverged + counts.failed + counts.cancelled;
    return {
      name: s.name, task: s.task, createdAt: s.createdAt.getTime(), counts, total, done,
      progress: total === 0 ? 0 : done / total, active: counts.queued + counts.running > 0,
    };
  });
}

export function sweepExists(db: Db, name: string): boolean {
  return db.select({ name: sweeps.name }).from(sweeps).where(eq(sweeps.name, name)).get() !== undefined;
}

const finished = inArray(trials.status, ['completed', 'diverged']);

export interface CurveTrial {
  id: string;
  fWidth: number;
  gWidth: number;
  fDepth: number;
  gDepth: number;
  lr: number;
  seed: number;
  status: string;
  points: Array<[number, number]>;
}

/**
 * Loss curves of up to `limit` finished trials, spread over the (f.width, g.width) cells (lowest seeds first),
 * each downsampled to at most `points` points (LTTB). Walks the cells with index seeks (trials_cells_idx,
 * schema/ddl.ts) instead of scanning the sweep, so it stays fast on large sweeps.
 */
export function lossCurves(db: Db, sweep: string, o: { limit: number; points: number }): { trials: CurveTrial[] } {
  // Distinct (f.width, g.width) cells of the whole table, by skip-scan: one seek per cell.
  const cells: Array<{ fWidth: number; gWidth: number }> = [];
  let prev: { fWidth: number; gWidth: number } | undefined = db
    .select({ fWidth: trials.fWidth, gWidth: trials.gWidth })
    .from(trials)
    .orderBy(trials.fWidth, trials.gWidth)
    .limit(1)
    .get();
  while (prev && cells.length < 10_000) {
    cells.push(prev);
    prev = db
      .select({ fWidth: trials.fWidth, gWidth: trials.gWidth })
      .from(trials)
      .where(sql`(${trials.fWidth}, ${trials.gWidth}) > (${prev.fWidth}, ${prev.gWidth})`)
      .orderBy(trials.fWidth, trials.gWidth)
      .limit(1)
      .get();
  }
  const picked: CurveTrial[] = [];
  const perCellRows = (list: typeof cells, perCell: number) =>
    list.map((c) =>
      db
        .select({
          id: trials.id, fWidth: trials.fWidth, gWidth: trials.gWidth, fDepth: trials.fDepth, gDepth: trials.gDepth, lr: trials.lr,
          seed: trials.seed, status: trials.status,
        })
        .from(trials)
        .innerJoin(sweepTrials, and(eq(sweepTrials.trialId, trials.id), eq(sweepTrials.sweep, sweep)))
        .where(and(eq(trials.fWidth, c.fWidth), eq(trials.gWidth, c.gWidth), finished))
        .orderBy(trials.seed, trials.id)
        .limit(perCell)
        .all(),
    );
  let byCell = perCellRows(cells, Math.max(1, Math.ceil(o.limit / Math.max(1, cells.length)))).filter((r) => r.length > 0);
  // Cells of other sweeps (or with no finished trial) took a share: ask again, over the cells that have trials.
  if (byCell.length > 0 && byCell.length < cells.length) {
    const share = Math.ceil(o.limit / byCell.length);
    if (byCell.some((r) => r.length === Math.ceil(o.limit / cells.length))) {
      byCell = perCellRows(byCell.map((r) => ({ fWidth: r[0].fWidth, gWidth: r[0].gWidth })), share).filter((r) => r.length > 0);
    }
  }
  // Round-robin over the cells that have finished trials: lowest seeds first, at most `limit` in all.
  for (let k = 0; picked.length < o.limit && byCell.some((r) => r.length > k); k++) {
    for (const rows of byCell) if (rows[k] && picked.length < o.limit) picked.push({ ...rows[k], points: [] });
  }
  const raw = new Map<string, Array<[number, number]>>();
  if (picked.length > 0) {
    const pts = db
      .select({ trialId: metricPoints.trialId, step: metricPoints.step, value: metricPoints.value })
      .from(metricPoints)
      .where(and(inArray(metricPoints.trialId, picked.map((t) => t.id)), eq(metricPoints.series, 'train_loss')))
      .orderBy(metricPoints.trialId, metricPoints.step)
      .all();
    for (const p of pts) {
      let a = raw.get(p.trialId);
      if (!a) raw.set(p.trialId, (a = []));
      a.push([p.step, p.value]);
    }
  }
  for (const t of picked) t.points = downsample(raw.get(t.id) ?? [], o.points);
  picked.sort((a, b) => a.fWidth - b.fWidth || a.gWidth - b.gWidth || a.seed - b.seed);
  return { trials: picked };
}

export interface WidthPoint {
  /** The x value (a width, a depth, a learning rate: whichever key is the x axis). */
  width: number;
  series: string;
  n: number;
  mean: number;
  sd: number | null;
  /** Error bar ends (mean ± sd, the lower end kept positive for the log axis). */
  lo: number;
  hi: number;
  /** The facet key's value (small multiples; absent without a facet). */
  facet?: ConfigValue;
}

export interface SeriesFit {
  series: string;
  facet?: ConfigValue;
  fit: FitInfo;
}

export interface WidthChart {
  /** The x axis as the fit names it (`f.width=g.width` when both grow together), else the x key. */
  axis: string;
  /** The x key (null: nothing numeric varies) and how it is drawn and fitted. */
  x: string | null;
  scale: AxisScale;
  /** The keys that tell the series (colours) apart. */
  seriesKeys: string[];
  /** The key of the small multiples (one panel per value; null: one panel). */
  facet?: string | null;
  by: string[];
  points: WidthPoint[];
  /** One fit over all groups when it applies; else one per series (other keys fixed) where it applies. */
  fits: SeriesFit[];
  note: string | null;
}

type ChartGroup = { key: Record<string, ConfigValue>; log: LogSums; n: number; mean: number | null; sd: number | null };

/** A query result's axes and fits (queries-slope.ts fitsAlong): x is the first varying key of widths, depths, the rest. */
interface Fitted {
  by: string[];
  axes: { x: string | null; series: string[] };
  fit: FitInfo;
  fits: QuerySeriesFit[];
}

/** The chart's groups and fits; `facet`, when it is one of the series keys, splits them into panels instead. */
function toWidthChart(r: Fitted, groups: ChartGroup[], facetAsk?: string): WidthChart {
  const x = r.axes.x;
  if (x === null) return emptyChart(r.fit.note ?? 'no numeric config key varies');
  const facet = facetAsk !== undefined && r.axes.series.includes(facetAsk) ? facetAsk : null;
  const rest = r.axes.series.filter((k) => k !== facet);
  const labelOf = (key: Record<string, ConfigValue>) => (rest.length ? rest.map((k) => `${k}=${String(key[k])}`).join(' ') : 'all');
  const facetOf = (key: Record<string, ConfigValue>) => (facet === null ? {} : { facet: key[facet] ?? null });
  const seriesOf = (g: ChartGroup) => labelOf(g.key);
  const points = groups
    .filter((g) => g.mean !== null && g.mean > 0)
    .map((g) => {
      const mean = g.mean as number;
      const sd = g.sd;
      return {
        width: Number(g.key[x]), series: seriesOf(g), ...facetOf(g.key), n: g.n, mean, sd,
        lo: sd === null ? mean : Math.max(mean - sd, mean / 10),
        hi: sd === null ? mean : mean + sd,
      };
    });
  // One fit per series, each along x with every other key fixed (the query's fits).
  const fits: SeriesFit[] = r.fits.filter((f) => f.fit.axis !== null).map((f) => ({ series: labelOf(f.series), ...facetOf(f.series), fit: f.fit }));
  const note = fits.length ? null : (r.fits.find((f) => f.fit.note)?.fit.note ?? r.fit.note);
  return { axis: fits[0]?.fit.axis ?? x, x, scale: axisScale(x), seriesKeys: rest, facet, by: r.by, points, fits, note };
}

const emptyChart = (note: string): WidthChart => ({ axis: 'f.width', x: null, scale: 'log', seriesKeys: [], facet: null, by: [], points: [], fits: [], note });

/** The sweep's cube (schema/queries-cube.ts sweepCube), memoised by the caller while the database is unchanged. */
export type CubeSource = (sweep: string) => CubeRow[];

/** Kernel distance per group (grouping by the config columns that vary), with the slope along x; `ask` picks x and the series key. */
export function distanceChart(
  db: Db, sweep: string, opts: { phase: 'init' | 'final'; kind: 'ntk' | 'gp'; mode: 'exact' | 'paper-code' } & AxisAsk & { facet?: string }, cube?: CubeSource,
): WidthChart {
  const { facet, ...o } = opts;
  try {
    const asked = o.x !== undefined || o.series !== undefined;
    const r = cube && o.kind === 'ntk' && o.mode === 'exact' && !asked
      ? agreementFromCube(cube(sweep), sweep, o.phase)
      : agreement(db, { sweep, byVarying: cubeKeys, ...o });
    return toWidthChart(r, r.groups.map((g) => ({ key: g.key, log: g.log, n: g.n, mean: g.distanceMean, sd: g.distanceSd })), facet);
  } catch (err) {
    if (err instanceof HypersweepError) return emptyChart(err.message);
    throw err;
  }
}

/** NTK movement per group, with the slope along x. */
export function movementChart(db: Db, sweep: string, cube?: CubeSource, opts: AxisAsk & { facet?: string } = {}): WidthChart {
  const { facet, ...ask } = opts;
  try {
    const asked = ask.x !== undefined || ask.series !== undefined;
    const r = cube && !asked ? movementFromCube(cube(sweep), sweep) : movement(db, { sweep, byVarying: cubeKeys, ...ask });
    return toWidthChart(r, r.groups.map((g) => ({ key: g.key, log: g.log, n: g.n, mean: g.movementMean, sd: g.movementSd })), facet);
  } catch (err) {
    if (err instanceof HypersweepError) return emptyChart(err.message);
    throw err;
  }
}

export interface HeatmapData extends HeatmapAxes {
  metric: HeatmapMetric;
  cells: HeatmapCell[];
}

/**
 * A metric per (row, col) cell; the axes not asked for are the sweep's varying keys in the default order. From
 * the cube when it is given and holds both keys, else by one SQL pass. Asked keys must be checked config keys.
 */
export function heatmapData(db: Db, sweep: string, metric: HeatmapMetric, cube?: CubeSource, ask: { row?: string; col?: string } = {}): HeatmapData {
  const varying = cube ? sweepKeys(db, sweep, cube).varying : varyingKeys(db, { sweep }, cubeKeys);
  const axes = heatmapAxes(varying, ask);
  const cells = cube && cubeHasAxes(axes) ? heatmapFromCube(cube(sweep), metric, axes) : heatmap(db, { sweep }, metric, axes);
  return { metric, ...axes, cells: cells.filter((c) => c.n > 0) };
}

/**
 * The trials table's columns, in the order they are shown. Kernel columns are the exact-mode NTK rows (init
 * and final distance to Θ_h, init alignment, movement) and the init GP distance to K_GP.
 */
export const trialColumns = [
  'id', 'status', 'f.width', 'g.width', 'f.depth', 'g.depth', 'seed', 'train.lr',
  'initNtk', 'finalNtk', 'initGp', 'alignment', 'movement', 'trainLoss', 'testLoss',
] as const;
export type TrialColumn = (typeof trialColumns)[number];
export const sortDirs = ['asc', 'desc'] as const;

export interface TrialRow {
  id: string;
  status: string;
  fWidth: number;
  gWidth: number;
  fDepth: number;
  gDepth: number;
  seed: number;
  lr: number;
  trainLoss: number | null;
  testLoss: number | null;
  initNtk: number | null;
  finalNtk: number | null;
  initGp: number | null;
  alignment: number | null;
  movement: number | null;
}

export interface TrialsQuery {
  offset: number;
  limit: number;
  status?: TrialStatus;
  /** Sort column (default: the order the trials were added) and direction; missing values sort last. */
  sort?: TrialColumn;
  dir?: (typeof sortDirs)[number];
  /** Config-key filters (checked keys, queries-keys.ts parseWhere). */
  where?: readonly Filter[];
}

const ki = alias(kernelMetrics, 'ki');
const kf = alias(kernelMetrics, 'kf');
const kg = alias(kernelMetrics, 'kg');
const kernelJoin = (k: typeof ki | typeof kf | typeof kg, phase: 'init' | 'final', kind: 'ntk' | 'gp') =>
  and(eq(k.trialId, trials.id), eq(k.phase, phase), eq(k.kind, kind), eq(k.mode, 'exact'));

const rowFields = {
  id: trials.id, status: trials.status, fWidth: trials.fWidth, gWidth: trials.gWidth, fDepth: trials.fDepth,
  gDepth: trials.gDepth, seed: trials.seed, lr: trials.lr, trainLoss: trials.trainLoss, testLoss: trials.testLoss,
  initNtk: ki.relFrob, finalNtk: kf.relFrob, initGp: kg.relFrob, alignment: ki.alignment, movement: kf.movement,
};

const sortExpr: Record<TrialColumn, SQL> = {
  id: sql`${trials.id}`, status: sql`${trials.status}`, 'f.width': sql`${trials.fWidth}`, 'g.width': sql`${trials.gWidth}`,
  'f.depth': sql`${trials.fDepth}`, 'g.depth': sql`${trials.gDepth}`, seed: sql`${trials.seed}`, 'train.lr': sql`${trials.lr}`,
  initNtk: sql`${ki.relFrob}`, finalNtk: sql`${kf.relFrob}`, initGp: sql`${kg.relFrob}`, alignment: sql`${ki.alignment}`,
  movement: sql`${kf.movement}`, trainLoss: sql`${trials.trainLoss}`, testLoss: sql`${trials.testLoss}`,
};

/** Kernel columns: the (phase, kind) row and the column they read (exact mode). Fixed text, no user input. */
const kernelSorts: Partial<Record<TrialColumn, { phase: 'init' | 'final'; kind: 'ntk' | 'gp'; column: string }>> = {
  initNtk: { phase: 'init', kind: 'ntk', column: 'rel_frob' }, finalNtk: { phase: 'final', kind: 'ntk', column: 'rel_frob' },
  initGp: { phase: 'init', kind: 'gp', column: 'rel_frob' }, alignment: { phase: 'init', kind: 'ntk', column: 'alignment' },
  movement: { phase: 'final', kind: 'ntk', column: 'movement' },
};
/** Columns that are never null (no "missing last" term: an index can give their order). */
const notNull = new Set<TrialColumn>(['id', 'status', 'f.width', 'g.width', 'f.depth', 'g.depth', 'seed', 'train.lr']);

/** Keeps a value by key while the database is unchanged (the server's; without one, nothing is kept). */
export type Memo = <T>(key: string, compute: () => T) => T;
const noMemo: Memo = (_key, compute) => compute();

/**
 * The ids of one page of a sweep's selected trials in table order: sorted (missing values last, ties in the
 * order added) or in the order added. The sort carries only the id and the sort value (SQLite keeps the top
 * offset + limit); kernel columns join only the kernel row they read.
 */
function orderedIds(db: Db, sweep: string, o: TrialsQuery): string[] {
  const filtered = o.status !== undefined || (o.where ?? []).length > 0;
  const where = whereOf({ sweep, where: o.where }, o.status ? eq(trials.status, o.status) : undefined);
  const ks = o.sort ? kernelSorts[o.sort] : undefined;
  const needTrials = filtered || (o.sort !== undefined && ks === undefined);
  const joinTrials = needTrials ? sql`join ${trials} on ${trials.id} = ${sweepTrials.trialId}` : sql``;
  const joinKernel = ks
    ? sql.raw(`left join kernel_metrics k on k.trial_id = sweep_trials.trial_id and k.phase = '${ks.phase}' and k.kind = '${ks.kind}' and k.mode = 'exact'`)
    : sql``;
  const added = sql`${sweepTrials}.rowid`;
  let order = added;
  if (o.sort) {
    const e = ks ? sql.raw(`k.${ks.column}`) : sortExpr[o.sort];
    const dir = sql.raw(o.dir === 'desc' ? 'desc' : 'asc');
    order = notNull.has(o.sort) ? sql`${e} ${dir}, ${added}` : sql`(${e}) is null, ${e} ${dir}, ${added}`;
  }
  return db
    .all<{ id: string }>(sql`select ${sweepTrials.trialId} as id from ${sweepTrials} ${joinTrials} ${joinKernel} where ${where} order by ${order} limit ${o.limit} offset ${o.offset}`)
    .map((r) => r.id);
}

/**
 * One page of a sweep's trials: in the order they were added, or sorted by any column (missing values last,
 * ties in the order added), optionally of one status and filtered by config keys. A sorted or filtered page is
 * one narrow pass for the page's ids, then the page's rows by id; `memo` keeps a filter's count.
 */
export function trialsPage(db: Db, sweep: string, o: TrialsQuery, memo: Memo = noMemo): { total: number; rows: TrialRow[] } {
  const select = db
    .select(rowFields)
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .leftJoin(ki, kernelJoin(ki, 'init', 'ntk'))
    .leftJoin(kf, kernelJoin(kf, 'final', 'ntk'))
    .leftJoin(kg, kernelJoin(kg, 'init', 'gp'));
  const filtered = o.status !== undefined || (o.where ?? []).length > 0;
  if (o.sort !== undefined || filtered) {
    const where = whereOf({ sweep, where: o.where }, o.status ? eq(trials.status, o.status) : undefined);
    // The count of a filter is kept while the database is unchanged (paging does not repeat it).
    const total = !filtered
      ? db.select({ n: count() }).from(sweepTrials).where(eq(sweepTrials.sweep, sweep)).get()?.n ?? 0
      : memo(JSON.stringify(['trial-count', sweep, o.status ?? null, o.where ?? []]), () =>
          db.select({ n: count() }).from(sweepTrials).innerJoin(trials, eq(sweepTrials.trialId, trials.id)).where(where).get()?.n ?? 0);
    const pageIds = orderedIds(db, sweep, o);
    const rows = pageIds.length ? select.where(and(eq(sweepTrials.sweep, sweep), inArray(trials.id, pageIds))).all() : [];
    const byId = new Map(rows.map((r) => [r.id, r]));
    return { total, rows: pageIds.flatMap((id) => byId.get(id) ?? []) };
  }
  const total = db.select({ n: count() }).from(sweepTrials).where(eq(sweepTrials.sweep, sweep)).get()?.n ?? 0;
  // Unfiltered, added order: skip `offset` membership rows without joining each to its trial, then join the page.
  const rows = select
    .where(sql`${sweepTrials}.rowid in (select s2.rowid from ${sweepTrials} s2 where s2.sweep = ${sweep} order by s2.rowid limit ${o.limit} offset ${o.offset})`)
    .orderBy(asc(sql`${sweepTrials}.rowid`))
    .all();
  return { total, rows };
}

/** Distinct values of a (checked) config key among a sweep's trials, at most `limit`, in order. */
export function keyValuesOf(db: Db, sweep: string, key: string, limit = 200): { key: string; values: ConfigValue[]; more: boolean } {
  const e = keyExpr(key);
  const rows = db
    .selectDistinct({ v: sql<ConfigValue>`${e}` })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(eq(sweepTrials.sweep, sweep))
    .orderBy(sql`${e}`)
    .limit(limit + 1)
    .all()
    .map((r) => r.v);
  return { key, values: rows.slice(0, limit), more: rows.length > limit };
}

/** The config keys the sweep varies: key columns from the cube, other keys named in its spec's grid/zip. */
export function sweepKeys(db: Db, sweep: string, cube: CubeSource): { varying: string[]; all: readonly string[] } {
  const rows = cube(sweep);
  const fromCube = cubeKeyColumns.filter((c) => new Set(rows.map((r) => r[c.field])).size > 1).map((c) => c.key);
  const spec = db.select({ spec: sweeps.spec }).from(sweeps).where(eq(sweeps.name, sweep)).get()?.spec ?? {};
  const named = new Set<string>();
  const grid = spec.grid;
  if (grid && typeof grid === 'object' && !Array.isArray(grid)) for (const k of Object.keys(grid)) named.add(k);
  const zip = spec.zip;
  if (Array.isArray(zip)) for (const g of zip) if (g && typeof g === 'object') for (const k of Object.keys(g as object)) named.add(k);
  const known = new Set(configKeys);
  const varying = [...new Set([...fromCube, ...[...named].filter((k) => known.has(k) && k !== 'seed')])];
  return { varying, all: configKeys };
}

export interface ParallelRow {
  /** The varying keys' values of one config cell (seeds pooled). */
  key: Record<string, ConfigValue>;
  n: number;
  initNtk: number | null;
  finalNtk: number | null;
  movement: number | null;
  trainLoss: number | null;
  testLoss: number | null;
}

/** Per config cell (the cube's groups), the varying key columns and the mean outcomes: the parallel-coordinates data. */
export function parallelData(sweep: string, cube: CubeSource): { keys: string[]; rows: ParallelRow[] } {
  const rows = cube(sweep);
  const keys = cubeKeyColumns.filter((c) => new Set(rows.map((r) => r[c.field])).size > 1);
  const mean = (n: number | null, s: number | null) => (n && n > 0 && s !== null ? s / n : null);
  return {
    keys: keys.map((c) => c.key),
    rows: rows
      .filter((r) => Number(r.trials) > 0)
      .map((r) => ({
        key: Object.fromEntries(keys.map((c) => [c.key, r[c.field]])),
        n: Number(r.trials),
        initNtk: mean(r.iN, r.iSum), finalNtk: mean(r.fN, r.fSum), movement: mean(r.mN, r.mSum),
        trainLoss: mean(r.lossN, r.lossSum), testLoss: mean(r.testN, r.testSum),
      })),
  };
}

export interface RunningCurve {
  id: string;
  key: Record<string, ConfigValue>;
  points: Array<[number, number]>;
}

/** The running trials of a sweep (at most `limit`) with the loss points stored so far (schema/store.ts recordProgress). */
export function runningCurves(db: Db, sweep: string, o: { limit: number; points: number }): { total: number; trials: RunningCurve[] } {
  const where = and(eq(sweepTrials.sweep, sweep), eq(trials.status, 'running'));
  const total = db.select({ n: count() }).from(sweepTrials).innerJoin(trials, eq(sweepTrials.trialId, trials.id)).where(where).get()?.n ?? 0;
  const list = db
    .select({ id: trials.id, fWidth: trials.fWidth, gWidth: trials.gWidth, fDepth: trials.fDepth, seed: trials.seed, lr: trials.lr })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(where)
    .orderBy(trials.id)
    .limit(o.limit)
    .all();
  const out: RunningCurve[] = list.map((t) => ({
    id: t.id,
    key: { 'f.width': t.fWidth, 'g.width': t.gWidth, 'f.depth': t.fDepth, seed: t.seed, 'train.lr': t.lr },
    points: [],
  }));
  if (out.length > 0) {
    const pts = db
      .select({ trialId: metricPoints.trialId, step: metricPoints.step, value: metricPoints.value })
      .from(metricPoints)
      .where(and(inArray(metricPoints.trialId, out.map((t) => t.id)), eq(metricPoints.series, 'train_loss')))
      .orderBy(metricPoints.trialId, metricPoints.step)
      .all();
    const by = new Map(out.map((t) => [t.id, t]));
    for (const p of pts) by.get(p.trialId)?.points.push([p.step, p.value]);
    for (const t of out) t.points = downsample(t.points, o.points);
  }
  return { total, trials: out };
}

export interface TrialDetail {
  id: string;
  status: string;
  sweeps: string[];
  config: Trial['config'];
  metrics: Trial['metrics'];
  backend: string | null;
  worker: string | null;
  host: string | null;
  attempts: number;
  error: string | null;
  timings: Trial['timings'];
  versions: Trial['versions'];
  kernel: Array<{ phase: string; kind: string; mode: string; relFrob: number; alignment: number | null; movement: number | null }>;
  curve: Array<[number, number]>;
  curvePoints: number;
}

export function trialDetail(db: Db, id: string, points: number): TrialDetail | undefined {
  const t = db.select().from(trials).where(eq(trials.id, id)).get();
  if (!t) return undefined;
  const member = db.select({ sweep: sweepTrials.sweep }).from(sweepTrials).where(eq(sweepTrials.trialId, id)).all();
  const kernel = db
    .select({ phase: kernelMetrics.phase, kind: kernelMetrics.kind, mode: kernelMetrics.mode, relFrob: kernelMetrics.relFrob, alignment: kernelMetrics.alignment, movement: kernelMetrics.movement })
    .from(kernelMetrics)
    .where(eq(kernelMetrics.trialId, id))
    .orderBy(desc(kernelMetrics.phase), kernelMetrics.kind, kernelMetrics.mode)
    .all();
  const curve = db
    .select({ step: metricPoints.step, value: metricPoints.value })
    .from(metricPoints)
    .where(and(eq(metricPoints.trialId, id), eq(metricPoints.series, 'train_loss')))
    .orderBy(metricPoints.step)
    .all()
    .map((p): [number, number] => [p.step, p.value]);
  return {
    id: t.id, status: t.status, sweeps: member.map((m) => m.sweep), config: t.config, metrics: t.metrics, backend: t.backend,
    worker: t.worker, host: t.host, attempts: t.attempts, error: t.error, timings: t.timings, versions: t.versions,
    kernel, curve: downsample(curve, points), curvePoints: curve.length,
  };
}
