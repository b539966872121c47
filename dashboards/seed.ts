import { canonicalConfig, canonicalJson, trialId } from '../core/identity.js';
import type { Db } from '../schema/db.js';
import type { TrialStatus } from '../schema/tables.js';
import { mulberry32 } from '../worker/model/rng.js';

/**
 * A synthetic sweep with planted values, written fast (prepared statements, one transaction): for the dashboard
 * benchmark and the browser/server tests. Planted: init NTK distance = 3·(f.width)^(−1/2)·e^(0.15·z) over seeds,
 * movement = (f.width)^(−1)·e^(0.15·z), training loss exp(−rate·step).
 */
export interface SeedOptions {
  sweep: string;
  fWidths: readonly number[];
  gWidths: readonly number[];
  seeds: number;
  /** Logged points per loss curve (every 10 steps). @defaultValue 21 */
  curvePoints?: number;
  /** Status of the i-th trial (in f.width, g.width, seed order). @defaultValue completed */
  statusOf?: (i: number, total: number) => TrialStatus;
  /** RNG seed. @defaultValue 1 */
  rngSeed?: number;
}

export interface SeededTrial {
  id: string;
  fWidth: number;
  gWidth: number;
  seed: number;
  status: TrialStatus;
}

export function seedSweep(db: Db, o: SeedOptions): SeededTrial[] {
  const sqlite = db.$client;
  const r = mulberry32(o.rngSeed ?? 1);
  const z = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const nPoints = o.curvePoints ?? 21;
  const now = Date.now();
  const insSweep = sqlite.prepare(
    'INSERT INTO sweeps (name, task, spec, retries, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING',
  );
  const insTrial = sqlite.prepare(`INSERT INTO trials (id, sweep, config, task, f_width, f_depth, g_width, g_depth, seed, lr,
    status, attempts, backend, error, train_loss, test_loss, steps_run, metrics, queued_at, started_at, finished_at)
    VALUES (?, ?, ?, 'sphere', ?, 3, ?, 2, ?, 0.1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insMember = sqlite.prepare('INSERT INTO sweep_trials (sweep, trial_id) VALUES (?, ?)');
  const insPoint = sqlite.prepare("INSERT INTO metric_points (trial_id, series, step, value) VALUES (?, 'train_loss', ?, ?)");
  const insKernel = sqlite.prepare(
    'INSERT INTO kernel_metrics (trial_id, phase, kind, mode, rel_frob, alignment, movement) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const out: SeededTrial[] = [];
  const total = o.fWidths.length * o.gWidths.length * o.seeds;
  const template = canonicalConfig({ task: 'sphere' });
  sqlite.transaction(() => {
    insSweep.run(o.sweep, 'sphere', JSON.stringify({ name: o.sweep, task: 'sphere', seeded: true }), 0, now, now);
    let i = 0;
    for (const fw of o.fWidths) {
      for (const gw of o.gWidths) {
        for (let seed = 0; seed < o.seeds; seed++, i++) {
          const config = { ...template, seed, f: { ...template.f, width: fw }, g: { ...template.g, width: gw } };
          const id = trialId(config);
          const status = o.statusOf?.(i, total) ?? 'completed';
          const finished = status === 'completed' || status === 'diverged';
          const rate = 0.02 * (1 + Math.log2(fw) / 8) * Math.exp(0.3 * z());
          const lastLoss = status === 'diverged' ? null : Math.exp(-rate * 10 * (nPoints - 1));
          const dist = 3 * fw ** -0.5 * Math.exp(0.15 * z());
          const mov = fw ** -1 * Math.exp(0.15 * z());
          insTrial.run(
            id, o.sweep, canonicalJson(config), fw, gw, seed, status, status === 'queued' ? 0 : 1,
            status === 'queued' ? null : 'wasm', status === 'failed' ? `Error: out of memory at width ${fw}` : null,
            finished ? lastLoss : null, finished && lastLoss !== null ? 1.3 * lastLoss : null, finished ? 10 * (nPoints - 1) : null,
            finished ? JSON.stringify({ trainLoss: lastLoss, stepsRun: 10 * (nPoints - 1) }) : null,
            now, status === 'queued' ? null : now, finished || status === 'failed' ? now : null,
          );
          insMember.run(o.sweep, id);
          if (finished) {
            for (let p = 0; p < nPoints; p++) {
              const v = status === 'diverged' && p > nPoints / 2 ? 1e3 * p : Math.exp(-rate * 10 * p);
              insPoint.run(id, 10 * p, v);
            }
            for (const phase of ['init', 'final'] as const) {
              const d = phase === 'init' ? dist : 1.4 * dist;
              insKernel.run(id, phase, 'ntk', 'exact', d, 1 - d / 10, phase === 'final' ? mov : null);
              insKernel.run(id, phase, 'gp', 'exact', d / 2, 1 - d / 20, null);
              insKernel.run(id, phase, 'ntk', 'paper-code', 2 * d, null, null);
              insKernel.run(id, phase, 'gp', 'paper-code', d, null, null);
            }
          }
          out.push({ id, fWidth: fw, gWidth: gw, seed, status });
        }
      }
    }
  }).immediate();
  return out;
}
