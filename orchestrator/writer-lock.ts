import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../schema/db.js';
import { workers } from '../schema/tables.js';
import { HypersweepError } from '../core/errors.js';

/**
 * One writer per database file, whatever the mode: `run` (local), `run --redis` and `resume` each claim the file
 * in one immediate transaction (so two started at once cannot both pass) through a `workers` row with id
 * `writer`: host, pid and the claim time. A claim is live while that pid runs on this host and its process
 * started before the claim (a pid reused by a younger, unrelated process does not count). `cancel` and the
 * readers never claim.
 */
export const WRITER_ROW = 'writer';

/** Clock slack between the claim time and a process start time derived from /proc (whole seconds at boot). */
const START_SLACK_MS = 2000;

/** Claim the file for this process, or throw the one-line refusal. Returns the release (idempotent). */
export function claimWriter(db: Db, file: string): () => void {
  const host = hostname();
  db.transaction(
    (tx) => {
      const row = tx.select().from(workers).where(eq(workers.id, WRITER_ROW)).get();
      if (row && row.pid !== null && row.pid !== process.pid && row.host === host && holderAlive(row.pid, row.startedAt.getTime())) {
        throw new HypersweepError(
          `--db ${file}: another hypersweep run or resume (pid ${row.pid}) is writing this database; wait for it or stop it (one writer per file)`,
        );
      }
      const now = new Date();
      tx.insert(workers)
        .values({ id: WRITER_ROW, host, pid: process.pid, startedAt: now, heartbeatAt: now, currentTrial: null })
        .onConflictDoUpdate({ target: workers.id, set: { host, pid: process.pid, startedAt: now, heartbeatAt: now, currentTrial: null } })
        .run();
    },
    { behavior: 'immediate' },
  );
  let released = false;
  return () => {
    if (released) return;
    released = true;
    db.update(workers).set({ pid: null }).where(and(eq(workers.id, WRITER_ROW), eq(workers.pid, process.pid))).run();
  };
}

function holderAlive(pid: number, claimedAt: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartMs(pid);
  return started === undefined || started <= claimedAt + START_SLACK_MS;
}

/** When a process started (Linux /proc; undefined elsewhere, where only the pid is checked). */
export function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): field 22 is starttime in clock ticks.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!btime || !Number.isFinite(ticks)) return undefined;
    return Number(btime[1]) * 1000 + (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
