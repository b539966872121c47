import { compareKeys, type ConfigValue, type GroupKey } from './queries-keys.js';
import { fitLogSlope, slopeMethods, type AxisScale, type LogGroup, type SlopeFit } from './queries-stats.js';

/**
 * Axes of a query result, and the slope fits along the x axis (queries-stats.ts): which key is x, which keys
 * make the series, which keys merely follow x (n and m grown together), and one fit per series.
 */

/** Per-group sufficient statistics of log(value) over the values > 0 (for slope fits on subsets). */
export interface LogSums {
  nLog: number;
  sumLog: number;
  sumLog2: number;
}

export interface FitInfo extends Partial<SlopeFit> {
  /** The x the value was fitted against: f.width, f.depth, train.lr, f.width=g.width (both grow together), ... */
  axis: string | null;
  /** log: log(value) on log(x) (a power law); linear: log(value) on x. */
  scale: AxisScale;
  method: string;
  /** Why there is no fit, when there is none. */
  note: string | null;
}

/** One series' fit: the series is the values of the keys other than x (empty: the only series). */
export interface SeriesFit {
  series: GroupKey;
  /** `g.width=4 f.depth=2`, or `all`. */
  label: string;
  fit: FitInfo;
}

interface SlopeInput {
  key: GroupKey;
  log: LogSums;
}

/** Keys fitted and drawn on log axes: widths and the learning rate span decades; everything else is linear. */
export function axisScale(key: string): AxisScale {
  return key === 'f.width' || key === 'g.width' || key === 'train.lr' ? 'log' : 'linear';
}

const priority = ['f.width', 'g.width', 'f.depth', 'g.depth'];

/** Order axis candidates: widths first, then depths, then the rest in their given order. */
export function orderAxes(keys: readonly string[]): string[] {
  const rank = (k: string) => (priority.includes(k) ? priority.indexOf(k) : priority.length);
  return keys.map((k, i) => ({ k, i })).sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i).map((e) => e.k);
}

const id = (v: ConfigValue | undefined) => JSON.stringify(v ?? null);

/** The group keys that take more than one value among the groups. */
export function varyingAmong(by: readonly string[], groups: readonly { key: GroupKey }[]): string[] {
  return by.filter((k) => new Set(groups.map((g) => id(g.key[k]))).size > 1);
}

/** Keys (other than x) whose value is fixed by x's value: they move along x, they are not series. */
function followersOf(x: string, keys: readonly string[], groups: readonly { key: GroupKey }[]): string[] {
  return keys.filter((k) => {
    if (k === x) return false;
    const seen = new Map<string, string>();
    for (const g of groups) {
      const xv = id(g.key[x]);
      const kv = id(g.key[k]);
      if ((seen.get(xv) ?? kv) !== kv) return false;
      seen.set(xv, kv);
    }
    return true;
  });
}

export interface Axes {
  /** The x axis (null: nothing numeric varies). */
  x: string | null;
  /** The series keys: the varying keys other than x and its followers. */
  series: string[];
  /** Varying keys that follow x (g.width when n and m grow together). */
  followers: string[];
}

/**
 * The axes of a set of groups: x as asked, else the first varying numeric key (widths, depths, the rest);
 * series: the asked key first, then every other varying key that does not follow x.
 */
export function axesOf(by: readonly string[], groups: readonly { key: GroupKey }[], ask: { x?: string; series?: string } = {}): Axes {
  const varying = varyingAmong(by, groups);
  const numeric = (k: string) => groups.every((g) => typeof g.key[k] === 'number');
  const x = ask.x ?? orderAxes(varying).find(numeric) ?? null;
  const followers = x === null ? [] : followersOf(x, varying, groups);
  const rest = orderAxes(varying.filter((k) => k !== x && !followers.includes(k)));
  const series = ask.series !== undefined && ask.series !== x ? [ask.series, ...rest.filter((k) => k !== ask.series)] : rest;
  return { x, series, followers };
}

/** The label of the x axis: `f.width`, or `f.width=g.width` / `f.width (g.width = 2·f.width)` when g.width follows. */
function axisLabel(x: string, followers: readonly string[], groups: readonly SlopeInput[]): string {
  if (x !== 'f.width' || !followers.includes('g.width')) return followers.length ? `${x} (${followers.join(", ")} follow${followers.length === 1 ? "s" : ""})` : x;
  const ratios = new Set(groups.map((g) => (Number(g.key['g.width']) / Number(g.key['f.width'])).toPrecision(12)));
  if (ratios.size !== 1) return `${x} (g.width follows)`;
  const [r] = [...ratios];
  return Number(r) === 1 ? 'f.width=g.width' : `f.width (g.width = ${Number(r)}·f.width)`;
}

/**
 * Fit log(value) along x, one fit per series (every other varying key fixed within it). `fit` is the only
 * series' fit, or none (with a note) when there are several.
 */
export function fitsAlong(by: readonly string[], groups: readonly SlopeInput[], ask: { x?: string; series?: string } = {}): { axes: Axes; fit: FitInfo; fits: SeriesFit[] } {
  const axes = axesOf(by, groups, ask);
  const x = axes.x;
  const scale = x === null ? 'log' : axisScale(x);
  const none = (note: string): FitInfo => ({ axis: null, scale, method: slopeMethods[scale], note });
  if (x === null) return { axes, fit: none('no numeric config key varies among the groups'), fits: [] };
  if (!groups.every((g) => typeof g.key[x] === 'number')) return { axes, fit: none(`the x axis ${x} is not numeric`), fits: [] };
  if (!varyingAmong(by, groups).includes(x)) return { axes, fit: none(`${x} does not vary among the groups`), fits: [] };
  const parts = new Map<string, SlopeInput[]>();
  for (const g of groups) {
    const sid = JSON.stringify(axes.series.map((k) => g.key[k] ?? null));
    parts.set(sid, [...(parts.get(sid) ?? []), g]);
  }
  const fits = [...parts.values()].map((gs): SeriesFit => {
    const series: GroupKey = Object.fromEntries(axes.series.map((k) => [k, gs[0].key[k] ?? null]));
    const label = axes.series.length ? axes.series.map((k) => `${k}=${String(series[k])}`).join(' ') : 'all';
    const lg: LogGroup[] = gs.map((g) => ({ width: Number(g.key[x]), ...g.log }));
    const f = fitLogSlope(lg, scale);
    const fit: FitInfo = f
      ? { axis: axisLabel(x, axes.followers, gs), scale, method: slopeMethods[scale], note: null, ...f }
      : none(`fewer than two values of ${x} with positive values${axes.series.length ? ` at ${label}` : ''}`);
    return { series, label, fit };
  });
  fits.sort(compareKeys(axes.series, (f) => f.series));
  const fit = fits.length === 1 ? fits[0].fit : none(`one fit per series of ${axes.series.join(', ')} (${fits.length} series)`);
  return { axes, fit, fits };
}

/** The single fit along x of a set of groups (the dashboard's per-series charts). */
export function slopeOverGroups(by: readonly string[], groups: readonly SlopeInput[], x?: string): FitInfo {
  return fitsAlong(by, groups, { x }).fit;
}
