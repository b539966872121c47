import { and, asc, avg, count, eq, gte, ne, sql } from 'drizzle-orm';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { getSweep, listSweeps, staleCount, staleTrials, sweepCounts, type StatusCounts } from '../schema/store.js';
import { codeIdentity, describeCode } from '../core/code-identity.js';
import { staleCodes } from './stale.js';
import { sweepTrials, trialStatuses, trials, workers } from '../schema/tables.js';
import { HypersweepError } from '../core/errors.js';
import { table } from './sweep-plan.js';
import { compareKeys, groupFields, groupKeyOf, keyExpr, varyingKeys, type GroupKey } from '../schema/queries-keys.js';
import { orderAxes } from '../schema/queries-slope.js';
import { WRITER_ROW } from './writer-lock.js';

/** `hypersweep status [SWEEP] [--db FILE]`: trial counts per status, for every sweep or one sweep in detail. */

export interface StatusFlags {
  db: string;
  json?: boolean;
}

const countCells = (c: StatusCounts) => [String(c.total), ...trialStatuses.map((s) => String(c[s]))];

/** Workers whose last heartbeat is at most this old count as alive in `status`. */
export const liveWorkerMs = 120_000;

export function liveWorkers(db: Db, now = Date.now()) {
  return db
    .select()
    .from(workers)
    .where(and(gte(workers.heartbeatAt, new Date(now - liveWorkerMs)), ne(workers.id, WRITER_ROW)))
    .orderBy(asc(workers.id))
    .all();
}

export function sweepsOverview(db: Db, now = Date.now()): string {
  const all = listSweeps(db);
  if (all.length === 0) return 'no sweeps in this database yet (run `hypersweep run SWEEP.yaml`)';
  const head = ['sweep', 'task', 'trials', ...trialStatuses, 'stale', 'updated'];
  const hash = codeIdentity().hash;
  const stale = all.map((s) => staleCount(db, s.name, hash));
  const lines = [table([head, ...all.map((s, i) => [
    s.name, s.task, ...countCells(s.counts), String(stale[i]), s.updatedAt.toISOString().slice(0, 19).replace('T', ' '),
  ])])];
  if (stale.some((n) => n > 0)) {
    lines.push(`stale: finished trials produced by other code than this hypersweep (${describeCode(codeIdentity())}); \`run SWEEP.yaml --rerun-stale\` re-runs them`);
  }
  const alive = liveWorkers(db, now);
  if (alive.length > 0) {
    lines.push('', `workers seen in the last ${liveWorkerMs / 60_000} min:`);
    lines.push(table([
      ['worker', 'host', 'backend', 'running', 'last beat'],
      ...alive.map((w) => [w.id, w.host, w.backend ?? '-', w.currentTrial ?? 'idle', `${Math.round((now - w.heartbeatAt.getTime()) / 1000)}s ago`]),
    ]));
  }
  return lines.join('\n');
}

export interface SweepDetail {
  sweep: string;
  task: string;
  counts: StatusCounts;
  /** The config keys that vary in the sweep (seed excluded: the means run over it), widths first, then depths. */
  by: string[];
  /** One row per combination of the varying keys' values. */
  groups: Array<{ key: GroupKey; trials: number; finished: number; meanTrainLoss: number | null; meanTestLoss: number | null }>;
  running: Array<{ id: string; worker: string | null; host: string | null; startedAt: Date | null; attempts: number }>;
  failed: Array<{ id: string; attempts: number; error: string | null }>;
  /** The code of this hypersweep, and the finished trials produced by other (or unknown) code, by code. */
  code: { current: string; stale: number; staleCodes: string[] };
}

