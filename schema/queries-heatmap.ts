import { and, eq, sql, type SQLWrapper } from 'drizzle-orm';
import type { Db } from './db.js';
import type { CubeSum } from './ddl.js';
import { cubeKeyColumns } from './keys.js';
import type { CubeRow } from './queries-cube.js';
import { compareKeys, groupFields, type ConfigValue, whereOf, type Selection } from './queries-keys.js';
import { orderAxes } from './queries-slope.js';
import { summaryFromSums } from './queries-stats.js';
import { kernelMetrics, sweepTrials, trials } from './tables.js';

/**
 * Mean ± sd of a metric per (row, col) cell, row and col any two config keys (col alone, or neither: one
 * cell): by one SQL pass, or from the sweep cube when both keys are cube columns.
 */

export const heatmapMetrics = ['init_distance', 'final_distance', 'movement', 'final_loss', 'test_loss'] as const;
export type HeatmapMetric = (typeof heatmapMetrics)[number];

/** The heatmap's keys: col is drawn along x, row along y; null: no such axis. */
export interface HeatmapAxes {
  row: string | null;
  col: string | null;
}

export interface HeatmapCell {
  /** The cell's values of the row and col keys (null where there is no such axis). */
  row: ConfigValue;
  col: ConfigValue;
  n: number;
  mean: number | null;
  sd: number | null;
}

/**
 * The axes to draw: those asked for, the rest from the varying keys in the default order (widths, depths, the
 * rest): col the first, row the next (f.width along x, g.width along y when both vary).
 */
export function heatmapAxes(varying: readonly string[], ask: { row?: string; col?: string }): HeatmapAxes {
  const order = orderAxes(varying);
  const col = ask.col ?? order.find((k) => k !== ask.row) ?? null;
  const row = ask.row ?? order.find((k) => k !== col) ?? null;
  return { row, col };
}

const axisKeys = (a: HeatmapAxes) => [a.col, a.row].filter((k): k is string => k !== null);

function byCell(a: HeatmapAxes) {
  const keys = axisKeys(a);
  return compareKeys<HeatmapCell>(keys, (c) => ({ ...(a.col ? { [a.col]: c.col } : {}), ...(a.row ? { [a.row]: c.row } : {}) }));
}

/** Whether the cube can give this heatmap (every axis key is a cube column). */
export function cubeHasAxes(a: HeatmapAxes): boolean {
  return axisKeys(a).every((k) => cubeKeyColumns.some((c) => c.key === k));
}

type Sums = { n: number; sum: number | null; sumSq: number | null };

/** Mean ± sd of a metric per cell, by one SQL pass (NTK exact for the kernel metrics); keys must be checked. */
export function heatmap(db: Db, sel: Selection, metric: HeatmapMetric, axes: HeatmapAxes): HeatmapCell[] {
  const k = kernelMetrics;
  const keys = axisKeys(axes);
  const keyFields = groupFields(keys);
  const fields = (x: SQLWrapper) => ({
    ...keyFields,
    n: sql<number>`count(${x})`,
    sum: sql<number | null>`sum(${x})`,
    sumSq: sql<number | null>`sum(${x} * ${x})`,
  });
  const group = keys.length ? Object.values(keyFields) : [sql`null`]; // no axis: one cell
  let rows: Array<Sums & Record<string, unknown>>;
  if (metric === 'final_loss' || metric === 'test_loss') {
    const col = metric === 'final_loss' ? trials.trainLoss : trials.testLoss;
    rows = db
      .select(fields(col))
      .from(sweepTrials)
      .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
      .where(whereOf(sel))
      .groupBy(...group)
      .all();
  } else {
    const phase = metric === 'final_distance' || metric === 'movement' ? 'final' : 'init';
    const x = metric === 'movement' ? sql`${k.movement}` : sql`${k.relFrob}`;
    rows = db
      .select(fields(x))
      .from(sweepTrials)
      .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
      .innerJoin(k, and(eq(k.trialId, trials.id), eq(k.phase, phase), eq(k.kind, 'ntk'), eq(k.mode, 'exact')))
      .where(whereOf(sel))
      .groupBy(...group)
      .all();
  }
  const at = (r: Record<string, unknown>, key: string | null) => (key === null ? null : ((r[`k${keys.indexOf(key)}`] ?? null) as ConfigValue));
  return rows
    .map((r) => ({ row: at(r, axes.row), col: at(r, axes.col), ...summaryFromSums(r.n, r.sum, r.sumSq) }))
    .sort(byCell(axes));
}

const cubeSums: Record<HeatmapMetric, [CubeSum, CubeSum, CubeSum]> = {
  final_loss: ['lossN', 'lossSum', 'lossSq'],
  test_loss: ['testN', 'testSum', 'testSq'],
  init_distance: ['iN', 'iSum', 'iSq'],
  final_distance: ['fN', 'fSum', 'fSq'],
  movement: ['mN', 'mSum', 'mSq'],
};

const add = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);

/** The heatmap from the cube: its rows merged per (row, col) cell; every axis key must be a cube column (cubeHasAxes). */
export function heatmapFromCube(rows: readonly CubeRow[], metric: HeatmapMetric, axes: HeatmapAxes): HeatmapCell[] {
  const [n, s, q] = cubeSums[metric];
  const fieldOf = (key: string | null) => {
    if (key === null) return null;
    const c = cubeKeyColumns.find((k) => k.key === key);
    if (!c) throw new Error(`heatmapFromCube: ${key} is not a cube key`);
    return c.field;
  };
  const [rf, cf] = [fieldOf(axes.row), fieldOf(axes.col)];
  const cells = new Map<string, { row: ConfigValue; col: ConfigValue } & Sums>();
  for (const r of rows) {
    if (!(Number(r[n]) > 0)) continue;
    const row = rf === null ? null : r[rf];
    const col = cf === null ? null : r[cf];
    const id = JSON.stringify([row, col]);
    const c = cells.get(id);
    if (!c) cells.set(id, { row, col, n: Number(r[n]), sum: r[s], sumSq: r[q] });
    else {
      c.n += Number(r[n]);
      c.sum = add(c.sum, r[s]);
      c.sumSq = add(c.sumSq, r[q]);
    }
  }
  return [...cells.values()].map((c) => ({ row: c.row, col: c.col, ...summaryFromSums(c.n, c.sum, c.sumSq) })).sort(byCell(axes));
}
