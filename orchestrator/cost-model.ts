/**
 * The time model: a trial's wall seconds of compute ≈ a + b · work, with work = trialWork(config) (FLOPs of the
 * whole trial, trial-cost.ts), fitted by least squares on the finished trials of one host and backend. Pure
 * functions; the samples come from the database (schema/cost-samples.ts). docs/sweeps.md explains the model.
 */
import type { TrialConfig } from '../core/config.js';
import { trialWork } from './trial-cost.js';
import { trainingSteps } from '../worker/model/cost.js';

/** One finished trial: its estimated work (FLOPs) and the wall seconds its compute took (timings.totalMs). */
export interface CostSample {
  work: number;
  seconds: number;
}

export interface CostFit {
  /** Seconds per trial whatever its size (setup, data, analytic kernels, the runtime's fixed costs). */
  a: number;
  /** Seconds per FLOP of work: 1/b is the effective throughput of one trial on one core. */
  b: number;
  /** 'fit': least squares on `n` trials; 'prior': fewer than MIN_FIT_SAMPLES trials, the documented prior. */
  source: 'fit' | 'prior';
  n: number;
  /**
   * Relative uncertainty of a sweep total: twice the residuals' root sum of squares over the samples' total time,
   * at least SPREAD_MIN (fit), or the prior's. A rough ± band, not a confidence interval: trials on a shared
   * machine do not err independently.
   */
  spread: number;
}

/** Below this many finished trials, the prior is used as it is. */
export const MIN_FIT_SAMPLES = 3;

/**
 * The prior: the quickstart on a 2-core x86-64 VM, backend native, 2 trials at once (20 trials, 0.2–20 s each):
 * about 0.3 s per trial plus 5 GFLOP/s of work per trial. Uncertain by a factor: ±60 %.
 */
export const PRIOR_FIT: CostFit = { a: 0.3, b: 1 / 5e9, source: 'prior', n: 0, spread: 0.6 };

/** The smallest and largest relative band reported for a fit. */
const SPREAD_MIN = 0.15;
const SPREAD_MAX = 1;

/**
 * Least squares of seconds on work. The intercept is taken from the data only when the data pin it down: the OLS
 * intercept is ≥ 0 and its standard error at most half of it. Otherwise (trials all of similar sizes, all with
 * the same steps, a negative or noisy intercept) the prior's shape sets it: a = s·a₀, with s the least-squares
 * scale of the prior's predictions to the measured times (a machine twice as slow has both coefficients twice as
 * large), and b is fitted given that a (b = Σ(t − a)·w / Σw², kept > 0); `freeIntercept: false` always does this.
 * Fewer than MIN_FIT_SAMPLES: the prior.
 */
export function fitCost(samples: readonly CostSample[], prior: CostFit = PRIOR_FIT, opts: { freeIntercept?: boolean } = {}): CostFit {
  const pts = samples.filter((s) => Number.isFinite(s.work) && Number.isFinite(s.seconds) && s.work >= 0 && s.seconds > 0);
  const n = pts.length;
  if (n < MIN_FIT_SAMPLES) return { ...prior, source: 'prior', n };
  const mx = pts.reduce((s, p) => s + p.work, 0) / n;
  const my = pts.reduce((s, p) => s + p.seconds, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of pts) {
    sxx += (p.work - mx) ** 2;
    sxy += (p.work - mx) * (p.seconds - my);
  }
  let a = NaN;
  let b = NaN;
  if ((opts.freeIntercept ?? true) && sxx > 1e-12 * Math.max(mx * mx, 1) && n > 2) {
    b = sxy / sxx;
    a = my - b * mx;
    const rss = pts.reduce((s, p) => s + (p.seconds - a - b * p.work) ** 2, 0);
    const seA = Math.sqrt((rss / (n - 2)) * (1 / n + (mx * mx) / sxx));
    if (!(a >= 0 && b > 0 && seA <= 0.5 * a)) a = NaN;
  }
  if (Number.isNaN(a)) {
    const pred = pts.map((p) => prior.a + prior.b * p.work);
    const scale = pts.reduce((s, p, i) => s + p.seconds * pred[i]!, 0) / pred.reduce((s, q) => s + q * q, 0);
    a = scale * prior.a;
    const sww = pts.reduce((s, p) => s + p.work * p.work, 0);
    b = sww > 0 ? pts.reduce((s, p) => s + (p.seconds - a) * p.work, 0) / sww : scale * prior.b;
    if (!(b > 0)) b = scale * prior.b;
  }
  // The relative error of the samples' total, were the residuals independent: √Σr² / Σt, doubled.
  const r2 = pts.reduce((s, p) => s + (p.seconds - (a + b * p.work)) ** 2, 0);
  const rel = (2 * Math.sqrt(r2)) / (n * my);
  return { a, b, source: 'fit', n, spread: Math.min(SPREAD_MAX, Math.max(SPREAD_MIN, rel)) };
}

/** Predicted wall seconds of one trial's compute. */
export function predictSeconds(fit: CostFit, work: number): number {
  return fit.a + fit.b * work;
}

/**
 * Wall seconds to run `durations` in this order on `workers` slots, each taking the next trial when it frees up
 * (the local pool and BullMQ workers both do this). `busy`: seconds until each slot is free (trials running now).
 */
