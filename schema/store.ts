import { and, asc, count, eq, inArray, isNull, ne, notInArray, or, sql } from 'drizzle-orm';
import type { TrialConfig } from '../core/config.js';
import { trialResultSchema, type KernelAgreement, type TrialResult } from '../core/result.js';
import type { CodeIdentity } from '../core/code-identity.js';
import type { Db } from './db.js';
import { keyValues } from './keys.js';
import {
  kernelMetrics,
  metricPoints,
  sweepTrials,
  sweeps,
  trialStatuses,
  trials,
  workers,
  type Sweep,
  type Trial,
  type TrialStatus,
} from './tables.js';

/**
 * Typed writes and reads shared by the local runner and the distributed orchestrator. Every write is atomic, so
 * a crash leaves either all of it or none: one synchronous `immediate` transaction, or a single statement
 * (upsertWorker, heartbeat). One writer per db file.
 */

/** What upsertSweep needs of a sweep spec (the parsed sweep file). */
export interface SweepRecord {
  name: string;
  task: string;
  retries: number;
  [key: string]: unknown;
}

/** What upsertSweep needs of each expanded trial. */
export interface TrialRecord {
  id: string;
  config: TrialConfig;
}

/** Statuses after which a trial is never run again. */
export const finishedStatuses: TrialStatus[] = ['completed', 'diverged'];

const chunk = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/**
 * Record a sweep and its trials. New trials are inserted as `queued`; trials that already exist (from this or
 * another sweep) keep their status and results and only gain membership of this sweep.
 */
export function upsertSweep(db: Db, spec: SweepRecord, list: TrialRecord[]): { added: number; existing: number } {
  const now = new Date();
  return db.transaction(
    (tx) => {
      tx.insert(sweeps)
        .values({ name: spec.name, task: spec.task, spec, retries: spec.retries, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: sweeps.name, set: { task: spec.task, spec, retries: spec.retries, updatedAt: now } })
        .run();
      let added = 0;
      for (const part of chunk(list, 200)) {
        const rows = part.map(({ id, config: c }) => ({
          id,
          sweep: spec.name,
          config: c,
          ...keyValues(c),
          status: 'queued' as const,
          queuedAt: now,
        }));
        added += tx.insert(trials).values(rows).onConflictDoNothing({ target: trials.id }).run().changes;
        tx.insert(sweepTrials)
          .values(part.map(({ id }) => ({ sweep: spec.name, trialId: id })))
          .onConflictDoNothing()
          .run();
      }
      return { added, existing: list.length - added };
    },
    { behavior: 'immediate' },
  );
}

/** A worker started a trial (attempt counts from 1). A finished trial is never moved back to running. */
export function markRunning(db: Db, id: string, by: { worker: string; host: string; attempt: number }): void {
  db.transaction(
    (tx) => {
      tx.update(trials)
        .set({ status: 'running', worker: by.worker, host: by.host, attempts: by.attempt, startedAt: new Date(), error: null })
        .where(and(eq(trials.id, id), notInArray(trials.status, finishedStatuses)))
        .run();
    },
    { behavior: 'immediate' },
  );
}

/** Put trials back in the queue (e.g. `running` rows left by a run that was killed). Finished ones are left alone. */
export function markQueued(db: Db, ids: string[]): number {
  return db.transaction(
    (tx) => {
      let n = 0;
      for (const part of chunk(ids, 500)) {
        n += tx
          .update(trials)
          .set({ status: 'queued', queuedAt: new Date() })
          .where(and(inArray(trials.id, part), notInArray(trials.status, finishedStatuses)))
          .run().changes;
      }
      return n;
    },
    { behavior: 'immediate' },
  );
}

/** The kernel_metrics rows of a result: phase × kind (ntk, gp) × mode (exact, paper-code); movement on final/ntk/exact. */
export function kernelRows(trialId: string, kernel: NonNullable<TrialResult['metrics']['kernel']>) {
  const rows: (typeof kernelMetrics.$inferInsert)[] = [];
  const phases: Array<['init' | 'final', KernelAgreement]> = [['init', kernel.init], ['final', kernel.final]];
  for (const [phase, k] of phases) {
    const movement = phase === 'final' ? kernel.movement : null;
    rows.push(
      { trialId, phase, kind: 'ntk', mode: 'exact', relFrob: k.ntkRelFrob, alignment: k.ntkAlignment, movement },
      { trialId, phase, kind: 'gp', mode: 'exact', relFrob: k.gpRelFrob, alignment: k.gpAlignment, movement: null },
      { trialId, phase, kind: 'ntk', mode: 'paper-code', relFrob: k.paperCodeNtkRelFrob, alignment: null, movement: null },
      { trialId, phase, kind: 'gp', mode: 'paper-code', relFrob: k.paperCodeGpRelFrob, alignment: null, movement: null },
    );
  }
  return rows;
}

/** Non-finite numbers (a diverged loss) are stored as NULL: SQLite REAL has no NaN. */
const finite = (x: number | null | undefined): number | null => (x === null || x === undefined || !Number.isFinite(x) ? null : x);

