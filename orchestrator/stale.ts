import { codeIdentity, describeCode, type CodeIdentity } from '../core/code-identity.js';
import type { Db } from '../schema/db.js';
import { requeueStale, staleTrials, sweepCounts, type StaleTrial } from '../schema/store.js';

/**
 * Stale results: finished trials of a sweep whose stored code hash is not this process's (core/code-identity.ts),
 * or that have no provenance (a database from before it was recorded). `run` reports them and leaves them alone;
 * `run --rerun-stale` puts exactly those back in the queue.
 */

export interface StaleOutcome {
  /** Finished trials of the sweep produced by other (or unknown) code. */
  stale: number;
  /** Of those, re-queued by this call (`rerun`). */
  requeued: number;
}

/** The distinct codes of stale trials, most trials first, as `hypersweep 0.1.0, code 3f2a…, commit abc1234`. */
export function staleCodes(list: readonly StaleTrial[]): string[] {
  const by = new Map<string, number>();
  for (const t of list) {
    const d = describeCode(t.codeHash === null ? null : { version: t.codeVersion, hash: t.codeHash, commit: t.gitCommit });
    by.set(d, (by.get(d) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([d]) => d);
}

/** The one line about stale results (null when there are none). */
export function staleLine(list: readonly StaleTrial[], finished: number, rerun: boolean): string | null {
  if (list.length === 0) return null;
  const codes = staleCodes(list);
  const shown = codes.length > 3 ? `${codes.slice(0, 3).join('; ')}; and ${codes.length - 3} more` : codes.join('; ');
  return rerun
    ? `re-running ${list.length} of ${finished} finished trials, produced by other code (${shown})`
    : `${list.length} of ${finished} finished trials were produced by other code (${shown}); rerun them with --rerun-stale`;
}

/** Report the sweep's stale trials in one line, and with `rerun` re-queue them (one transaction). */
export function handleStale(db: Db, sweep: string, rerun: boolean, log: (line: string) => void, code: CodeIdentity = codeIdentity()): StaleOutcome {
  const list = staleTrials(db, sweep, code.hash);
  if (list.length === 0) return { stale: 0, requeued: 0 };
  const c = sweepCounts(db, sweep);
  log(staleLine(list, c.completed + c.diverged, rerun)!);
  const requeued = rerun ? requeueStale(db, list.map((t) => t.id), code.hash) : 0;
  return { stale: list.length, requeued };
}
