import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { HypersweepError, InputError, formatPath } from '../core/errors.js';
import { canonicalConfig, canonicalJson, trialId, type TrialConfig } from '../core/identity.js';
import { taskNames, trialConfigSchema } from '../core/config.js';
import { parseClaims } from '../schema/claims/spec.js';

/**
 * Sweep files (YAML): `name`, `task`, `fixed` values shared by every trial, a `grid` of axes expanded as a
 * cartesian product, `zip` groups of axes that vary together (crossed with the grid), `order`, `retries`.
 * Keys in fixed/grid/zip are dotted trial-config paths (`f.width`, `train.lr`); `fixed` also takes nested maps.
 */

const axisValues = z.array(z.unknown()).min(1, 'an axis needs at least one value');
const configRecord = z.record(z.string(), z.unknown());

export const sweepSpecSchema = z.strictObject({
  /** Names the sweep in the database, the queue and every command (`--sweep NAME`). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" and "-" (at most 64, no spaces)'),
  task: z.enum(taskNames),
  description: z.string().optional(),
  fixed: configRecord.default({}),
  grid: z.record(z.string(), axisValues).default({}),
  zip: z
    .array(z.record(z.string(), axisValues).refine((g) => Object.keys(g).length > 0, 'a zip group needs an axis'))
    .default([]),
  /** `listed`: product order as written (first axis slowest); `small-first`: cheapest trials first. */
  order: z.enum(['listed', 'small-first']).default('listed'),
  /** Extra attempts for a trial that fails with a retryable error. */
  retries: z.number().int().nonnegative().max(20).default(2),
  /** Claims about the results, checked by `hypersweep check` (schema/claims/spec.ts); not part of any trial. */
  expect: z.array(z.unknown()).default([]),
});

export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

/** Sweeps larger than this are refused before expansion (split them into several files). */
export const maxTrials = 100_000;

export interface ExpandedTrial {
  /** trialId(config). */
  id: string;
  /** Full config, defaults applied. */
  config: TrialConfig;
  /** The values this trial takes on the sweep's varying axes (grid and zip), by dotted key. */
  axes: Record<string, unknown>;
}

/** Parse a sweep file's text. `where` names the file in error messages. */
export function parseSweep(text: string, where: string): SweepSpec {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new InputError(where, `bad YAML: ${oneLine(err.message)}`);
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(where, 'expected a YAML map with name, task, fixed, grid, zip');
  }
  const spec = parseSpecOrThrow(raw, where);
  checkAxes(spec, where);
  parseClaims(spec.expect, where);
  return spec;
}

/** Read and parse a sweep file; a missing or unreadable file is a one-line user error. */
export function loadSweep(path: string): SweepSpec {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new InputError(path, 'is a directory, expected a sweep file (.yaml)');
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof HypersweepError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'no such sweep file' : `cannot read: ${oneLine(String(e))}`);
  }
  return parseSweep(text, path);
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
    const config = canonicalConfig(r.data);
    const id = trialId(config);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ id, config, axes });
  }
  if (spec.order === 'small-first') {
    const cost = new Map(out.map((t) => [t.id, trialSizeFlops(t.config)]));
    out.sort((a, b) => cost.get(a.id)! - cost.get(b.id)!); // stable: ties keep the listed order
  }
  return out;
}

/** The varying axis keys of a sweep (grid keys, then zip keys), for previews. */
export function varyingAxes(spec: SweepSpec): string[] {
  return [...Object.keys(spec.grid), ...spec.zip.flatMap((g) => Object.keys(g))];
}

/** Product of the counts: how many combinations (before deduplication) a sweep has. */
export function combinationCount(spec: SweepSpec): number {
  let n = 1;
  for (const v of Object.values(spec.grid)) n *= v.length;
  for (const g of spec.zip) n *= Object.values(g)[0]!.length;
  return n;
}

/**
 * A rough training cost in FLOPs, used only to order trials small-first: forward+backward ≈ 6 × (f's
 * multiply-adds) per sample per step, f: dx·n + (H−2)·n² + n·N_g with N_g g's weight count, plus the kernels.
 */
export function trialSizeFlops(c: TrialConfig): number {
  const { f, g, data, train, kernels } = c;
  if (c.task === 'noop') return c.noop.sleepMs;
  const dIn = g.input === 'rff' ? g.rffFeatures : data.dz;
  const ng = g.depth === 1 ? g.outputs * dIn : g.width * dIn + (g.depth - 2) * g.width * g.width + g.outputs * g.width;
  const fMacs = f.depth === 1 ? data.dx * ng : data.dx * f.width + (f.depth - 2) * f.width * f.width + f.width * ng;
  const batch = train.batchSize > 0 ? Math.min(train.batchSize, data.nTrain) : data.nTrain;
  const probe = kernels.probe;
  return 6 * fMacs * batch * Math.max(1, train.steps) + 2 * 6 * fMacs * probe * kernels.ensemble;
}

