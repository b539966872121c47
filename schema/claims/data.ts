import { eq } from 'drizzle-orm';
import type { Db } from '../db.js';
import { kernelMetrics, sweepTrials, trials, type TrialStatus } from '../tables.js';
import { evalExpr, parseExpr, type Expr } from './expr.js';
import { isMetricName, metricAliases } from './spec.js';

/** One trial as the claims see it: status, flattened config and every metric it stored. */
export interface ClaimTrial {
  id: string;
  status: TrialStatus;
  /** Dotted config key → value (f.width → 512). */
  config: Record<string, unknown>;
  /** Metric name → value; absent or null when the trial has none (unfinished, diverged, kernels off). */
  metrics: Record<string, number | null>;
  /** The stored metrics JSON, for `metrics.<path>` names. */
  raw: unknown;
}

function flatten(obj: unknown, prefix: string, out: Record<string, unknown>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = obj;
  }
}

const finiteOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

const parsed = new Map<string, Expr>();

/**
 * A trial's value of a (validated) metric name, or of an arithmetic expression of metric names; null when it has
 * none (or, for an expression, when a metric in it has none or the result is not finite).
 */
export function metricOf(t: ClaimTrial, name: string): number | null {
  if (!isMetricName(name)) {
    let e = parsed.get(name);
    if (!e) parsed.set(name, (e = parseExpr(name)));
    let missing = false;
    const v = evalExpr(e, (k) => {
      const x = metricOf(t, k);
      if (x === null) missing = true;
      return x ?? NaN;
    });
    return missing ? null : finiteOrNull(v);
  }
  const canonical = (metricAliases as Record<string, string>)[name] ?? name;
  if (canonical.startsWith('metrics.')) {
    let cur: unknown = t.raw;
    for (const p of canonical.slice('metrics.'.length).split('.')) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return null;
      cur = (cur as Record<string, unknown>)[p];
    }
    return finiteOrNull(cur);
  }
  return t.metrics[canonical] ?? null;
}

/** Every trial of a sweep with its config and metrics (trial columns, kernel_metrics rows, the metrics JSON). */
export function loadClaimTrials(db: Db, sweep: string): ClaimTrial[] {
  const rows = db
    .select({
      id: trials.id,
      status: trials.status,
      config: trials.config,
      trainLoss: trials.trainLoss,
      testLoss: trials.testLoss,
      testAccuracy: trials.testAccuracy,
      metrics: trials.metrics,
    })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(eq(sweepTrials.sweep, sweep))
    .all();
  const byId = new Map<string, ClaimTrial>();
  for (const r of rows) {
    const config: Record<string, unknown> = {};
    flatten(r.config, '', config);
    byId.set(r.id, {
      id: r.id,
      status: r.status,
      config,
      metrics: { train_loss: r.trainLoss, test_loss: r.testLoss, test_accuracy: r.testAccuracy },
      raw: r.metrics,
    });
  }
  const k = kernelMetrics;
  const kernelRows = db
    .select({ trialId: k.trialId, phase: k.phase, kind: k.kind, mode: k.mode, relFrob: k.relFrob, alignment: k.alignment, movement: k.movement })
    .from(sweepTrials)
    .innerJoin(k, eq(k.trialId, sweepTrials.trialId))
    .where(eq(sweepTrials.sweep, sweep))
    .all();
  for (const r of kernelRows) {
    const t = byId.get(r.trialId);
    if (!t) continue;
    t.metrics[`kernel.${r.phase}.${r.kind}.${r.mode}.relFrob`] = r.relFrob;
    t.metrics[`kernel.${r.phase}.${r.kind}.${r.mode}.alignment`] = r.alignment;
    if (r.phase === 'final' && r.kind === 'ntk' && r.mode === 'exact') t.metrics['kernel.movement'] = r.movement;
  }
  return [...byId.values()];
}