export function makespan(durations: readonly number[], workers: number, busy: readonly number[] = []): number {
  const w = Math.max(1, Math.floor(workers));
  const free = Array.from({ length: w }, (_, i) => Math.max(0, busy[i] ?? 0));
  for (const d of durations) {
    let k = 0;
    for (let i = 1; i < w; i++) if (free[i]! < free[k]!) k = i;
    free[k]! += Math.max(0, d);
  }
  return Math.max(...free);
}

/** A fit for one host and backend, and where it came from in words. */
export interface TimeModel {
  /** The fit on all of the host's trials with this backend, its intercept set by the prior's shape (see fitCost). */
  fit: CostFit;
  /** Per trial family (trialFamily) with at least MIN_FIT_SAMPLES trials: the free fit on that family's trials. */
  families: Record<string, CostFit>;
  /** null: every host's trials (the distributed ETA). */
  host: string | null;
  /** The backend the fit is for; null when no trial of this host says (the prior). */
  backend: string | null;
  /** 'fit on 20 trials of host vm, backend native' or 'no measurements yet, prior (…)'. */
  source: string;
}

/** What timeModelFor needs of a stored measurement (schema/cost-samples.ts TimingRow). */
export interface TimedTrial {
  config: TrialConfig;
  host: string;
  backend: string;
  seconds: number;
  finishedAt: number;
}

/**
 * The time model for trials on `host` with `backend`: a fit on that host's finished trials of that backend. For
 * `auto` (or none), the backend of the host's most recent trial: what auto chose there last time. Host null:
 * every host's trials (workers of a distributed sweep).
 */
export function timeModelFor(rows: readonly TimedTrial[], host: string | null, backend?: string): TimeModel {
  const mine = rows.filter((r) => (host === null || r.host === host) && r.config.task !== 'noop');
  const want = backend && backend !== 'auto' ? backend : [...mine].sort((x, y) => y.finishedAt - x.finishedAt)[0]?.backend ?? null;
  const used = want === null ? [] : mine.filter((r) => r.backend === want);
  const sample = (r: TimedTrial) => ({ work: trialWork(r.config), seconds: r.seconds });
  const fit = fitCost(used.map(sample), PRIOR_FIT, { freeIntercept: false });
  const byFamily = new Map<string, TimedTrial[]>();
  for (const r of used) byFamily.set(trialFamily(r.config), [...(byFamily.get(trialFamily(r.config)) ?? []), r]);
  const families: Record<string, CostFit> = {};
  for (const [f, rs] of byFamily) if (rs.length >= MIN_FIT_SAMPLES) families[f] = fitCost(rs.map(sample));
  const on = `${host === null ? 'every host' : `host ${host}`}${want ? `, backend ${want}` : ''}`;
  const source =
    fit.source === 'fit'
      ? `fit on ${fit.n} trials of ${on}`
      : `no measurements yet (${fit.n} trial${fit.n === 1 ? '' : 's'} of ${on}), prior: ${PRIOR_FIT.a} s + ${(1 / PRIOR_FIT.b / 1e9).toFixed(0)} GFLOP/s per trial`;
  return { fit, families, host, backend: want, source };
}

/**
 * Trials whose fixed costs differ: the task, and whether it trains (a training step has a fixed cost of its own,
 * which grows more than FLOPs do on a loaded machine). A family's intercept does not carry over to another one.
 */
export function trialFamily(config: TrialConfig): string {
  return `${config.task}${trainingSteps(config) > 0 ? '' : ' (no training)'}`;
}

/** Predicted wall seconds of one trial's compute (noop: its sleep). */
export function trialSeconds(model: TimeModel, config: TrialConfig): number {
  if (config.task === 'noop') return config.noop.sleepMs / 1000;
  return predictSeconds(model.families[trialFamily(config)] ?? model.fit, trialWork(config));
}

export interface SweepTime {
  /** Σ predicted trial seconds: the core-seconds (one compute thread per trial). */
  coreSeconds: number;
  /** Wall seconds on `workers` slots taking trials in order, plus the start-up of the pool. */
  wallSeconds: number;
  workers: number;
  /** The relative band: the largest spread of the fits used. */
  spread: number;
  /** wallSeconds × (1 ∓ spread). */
  low: number;
  high: number;
}

/** Seconds to start a pool of trial runners (threads, tfjs and the backend), measured ≈ 1 s on a 2-core VM. */
export const POOL_START_SECONDS = 1;

/** The time of trials (in run order) on `workers` slots. */
export function sweepTime(model: TimeModel, configs: readonly TrialConfig[], workers: number): SweepTime {
  const d = configs.map((c) => trialSeconds(model, c));
  const w = Math.max(1, Math.min(workers, configs.length));
  const wall = configs.length > 0 ? makespan(d, w) + POOL_START_SECONDS : 0;
  const fams = configs.map((c) => model.families[trialFamily(c)] ?? model.fit);
  const s = Math.max(...fams.map((f) => f.spread), 0);
  return { coreSeconds: d.reduce((x, y) => x + y, 0), wallSeconds: wall, workers: w, spread: s, low: wall * Math.max(0, 1 - s), high: wall * (1 + s) };
}
