import type { TrialConfig } from '../core/config.js';

/**
 * The config keys that have their own column in `trials` (the rest of the config is read with json_extract).
 * This list is the one place that says so: the drizzle columns (tables.ts), the store's row mapping
 * (store.ts), the query keys (`--by`, `--where`), the stored sweep cube and the SQL views and indexes (ddl.ts)
 * are derived from it. Changing it changes the schema: generate a table migration and a new derived-objects
 * migration (see ddl.ts).
 *
 * key: the dotted config key; field: the drizzle/TypeScript name; column: the SQL column; type: its SQL type;
 * of: the value in a (parsed) trial config; cube: whether the sweep cube groups by it (seed is what its sums
 * run over, so it is not a cube key).
 */
export const keyColumns = [
  { key: 'task', field: 'task', column: 'task', type: 'text', cube: true, of: (c: TrialConfig) => c.task },
  { key: 'seed', field: 'seed', column: 'seed', type: 'integer', cube: false, of: (c: TrialConfig) => c.seed },
  { key: 'f.width', field: 'fWidth', column: 'f_width', type: 'integer', cube: true, of: (c: TrialConfig) => c.f.width },
  { key: 'f.depth', field: 'fDepth', column: 'f_depth', type: 'integer', cube: true, of: (c: TrialConfig) => c.f.depth },
  { key: 'g.width', field: 'gWidth', column: 'g_width', type: 'integer', cube: true, of: (c: TrialConfig) => c.g.width },
  { key: 'g.depth', field: 'gDepth', column: 'g_depth', type: 'integer', cube: true, of: (c: TrialConfig) => c.g.depth },
  { key: 'train.lr', field: 'lr', column: 'lr', type: 'real', cube: true, of: (c: TrialConfig) => c.train.lr },
] as const;

export type KeyColumn = (typeof keyColumns)[number];
/** A column key's TypeScript field name (fWidth, ...). */
export type KeyField = KeyColumn['field'];

export type CubeKeyColumn = Extract<KeyColumn, { cube: true }>;
/** The key columns the sweep cube groups by, in declaration order. */
export const cubeKeyColumns: readonly CubeKeyColumn[] = keyColumns.filter((c): c is CubeKeyColumn => c.cube);

/** The values of some key columns, by field name (fWidth: 64, ...). */
export type KeyFieldValues<C extends KeyColumn> = { [K in C as K['field']]: ReturnType<K['of']> };

/** The key columns' values of one trial config, by field name (the store's row mapping). */
export function keyValues(c: TrialConfig): KeyFieldValues<KeyColumn> {
  return Object.fromEntries(keyColumns.map((k) => [k.field, k.of(c)])) as KeyFieldValues<KeyColumn>;
}
