import { availableParallelism } from 'node:os';
import { backendNames, isBackendName } from '../../core/backend.js';
import { HypersweepError } from '../../core/errors.js';
import type { TrialStatus } from '../../schema/tables.js';
import { formatDuration } from './progress.js';

/** `hypersweep run`'s flags as commander gives them (strings until checked here). */
export interface RunFlags {
  db: string;
  concurrency?: string;
  backend?: string;
  order?: string;
  processes?: boolean;
  progressMs?: string;
  redis?: string;
  prefix?: string;
  local?: boolean;
  replace?: boolean;
  rerunStale?: boolean;
}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isInteger(n) || n < min || n > max) {
    throw new HypersweepError(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** `hypersweep run SWEEP.yaml`: flags are checked first, then the sweep file, and only then the database. */
export async function runRunCommand(file: string, flags: RunFlags): Promise<void> {
  const order = flags.order;
  if (order !== undefined && order !== 'listed' && order !== 'small-first') {
    throw new HypersweepError(`--order: expected listed or small-first, got "${order}"`);
  }
  const progressMs = intFlag('--progress-ms', flags.progressMs, 50, 3_600_000);
  const redisUrl = flags.local ? undefined : flags.redis ?? (process.env.REDIS_URL || undefined);
  if (flags.local && flags.redis) throw new HypersweepError('--local and --redis: choose one');
  if (redisUrl !== undefined) {
    for (const [flag, v] of [['--concurrency', flags.concurrency], ['--backend', flags.backend], ['--processes', flags.processes]] as const) {
      if (v !== undefined) {
        throw new HypersweepError(`${flag}: local mode only; with --redis, set it on each \`hypersweep worker\` (or add --local)`);
      }
    }
    const { runDistributed } = await import('../distributed/session.js');
    const { loadSweep } = await import('../sweep.js');
    const spec = loadSweep(file);
    const s = await runDistributed({
      spec: order ? { ...spec, order } : spec,
      sweepPath: file,
      db: flags.db,
      redisUrl,
      prefix: flags.prefix,
      progressMs,
      replace: flags.replace,
      rerunStale: flags.rerunStale,
    });
    printNext(s.sweep, flags.db, s.counts);
    if (s.interrupted) process.exitCode = 130;
    else if (s.counts.failed > 0) process.exitCode = 1;
    return;
  }
  if (flags.prefix !== undefined) throw new HypersweepError('--prefix: distributed mode only (add --redis URL)');
  const concurrency = intFlag('--concurrency', flags.concurrency, 1, 256) ?? availableParallelism();
  const backend = flags.backend;
  if (backend !== undefined && !isBackendName(backend)) {
    throw new HypersweepError(`--backend: unknown backend "${backend}" (use ${backendNames.join(', ')})`);
  }
  // A closed stdout (`run … | head`) must not kill the sweep: keep running and writing results, silently.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const { runLocal } = await import('./runner.js');
  const s = await runLocal({
    sweepPath: file,
    db: flags.db,
    concurrency,
    backend,
    order,
    mode: flags.processes ? 'processes' : 'threads',
    progressMs,
    replace: flags.replace,
    rerunStale: flags.rerunStale,
  });
  const c = s.counts;
  if (s.ran > 0 || s.interrupted) {
    const extra = (['diverged', 'failed', 'cancelled'] as const).filter((k) => c[k] > 0).map((k) => `, ${c[k]} ${k}`).join('');
    console.log(
      `${s.sweep}: ${c.completed} of ${s.total} trials completed${extra}; ${s.ran} ran now in ${formatDuration(s.elapsedMs)}` +
        (s.interrupted ? ` (interrupted: run the same command again to resume ${c.queued + c.running} trials)` : ''),
    );
  }
  printNext(s.sweep, s.db, c);
  if (s.interrupted) process.exitCode = 130;
  else if (c.failed > 0) process.exitCode = 1;
}

function printNext(sweep: string, db: string, counts: Record<TrialStatus, number>): void {
  const dbFlag = db === './hypersweep.db' ? '' : ` --db ${db}`;
  console.log(`results: ${db} (SQLite: tables sweeps, trials, metric_points, kernel_metrics)`);
  console.log('next:');
  console.log(`  npx hypersweep status ${sweep}${dbFlag}${counts.failed > 0 ? '          # see why trials failed' : ''}`);
  console.log(`  npx hypersweep query agreement --sweep ${sweep}${dbFlag}`);
  console.log(`  npx hypersweep dashboard${dbFlag}`);
}
