import { and, eq, sql, type SQLWrapper } from 'drizzle-orm';
import type { Db } from './db.js';
import type { CubeSum } from './ddl.js';
import type { CubeRow } from './queries-cube.js';
import { whereOf, type Selection } from './queries-keys.js';
import { summaryFromSums } from './queries-stats.js';
import { kernelMetrics, sweepTrials, trials } from './tables.js';

/** Mean ± sd of a metric per (f.width, g.width) cell: by one SQL pass, or from the sweep cube. */

export const heatmapMetrics = ['init_distance', 'final_distance', 'movement', 'final_loss', 'test_loss'] as const;
export type HeatmapMetric = (typeof heatmapMetrics)[number];

export interface HeatmapCell {
  fWidth: number;
  gWidth: number;
  n: number;
  mean: number | null;
  sd: number | null;
}

const byCell = (a: HeatmapCell, b: HeatmapCell) => a.fWidth - b.fWidth || a.gWidth - b.gWidth;

/** Mean ± sd of a metric per (f.width, g.width) cell (NTK exact for the kernel metrics). */
export function heatmap(db: Db, sel: Selection, metric: HeatmapMetric): HeatmapCell[] {
  const k = kernelMetrics;
  const fields = (x: SQLWrapper) => ({
    fWidth: trials.fWidth,
    gWidth: trials.gWidth,
    n: sql<number>`count(${x})`,
    sum: sql<number | null>`sum(${x})`,
    sumSq: sql<number | null>`sum(${x} * ${x})`,
  });
  let rows: Array<{ fWidth: number; gWidth: number; n: number; sum: number | null; sumSq: number | null }>;
  if (metric === 'final_loss' || metric === 'test_loss') {
    const col = metric === 'final_loss' ? trials.trainLoss : trials.testLoss;
    rows = db
      .select(fields(col))
      .from(sweepTrials)
      .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
      .where(whereOf(sel))
      .groupBy(trials.fWidth, trials.gWidth)
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
      .groupBy(trials.fWidth, trials.gWidth)
      .all();
  }
  return rows.map((r) => ({ fWidth: r.fWidth, gWidth: r.gWidth, ...summaryFromSums(r.n, r.sum, r.sumSq) })).sort(byCell);
}

const cubeSums: Record<HeatmapMetric, [CubeSum, CubeSum, CubeSum]> = {
  final_loss: ['lossN', 'lossSum', 'lossSq'],
  test_loss: ['testN', 'testSum', 'testSq'],
  init_distance: ['iN', 'iSum', 'iSq'],
  final_distance: ['fN', 'fSum', 'fSq'],
  movement: ['mN', 'mSum', 'mSq'],
};

const add = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : a + b);

/** The heatmap from the cube: its rows merged per (f.width, g.width) cell. */
export function heatmapFromCube(rows: readonly CubeRow[], metric: HeatmapMetric): HeatmapCell[] {
  const [n, s, q] = cubeSums[metric];
  const cells = new Map<string, { fWidth: number; gWidth: number; n: number; sum: number | null; sumSq: number | null }>();
  for (const r of rows) {
    if (!(Number(r[n]) > 0)) continue;
    const id = JSON.stringify([r.fWidth, r.gWidth]);
    const c = cells.get(id);
    if (!c) cells.set(id, { fWidth: r.fWidth, gWidth: r.gWidth, n: Number(r[n]), sum: r[s], sumSq: r[q] });
    else {
      c.n += Number(r[n]);
      c.sum = add(c.sum, r[s]);
      c.sumSq = add(c.sumSq, r[q]);
    }
  }
  return [...cells.values()].map((c) => ({ fWidth: c.fWidth, gWidth: c.gWidth, ...summaryFromSums(c.n, c.sum, c.sumSq) })).sort(byCell);
}