// ---------------------------------------------------------------------------------------------------------

function parseSpecOrThrow(raw: unknown, where: string): SweepSpec {
  const r = sweepSpecSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const parent = path ? `${path}.` : '';
    return fail(`${where}: ${parent}${keys[0]}`, `unknown key (a sweep file has ${Object.keys(sweepSpecSchema.shape).join(', ')})`);
  }
  return fail(path ? `${where}: ${path}` : where, issue.message);
}

function fail(where: string, problem: string): never {
  throw new InputError(where, problem);
}

/** Checks the sweep's keys before any expansion: known config paths, no axis set twice, equal zip lengths. */
function checkAxes(spec: SweepSpec, where: string): void {
  const owners: Array<{ path: string; src: string }> = [];
  for (const path of flattenFixed(spec.fixed, where)) owners.push({ path, src: `fixed.${path}` });
  for (const path of Object.keys(spec.grid)) owners.push({ path, src: `grid.${path}` });
  spec.zip.forEach((group, i) => {
    const entries = Object.entries(group);
    const n = entries[0]![1].length;
    for (const [path, values] of entries) {
      owners.push({ path, src: `zip[${i}].${path}` });
      if (values.length !== n) {
        fail(`${where}: zip[${i}].${path}`, `has ${values.length} values but ${entries[0]![0]} has ${n}; a zip group's lists must have equal lengths`);
      }
    }
  });
  const n = combinationCount(spec);
  if (n > maxTrials) fail(where, `expands to ${n} trials; a sweep may have at most ${maxTrials}: split it`);
  for (const { path, src } of owners) {
    if (path === 'task') fail(`${where}: ${src}`, 'set the task with the top-level `task:` key');
    const problem = checkConfigPath(path);
    if (problem) fail(`${where}: ${src}`, problem);
  }
  for (let i = 0; i < owners.length; i++) {
    for (let j = i + 1; j < owners.length; j++) {
      const a = owners[i]!, b = owners[j]!;
      if (a.path === b.path || a.path.startsWith(`${b.path}.`) || b.path.startsWith(`${a.path}.`)) {
        fail(`${where}: ${b.src}`, `duplicate axis: ${a.src} already sets it`);
      }
    }
  }
}

interface ZodNode {
  _zod: { def: { type: string; shape?: Record<string, ZodNode>; innerType?: ZodNode } };
}

/** Null if `path` names a key of the trial config schema, else a one-line problem. */
function checkConfigPath(path: string): string | null {
  const parts = path.split('.');
  let node = trialConfigSchema as unknown as ZodNode;
  for (let i = 0; i < parts.length; i++) {
    while (node._zod.def.innerType && node._zod.def.type !== 'object') node = node._zod.def.innerType;
    const shape = node._zod.def.shape;
    const here = parts.slice(0, i).join('.');
    if (!shape) return `unknown config key: ${here} takes a value, not keys`;
    const next = shape[parts[i]!];
    if (!next || parts[i] === '') {
      return `unknown config key "${parts[i]}"${here ? ` in ${here}` : ''} (known: ${Object.keys(shape).join(', ')})`;
    }
    node = next;
  }
  return null;
}

/** Leaf paths of `fixed`: nested maps are walked, dotted keys kept as written. */
function flattenFixed(fixed: Record<string, unknown>, where: string): string[] {
  const out: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (k === '' || k.split('.').some((p) => p === '')) fail(`${where}: fixed.${prefix}${k}`, 'empty key');
      const path = prefix + k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
        walk(v as Record<string, unknown>, `${path}.`); // no config leaf takes a map: nested maps are sub-keys
      } else {
        out.push(path);
      }
    }
  };
  walk(fixed, '');
  return out;
}

/** The nested trial config (without task) that `fixed` describes. */
function nestedFromFixed(fixed: Record<string, unknown>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (obj: Record<string, unknown>, prefix: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = [...prefix, ...k.split('.')];
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, path);
      else setPath(out, path, structuredClone(v), where);
    }
  };
  walk(fixed, []);
  return out;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown, where = 'sweep'): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined) cur = cur[p] = {} as Record<string, unknown>;
    else if (next !== null && typeof next === 'object' && !Array.isArray(next)) cur = next as Record<string, unknown>;
    else throw new InputError(where, `${path.join('.')}: ${p} is a value, not a map`);
  }
  cur[path.at(-1)!] = value;
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

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
