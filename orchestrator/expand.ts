import { InputError, formatPath } from '../core/errors.js';
import { trialConfigSchema, type TrialConfig } from '../core/config.js';
import { canonicalJson, trialIdOf } from '../core/identity.js';
import { nestedFromFixed, setPath } from './config-paths.js';
import type { SweepSpec } from './sweep.js';
import { trialFlops } from './trial-cost.js';

/** A sweep's trials: the grid's cartesian product crossed with its zip groups, each a full trial config. */

export interface ExpandedTrial {
  /** trialIdOf(config). */
  id: string;
  /** Full config, defaults applied. */
  config: TrialConfig;
  /** The values this trial takes on the sweep's varying axes (grid and zip), by dotted key. */
  axes: Record<string, unknown>;
}

/**
 * Expand a sweep into its trials: grid (cartesian, first key slowest) × zip groups, each config canonicalised
 * with defaults; duplicates (two combinations that mean the same config) are kept once. Throws InputError naming
 * the file and the axis when a combination is not a valid trial config.
 */
export function expandSweep(spec: SweepSpec, where: string = spec.name): ExpandedTrial[] {
  const base = nestedFromFixed(spec.fixed, where);
  base.task = spec.task;
  // Each factor is a list of assignments {path: value}; a zip group is one factor.
  const factors: Array<Array<Record<string, unknown>>> = [];
  for (const [key, values] of Object.entries(spec.grid)) factors.push(values.map((v) => ({ [key]: v })));
  for (const group of spec.zip) {
    const entries = Object.entries(group);
    const n = entries[0]![1].length;
    factors.push(Array.from({ length: n }, (_, i) => Object.fromEntries(entries.map(([k, vs]) => [k, vs[i]]))));
  }
  const sources = axisSources(spec);
  const out: ExpandedTrial[] = [];
  const seen = new Set<string>();
  for (const combo of product(factors)) {
    const axes: Record<string, unknown> = Object.assign({}, ...combo);
    const cfg = structuredClone(base);
    for (const [path, value] of Object.entries(axes)) setPath(cfg, path.split('.'), structuredClone(value));
    const r = trialConfigSchema.safeParse(cfg);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const path = formatPath(issue.path);
      const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys.map(String) : [];
      const full = keys.length > 0 ? (path ? `${path}.${keys[0]}` : keys[0]!) : path;
      const src = sources.get(full) ?? (full ? `fixed.${full}` : 'fixed');
      const at = Object.keys(axes).length > 0 ? ` (trial ${compactAxes(axes)})` : '';
      throw new InputError(`${where}: ${src}`, `${keys.length > 0 ? 'unknown config key' : issue.message}${at}`);
    }
    const config = r.data;
    const id = trialIdOf(config);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, config, axes });
  }
  if (spec.order === 'small-first') {
    const cost = new Map(out.map((t) => [t.id, trialFlops(t.config)]));
    out.sort((a, b) => cost.get(a.id)! - cost.get(b.id)!); // stable: ties keep the listed order
  }
  return out;
}

function axisSources(spec: SweepSpec): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of Object.keys(spec.grid)) m.set(k, `grid.${k}`);
  spec.zip.forEach((g, i) => Object.keys(g).forEach((k) => m.set(k, `zip[${i}].${k}`)));
  return m;
}

function* product<T>(factors: T[][]): Generator<T[]> {
  if (factors.length === 0) {
    yield [];
    return;
  }
  const idx = new Array<number>(factors.length).fill(0);
  for (;;) {
    yield idx.map((i, f) => factors[f]![i]!);
    let f = factors.length - 1; // last factor fastest
    while (f >= 0 && ++idx[f]! === factors[f]!.length) idx[f--] = 0;
    if (f < 0) return;
  }
}

function compactAxes(axes: Record<string, unknown>): string {
  return Object.entries(axes)
    .map(([k, v]) => `${k}=${canonicalJson(v)}`)
    .join(' ');
}