/**
 * Store a trial's result: the trial row (status completed/diverged, scalar metrics, full metrics JSON, backend,
 * versions, timings, who ran it and with which code: `code`, null for a result without provenance), its loss curve as metric_points (series `train_loss`) and its kernel agreement
 * as kernel_metrics, in one transaction. Idempotent: recording the same result twice leaves one of each row
 * (the trial's previous points and kernel rows are replaced).
 */
export function recordResult(
  db: Db,
  id: string,
  result: TrialResult,
  by: { worker: string; host: string; code?: CodeIdentity | null },
): void {
  const r = trialResultSchema.parse(result);
  db.transaction(
    (tx) => {
      const changed = tx
        .update(trials)
        .set({
          status: r.status,
          worker: by.worker,
          host: by.host,
          codeVersion: by.code?.version ?? null,
          codeHash: by.code?.hash ?? null,
          gitCommit: by.code?.commit ?? null,
          backend: r.backend,
          versions: r.versions,
          timings: r.timings,
          error: null,
          trainLoss: finite(r.metrics.trainLoss),
          testLoss: finite(r.metrics.testLoss),
          testAccuracy: finite(r.metrics.testAccuracy),
          stepsRun: r.metrics.stepsRun,
          metrics: r.metrics,
          finishedAt: new Date(),
        })
        .where(eq(trials.id, id))
        .run().changes;
      if (changed === 0) throw new Error(`recordResult: no trial ${id} in the database (upsertSweep first)`);
      tx.delete(metricPoints).where(and(eq(metricPoints.trialId, id), eq(metricPoints.series, 'train_loss'))).run();
      const points = new Map<number, number>(); // one value per step: the last reported
      for (const [step, loss] of r.curve) if (Number.isFinite(loss)) points.set(step, loss);
      for (const part of chunk([...points], 500)) {
        tx.insert(metricPoints)
          .values(part.map(([step, value]) => ({ trialId: id, series: 'train_loss', step, value })))
          .run();
      }
      tx.delete(kernelMetrics).where(eq(kernelMetrics.trialId, id)).run();
      if (r.metrics.kernel) {
        const kept = kernelRows(id, r.metrics.kernel)
          .filter((k) => Number.isFinite(k.relFrob)) // rel_frob is NOT NULL
          .map((k) => ({ ...k, alignment: finite(k.alignment), movement: finite(k.movement) }));
        if (kept.length > 0) tx.insert(kernelMetrics).values(kept).run();
      }
    },
    { behavior: 'immediate' },
  );
}

/**
 * A running trial's partial loss curve, from the progress its runner already receives: (step, loss) points
 * upserted into metric_points (series `train_loss`) while the trial is still `running`, so the dashboard can
 * draw it. recordResult replaces them with the full curve. Non-finite losses and bad steps are skipped.
 */
export function recordProgress(db: Db, id: string, points: ReadonlyArray<readonly [number, number]>): number {
  const ok = points.filter(([step, loss]) => Number.isInteger(step) && step >= 0 && Number.isFinite(loss));
  if (ok.length === 0) return 0;
  return db.transaction(
    (tx) => {
      const t = tx.select({ status: trials.status }).from(trials).where(eq(trials.id, id)).get();
      if (t?.status !== 'running') return 0;
      tx.insert(metricPoints)
        .values(ok.map(([step, value]) => ({ trialId: id, series: 'train_loss', step, value })))
        .onConflictDoUpdate({ target: [metricPoints.trialId, metricPoints.series, metricPoints.step], set: { value: sql`excluded.value` } })
        .run();
      return ok.length;
    },
    { behavior: 'immediate' },
  );
}

/**
 * A trial that will not be retried (again): `failed` after its last attempt, or `cancelled`. A trial that already
 * finished keeps its result.
 */
export function recordFailure(
  db: Db,
  id: string,
  f: { error: string; attempts: number; status: 'failed' | 'cancelled'; worker?: string; host?: string },
): void {
  db.transaction(
    (tx) => {
      tx.update(trials)
        .set({
          status: f.status,
          error: f.error.slice(0, 4000),
          attempts: f.attempts,
          finishedAt: new Date(),
          ...(f.worker !== undefined ? { worker: f.worker } : {}),
          ...(f.host !== undefined ? { host: f.host } : {}),
        })
        .where(and(eq(trials.id, id), notInArray(trials.status, finishedStatuses)))
        .run();
    },
    { behavior: 'immediate' },
  );
}

/** A finished trial whose stored result another code produced (or unknown code: no provenance stored). */
export interface StaleTrial {
  id: string;
  codeVersion: string | null;
  codeHash: string | null;
  gitCommit: string | null;
}

/** The sweep's completed or diverged trials whose code hash is not `currentHash` (NULL counts as stale). */
export function staleTrials(db: Db, sweep: string, currentHash: string): StaleTrial[] {
  return db
    .select({ id: trials.id, codeVersion: trials.codeVersion, codeHash: trials.codeHash, gitCommit: trials.gitCommit })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(eq(sweepTrials.sweep, sweep), inArray(trials.status, finishedStatuses), staleCode(currentHash)))
    .orderBy(asc(sql`${sweepTrials}.rowid`))
    .all();
}

