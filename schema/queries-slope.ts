import type { GroupKey } from './queries-keys.js';
import { fitLogLogSlope, slopeMethod, type LogGroup, type SlopeFit } from './queries-stats.js';

/** When a width slope applies to a set of groups, and the fit (queries-stats.ts) when it does. */

/** Per-group sufficient statistics of log(value) over the values > 0 (for slope fits on subsets). */
export interface LogSums {
  nLog: number;
  sumLog: number;
  sumLog2: number;
}

export interface FitInfo extends Partial<SlopeFit> {
  /** The width the value was fitted against: f.width, g.width, or f.width=g.width (both grow together). */
  axis: string | null;
  method: string;
  /** Why there is no fit, when there is none. */
  note: string | null;
}

interface SlopeInput {
  key: GroupKey;
  log: LogSums;
}

/**
 * Fit log(value) against log(width) when exactly one width axis varies among the groups and every other group
 * key is fixed, or when f.width and g.width vary together with a constant ratio (fit against f.width; the
 * exponent is the same against either).
 */
export function slopeOverGroups(by: readonly string[], groups: readonly SlopeInput[]): FitInfo {
  const none = (note: string): FitInfo => ({ axis: null, method: slopeMethod, note });
  const varying = by.filter((k) => new Set(groups.map((g) => JSON.stringify(g.key[k]))).size > 1);
  const widths = varying.filter((k) => k === 'f.width' || k === 'g.width');
  const others = varying.filter((k) => k !== 'f.width' && k !== 'g.width');
  if (widths.length === 0) return none('no width axis varies among the groups');
  if (others.length > 0) return none(`more than a width varies (${others.join(', ')}); filter with --where or narrow --by`);
  let axis: string;
  let widthOf: (k: GroupKey) => number;
  if (widths.length === 1) {
    axis = widths[0];
    widthOf = (k) => Number(k[axis]);
  } else {
    const ratios = new Set(groups.map((g) => (Number(g.key['g.width']) / Number(g.key['f.width'])).toPrecision(12)));
    if (ratios.size !== 1) return none('f.width and g.width both vary but not together; filter one with --where');
    const [r] = [...ratios];
    axis = Number(r) === 1 ? 'f.width=g.width' : `f.width (g.width = ${Number(r)}·f.width)`;
    widthOf = (k) => Number(k['f.width']);
  }
  const lg: LogGroup[] = groups.map((g) => ({ width: widthOf(g.key), ...g.log }));
  const fit = fitLogLogSlope(lg);
  if (!fit) return none('fewer than two widths with positive values');
  return { axis, method: slopeMethod, note: null, ...fit };
}
