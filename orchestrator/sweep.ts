import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { HypersweepError, InputError, formatPath } from '../core/errors.js';
import { taskNames } from '../core/config.js';
import { checkConfigPath, flattenFixed } from './config-paths.js';
import { sweepYamlToJs } from './sweep-keys.js';
import { parseClaims } from '../schema/claims/spec.js';
import { didYouMean } from '../core/suggest.js';

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

/** Parse a sweep file's text. `where` names the file in error messages. */
export function parseSweep(text: string, where: string): SweepSpec {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw new InputError(`${where}:${lineCol(text, err.pos[0])}`, `bad YAML: ${oneLine(err.message)}`);
  const raw = sweepYamlToJs(doc, where);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InputError(where, 'expected a YAML map with name, task, fixed, grid, zip');
  }
  const spec = parseSpecOrThrow(raw, where);
  checkAxes(spec, where);
  parseClaims(spec.expect, where);
  return spec;
}

/** `LINE:COL` (1-based) of a character offset, as editors and compilers print positions. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
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

// ---------------------------------------------------------------------------------------------------------

function parseSpecOrThrow(raw: unknown, where: string): SweepSpec {
  const r = sweepSpecSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    const parent = path ? `${path}.` : '';
    const hint = path ? '' : didYouMean(keys[0]!, Object.keys(sweepSpecSchema.shape));
    return fail(`${where}: ${parent}${keys[0]}`, `unknown key${hint || ` (a sweep file has ${Object.keys(sweepSpecSchema.shape).join(', ')})`}`);
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

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
