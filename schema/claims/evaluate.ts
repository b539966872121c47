import { HypersweepError } from '../../core/errors.js';
import { metricOf, type ClaimTrial } from './data.js';
import { evalExpr, exprKeys, parseExpr } from './expr.js';
import type { Claim, ClaimFilter, OrderingClaim, PlateauClaim, PowerLawClaim, ValueClaim } from './spec.js';
import { meanInterval, powerFit, welchTest } from './stats.js';
import { tQuantile } from '../queries-stats.js';

/**
 * Verdicts of claims on a sweep's trials (pure: the trials are loaded by data.ts). Each claim is one or two
 * tests; a test compares an interval with the claimed region:
 *   holds        the whole interval lies inside the region;
 *   fails        the whole interval lies outside it;
 *   inconclusive the interval straddles a boundary of the region, or there are too few values for an interval.
 * A claim holds when all its tests hold, fails when any fails, and is inconclusive otherwise. A claim whose
 * trials are not all finished yet (queued or running) is inconclusive whatever its tests say.
 */

export type Verdict = 'holds' | 'fails' | 'inconclusive';

/** A region of the real line: [min, max], either end open (undefined). */
interface Region {
  min?: number;
  max?: number;
}

export interface TestPart {
  /** What is estimated, e.g. "exponent b", "mean at f.width=2048", "mean(lower) − mean(higher)". */
  quantity: string;
  estimate: number | null;
  /** The interval the verdict is read from (null where there is none). */
  low: number | null;
  high: number | null;
  /** The claimed region in words, e.g. "in [-0.65, -0.35]", "> 0.2", "< 0". */
  region: string;
  verdict: Verdict;
  /** Why, in one line. */
  reason: string;
  /** Values the estimate is computed from. */
  n: number;
  df: number | null;
  /** One-sided p-value of the claimed direction (ordering only). */
  p: number | null;
  /** value claims: the target this part was tested against ... */
  target?: number;
  /** ... and, when checked per value of config keys, those keys' values. */
  at?: Record<string, unknown>;
}

export interface ClaimResult {
  /** Position in the sweep's `expect` list (0-based, as in error messages: expect[i]). */
  index: number;
  name: string;
  type: Claim['type'];
  metric: string;
  /** The claim in words. */
  statement: string;
  /** The statistical test, in words. */
  test: string;
  confidence: number;
  verdict: Verdict;
  reason: string;
  parts: TestPart[];
  /** Trials selected by `where` (before dropping unfinished ones or ones without a value). */
  selected: number;
  /** Trials whose values entered the tests. */
  used: number;
  notes: string[];
}

/** A bound as written (−0.25, 0.05, 2048), or to 4 significant digits. */
const fmt = (x: number) => String(Number(x.toPrecision(4)));
const fmtRegion = (r: Region): string =>
  r.min !== undefined && r.max !== undefined ? `in [${fmt(r.min)}, ${fmt(r.max)}]` : r.min !== undefined ? `> ${fmt(r.min)}` : `< ${fmt(r.max!)}`;
