import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from './db.js';
import { kinds, modes, phases } from './queries-aggregate.js';
import { configKeys, noRows, whereOf, type ConfigValue, type Selection } from './queries-keys.js';
import { kernelMetrics, metricPoints, sweepTrials, trials } from './tables.js';

/**
 * `hypersweep export`: one flat row per trial (id, status, config keys, final metrics, kernel metrics), or with
 * `--curves` the logged curves in long format (trial, step, metric, value).
 */

/** Kernel columns of the export: kernel.<phase>.<kind>.<mode>.relFrob / .alignment, and kernel.movement. */
export const kernelColumns: readonly string[] = [
  ...phases.flatMap((p) =>
    kinds.flatMap((k) => modes.flatMap((m) => [`kernel.${p}.${k}.${m}.relFrob`, `kernel.${p}.${k}.${m}.alignment`])),
  ),
  'kernel.movement',
];

const trialColumns = [
  'id', 'status', 'trainLoss', 'testLoss', 'testAccuracy', 'stepsRun', 'backend', 'attempts', 'error',
  'codeVersion', 'codeHash', 'gitCommit',
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

/** The logged curves of the selection's trials, long format: trial, step, metric (train_loss, ...), value. */
export function exportCurves(db: Db, sel: Selection): ExportTable {
  const mp = metricPoints;
  const rows = db
    .select({ trial: mp.trialId, step: mp.step, metric: mp.series, value: mp.value })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .innerJoin(mp, eq(mp.trialId, trials.id))
    .where(whereOf(sel))
    .orderBy(asc(sql`${sweepTrials}.rowid`), asc(mp.series), asc(mp.step))
    .all();
  if (rows.length === 0) noRows(sel, 'logged curve points');
  return { columns: ['trial', 'step', 'metric', 'value'], rows };
}
