import { and, desc, inArray, isNotNull } from 'drizzle-orm';
import type { TrialConfig } from '../core/config.js';
import type { Db } from './db.js';
import { trials } from './tables.js';

/** One finished trial's measurement for the time model: where it ran, on what, and its compute's wall seconds. */
export interface TimingRow {
  config: TrialConfig;
  host: string;
  backend: string;
  /** timings.totalMs / 1000: setup (backend included), data, training, kernels, evaluation; no queueing. */
  seconds: number;
  finishedAt: number;
}

/**
 * Completed and diverged trials with their host, backend and total time, newest first; trials without timings
 * (older rows, failures) are left out. `host` narrows to one machine.
 */
export function timingRows(db: Db, filter: { host?: string } = {}): TimingRow[] {
  const rows = db
    .select({ config: trials.config, host: trials.host, backend: trials.backend, timings: trials.timings, finishedAt: trials.finishedAt })
    .from(trials)
    .where(and(inArray(trials.status, ['completed', 'diverged']), isNotNull(trials.host), isNotNull(trials.backend), isNotNull(trials.timings)))
    .orderBy(desc(trials.finishedAt))
    .all();
  const out: TimingRow[] = [];
  for (const r of rows) {
    const ms = r.timings?.totalMs;
    if (typeof ms !== 'number' || !(ms > 0) || r.host === null || r.backend === null) continue;
    if (filter.host !== undefined && r.host !== filter.host) continue;
    out.push({ config: r.config, host: r.host, backend: r.backend, seconds: ms / 1000, finishedAt: r.finishedAt?.getTime() ?? 0 });
  }
  return out;
}