export function sweepDetail(db: Db, name: string): SweepDetail {
  const s = getSweep(db, name);
  if (!s) {
    const known = listSweeps(db).map((x) => x.name);
    throw new HypersweepError(`no sweep "${name}" in this database${known.length ? ` (it has: ${known.join(', ')})` : ''}`);
  }
  const member = and(eq(sweepTrials.sweep, name), eq(sweepTrials.trialId, trials.id));
  const by = orderAxes(varyingKeys(db, { sweep: name }));
  const groups = db
    .select({
      ...groupFields(by),
      trials: count(),
      finished: sql<number>`sum(${trials.status} in ('completed', 'diverged'))`,
      meanTrainLoss: avg(trials.trainLoss).mapWith(Number),
      meanTestLoss: avg(trials.testLoss).mapWith(Number),
    })
    .from(sweepTrials)
    .innerJoin(trials, member)
    .groupBy(...by.map(keyExpr))
    .all()
    .map((r) => ({ key: groupKeyOf(by, r), trials: r.trials, finished: Number(r.finished), meanTrainLoss: r.meanTrainLoss ?? null, meanTestLoss: r.meanTestLoss ?? null }))
    .sort(compareKeys(by));
  const pick = (status: 'running' | 'failed') =>
    db.select({ t: trials }).from(sweepTrials).innerJoin(trials, member).where(eq(trials.status, status)).orderBy(asc(trials.id)).all().map((r) => r.t);
  return {
    sweep: name,
    task: s.task,
    counts: sweepCounts(db, name),
    by,
    groups,
    running: pick('running').map((t) => ({ id: t.id, worker: t.worker, host: t.host, startedAt: t.startedAt, attempts: t.attempts })),
    failed: pick('failed').map((t) => ({ id: t.id, attempts: t.attempts, error: t.error })),
    code: staleSummary(db, name),
  };
}

function staleSummary(db: Db, sweep: string): SweepDetail['code'] {
  const current = codeIdentity();
  const stale = staleTrials(db, sweep, current.hash);
  return { current: describeCode(current), stale: stale.length, staleCodes: staleCodes(stale) };
}

const num = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x.toPrecision(4));

export function formatDetail(d: SweepDetail): string {
  const c = d.counts;
  const lines = [`sweep ${d.sweep} (${d.task}): ${c.total} trials: ${trialStatuses.map((s) => `${s} ${c[s]}`).join(', ')}`];
  const finished = c.completed + c.diverged;
  lines.push(finished === 0 ? `code: this is ${d.code.current}` : d.code.stale === 0
    ? `code: every finished trial was produced by this code (${d.code.current})`
    : `code: ${d.code.stale} of ${finished} finished trials were produced by other code (${d.code.staleCodes.join('; ')}); this is ${d.code.current}; \`run SWEEP.yaml --rerun-stale\` re-runs them`);
  if (d.groups.length > 0) {
    lines.push('', table([
      [...d.by, 'trials', 'finished', 'mean train loss', 'mean test loss'],
      ...d.groups.map((r) => [...d.by.map((k) => String(r.key[k])), String(r.trials), String(r.finished), num(r.meanTrainLoss), num(r.meanTestLoss)]),
    ]));
  }
  if (d.running.length > 0) {
    lines.push('', 'running:');
    for (const r of d.running) lines.push(`  ${r.id} on ${r.worker ?? '?'}@${r.host ?? '?'} since ${r.startedAt?.toISOString() ?? '?'} (attempt ${r.attempts})`);
  }
  if (d.failed.length > 0) {
    lines.push('', 'failed:');
    for (const f of d.failed.slice(0, 20)) lines.push(`  ${f.id} after ${f.attempts} attempt(s): ${(f.error ?? '').split('\n')[0]}`);
    if (d.failed.length > 20) lines.push(`  … ${d.failed.length - 20} more`);
  }
  return lines.join('\n');
}

export async function runStatusCommand(sweep: string | undefined, flags: StatusFlags): Promise<void> {
  const db = openDb(flags.db, { readonly: true });
  try {
    if (sweep === undefined) {
      const hash = codeIdentity().hash;
      if (flags.json) console.log(JSON.stringify(listSweeps(db).map((s) => ({ sweep: s.name, task: s.task, counts: s.counts, stale: staleCount(db, s.name, hash) }))));
      else console.log(sweepsOverview(db));
    } else {
      const d = sweepDetail(db, sweep);
      console.log(flags.json ? JSON.stringify(d) : formatDetail(d));
    }
  } finally {
    closeDb(db);
  }
}