const fmtFilter = (f: ClaimFilter): string =>
  Object.entries(f).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`).join(', ');

/** The verdict of an interval against a region (see the file comment). */
export function decide(low: number, high: number, r: Region): { verdict: Verdict; reason: string } {
  const outside = (r.min !== undefined && high < r.min) || (r.max !== undefined && low > r.max);
  if (outside) return { verdict: 'fails', reason: `the interval lies outside ${fmtRegion(r)}` };
  const inside = (r.min === undefined || low > r.min) && (r.max === undefined || high < r.max);
  if (inside) return { verdict: 'holds', reason: `the interval lies ${fmtRegion(r).replace(/^in /, 'inside ').replace(/^> /, 'above ').replace(/^< /, 'below ')}` };
  const edge = r.min !== undefined && low <= r.min ? r.min : r.max!;
  return { verdict: 'inconclusive', reason: `the interval straddles ${fmt(edge)}` };
}

function combine(parts: readonly TestPart[]): { verdict: Verdict; reason: string } {
  const failed = parts.find((p) => p.verdict === 'fails');
  if (failed) return { verdict: 'fails', reason: `${failed.quantity}: ${failed.reason}` };
  const open = parts.find((p) => p.verdict === 'inconclusive');
  if (open) return { verdict: 'inconclusive', reason: `${open.quantity}: ${open.reason}` };
  return { verdict: 'holds', reason: parts.length > 1 ? 'every test holds' : `${parts[0]!.quantity}: ${parts[0]!.reason}` };
}

function matches(t: ClaimTrial, f: ClaimFilter): boolean {
  return Object.entries(f).every(([k, v]) => (Array.isArray(v) ? v : [v]).some((x) => t.config[k] === x));
}

const isPending = (t: ClaimTrial) => t.status === 'queued' || t.status === 'running';
const isFinished = (t: ClaimTrial) => t.status === 'completed' || t.status === 'diverged';

/** Config keys other than seed and `allowed` that take several values among the trials, with their values. */
function varying(trials: readonly ClaimTrial[], allowed: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const keys = new Set(trials.flatMap((t) => Object.keys(t.config)));
  for (const k of keys) {
    if (k === 'seed' || allowed.includes(k)) continue;
    const vals = new Set(trials.map((t) => JSON.stringify(t.config[k] ?? null)));
    if (vals.size > 1) out.set(k, vals);
  }
  return out;
}

interface Context {
  at: string;
  trials: readonly ClaimTrial[];
}

/** Throws (exit 2) when trials compared as replicates differ in a config key other than seed. */
function requireReplicates(ctx: Context, group: readonly ClaimTrial[], what: string): void {
  const v = varying(group, []);
  const [key, vals] = [...v][0] ?? [];
  if (key) throw new HypersweepError(`${ctx.at}: ${key} varies within ${what} (${[...vals!].join(', ')}): fix it with where: or the group filters`);
}

/** Throws when a config key other than seed varies at a fixed axis value (the fit would mix different sweeps). */
function requireAxisOnly(ctx: Context, group: readonly ClaimTrial[], axis: string): void {
  for (const [key] of varying(group, [axis])) {
    const byAxis = new Map<string, Set<string>>();
    for (const t of group) {
      const a = JSON.stringify(t.config[axis] ?? null);
      if (!byAxis.has(a)) byAxis.set(a, new Set());
      byAxis.get(a)!.add(JSON.stringify(t.config[key] ?? null));
    }
    const [axisValue, vals] = [...byAxis].find(([, s]) => s.size > 1) ?? [];
    if (axisValue !== undefined) {
      throw new HypersweepError(`${ctx.at}: ${key} varies at ${axis}=${axisValue} (${[...vals!].join(', ')}): fix it with where:`);
    }
  }
}

interface Selection {
  selected: ClaimTrial[];
  /** Finished trials with a finite value of the metric. */
  values: Array<{ t: ClaimTrial; y: number }>;
  pending: number;
  notes: string[];
}

function selectValues(ctx: Context, filter: ClaimFilter, metric: string, what: string): Selection {
  const selected = ctx.trials.filter((t) => matches(t, filter));
  if (selected.length === 0) {
    throw new HypersweepError(`${ctx.at}: no trial of the sweep matches ${what}${Object.keys(filter).length ? ` (${fmtFilter(filter)})` : ''}`);
  }
  const notes: string[] = [];
  const pending = selected.filter(isPending).length;
  const lost = selected.filter((t) => !isPending(t) && !isFinished(t)).length;
  if (lost > 0) notes.push(`${what}: ${lost} failed or cancelled trial${lost === 1 ? '' : 's'} left out`);
  const values: Selection['values'] = [];
  let missing = 0;
  for (const t of selected.filter(isFinished)) {
    const y = metricOf(t, metric);
    if (y === null) missing++;
    else values.push({ t, y });
  }
  if (missing > 0) notes.push(`${what}: ${missing} finished trial${missing === 1 ? ' has' : 's have'} no value of ${metric}`);
  return { selected, values, pending, notes };
}

function noPart(quantity: string, region: Region, reason: string, n: number): TestPart {
  return { quantity, estimate: null, low: null, high: null, region: fmtRegion(region), verdict: 'inconclusive', reason, n, df: null, p: null };
}

function slopePart(points: Array<{ x: number; y: number }>, region: Region, confidence: number): TestPart {
  const quantity = 'exponent b';
  const fit = powerFit(points, confidence);
  if (!fit) {
    const xs = new Set(points.map((p) => p.x)).size;
    return noPart(quantity, region, `too few values for an interval (${points.length} trials at ${xs} axis value${xs === 1 ? '' : 's'}; need 2 values and 3 trials)`, points.length);
  }
  return { quantity, estimate: fit.slope, low: fit.low, high: fit.high, region: fmtRegion(region), ...decide(fit.low, fit.high, region), n: fit.n, df: fit.df, p: null };
}

function meanPart(quantity: string, ys: number[], region: Region, confidence: number): TestPart {
  const m = meanInterval(ys, confidence);
  if (!m) return noPart(quantity, region, `too few values for an interval (${ys.length}; need 2)`, ys.length);
  return { quantity, estimate: m.mean, low: m.low, high: m.high, region: fmtRegion(region), ...decide(m.low, m.high, region), n: m.n, df: m.df, p: null };
}

/** Points (axis value, metric value) of a power-law or plateau claim, after the range and positivity filters. */
function axisPoints(ctx: Context, c: PowerLawClaim | PlateauClaim, sel: Selection): Array<{ x: number; y: number }> {
  const points: Array<{ x: number; y: number }> = [];
  let nonPositive = 0;
  for (const { t, y } of sel.values) {
    const x = t.config[c.axis];
    if (typeof x !== 'number') throw new HypersweepError(`${ctx.at}.axis: ${c.axis} is not a number (${JSON.stringify(x)})`);
    if (c.range && (x < c.range[0] || x > c.range[1])) continue;
    if (x > 0 && y > 0) points.push({ x, y });
    else nonPositive++;
  }
  if (nonPositive > 0) sel.notes.push(`${nonPositive} trial${nonPositive === 1 ? '' : 's'} with a value ≤ 0 left out of the log-log fit`);
  return points;
}

const slopeTest = (c: { axis: string; metric: string; confidence: number }) =>
  `OLS of log(${c.metric}) on log(${c.axis}) over every trial; ${pct(c.confidence)} two-sided t interval of the slope, df = N − 2`;
const pct = (c: number) => `${+(c * 100).toFixed(2)}%`;
const whereText = (f: ClaimFilter) => (Object.keys(f).length ? ` where ${fmtFilter(f)}` : '');

function powerLaw(ctx: Context, c: PowerLawClaim) {
  const sel = selectValues(ctx, c.where, c.metric, 'the selection');
  requireAxisOnly(ctx, sel.selected, c.axis);
  const region: Region = { min: c.slope.min, max: c.slope.max };
  const points = axisPoints(ctx, c, sel);
  return {
    statement: `${c.metric} ∝ ${c.axis}^b with b ${fmtRegion(region)}${c.range ? ` for ${c.axis} in [${c.range.join(', ')}]` : ''}${whereText(c.where)}`,
    test: slopeTest(c),
    parts: [slopePart(points, region, c.confidence)],
    sel,
    used: points.length,
  };
}

function plateau(ctx: Context, c: PlateauClaim) {
  const sel = selectValues(ctx, c.where, c.metric, 'the selection');
  requireAxisOnly(ctx, sel.selected, c.axis);
  const points = axisPoints(ctx, c, sel);
  const parts = [slopePart(points, { min: c.slopeAbove }, c.confidence)];
  const top = points.length > 0 ? Math.max(...points.map((p) => p.x)) : null;
  if (top === null) parts.push(noPart(`mean at the largest ${c.axis}`, { min: c.floor }, 'no values', 0));
  else parts.push(meanPart(`mean at ${c.axis}=${top}`, points.filter((p) => p.x === top).map((p) => p.y), { min: c.floor }, c.confidence));
  return {
    statement: `${c.metric} plateaus in ${c.axis}: exponent b > ${fmt(c.slopeAbove)} and mean at the largest ${c.axis} > ${fmt(c.floor)}${c.range ? ` for ${c.axis} in [${c.range.join(', ')}]` : ''}${whereText(c.where)}`,
    test: `${slopeTest(c)}; mean at the largest ${c.axis} with a ${pct(c.confidence)} two-sided t interval, df = n − 1`,
    parts,
    sel,
    used: points.length,
  };
}

function ordering(ctx: Context, c: OrderingClaim) {
  const lo = selectValues(ctx, { ...c.where, ...c.lower }, c.metric, 'the lower group');
  const hi = selectValues(ctx, { ...c.where, ...c.higher }, c.metric, 'the higher group');
  requireReplicates(ctx, lo.selected, 'the lower group');
  requireReplicates(ctx, hi.selected, 'the higher group');
  const a = lo.values.map((v) => v.y);
  const b = hi.values.map((v) => v.y);
  const quantity = 'mean(lower) − mean(higher)';
  const region: Region = { max: 0 };
  const w = welchTest(a, b);
  let part: TestPart;
  if (!w) {
    part = noPart(quantity, region, `too few values for a test (lower ${a.length}, higher ${b.length}; need 2 each, not all equal)`, a.length + b.length);
  } else {
    // pLess < α ⇔ diff + t(c, df)·se < 0 and pGreater < α ⇔ diff − t(c, df)·se > 0: each end a one-sided bound.
    const half = tQuantile(c.confidence, w.df) * w.se;
    part = { quantity, estimate: w.diff, low: w.diff - half, high: w.diff + half, region: fmtRegion(region), ...decide(w.diff - half, w.diff + half, region), n: w.nA + w.nB, df: w.df, p: w.pLess };
  }
  const sel: Selection = {
    selected: [...lo.selected, ...hi.selected],
    values: [...lo.values, ...hi.values],
    pending: lo.pending + hi.pending,
    notes: [...lo.notes, ...hi.notes],
  };
  return {
    statement: `mean ${c.metric}: (${fmtFilter(c.lower)}) < (${fmtFilter(c.higher)})${whereText(c.where)}`,
    test: `Welch's t-test over seeds (unequal variances, Welch–Satterthwaite df), one-sided at level ${fmt(1 - c.confidence)} in each direction; the interval's ends are the one-sided ${pct(c.confidence)} bounds`,
    parts: [part],
    sel,
    used: a.length + b.length,
  };
}

/** A config value as the output writes it (g.width=4, kernels.mode=exact). */
const fmtValue = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v ?? null));

/** Numeric sort when every value is a number, else by text. */
function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return fmtValue(x) < fmtValue(y) ? -1 : 1;
  }
  return 0;
}

function value(ctx: Context, c: ValueClaim) {
  const sel = selectValues(ctx, c.where, c.metric, 'the selection');
  const expr = typeof c.target === 'number' ? null : parseExpr(c.target.expr);
  const per = c.per === undefined ? (expr ? exprKeys(expr) : []) : Array.isArray(c.per) ? c.per : [c.per];
  const exprText = typeof c.target === 'number' ? fmt(c.target) : c.target.expr;
  const tolText = c.tolerance !== undefined ? fmt(c.tolerance) : `${fmt(100 * c.relTolerance!)}%`;
  // One group per value (combination) of the `per` keys among the selected trials; one group without `per`.
  const groups = new Map<string, { key: unknown[]; trials: ClaimTrial[] }>();
  for (const t of sel.selected) {
    const key = per.map((k) => t.config[k] ?? null);
    const id = JSON.stringify(key);
    if (!groups.has(id)) groups.set(id, { key, trials: [] });
    groups.get(id)!.trials.push(t);
  }
  const ordered = [...groups.values()].sort((a, b) => compareKeys(a.key, b.key));
  const parts: TestPart[] = [];
  let used = 0;
  for (const g of ordered) {
    const at = per.map((k, i) => `${k}=${fmtValue(g.key[i])}`).join(', ');
    requireReplicates(ctx, g.trials, per.length ? `the trials at ${at}` : 'the selection');
    const config = g.trials[0]!.config;
    let target: number;
    if (typeof c.target === 'number') target = c.target;
    else {
      const where = `${ctx.at}.target.expr`;
      target = evalExpr(expr!, (k) => {
        const v = config[k];
        if (typeof v !== 'number') throw new HypersweepError(`${where}: ${k} is ${fmtValue(v)}${at ? ` at ${at}` : ''}, not a number`);
        return v;
      });
      if (!Number.isFinite(target)) throw new HypersweepError(`${where}: ${c.target.expr} is ${target}${at ? ` at ${at}` : ''}, not a finite number`);
    }
    const tol = c.tolerance ?? c.relTolerance! * Math.abs(target);
    const inGroup = new Set(g.trials);
    const ys = sel.values.filter((v) => inGroup.has(v.t)).map((v) => v.y);
    used += ys.length;
    const quantity = per.length ? `mean at ${at}` : 'mean';
    parts.push({ ...meanPart(quantity, ys, { min: target - tol, max: target + tol }, c.confidence), target, ...(per.length ? { at: Object.fromEntries(per.map((k, i) => [k, g.key[i]])) } : {}) });
  }
  return {
    statement: `mean ${c.metric} = ${exprText}${expr ? ` (${parts.map((p) => fmt(p.target!)).join(', ')})` : ''} ± ${tolText}${per.length ? ` at each ${per.join(', ')}` : ''}${whereText(c.where)}`,
    test: `mean over seeds with a ${pct(c.confidence)} two-sided t interval, df = N − 1${per.length ? `, one test per ${per.join(', ')}; the claim holds when every value holds and fails when any fails` : ''}`,
    parts,
    sel,
    used,
  };
}

/**
 * Evaluate one claim. `where` names the source (file or stored sweep) for errors; ill-posed claims (no matching
 * trial, replicates that differ in a config key, a non-numeric axis) throw HypersweepError naming expect[index].
 */
export function evaluateClaim(claim: Claim, index: number, trials: readonly ClaimTrial[], where: string): ClaimResult {
  const ctx: Context = { at: `${where}: expect[${index}]`, trials };
  const r =
    claim.type === 'power-law' ? powerLaw(ctx, claim)
      : claim.type === 'plateau' ? plateau(ctx, claim)
        : claim.type === 'ordering' ? ordering(ctx, claim)
          : value(ctx, claim);
  let { verdict, reason } = combine(r.parts);
  if (r.sel.pending > 0) {
    verdict = 'inconclusive';
    reason = `${r.sel.pending} of ${r.sel.selected.length} trials not finished yet (queued or running)`;
  } else if (r.sel.values.length === 0) {
    verdict = 'inconclusive';
    reason = 'no finished trial has a value';
  }
  return {
    index,
    name: claim.name ?? r.statement,
    type: claim.type,
    metric: claim.metric,
    statement: r.statement,
    test: r.test,
    confidence: claim.confidence,
    verdict,
    reason,
    parts: r.parts,
    selected: r.sel.selected.length,
    used: r.used,
    notes: r.sel.notes,
  };
}

export function evaluateClaims(claims: readonly Claim[], trials: readonly ClaimTrial[], where: string): ClaimResult[] {
  return claims.map((c, i) => evaluateClaim(c, i, trials, where));
}
