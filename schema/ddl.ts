import { trialStatuses } from './tables.js';
import { cubeKeyColumns, keyColumns } from './keys.js';

/**
 * The schema objects derived from the tables and the key-column declaration (keys.ts): the SQL views, the
 * covering indexes and the stored sweep cube with its triggers. They live in a custom drizzle migration like
 * the tables (schema/migrations/NNNN_derived_objects.sql), written from `derivedObjectsSql()`; a test checks
 * that the newest such migration is exactly what this file generates now. After changing keys.ts or this file:
 * `npx drizzle-kit generate` (the table change, if any), then
 * `npx drizzle-kit generate --custom --name derived_objects` and fill the new file with
 * `npm run build && node scripts/derived-sql.mjs > schema/migrations/NNNN_derived_objects.sql`.
 *
 * Every object is dropped (IF EXISTS) and created again, so the migration also upgrades a database whose views,
 * indexes or cube an older version made outside the migrations. Fixed DDL, no user input.
 */

const keyCols = cubeKeyColumns.map((c) => c.column);
const groupCols = keyCols.map((c) => `t.${c}`).join(', ');
const column = (key: string): string => {
  const c = keyColumns.find((k) => k.key === key);
  if (!c) throw new Error(`ddl: ${key} has no column`);
  return c.column;
};

// ---- views, for people who open the database with `sqlite3` -------------------------------------------------

/** sd is the sample standard deviation over seeds (NULL for a single seed); no math functions needed. */
const sd = (x: string) => `sqrt(max(0, (sum(${x} * ${x}) - sum(${x}) * sum(${x}) / count(${x})) / (count(${x}) - 1)))`;

/**
 * SQL views over the results tables. The CLI and the dashboard compute the same aggregates with bound-parameter
 * queries (schema/query-*.ts); these are for ad-hoc SQL.
 */
export const viewDdl: Record<string, string> = {
  v_trials_flat: `CREATE VIEW v_trials_flat AS
SELECT st.sweep AS sweep, t.id AS trial_id, t.status, ${groupCols}, t.${column('seed')},
  json_extract(t.config, '$.train.optimizer') AS optimizer, json_extract(t.config, '$.train.steps') AS steps,
  json_extract(t.config, '$.g.input') AS g_input, json_extract(t.config, '$.kernels.probe') AS probe,
  t.backend, t.code_version, t.code_hash, t.git_commit, t.attempts, t.train_loss, t.test_loss, t.test_accuracy, t.steps_run, t.error,
  ki.rel_frob AS init_ntk_distance, ki.alignment AS init_ntk_alignment,
  kf.rel_frob AS final_ntk_distance, kf.alignment AS final_ntk_alignment, kf.movement AS ntk_movement,
  gi.rel_frob AS init_gp_distance, gi.alignment AS init_gp_alignment,
  gf.rel_frob AS final_gp_distance, gf.alignment AS final_gp_alignment,
  pi.rel_frob AS init_ntk_paper_code_distance, pf.rel_frob AS final_ntk_paper_code_distance
FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
LEFT JOIN kernel_metrics ki ON ki.trial_id = t.id AND ki.phase = 'init' AND ki.kind = 'ntk' AND ki.mode = 'exact'
LEFT JOIN kernel_metrics kf ON kf.trial_id = t.id AND kf.phase = 'final' AND kf.kind = 'ntk' AND kf.mode = 'exact'
LEFT JOIN kernel_metrics gi ON gi.trial_id = t.id AND gi.phase = 'init' AND gi.kind = 'gp' AND gi.mode = 'exact'
LEFT JOIN kernel_metrics gf ON gf.trial_id = t.id AND gf.phase = 'final' AND gf.kind = 'gp' AND gf.mode = 'exact'
LEFT JOIN kernel_metrics pi ON pi.trial_id = t.id AND pi.phase = 'init' AND pi.kind = 'ntk' AND pi.mode = 'paper-code'
LEFT JOIN kernel_metrics pf ON pf.trial_id = t.id AND pf.phase = 'final' AND pf.kind = 'ntk' AND pf.mode = 'paper-code'`,

  v_agreement: `CREATE VIEW v_agreement AS
SELECT st.sweep AS sweep, k.phase, k.kind, k.mode, ${groupCols},
  count(k.rel_frob) AS n, avg(k.rel_frob) AS distance_mean, ${sd('k.rel_frob')} AS distance_sd,
  avg(k.alignment) AS alignment_mean, ${sd('k.alignment')} AS alignment_sd
FROM sweep_trials st JOIN trials t ON t.id = st.trial_id JOIN kernel_metrics k ON k.trial_id = t.id
GROUP BY st.sweep, k.phase, k.kind, k.mode, ${groupCols}`,

  v_convergence: `CREATE VIEW v_convergence AS
SELECT sweep, ${keyCols.join(', ')},
  count(*) AS n, count(train_loss) AS loss_n, avg(train_loss) AS loss_mean, ${sd('train_loss')} AS loss_sd,
  avg(step_below_1e3 IS NOT NULL) AS fraction_below_1e3, avg(step_below_1e3) AS mean_steps_to_1e3
FROM (
  SELECT st.sweep AS sweep, ${groupCols}, t.train_loss,
    (SELECT min(mp.step) FROM metric_points mp
      WHERE mp.trial_id = t.id AND mp.series = 'train_loss' AND mp.value < 1e-3) AS step_below_1e3
  FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
  WHERE t.status IN ('completed', 'diverged')
)
GROUP BY sweep, ${keyCols.join(', ')}`,

  v_movement: `CREATE VIEW v_movement AS
SELECT st.sweep AS sweep, ${groupCols},
  count(k.movement) AS n, avg(k.movement) AS movement_mean, ${sd('k.movement')} AS movement_sd
FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
JOIN kernel_metrics k ON k.trial_id = t.id AND k.phase = 'final' AND k.kind = 'ntk' AND k.mode = 'exact'
WHERE k.movement IS NOT NULL
GROUP BY st.sweep, ${groupCols}`,
};

