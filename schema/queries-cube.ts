import { and, eq, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.js';
import { countColumnOf, statusColumns, storedCubeSums, sumColumn, type CubeSum } from './ddl.js';
import { cubeKeyColumns, type CubeKeyColumn, type KeyFieldValues } from './keys.js';
import { whereOf, type GroupKey, type Selection } from './queries-keys.js';
import { kernelMetrics, sweepTrials, trialStatuses, trials, type TrialStatus } from './tables.js';

/**
 * The sweep cube: per group of the cube keys (keys.ts: every key column but seed), the counts and sums of every
 * metric the dashboard shows by default (final and test loss; init and final NTK-exact distance and alignment;
 * movement, with their log sums). The heatmaps, NTK-exact agreement and movement derive from these rows by
 * exact merging of sums (queries-aggregate.ts, queries-heatmap.ts). For a whole sweep it is read from the
 * stored table `sweep_cube` (ddl.ts; kept current by triggers); with filters it is computed by one pass.
 */

/** One cube row: the cube keys by field name (task, fWidth, ...), then the counts and sums (null: no values). */
export type CubeRow = KeyFieldValues<CubeKeyColumn> & Record<CubeSum, number | null>;
type Fields<T> = { [K in keyof T]: SQL<T[K]> };

/** The cube key of a row, by dotted config key. */
export function cubeKeyOf(row: CubeRow): GroupKey {
  const key: GroupKey = {};
  for (const c of cubeKeyColumns) key[c.key] = row[c.field];
  return key;
}

const storedFields = Object.fromEntries([
  ...cubeKeyColumns.map((c) => [c.field, sql.raw(c.column)]),
  ...storedCubeSums.map((s) => {
    const col = sumColumn(s);
    const n = countColumnOf(col);
    return [s, sql.raw(n ? `CASE WHEN ${n} > 0 THEN ${col} END` : col)];
  }),
]) as Fields<CubeRow>;

/** The stored cube rows of a sweep (groups with at least one trial). */
export function readStoredCube(db: Db, sweep: string): CubeRow[] {
  return db.select(storedFields).from(sql`sweep_cube`).where(sql`sweep = ${sweep} AND trials > 0`).all();
}

type StatusSums = { sweep: string } & Record<`st_${TrialStatus}`, number>;
const statusFields = Object.fromEntries([['sweep', sql.raw('sweep')], ...statusColumns.map((c) => [c, sql.raw(`sum(${c})`)])]) as Fields<StatusSums>;

/** Trial counts per sweep and status, from the stored cube. */
export function storedStatusCounts(db: Db): Array<{ sweep: string; status: TrialStatus; n: number }> {
  const rows = db.select(statusFields).from(sql`sweep_cube`).groupBy(sql`sweep`).all();
  return rows.flatMap((r) => trialStatuses.map((s) => ({ sweep: r.sweep, status: s, n: Number(r[`st_${s}`]) })));
}

/** Count, sum and sum of squares, and the log sums of the positive values, of `x`, named `${p}N`, ... */
function moments(x: SQLWrapper, p: string, withLog: boolean): Record<string, SQL> {
  const out: Record<string, SQL> = {
    [`${p}N`]: sql`count(${x})`,
    [`${p}Sum`]: sql`sum(${x})`,
    [`${p}Sq`]: sql`sum(${x} * ${x})`,
  };
  if (withLog) {
    out[`${p}LogN`] = sql`count(case when ${x} > 0 then 1 end)`;
    out[`${p}Log`] = sql`coalesce(sum(case when ${x} > 0 then ln(${x}) end), 0)`;
    out[`${p}Log2`] = sql`coalesce(sum(case when ${x} > 0 then ln(${x}) * ln(${x}) end), 0)`;
  }
  return out;
}

/** The cube by one pass over the selected trials and their NTK-exact kernel rows (what the stored cube must equal). */
export function cubeDirect(db: Db, sel: Selection): CubeRow[] {
  const ki = alias(kernelMetrics, 'ki');
  const kf = alias(kernelMetrics, 'kf');
  const fields = {
    ...Object.fromEntries(cubeKeyColumns.map((c) => [c.field, sql`${trials[c.field]}`])),
    trials: sql`count(*)`,
    ...moments(trials.trainLoss, 'loss', false), ...moments(trials.testLoss, 'test', false),
    ...moments(ki.relFrob, 'i', true), ...moments(ki.alignment, 'ia', false),
    ...moments(kf.relFrob, 'f', true), ...moments(kf.alignment, 'fa', false),
    ...moments(kf.movement, 'm', true),
  } as Fields<CubeRow>;
  return db
    .select(fields)
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .leftJoin(ki, and(eq(ki.trialId, trials.id), eq(ki.phase, 'init'), eq(ki.kind, 'ntk'), eq(ki.mode, 'exact')))
    .leftJoin(kf, and(eq(kf.trialId, trials.id), eq(kf.phase, 'final'), eq(kf.kind, 'ntk'), eq(kf.mode, 'exact')))
    .where(whereOf(sel))
    .groupBy(...cubeKeyColumns.map((c) => trials[c.field]))
    .all();
}

/** The cube of a selection: the stored one for a whole sweep, else one pass. */
export function sweepCube(db: Db, sel: Selection): CubeRow[] {
  return (sel.where ?? []).length === 0 && sel.code === undefined ? readStoredCube(db, sel.sweep) : cubeDirect(db, sel);
}
