import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { canonicalJson } from '../core/identity.js';
import { dataSeedOf, type TrialConfig } from '../core/config.js';
import type { Db } from './db.js';
import type { Tabular } from './queries-format.js';
import { whereOf, type ConfigValue, type Selection } from './queries-keys.js';
import { sweepTrials, trials } from './tables.js';

/**
 * `hypersweep query outputs`: the distribution of h(u) at init across init seeds with everything else fixed.
 * Trials (run with kernels.initOutputs: true) are grouped by their whole config except `seed`, the data's seed
 * resolved (data.seed, else seed) — so trials whose data seed follows the init seed each stay alone. Per probe
 * point: the outputs' variance and excess kurtosis across the group's seeds, next to the analytic K_GP(u, u) (the
 * variance in the dual limit) and 15/m (the excess kurtosis for n → ∞ with L = 2, docs/paper.md).
 */

/** The metrics fields the query reads; other trials (no initOutputs stored) are skipped. */
const outputsMetrics = z.object({ initOutputs: z.array(z.number()), initOutputsKgp: z.array(z.number()) });

/** Moments of one sample: size, mean, unbiased variance, excess kurtosis g₂ = m₄/m₂² − 3 (central moments, 1/N). */
export interface SampleMoments {
  n: number;
  mean: number;
  variance: number;
  excessKurtosis: number;
}

export function sampleMoments(xs: readonly number[]): SampleMoments {
  const n = xs.length;
  let mean = 0;
  for (const x of xs) mean += x / n;
  let m2 = 0, m4 = 0;
  for (const x of xs) {
    const d = (x - mean) * (x - mean);
    m2 += d / n;
    m4 += (d * d) / n;
  }
  return { n, mean, variance: n > 1 ? (m2 * n) / (n - 1) : NaN, excessKurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : NaN };
}

/**
 * Jackknife standard error over the seeds of a statistic of the N × P sample matrix (rows = seeds):
 * sqrt((N−1)/N · Σ_i (θ₍ᵢ₎ − θ̄)²), θ₍ᵢ₎ the statistic without seed i. Honest for non-Gaussian outputs, where
 * √(24/N) (the sd of g₂ for Gaussian data) understates the spread.
 */
export function jackknifeSe(rows: readonly number[][], stat: (rows: readonly number[][]) => number): number {
  const n = rows.length;
  if (n < 3) return NaN;
  const loo = rows.map((_, i) => stat(rows.filter((__, j) => j !== i)));
  const mean = loo.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt(((n - 1) / n) * loo.reduce((a, t) => a + (t - mean) * (t - mean), 0));
}

const column = (rows: readonly number[][], j: number) => rows.map((r) => r[j]);
/** The mean over points of the per-point excess kurtosis: the pooled estimate. */
const pooledKurtosis = (rows: readonly number[][]) => {
  const p = rows[0].length;
  let s = 0;
  for (let j = 0; j < p; j++) s += sampleMoments(column(rows, j)).excessKurtosis / p;
  return s;
};

export interface OutputsRow {
  /** Probe point index (output-major within a point when g has k > 1 outputs), or 'pooled' (mean over points). */
  point: number | 'pooled';
  seeds: number;
  mean: number;
  variance: number;
  kgpDiag: number;
  excessKurtosis: number;
  /** The sd of the kurtosis estimate if h were Gaussian: √(24/N). */
  seGaussian: number;
  seJackknife: number;
}

export interface OutputsGroup {
  key: Record<string, ConfigValue>;
  /** 15/m when g.depth = 2 (the n → ∞ prediction), else null. */
  predicted: number | null;
  rows: OutputsRow[];
}

export interface OutputsResult {
  sweep: string;
  by: string[];
  groups: OutputsGroup[];
  skipped: number;
}

function flatten(obj: Record<string, unknown>, prefix = '', out: Record<string, ConfigValue> = {}): Record<string, ConfigValue> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, key, out);
    else out[key] = v as ConfigValue;
  }
  return out;
}

export function outputs(db: Db, sel: Selection): OutputsResult {
  const rows = db
    .select({ config: trials.config, metrics: trials.metrics })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(whereOf(sel), eq(trials.status, 'completed')))
    .all();
  const groups = new Map<string, { flat: Record<string, ConfigValue>; config: TrialConfig; values: number[][]; kgp: number[][] }>();
  let skipped = 0;
  for (const r of rows) {
    const m = outputsMetrics.safeParse(r.metrics);
    if (!m.success) {
      skipped++;
      continue;
    }
    const { seed: _initSeed, ...rest } = r.config;
    const keyed = { ...rest, data: { ...rest.data, seed: dataSeedOf(r.config) } };
    const id = canonicalJson(keyed);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { flat: flatten(keyed), config: r.config, values: [], kgp: [] }));
    if (g.values.length && g.values[0].length !== m.data.initOutputs.length) {
      skipped++;
      continue;
    }
    g.values.push(m.data.initOutputs);
    g.kgp.push(m.data.initOutputsKgp);
  }
  const all = [...groups.values()];
  const keys = Object.keys(all[0]?.flat ?? {}).sort();
  const by = keys.filter((k) => new Set(all.map((g) => JSON.stringify(g.flat[k] ?? null))).size > 1);
  return {
    sweep: sel.sweep,
    by,
    skipped,
    groups: all.map((g) => ({
      key: Object.fromEntries(by.map((k) => [k, g.flat[k] ?? null])),
      predicted: g.config.g.depth === 2 ? 15 / g.config.g.width : null,
      rows: groupRows(g.values, g.kgp, g.config.g.outputs),
    })),
  };
}

function groupRows(values: number[][], kgp: number[][], k: number): OutputsRow[] {
  const N = values.length;
  const P = values[0].length;
  const seGaussian = Math.sqrt(24 / N);
  const perPoint: OutputsRow[] = [];
  for (let j = 0; j < P; j++) {
    const s = sampleMoments(column(values, j));
    const diag = kgp.reduce((a, d) => a + d[Math.floor(j / k)], 0) / N;
    const se = jackknifeSe(values, (rs) => sampleMoments(column(rs, j)).excessKurtosis);
    perPoint.push({ point: j, seeds: N, mean: s.mean, variance: s.variance, kgpDiag: diag, excessKurtosis: s.excessKurtosis, seGaussian, seJackknife: se });
  }
  const avg = (f: (r: OutputsRow) => number) => perPoint.reduce((a, r) => a + f(r), 0) / P;
  const pooled: OutputsRow = {
    point: 'pooled', seeds: N, mean: avg((r) => r.mean), variance: avg((r) => r.variance), kgpDiag: avg((r) => r.kgpDiag),
    excessKurtosis: pooledKurtosis(values), seGaussian, seJackknife: jackknifeSe(values, pooledKurtosis),
  };
  return [pooled, ...perPoint];
}

export function outputsTable(r: OutputsResult, points: boolean): Tabular {
  return {
    columns: [...r.by, 'point', 'seeds', 'mean', 'variance', 'kgpDiag', 'excessKurtosis', 'seJackknife', 'seGaussian', 'predicted15overM'],
    rows: r.groups.flatMap((g) =>
      g.rows.filter((row) => points || row.point === 'pooled').map((row) => ({ ...g.key, ...row, predicted15overM: g.predicted })),
    ),
  };
}
