import type { Db } from './db.js';
import { trialStatuses } from './tables.js';

/**
 * The stored sweep cube: table `sweep_cube` holds, per (sweep, task, f.width, f.depth, g.width, g.depth, lr),
 * the counts and sums that schema/queries.ts sweepCube computes with one pass over the sweep (loss, test loss,
 * NTK-exact init/final distance and alignment, movement, their log sums) plus the trial count per status.
 * SQLite triggers on sweep_trials, trials and kernel_metrics keep it current inside the writing statement, so
 * every writer (recordResult, addTrials, the seeder, a hand-run `sqlite3`) updates it in its own transaction and
 * re-recording a result leaves it unchanged (its old contribution is subtracted, the new one added). The
 * dashboard then reads ~groups rows instead of joining 100,000 trials to 200,000 kernel rows.
 *
 * Sums are stored as 0 where SQL's sum() would be NULL; the reader turns a sum whose count is 0 back into NULL.
 * Created (and filled from the tables) by ensureCube, from ensureViews; readers fall back to the direct query
 * when the table is missing or was made by another version of this DDL (cubeReady).
 */

const keyCols = ['task', 'f_width', 'f_depth', 'g_width', 'g_depth', 'lr'] as const;
const keyTypes: Record<(typeof keyCols)[number], string> = {
  task: 'TEXT', f_width: 'INTEGER', f_depth: 'INTEGER', g_width: 'INTEGER', g_depth: 'INTEGER', lr: 'REAL',
};

/** The cube's sums, named as in schema/queries.ts CubeRow (the table column is the snake_case form). */
export const storedCubeSums = [
  'trials', 'lossN', 'lossSum', 'lossSq', 'testN', 'testSum', 'testSq',
  'iN', 'iSum', 'iSq', 'iaN', 'iaSum', 'iaSq', 'iLogN', 'iLog', 'iLog2',
  'fN', 'fSum', 'fSq', 'faN', 'faSum', 'faSq', 'fLogN', 'fLog', 'fLog2',
  'mN', 'mSum', 'mSq', 'mLogN', 'mLog', 'mLog2',
] as const;
const statusCols = trialStatuses.map((s) => `st_${s}`);
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const sumCols = [...storedCubeSums.map(snake), ...statusCols];