// ---- covering indexes ------------------------------------------------------------------------------------

/**
 * Covering indexes for the aggregate queries (dashboard, query commands): a sweep's trials are reached through
 * sweep_trials → trials.id → kernel_metrics, and these let SQLite answer from the index without reading the
 * wide trial rows (the config JSON).
 */
export const indexDdl: Record<string, string> = {
  trials_cover_idx: `CREATE INDEX trials_cover_idx ON trials (id, status, ${keyColumns.map((k) => k.column).join(', ')}, train_loss, test_loss)`,
  // The dashboard's loss curves walk the (f.width, g.width) cells with index seeks.
  trials_cells_idx: `CREATE INDEX trials_cells_idx ON trials (${column('f.width')}, ${column('g.width')}, ${column('seed')}, status, id)`,
  // A sweep's members in the order they were added (the index's implicit rowid), for paging and counting.
  sweep_trials_order_idx: 'CREATE INDEX sweep_trials_order_idx ON sweep_trials (sweep)',
  kernel_metrics_cover_idx:
    'CREATE INDEX kernel_metrics_cover_idx ON kernel_metrics (trial_id, phase, kind, mode, rel_frob, alignment, movement)',
};

// ---- the stored sweep cube ---------------------------------------------------------------------------------

/**
 * Table `sweep_cube` holds, per sweep and cube-key group (keys.ts: task, f.width, f.depth, g.width, g.depth,
 * lr), the counts and sums that schema/query-cube.ts cubeDirect computes with one pass over the sweep (loss,
 * test loss, NTK-exact init/final distance and alignment, movement, their log sums) plus the trial count per
 * status. Triggers on sweep_trials, trials and kernel_metrics keep it current inside the writing statement, so
 * every write (store.ts, the dashboard seeder, a hand-run `sqlite3`) updates it in its own transaction, and
 * re-recording a result leaves it unchanged (the old contribution is subtracted, the new one added). Sums are
 * stored as 0 where SQL's sum() would be NULL; the reader turns a sum whose count is 0 back into NULL.
 */
export const storedCubeSums = [
  'trials', 'lossN', 'lossSum', 'lossSq', 'testN', 'testSum', 'testSq',
  'iN', 'iSum', 'iSq', 'iaN', 'iaSum', 'iaSq', 'iLogN', 'iLog', 'iLog2',
  'fN', 'fSum', 'fSq', 'faN', 'faSum', 'faSq', 'fLogN', 'fLog', 'fLog2',
  'mN', 'mSum', 'mSq', 'mLogN', 'mLog', 'mLog2',
] as const;
export type CubeSum = (typeof storedCubeSums)[number];

export const statusColumns = trialStatuses.map((s) => `st_${s}`);
/** The table column of a cube sum (snake_case). */
export const sumColumn = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const sumCols = [...storedCubeSums.map(sumColumn), ...statusColumns];

/** For a sum column, the count column whose 0 means "no values" (the sum reads as NULL then). */
export const countColumnOf = (col: string): string | undefined => {
  const m = /^(loss|test|i|ia|f|fa|m)_(sum|sq)$/.exec(col);
  return m ? `${m[1]}_n` : undefined;
};

const v = (x: string) => [`(${x} IS NOT NULL)`, `coalesce(${x}, 0)`, `coalesce(${x} * ${x}, 0)`];
const l = (x: string) => [`coalesce(${x} > 0, 0)`, `(CASE WHEN ${x} > 0 THEN ln(${x}) ELSE 0 END)`, `(CASE WHEN ${x} > 0 THEN ln(${x}) * ln(${x}) ELSE 0 END)`];

