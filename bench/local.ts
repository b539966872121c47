/**
 * `npm run bench:local`: overhead of the local runner. Runs sweeps of `noop` trials (no sleep, no tfjs) through
 * runLocal with worker threads and with child processes, and prints trials/s end to end: expansion, upsert,
 * dispatch, one markRunning + one recordResult transaction per trial, all on the main thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runLocal } from '../orchestrator/local/runner.js';
import { parseSweep } from '../orchestrator/sweep.js';

const silent = new Writable({ write: (_c, _e, cb) => cb() });
const dir = mkdtempSync(join(tmpdir(), 'hs-bench-local-'));
const N = Number(process.env.BENCH_TRIALS ?? 2000);
try {
  for (const mode of ['threads', 'processes'] as const) {
    for (const concurrency of [1, 2, 4]) {
      const spec = parseSweep(`name: b\ntask: noop\ngrid: {seed: [${Array.from({ length: N }, (_, i) => i)}]}\n`, 'bench');
      const db = join(dir, `${mode}-${concurrency}.db`);
      const t0 = performance.now();
      const s = await runLocal({ spec, db, concurrency, mode, out: silent, tty: false, handleSignals: false });
      const ms = performance.now() - t0;
      if (s.counts.completed !== N) throw new Error(`only ${s.counts.completed}/${N} completed`);
      console.log(`local ${mode.padEnd(9)} concurrency ${concurrency}: ${N} noop trials in ${(ms / 1000).toFixed(2)} s = ${((N * 1000) / ms).toFixed(0)} trials/s`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
