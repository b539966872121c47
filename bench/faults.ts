/**
 * `npm run bench:faults`: the fault-injection soak. Rounds of noop sweeps through a private redis-server while
 * workers, sandboxes and orchestrators are killed with SIGKILL, Redis restarts without persistence, the wait list
 * and job hashes are deleted, and second writers are started; prints trials run, faults injected per kind, lost,
 * duplicated and leftover jobs. Environment: BENCH_ROUNDS (default 30), BENCH_TRIALS (per round, default 24),
 * BENCH_FAULTS (per round at most, default 12), BENCH_SLEEP_MS (per trial, default 1000), BENCH_WORKERS (default 3),
 * BENCH_SEED (default 1), BENCH_CYCLE=1 (kinds in turn). Exit 1 if anything was lost or duplicated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFaultInjection } from './fault-injection.js';

const env = (name: string, dflt: number) => Number(process.env[name] ?? dflt);
const dir = mkdtempSync(join(tmpdir(), 'hypersweep-faults-'));
try {
  const r = await runFaultInjection({
    dir,
    rounds: env('BENCH_ROUNDS', 30),
    trialsPerRound: env('BENCH_TRIALS', 24),
    faultsPerRound: env('BENCH_FAULTS', 12),
    sleepMs: env('BENCH_SLEEP_MS', 1000),
    workers: env('BENCH_WORKERS', 3),
    seed: env('BENCH_SEED', 1),
    cycle: process.env.BENCH_CYCLE === '1',
    log: (line) => console.log(line),
  });
  console.log(`\nfault soak: ${r.rounds} rounds, ${r.trials} trials, ${r.completed} completed in ${(r.elapsedMs / 1000).toFixed(0)} s`);
  console.log(`faults injected: ${r.totalFaults} (${Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  console.log(`lost ${r.lost}, duplicated ${r.duplicated}, leftover jobs ${r.leftover}, second writers accepted ${r.secondWriterAccepted}`);
  if (r.lost + r.duplicated + r.secondWriterAccepted > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
