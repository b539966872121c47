import type { Db } from './db.js';
import { ensureCube } from './queries-cube.js';

/**
 * SQL views over the results tables, for people who open the database with `sqlite3` (the CLI and the dashboard
 * compute the same aggregates with bound-parameter queries in schema/queries.ts). Fixed DDL, no user input.
 * sd is the sample standard deviation over seeds (NULL for a single seed); no math functions needed.
 */

const sd = (x: string) => `sqrt(max(0, (sum(${x} * ${x}) - sum(${x}) * sum(${x}) / count(${x})) / (count(${x}) - 1)))`;

const groupCols = 't.task, t.f_width, t.f_depth, t.g_width, t.g_depth, t.lr';

export const viewDdl: Record<string, string> = {
  v_trials_flat: `CREATE VIEW v_trials_flat AS
SELECT st.sweep AS sweep, t.id AS trial_id, t.status, ${groupCols}, t.seed,
  json_extract(t.config, '$.train.optimizer') AS optimizer, json_extract(t.config, '$.train.steps') AS steps,
  json_extract(t.config, '$.g.input') AS g_input, json_extract(t.config, '$.kernels.probe') AS probe,
  t.backend, t.attempts, t.train_loss, t.test_loss, t.test_accuracy, t.steps_run, t.error,
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
SELECT sweep, task, f_width, f_depth, g_width, g_depth, lr,
  count(*) AS n, count(train_loss) AS loss_n, avg(train_loss) AS loss_mean, ${sd('train_loss')} AS loss_sd,
  avg(step_below_1e3 IS NOT NULL) AS fraction_below_1e3, avg(step_below_1e3) AS mean_steps_to_1e3
FROM (
  SELECT st.sweep AS sweep, ${groupCols}, t.train_loss,
    (SELECT min(mp.step) FROM metric_points mp
      WHERE mp.trial_id = t.id AND mp.series = 'train_loss' AND mp.value < 1e-3) AS step_below_1e3
  FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
  WHERE t.status IN ('completed', 'diverged')
)
GROUP BY sweep, task, f_width, f_depth, g_width, g_depth, lr`,

  v_movement: `CREATE VIEW v_movement AS
SELECT st.sweep AS sweep, ${groupCols},
  count(k.movement) AS n, avg(k.movement) AS movement_mean, ${sd('k.movement')} AS movement_sd
FROM sweep_trials st JOIN trials t ON t.id = st.trial_id
JOIN kernel_metrics k ON k.trial_id = t.id AND k.phase = 'final' AND k.kind = 'ntk' AND k.mode = 'exact'
WHERE k.movement IS NOT NULL
GROUP BY st.sweep, ${groupCols}`,
};

/**
 * Covering indexes for the aggregate queries (dashboard, query commands): a sweep's trials are reached through
 * sweep_trials → trials.id → kernel_metrics, and these let SQLite answer from the index without reading the
 * wide trial rows (the config JSON). ANALYZE lets the planner prefer them over the primary-key indexes.
 */
export const indexDdl: Record<string, string> = {
  trials_cover_idx:
    'CREATE INDEX IF NOT EXISTS trials_cover_idx ON trials (id, status, task, f_width, g_width, f_depth, g_depth, lr, seed, train_loss, test_loss)',
  trials_cells_idx: 'CREATE INDEX IF NOT EXISTS trials_cells_idx ON trials (f_width, g_width, seed, status, id)',
  // A sweep's members in the order they were added (the index's implicit rowid), for paging and counting.
  sweep_trials_order_idx: 'CREATE INDEX IF NOT EXISTS sweep_trials_order_idx ON sweep_trials (sweep)',
  kernel_metrics_cover_idx:
    'CREATE INDEX IF NOT EXISTS kernel_metrics_cover_idx ON kernel_metrics (trial_id, phase, kind, mode, rel_frob, alignment, movement)',
};

/**
 * Create the views (replacing any whose definition changed), the covering indexes and the stored sweep cube
 * (ensureCube); returns the names it (re)created. Idempotent and
 * cheap: safe to call on every open by the writing process. Needs a writable connection.
 */
export function ensureViews(db: Db): string[] {
  const sqlite = db.$client;
  const existing = new Map(
    (sqlite.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'view'").all() as Array<{ name: string; sql: string }>).map(
      (r) => [r.name, r.sql],
    ),
  );
  const indexes = new Set(
    (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as Array<{ name: string }>).map((r) => r.name),
  );
  const stale = Object.entries(viewDdl).filter(([name, ddl]) => existing.get(name) !== ddl);
  const missing = Object.entries(indexDdl).filter(([name]) => !indexes.has(name));
  // The stored sweep cube and its triggers (schema/queries-cube.ts), after the indexes its first fill uses.
  if (stale.length === 0 && missing.length === 0) return ensureCube(db);
  sqlite.transaction(() => {
    for (const [name, ddl] of stale) {
      sqlite.exec(`DROP VIEW IF EXISTS ${name}`);
      sqlite.exec(ddl);
    }
    for (const [, ddl] of missing) sqlite.exec(ddl);
    if (missing.length > 0) sqlite.exec('ANALYZE trials; ANALYZE kernel_metrics; ANALYZE sweep_trials');
  }).immediate();
  return [...stale, ...missing].map(([name]) => name).concat(ensureCube(db));
}