/** For a sum column, the count column whose 0 means "no values" (the sum reads as NULL then). */
const countOf = (col: string): string | undefined => {
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
  const status = t ? trialStatuses.map((s) => `(${t}.status = '${s}')`) : z(statusCols.length);
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

/** A kernel row's contribution, if it is the NTK-exact row of `phase`, to every sweep of its trial. */
const kernelInSweeps = (sign: 1 | -1, row: 'OLD' | 'NEW', phase: 'init' | 'final') =>
  upsert(
    sign, 'st.sweep', 't', parts(null, phase === 'init' ? row : null, phase === 'final' ? row : null),
    `FROM sweep_trials st JOIN trials t ON t.id = st.trial_id WHERE st.trial_id = ${row}.trial_id AND ${isExact(row, phase)}`,
  );

const isExact = (row: string, phase: string) => `${row}.phase = '${phase}' AND ${row}.kind = 'ntk' AND ${row}.mode = 'exact'`;

const dropEmpty = (where: string) => `DELETE FROM sweep_cube WHERE trials <= 0 AND ${where};`;
const trialChanged = ['status', 'train_loss', 'test_loss', ...keyCols].map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ');

/** Table and trigger DDL, by name (as stored in sqlite_master, so a changed definition is detected). */
export const cubeDdl: Record<string, string> = {
  sweep_cube: `CREATE TABLE sweep_cube (sweep TEXT NOT NULL, ${keyCols.map((k) => `${k} ${keyTypes[k]} NOT NULL`).join(', ')}, ${sumCols
    .map((c) => `${c} ${countOf(c) || /_log2?$/.test(c) ? 'REAL' : 'INTEGER'} NOT NULL DEFAULT 0`)
    .join(', ')}, PRIMARY KEY (sweep, ${keyCols.join(', ')})) WITHOUT ROWID`,
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

/** Fill sweep_cube from the tables (after creating it). */
const rebuildSql = `INSERT INTO sweep_cube (${allCols}) SELECT st.sweep, ${keyCols.map((k) => `t.${k}`).join(', ')}, ${parts('t', 'ki', 'kf')
  .map((e) => `sum(${e})`)
  .join(', ')} FROM sweep_trials st JOIN trials t ON t.id = st.trial_id ${km('ki', 't.id', 'init')} ${km('kf', 't.id', 'final')} GROUP BY st.sweep, ${keyCols
  .map((k) => `t.${k}`)
  .join(', ')}`;

function storedDdl(db: Db): Map<string, string> {
  const rows = db.$client
    .prepare("SELECT name, sql FROM sqlite_master WHERE (type = 'table' AND name = 'sweep_cube') OR (type = 'trigger' AND name LIKE 'sweep_cube_%')")
    .all() as Array<{ name: string; sql: string }>;
  return new Map(rows.map((r) => [r.name, r.sql]));
}

/**
 * Create sweep_cube and its triggers, filled from the tables, when missing or when any definition changed
 * (then everything is dropped and rebuilt, in one immediate transaction). Returns ['sweep_cube'] when it
 * (re)built, else []. Needs a writable connection.
 */
export function ensureCube(db: Db): string[] {
  const have = storedDdl(db);
  const ok = have.size === Object.keys(cubeDdl).length && Object.entries(cubeDdl).every(([name, ddl]) => have.get(name) === ddl);
  if (ok) return [];
  const sqlite = db.$client;
  sqlite.transaction(() => {
    for (const name of storedDdl(db).keys()) if (name !== 'sweep_cube') sqlite.exec(`DROP TRIGGER IF EXISTS ${name}`);
    sqlite.exec('DROP TABLE IF EXISTS sweep_cube');
    sqlite.exec(cubeDdl.sweep_cube);
    sqlite.exec(rebuildSql);
    for (const [name, ddl] of Object.entries(cubeDdl)) if (name !== 'sweep_cube') sqlite.exec(ddl);
  }).immediate();
  return ['sweep_cube'];
}

/** Whether sweep_cube exists with this version's definition (so its columns are the ones read here). */
export function cubeReady(db: Db): boolean {
  const row = db.$client.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'sweep_cube'").get() as { sql: string } | undefined;
  return row?.sql === cubeDdl.sweep_cube;
}

const readSql = `SELECT ${keyCols.map((k, i) => `${k} AS g${i}`).join(', ')}, ${storedCubeSums
  .map((s) => {
    const c = snake(s);
    const n = countOf(c);
    return n ? `CASE WHEN ${n} > 0 THEN ${c} END AS "${s}"` : `${c} AS "${s}"`;
  })
  .join(', ')} FROM sweep_cube WHERE sweep = ? AND trials > 0`;

/** The stored cube rows of a sweep (g0..g5 = the cube keys, then the sums as sweepCube names them). */
export function readStoredCube(db: Db, sweep: string): Array<Record<string, string | number | null>> {
  return db.$client.prepare(readSql).all(sweep) as Array<Record<string, string | number | null>>;
}

/** Trial counts per sweep and status, from the stored cube. */
export function storedStatusCounts(db: Db): Array<{ sweep: string; status: string; n: number }> {
  const rows = db.$client
    .prepare(`SELECT sweep, ${statusCols.map((c) => `sum(${c}) AS ${c}`).join(', ')} FROM sweep_cube GROUP BY sweep`)
    .all() as Array<Record<string, string | number>>;
  return rows.flatMap((r) => trialStatuses.map((s) => ({ sweep: String(r.sweep), status: s, n: Number(r[`st_${s}`]) })));
}
