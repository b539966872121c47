import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { HypersweepError } from '../core/errors.js';
import { trialConfigSchema } from '../core/config.js';
import { didYouMean } from '../core/suggest.js';
import type { Db } from './db.js';
import { keyColumns } from './keys.js';
import { sweeps, sweepTrials, trials } from './tables.js';

/**
 * Config keys in queries: the known keys, their SQL expressions (a key column, else json_extract with the path
 * bound), `--where` / `--by` parsing, the selection of a sweep's trials, and group keys. Every key is checked
 * against the trial config schema before it reaches a statement.
 */

export type ConfigValue = string | number | boolean | null;

/** A `--where key=value` filter on a config key. */
export interface Filter {
  key: string;
  value: ConfigValue;
}

/**
 * A `--code` filter on the code that produced each trial's result (trials.code_hash): a hash or its prefix, the
 * trials without provenance (`unknown`), or every trial not produced by a given hash (`stale`: other or unknown).
 */
export type CodeFilter = { prefix: string } | { unknown: true } | { staleAgainst: string };

export interface Selection {
  sweep: string;
  where?: readonly Filter[];
  code?: CodeFilter;
}

/**
 * `--code current|stale|unknown|HASH` → a filter; `current` and `stale` compare with `currentHash()` (this
 * process's code hash), called only for them. A HASH is 4 to 64 lower-case hex digits (a prefix matches).
 */
export function parseCode(raw: string | undefined, currentHash: () => string): CodeFilter | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === 'current') return { prefix: currentHash() };
  if (v === 'stale') return { staleAgainst: currentHash() };
  if (v === 'unknown') return { unknown: true };
  if (/^[0-9a-f]{4,64}$/.test(v)) return { prefix: v };
  throw new HypersweepError(`--code ${raw}: expected current, stale, unknown or a code hash (4 to 64 hex digits, a prefix is enough)`);
}

function codeCondition(c: CodeFilter): SQL {
  if ('unknown' in c) return sql`${trials.codeHash} is null`;
  if ('staleAgainst' in c) return sql`(${trials.codeHash} is null or ${trials.codeHash} <> ${c.staleAgainst})`;
  return sql`substr(${trials.codeHash}, 1, ${c.prefix.length}) = ${c.prefix}`;
}

/** The `--code` filter in words, for messages. */
export function codeText(c: CodeFilter): string {
  if ('unknown' in c) return 'code unknown';
  if ('staleAgainst' in c) return `code other than ${c.staleAgainst.slice(0, 12)}`;
  return `code ${c.prefix.slice(0, 12)}`;
}

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenKeys(v as Record<string, unknown>, key));
    else out.push(key);
  }
  return out;
}

/** Every dotted config key (f.width, train.lr, ...), from the trial config schema with defaults applied. */
export const configKeys: readonly string[] = flattenKeys(trialConfigSchema.parse({ task: 'noop' }));
const configKeySet = new Set(configKeys);

/** Config keys with their own column (keys.ts; cheap to group by: no JSON parsing). */
export const columnKeys: readonly string[] = keyColumns.map((k) => k.key);
const columnOf = new Map<string, SQL>(keyColumns.map((k) => [k.key, sql`${trials[k.field]}`]));

function checkKey(key: string, where: string): string {
  if (!configKeySet.has(key)) {
    const hint = didYouMean(key, configKeys);
    throw new HypersweepError(`${where}: unknown config key '${key}'${hint || ` (known: ${configKeys.join(', ')})`}`);
  }
  return key;
}

/** The SQL expression of a (checked) config key: its column, or json_extract with the path bound. */
export function keyExpr(key: string): SQL {
  return columnOf.get(key) ?? sql`json_extract(${trials.config}, ${'$.' + checkKey(key, 'config key')})`;
}

/** `key=value` strings → filters; the value is read as JSON when it parses (3, 0.1, "x"), else as a string. */
export function parseWhere(list: readonly string[] | undefined): Filter[] {
  return (list ?? []).map((item) => {
    const eqAt = item.indexOf('=');
    if (eqAt <= 0) throw new HypersweepError(`--where ${item}: expected key=value (e.g. f.depth=3)`);
    const key = checkKey(item.slice(0, eqAt).trim(), `--where ${item}`);
    const raw = item.slice(eqAt + 1).trim();
    let value: ConfigValue;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed !== null && typeof parsed === 'object') throw new HypersweepError(`--where ${item}: value must be a scalar`);
      value = parsed as ConfigValue;
    } catch (err) {
      if (err instanceof HypersweepError) throw err;
      value = raw;
    }
    return { key, value };
  });
}

