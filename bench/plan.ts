/**
 * `npm run bench:plan`: how far `plan`'s wall-time estimate is from a real local run. For each sweep (the
 * quickstart and two short paper sweeps), estimate the wall time on this machine's cores with the prior and with
 * the fit on the trials finished so far (the first sweep's, then all earlier ones), run the sweep into a temp
 * database, and print estimate vs actual and the error in %. CPU-heavy: the load average is printed with each line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { closeDb, openDb } from '../schema/db.js';
import { timingRows } from '../schema/cost-samples.js';
import { runLocal } from '../orchestrator/local/runner.js';
import { loadSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { sweepTime, timeModelFor, type TimedTrial } from '../orchestrator/cost-model.js';

const files = (process.env.BENCH_SWEEPS ?? 'sweeps/quickstart.yaml,sweeps/paper/width-m-only.yaml,sweeps/paper/width-n-only.yaml').split(',');
const workers = Number(process.env.BENCH_CONCURRENCY ?? availableParallelism());
const silent = new Writable({ write: (_c, _e, cb) => cb() });
const dir = mkdtempSync(join(tmpdir(), 'hs-bench-plan-'));
const db = join(dir, 'plan.db');
const host = hostname();
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const s = (x: number) => `${x.toFixed(1)} s`;
const err = (est: number, actual: number) => `${est >= actual ? '+' : ''}${(((est - actual) / actual) * 100).toFixed(0)} %`;

function rows(): TimedTrial[] {
  const d = openDb(db, { readonly: true });
  try {
    return timingRows(d);
  } finally {
    closeDb(d);
  }
}

console.log(`bench:plan on ${host}, ${workers} workers × 1 compute thread, backend auto; load average before: ${load()}`);
let first: TimedTrial[] | null = null;
try {
  for (const file of files) {
    const spec = loadSweep(file);
    const configs = expandSweep(spec, file).map((t) => t.config);
    const prior = sweepTime(timeModelFor([], host), configs, workers);
    const sofar = first === null ? [] : rows();
    const fitFirst = first === null ? null : sweepTime(timeModelFor(first, host), configs, workers);
    const fitAll = first === null ? null : sweepTime(timeModelFor(sofar, host), configs, workers);
    const t0 = performance.now();
    const r = await runLocal({ spec, db, concurrency: workers, out: silent, tty: false, handleSignals: false });
    const actual = (performance.now() - t0) / 1000;
    if (r.counts.completed + r.counts.diverged !== configs.length) throw new Error(`${spec.name}: only ${r.counts.completed} of ${configs.length} completed`);
    const after = rows();
    if (first === null) first = after;
    // In-sample: the fit including this sweep's own trials (how well a + b·work can describe it at all).
    const own = sweepTime(timeModelFor(after, host), configs, workers);
    const parts = [
      `${spec.name}: ${configs.length} trials, actual ${s(actual)}`,
      `prior ${s(prior.wallSeconds)} (${err(prior.wallSeconds, actual)})`,
      fitFirst && first ? `fit on the first sweep (${timeModelFor(first, host).fit.n} trials) ${s(fitFirst.wallSeconds)} (${err(fitFirst.wallSeconds, actual)})` : null,
      fitAll ? `fit on all earlier (${timeModelFor(sofar, host).fit.n}) ${s(fitAll.wallSeconds)} (${err(fitAll.wallSeconds, actual)})` : null,
      `fit incl. this sweep (${timeModelFor(after, host).fit.n}) ${s(own.wallSeconds)} (${err(own.wallSeconds, actual)})`,
      `load ${load()}`,
    ].filter((x) => x !== null);
    console.log(parts.join('; '));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