/**
 * The contribution of one trial row, as expressions in the order of sumCols: `t` the trial (an alias or
 * NEW/OLD; null leaves the trial part 0), `ki`/`kf` its NTK-exact init/final kernel rows (null: 0).
 */
function parts(t: string | null, ki: string | null, kf: string | null): string[] {
  const z = (n: number) => Array<string>(n).fill('0');
  const trial = t ? ['1', ...v(`${t}.train_loss`), ...v(`${t}.test_loss`)] : z(7);
  const init = ki ? [...v(`${ki}.rel_frob`), ...v(`${ki}.alignment`), ...l(`${ki}.rel_frob`)] : z(9);
  const fin = kf ? [...v(`${kf}.rel_frob`), ...v(`${kf}.alignment`), ...l(`${kf}.rel_frob`), ...v(`${kf}.movement`), ...l(`${kf}.movement`)] : z(15);
  const status = t ? trialStatuses.map((s) => `(${t}.status = '${s}')`) : z(statusColumns.length);
  return [...trial, ...init, ...fin, ...status];
}

const km = (alias: string, trial: string, phase: 'init' | 'final') =>
  `LEFT JOIN kernel_metrics ${alias} ON ${alias}.trial_id = ${trial} AND ${alias}.phase = '${phase}' AND ${alias}.kind = 'ntk' AND ${alias}.mode = 'exact'`;

const allCols = ['sweep', ...keyCols, ...sumCols].join(', ');

/**
 * Add (sign 1) or subtract (−1) contributions: one row per (sweep, trial) the FROM/WHERE select. Only the
 * columns with a nonzero part are written (a kernel row touches 9 or 15 of them).
 */
function upsert(sign: 1 | -1, sweep: string, t: string, exprs: string[], fromWhere: string): string {
  const s = sign === 1 ? '' : '-';
  const live = sumCols.map((c, i) => [c, exprs[i]]).filter(([, e]) => e !== '0');
  const cols = ['sweep', ...keyCols, ...live.map(([c]) => c)].join(', ');
  const set = live.map(([c]) => `${c} = ${c} + excluded.${c}`).join(', ');
  return `INSERT INTO sweep_cube (${cols}) SELECT ${sweep}, ${keyCols.map((k) => `${t}.${k}`).join(', ')}, ${live.map(([, e]) => `${s}${e}`).join(', ')} ${fromWhere} ON CONFLICT (sweep, ${keyCols.join(', ')}) DO UPDATE SET ${set};`;
}

/** The whole contribution of trial `id` (every part), to sweep `sweep`. */
const wholeTrial = (sign: 1 | -1, sweep: string, id: string) =>
  upsert(sign, sweep, 't', parts('t', 'ki', 'kf'), `FROM trials t ${km('ki', 't.id', 'init')} ${km('kf', 't.id', 'final')} WHERE t.id = ${id}`);

/** A trial row's contribution (old or new values) to every sweep it belongs to. */
const trialInSweeps = (sign: 1 | -1, row: 'OLD' | 'NEW') =>
  upsert(sign, 'st.sweep', row, parts(row, 'ki', 'kf'), `FROM sweep_trials st ${km('ki', `${row}.id`, 'init')} ${km('kf', `${row}.id`, 'final')} WHERE st.trial_id = ${row}.id`);

const isExact = (row: string, phase: string) => `${row}.phase = '${phase}' AND ${row}.kind = 'ntk' AND ${row}.mode = 'exact'`;

/** A kernel row's contribution, if it is the NTK-exact row of `phase`, to every sweep of its trial. */
const kernelInSweeps = (sign: 1 | -1, row: 'OLD' | 'NEW', phase: 'init' | 'final') =>
  upsert(
    sign, 'st.sweep', 't', parts(null, phase === 'init' ? row : null, phase === 'final' ? row : null),
    `FROM sweep_trials st JOIN trials t ON t.id = st.trial_id WHERE st.trial_id = ${row}.trial_id AND ${isExact(row, phase)}`,
  );

const dropEmpty = (where: string) => `DELETE FROM sweep_cube WHERE trials <= 0 AND ${where};`;
const trialChanged = ['status', 'train_loss', 'test_loss', ...keyCols].map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ');
const sqlType = { text: 'TEXT', integer: 'INTEGER', real: 'REAL' } as const;

/** The cube table's DDL. */
export const cubeTableDdl = `CREATE TABLE sweep_cube (sweep TEXT NOT NULL, ${cubeKeyColumns.map((k) => `${k.column} ${sqlType[k.type]} NOT NULL`).join(', ')}, ${sumCols
  .map((c) => `${c} ${countColumnOf(c) || /_log2?$/.test(c) ? 'REAL' : 'INTEGER'} NOT NULL DEFAULT 0`)
  .join(', ')}, PRIMARY KEY (sweep, ${keyCols.join(', ')})) WITHOUT ROWID`;