/** `f.width,g.width` → checked keys. */
export function parseBy(s: string | undefined): string[] | undefined {
  if (s === undefined) return undefined;
  const keys = s.split(',').map((k) => k.trim()).filter((k) => k.length > 0);
  if (keys.length === 0) throw new HypersweepError(`--by '${s}': name at least one config key`);
  return keys.map((k) => checkKey(k, `--by ${s}`));
}

/** `--x KEY --series KEY` → checked keys (undefined: chosen from what varies). */
export function parseAxes(o: { x?: string; series?: string }): { x?: string; series?: string } {
  return {
    ...(o.x !== undefined ? { x: checkKey(o.x.trim(), `--x ${o.x}`) } : {}),
    ...(o.series !== undefined ? { series: checkKey(o.series.trim(), `--series ${o.series}`) } : {}),
  };
}

/** The sweep to query: the one named (must exist), or the only sweep in the database. */
export function resolveSweep(db: Db, name: string | undefined): string {
  const names = db.select({ name: sweeps.name }).from(sweeps).orderBy(asc(sweeps.name)).all().map((r) => r.name);
  if (name === undefined) {
    if (names.length === 1) return names[0];
    if (names.length === 0) throw new HypersweepError('the database has no sweeps yet (run `hypersweep run SWEEP.yaml` first)');
    throw new HypersweepError(`--sweep: required, the database has ${names.length} sweeps (${names.join(', ')})`);
  }
  if (!names.includes(name)) {
    throw new HypersweepError(`--sweep ${name}: no such sweep${names.length ? ` (sweeps: ${names.join(', ')})` : ''}`);
  }
  return name;
}

/** The WHERE of a selection (membership of the sweep, the filters) and any further conditions. */
export function whereOf(sel: Selection, ...more: Array<SQL | undefined>): SQL | undefined {
  const filters = (sel.where ?? []).map((f) => {
    const v = typeof f.value === 'boolean' ? Number(f.value) : f.value;
    return v === null ? sql`${keyExpr(f.key)} is null` : sql`${keyExpr(f.key)} = ${v}`;
  });
  return and(eq(sweepTrials.sweep, sel.sweep), ...filters, ...(sel.code ? [codeCondition(sel.code)] : []), ...more);
}

/** The one-line user error for an empty selection. */
export function noRows(sel: Selection, what: string): never {
  const w = (sel.where ?? []).map((f) => `${f.key}=${JSON.stringify(f.value)}`);
  if (sel.code) w.push(codeText(sel.code));
  throw new HypersweepError(`no ${what} for sweep ${sel.sweep}${w.length ? ` where ${w.join(', ')}` : ''}`);
}

/** Config keys (other than seed) that take more than one value among the selected trials; `keys` limits the search. */
export function varyingKeys(db: Db, sel: Selection, keys: readonly string[] = configKeys): string[] {
  const fields: Record<string, SQL<number>> = {};
  keys.forEach((k, i) => (fields[`k${i}`] = sql<number>`count(distinct ${keyExpr(k)})`));
  const row = db
    .select(fields)
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(whereOf(sel))
    .get();
  if (!row) return [];
  return keys.filter((k, i) => k !== 'seed' && Number(row[`k${i}`]) > 1);
}

/** A group's values of the group keys, by dotted key. */
export type GroupKey = Record<string, ConfigValue>;

/** Select fields k0, k1, ... for the group keys (positional: dotted keys are not SQL aliases). */
export function groupFields(by: readonly string[]): Record<string, SQL<ConfigValue>> {
  const out: Record<string, SQL<ConfigValue>> = {};
  by.forEach((k, i) => (out[`k${i}`] = sql<ConfigValue>`${keyExpr(k)}`));
  return out;
}

/** The group key of a row selected with groupFields. */
export function groupKeyOf(by: readonly string[], row: Record<string, unknown>): GroupKey {
  const key: GroupKey = {};
  by.forEach((k, i) => (key[k] = (row[`k${i}`] ?? null) as ConfigValue));
  return key;
}

/** Order groups by their keys (numbers numerically, null first). */
export function compareKeys<T = { key: GroupKey }>(by: readonly string[], keyOf: (t: T) => GroupKey = (t) => (t as { key: GroupKey }).key) {
  return (a: T, b: T): number => {
    for (const k of by) {
      const x = keyOf(a)[k];
      const y = keyOf(b)[k];
      if (x === y) continue;
      if (x === null) return -1;
      if (y === null) return 1;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x) < String(y) ? -1 : 1;
    }
    return 0;
  };
}
