import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../../schema/db.js';
import { heartbeat, upsertWorker } from '../../schema/store.js';
import { trials, type TrialStatus } from '../../schema/tables.js';
import type { Heartbeat } from '../../core/protocol.js';

/** Status of each of these trial ids that the database knows (ids it does not know are absent). */
export function knownTrialStatuses(db: Db, ids: string[]): Map<string, TrialStatus> {
  const out = new Map<string, TrialStatus>();
  const wanted = ids.filter((id) => id !== '');
  for (let i = 0; i < wanted.length; i += 500) {
    const rows = db
      .select({ id: trials.id, status: trials.status })
      .from(trials)
      .where(inArray(trials.id, wanted.slice(i, i + 500)))
      .all();
    for (const r of rows) out.set(r.id, r.status);
  }
  return out;
}

/** Store workers' heartbeats in the workers table (one transaction). */
export function saveHeartbeats(db: Db, beats: Heartbeat[]): void {
  db.transaction(
    () => {
      for (const b of beats) {
        upsertWorker(db, { id: b.id, host: b.host, backend: b.backend, pid: b.pid });
        heartbeat(db, b.id, { currentTrial: b.current[0] ?? null, at: new Date(b.heartbeatAt), host: b.host });
      }
    },
    { behavior: 'immediate' },
  );
}

/** Record how many attempts BullMQ spent on finished trials (recordResult does not know). */
export function setAttempts(db: Db, attempts: Array<{ id: string; attempts: number }>): void {
  for (const a of attempts) db.update(trials).set({ attempts: a.attempts }).where(eq(trials.id, a.id)).run();
}