/** The cube's triggers, by name. */
export const cubeTriggerDdl: Record<string, string> = {
  sweep_cube_member_insert: `CREATE TRIGGER sweep_cube_member_insert AFTER INSERT ON sweep_trials BEGIN
${wholeTrial(1, 'NEW.sweep', 'NEW.trial_id')}
END`,
  sweep_cube_member_delete: `CREATE TRIGGER sweep_cube_member_delete AFTER DELETE ON sweep_trials BEGIN
${wholeTrial(-1, 'OLD.sweep', 'OLD.trial_id')}
${dropEmpty('sweep = OLD.sweep')}
END`,
  sweep_cube_member_update: `CREATE TRIGGER sweep_cube_member_update AFTER UPDATE ON sweep_trials BEGIN
${wholeTrial(-1, 'OLD.sweep', 'OLD.trial_id')}
${wholeTrial(1, 'NEW.sweep', 'NEW.trial_id')}
${dropEmpty('sweep = OLD.sweep')}
END`,
  sweep_cube_trial_update: `CREATE TRIGGER sweep_cube_trial_update AFTER UPDATE ON trials WHEN ${trialChanged} BEGIN
${trialInSweeps(-1, 'OLD')}
${trialInSweeps(1, 'NEW')}
${dropEmpty(`sweep IN (SELECT sweep FROM sweep_trials WHERE trial_id IN (OLD.id, NEW.id)) AND ${keyCols.map((k) => `${k} = OLD.${k}`).join(' AND ')}`)}
END`,
  ...Object.fromEntries(
    (['init', 'final'] as const).flatMap((p) => [
      [`sweep_cube_kernel_insert_${p}`, `CREATE TRIGGER sweep_cube_kernel_insert_${p} AFTER INSERT ON kernel_metrics WHEN ${isExact('NEW', p)} BEGIN
${kernelInSweeps(1, 'NEW', p)}
END`],
      [`sweep_cube_kernel_delete_${p}`, `CREATE TRIGGER sweep_cube_kernel_delete_${p} AFTER DELETE ON kernel_metrics WHEN ${isExact('OLD', p)} BEGIN
${kernelInSweeps(-1, 'OLD', p)}
END`],
      [`sweep_cube_kernel_update_${p}`, `CREATE TRIGGER sweep_cube_kernel_update_${p} AFTER UPDATE ON kernel_metrics WHEN (${isExact('OLD', p)}) OR (${isExact('NEW', p)}) BEGIN
${kernelInSweeps(-1, 'OLD', p)}
${kernelInSweeps(1, 'NEW', p)}
END`],
    ]),
  ),
};

/** Fill sweep_cube from the tables (right after creating it). */
export const cubeFillSql = `INSERT INTO sweep_cube (${allCols}) SELECT st.sweep, ${keyCols.map((k) => `t.${k}`).join(', ')}, ${parts('t', 'ki', 'kf')
  .map((e) => `sum(${e})`)
  .join(', ')} FROM sweep_trials st JOIN trials t ON t.id = st.trial_id ${km('ki', 't.id', 'init')} ${km('kf', 't.id', 'final')} GROUP BY st.sweep, ${keyCols
  .map((k) => `t.${k}`)
  .join(', ')}`;

/**
 * The statements of a derived-objects migration, in order: drop every derived object (IF EXISTS, so an older
 * database whose objects were made outside the migrations upgrades too), then create the views, the indexes,
 * the cube (filled from the tables) and its triggers, and refresh the planner's statistics.
 */
export function derivedObjectsSql(): string[] {
  return [
    ...Object.keys(cubeTriggerDdl).map((name) => `DROP TRIGGER IF EXISTS ${name}`),
    'DROP TABLE IF EXISTS sweep_cube',
    ...Object.keys(viewDdl).map((name) => `DROP VIEW IF EXISTS ${name}`),
    ...Object.keys(indexDdl).map((name) => `DROP INDEX IF EXISTS ${name}`),
    ...Object.values(viewDdl),
    ...Object.values(indexDdl),
    cubeTableDdl,
    cubeFillSql,
    ...Object.values(cubeTriggerDdl),
    'ANALYZE trials',
    'ANALYZE kernel_metrics',
    'ANALYZE sweep_trials',
  ];
}

/** derivedObjectsSql as a drizzle migration file (statements separated by drizzle's breakpoint marker). */
export function derivedMigrationText(): string {
  return derivedObjectsSql().map((s) => `${s};`).join('\n--> statement-breakpoint\n') + '\n';
}