/** How many of the sweep's finished trials are stale (staleTrials, counted in SQL). */
export function staleCount(db: Db, sweep: string, currentHash: string): number {
  const row = db
    .select({ n: count() })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(eq(sweepTrials.sweep, sweep), inArray(trials.status, finishedStatuses), staleCode(currentHash)))
    .get();
  return row?.n ?? 0;
}

/** The codes that produced a sweep's finished trials, with their trial counts, most trials first. */
export function sweepCodes(db: Db, sweep: string): Array<{ codeVersion: string | null; codeHash: string | null; gitCommit: string | null; trials: number }> {
  return db
    .select({ codeVersion: trials.codeVersion, codeHash: trials.codeHash, gitCommit: trials.gitCommit, trials: count() })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(eq(sweepTrials.sweep, sweep), inArray(trials.status, finishedStatuses)))
    .groupBy(trials.codeVersion, trials.codeHash, trials.gitCommit)
    .orderBy(sql`count(*) desc`, asc(trials.codeHash))
    .all();
}

const staleCode = (currentHash: string) => or(isNull(trials.codeHash), ne(trials.codeHash, currentHash));

/**
 * `run --rerun-stale`: put these finished trials whose result another code produced back in the queue, in one
 * transaction. Their stored result stays until the new one replaces it (recordResult, one transaction); attempts
 * restart at 0, so they count the attempts of the run that produced the stored result. Trials that are no longer
 * stale (or no longer finished) are left alone. Returns how many were re-queued.
 */
export function requeueStale(db: Db, ids: string[], currentHash: string): number {
  return db.transaction(
    (tx) => {
      let n = 0;
      for (const part of chunk(ids, 500)) {
        n += tx
          .update(trials)
          .set({ status: 'queued', attempts: 0, queuedAt: new Date(), error: null })
          .where(and(inArray(trials.id, part), inArray(trials.status, finishedStatuses), staleCode(currentHash)))
          .run().changes;
      }
      return n;
    },
    { behavior: 'immediate' },
  );
}

/** The sweep's trials that still need to run (neither completed nor diverged), in the order they were added. */
export function pendingTrials(db: Db, sweep: string): Trial[] {
  return db
    .select({ t: trials })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(and(eq(sweepTrials.sweep, sweep), notInArray(trials.status, finishedStatuses)))
    .orderBy(asc(sql`${sweepTrials}.rowid`))
    .all()
    .map((r) => r.t);
}

export type StatusCounts = Record<TrialStatus, number> & { total: number };

/** Trials of one sweep per status (membership through sweep_trials). */
export function sweepCounts(db: Db, sweep: string): StatusCounts {
  const rows = db
    .select({ status: trials.status, n: count() })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(eq(sweepTrials.sweep, sweep))
    .groupBy(trials.status)
    .all();
  const out = Object.fromEntries(trialStatuses.map((s) => [s, 0])) as StatusCounts;
  out.total = 0;
  for (const r of rows) {
    out[r.status] = r.n;
    out.total += r.n;
  }
  return out;
}

/** Every sweep with its counts, oldest first. */
export function listSweeps(db: Db): Array<Sweep & { counts: StatusCounts }> {
  return db
    .select()
    .from(sweeps)
    .orderBy(asc(sweeps.createdAt), asc(sweeps.name))
    .all()
    .map((s) => ({ ...s, counts: sweepCounts(db, s.name) }));
}

export function getSweep(db: Db, name: string): Sweep | undefined {
  return db.select().from(sweeps).where(eq(sweeps.name, name)).get();
}

/** All trials of a sweep (membership), in the order they were added. */
export function sweepTrialRows(db: Db, sweep: string): Trial[] {
  return db
    .select({ t: trials })
    .from(sweepTrials)
    .innerJoin(trials, eq(sweepTrials.trialId, trials.id))
    .where(eq(sweepTrials.sweep, sweep))
    .orderBy(asc(sql`${sweepTrials}.rowid`))
    .all()
    .map((r) => r.t);
}

export interface WorkerRecord {
  id: string;
  host: string;
  backend?: string | null;
  pid?: number | null;
}

/** Register (or re-register) a worker; its heartbeat starts now. */
export function upsertWorker(db: Db, w: WorkerRecord): void {
  const now = new Date();
  const row = { host: w.host, backend: w.backend ?? null, pid: w.pid ?? null, heartbeatAt: now };
  db.insert(workers)
    .values({ id: w.id, ...row, startedAt: now, currentTrial: null })
    .onConflictDoUpdate({ target: workers.id, set: row })
    .run();
}

/** A worker is alive and (maybe) running `currentTrial`. Unknown workers are registered with host 'unknown'. */
export function heartbeat(db: Db, id: string, beat: { currentTrial: string | null; at?: Date; host?: string }): void {
  const at = beat.at ?? new Date();
  db.insert(workers)
    .values({ id, host: beat.host ?? 'unknown', startedAt: at, heartbeatAt: at, currentTrial: beat.currentTrial })
    .onConflictDoUpdate({ target: workers.id, set: { heartbeatAt: at, currentTrial: beat.currentTrial } })
    .run();
}
