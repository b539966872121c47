import { execFileSync } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { closeDb, ensureDbDir, openDb, type Db } from '../../schema/db.js';
import { markQueued, markRunning, recordFailure, recordResult, sweepTrialRows, upsertSweep, upsertWorker, heartbeat } from '../../schema/store.js';
import { and, eq, like } from 'drizzle-orm';
import { workers, type TrialStatus } from '../../schema/tables.js';
import type { BackendName } from '../../core/backend.js';
import { trialResultSchema } from '../../core/result.js';
import { HypersweepError, zodErrorLine, type ErrorKind } from '../../core/errors.js';
import { loadSweep, type SweepSpec } from '../sweep.js';
import { expandSweep, type ExpandedTrial } from '../expand.js';
import { trialEtaWeight } from '../trial-cost.js';
import { createPool, type PoolMode, type Slot } from './pool.js';
import type { FromWorker } from './protocol.js';
import { LocalProgress, type LocalSnapshot } from './progress.js';

/**
 * Local mode: run a sweep's pending trials on this machine in a pool of worker threads (or child processes), the
 * main thread being the only database writer. Each finished trial is written at once, so an interrupted run loses
 * only the trials in flight, and running the same sweep again runs only what is not finished.
 */

export interface LocalRunOptions {
  /** Sweep file, or an already parsed spec (then `where` names it in messages). */
  sweepPath?: string;
  spec?: SweepSpec;
  /** Results database. @defaultValue './hypersweep.db' */
  db?: string;
  /** Trials at once (threads or processes). @defaultValue os.availableParallelism() */
  concurrency: number;
  /** Compute backend passed to every trial; undefined: runTrial's default. */
  backend?: BackendName;
  /** Override the sweep file's `order`. */
  order?: SweepSpec['order'];
  /** @defaultValue 'threads' */
  mode?: PoolMode;
  /** Where progress and the summary go. @defaultValue process.stdout */
  out?: NodeJS.WritableStream;
  /** Redraw live progress in place. @defaultValue out.isTTY */
  tty?: boolean;
  /** Milliseconds between plain progress lines when not on a TTY. @defaultValue 5000 */
  progressMs?: number;
  /** Stop on SIGINT/SIGTERM, leaving the sweep resumable. @defaultValue true */
  handleSignals?: boolean;
  /** Trial-runner entry (tests); default: dist/orchestrator/local/thread.js. */
  entry?: string;
}

export interface LocalSummary {
  sweep: string;
  db: string;
  /** Trials of the sweep file. */
  total: number;
  /** New to the database. */
  added: number;
  /** Already completed or diverged before this run: skipped. */
  skipped: number;
  /** Run (to a final status) by this run. */
  ran: number;
  counts: Record<TrialStatus, number>;
  interrupted: boolean;
  elapsedMs: number;
}

const finished = new Set<TrialStatus>(['completed', 'diverged']);

export async function runLocal(opts: LocalRunOptions): Promise<LocalSummary> {
  const where = opts.sweepPath ?? opts.spec?.name ?? 'sweep';
  const spec0 = opts.spec ?? (opts.sweepPath !== undefined ? loadSweep(opts.sweepPath) : undefined);
  if (!spec0) throw new HypersweepError('run: give a sweep file');
  const spec: SweepSpec = opts.order ? { ...spec0, order: opts.order } : spec0;
  // Everything is validated before the database is touched.
  const list = expandSweep(spec, where);
  const file = opts.db ?? './hypersweep.db';
  ensureDbDir(file);
  const db = openDb(file, { migrate: true });
  try {
    refuseSecondRunner(db, file);
    return await runWithDb(db, file, spec, list, opts);
  } finally {
    closeDb(db);
  }
}

/** The commit of the hypersweep code running the trials (provenance for each result), if it is a git checkout. */
function codeCommit(): string | null {
  try {
    const root = fileURLToPath(new URL('../../..', import.meta.url)); // dist/orchestrator/local → package root
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}

/**
 * One writer per database: refuse to start while another local runner on this host still uses the file (its
 * runner slots are registered in the workers table with its pid, which is still alive).
 */
function refuseSecondRunner(db: Db, file: string): void {
  const host = hostname();
  // Check and claim in one immediate transaction, so two runs started at once cannot both pass.
  db.transaction(
    (tx) => {
      const rows = tx.select().from(workers).where(and(eq(workers.host, host), like(workers.id, 'local-%'))).all();
      for (const w of rows) {
        if (w.pid === null || w.pid === process.pid || !pidAlive(w.pid)) continue;
        throw new HypersweepError(
          `--db ${file}: another \`hypersweep run\` (pid ${w.pid}) is writing this database; wait for it or stop it (one writer per file)`,
        );
      }
      const now = new Date();
      tx.insert(workers)
        .values({ id: 'local-1', host, pid: process.pid, startedAt: now, heartbeatAt: now, currentTrial: null })
        .onConflictDoUpdate({ target: workers.id, set: { host, pid: process.pid, heartbeatAt: now, currentTrial: null } })
        .run();
    },
    { behavior: 'immediate' },
  );
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Pending {
  trial: ExpandedTrial;
  /** Attempts before this one (all runs). */
  priorAttempts: number;
  /** Attempts made by this run. */
  tries: number;
}

async function runWithDb(db: Db, file: string, spec: SweepSpec, list: ExpandedTrial[], opts: LocalRunOptions): Promise<LocalSummary> {
  const t0 = Date.now();
  const out = opts.out ?? process.stdout;
  const host = hostname();
  const gitCommit = codeCommit();
  const { added } = upsertSweep(db, spec, list);
  const rows = new Map(sweepTrialRows(db, spec.name).map((r) => [r.id, r]));
  // `running` rows here are left over from a run that was killed: nobody else writes this file.
  markQueued(db, list.filter((t) => rows.get(t.id)?.status === 'running').map((t) => t.id));
  const status = new Map<string, TrialStatus>();
  for (const t of list) {
    const s = rows.get(t.id)?.status ?? 'queued';
    status.set(t.id, s === 'running' ? 'queued' : s);
  }
  const queue: Pending[] = list
    .filter((t) => !finished.has(status.get(t.id)!))
    .map((trial) => ({ trial, priorAttempts: rows.get(trial.id)?.attempts ?? 0, tries: 0 }));
  for (const p of queue) status.set(p.trial.id, 'queued');
  const skipped = list.length - queue.length;
  // Trials' relative sizes, for the ETA.
  const cost = new Map(queue.map((p) => [p.trial.id, trialEtaWeight(p.trial.config)]));
  const costToRun = [...cost.values()].reduce((a, b) => a + b, 0);
  let costDone = 0;
  const maxTries = 1 + spec.retries;

  const mode = opts.mode ?? 'threads';
  const concurrency = Math.max(1, Math.min(opts.concurrency, queue.length));
  const progress = new LocalProgress(out, opts.tty ?? ('isTTY' in out && out.isTTY === true), opts.progressMs ?? 5000);
  let ranHere = 0;
  let interrupted = false;
  let fatal: HypersweepError | null = null;
  const inFlight = new Map<string, Pending>();

  const snapshot = (slots: Slot[]): LocalSnapshot => {
    const counts = Object.fromEntries(['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled'].map((s) => [s, 0])) as Record<TrialStatus, number>;
    for (const s of status.values()) counts[s]++;
    return { sweep: spec.name, total: list.length, counts, ranHere, toRun: queue.length + inFlight.size + ranHere, costDone, costToRun, elapsedMs: Date.now() - t0, slots };
  };

  if (queue.length === 0) {
    const summary = { sweep: spec.name, db: file, total: list.length, added, skipped, ran: 0, counts: snapshot([]).counts, interrupted, elapsedMs: Date.now() - t0 };
    out.write(`${spec.name}: all ${list.length} trials already finished in ${file}; nothing to run\n`);
    return summary;
  }
  out.write(
    `${spec.name}: ${list.length} trials (${added} new, ${skipped} already finished), running ${queue.length} ` +
      `on ${concurrency} ${mode === 'processes' ? 'process' : 'thread'}${concurrency === 1 ? '' : mode === 'processes' ? 'es' : 's'}` +
      `${opts.backend ? ` with backend ${opts.backend}` : ''}; results go to ${file}\n`,
  );

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let slots: Slot[] = [];

  const finishTrial = (id: string, s: TrialStatus) => {
    status.set(id, s);
    costDone += cost.get(id) ?? 0;
    inFlight.delete(id);
    ranHere++;
  };

  /** What to do with a failed attempt, by the error's kind (core/errors.ts classify, the same as in a sandbox). */
  const retryOrFail = (slot: Slot, p: Pending, error: { name: string; message: string; kind: ErrorKind }) => {
    const { name, message, kind } = error;
    const line = `${name}: ${message}`.split('\n')[0]!.slice(0, 2000);
    if (kind === 'fatal') {
      // Every trial would fail the same way: stop; trials in flight (this one included) are re-queued below.
      fatal ??= new HypersweepError(message);
      resolveDone();
      return;
    }
    if (kind === 'retryable' && p.tries < maxTries && !interrupted) {
      inFlight.delete(p.trial.id);
      status.set(p.trial.id, 'queued');
      queue.push(p); // retried after the others
      out.write(`${p.trial.id} attempt ${p.tries}/${maxTries} failed on ${slot.id} (${line}); will retry\n`);
      return;
    }
    recordFailure(db, p.trial.id, { error: line, attempts: p.priorAttempts + p.tries, status: 'failed', worker: slot.id, host });
    finishTrial(p.trial.id, 'failed');
    out.write(`${p.trial.id} failed after ${p.tries} attempt${p.tries === 1 ? '' : 's'}: ${line}\n`);
  };

  const dispatch = () => {
    if (interrupted || fatal) {
      if (inFlight.size === 0) resolveDone();
      return;
    }
    for (const slot of slots) {
      if (slot.current || queue.length === 0) continue;
      const p = queue.shift()!;
      p.tries++;
      inFlight.set(p.trial.id, p);
      status.set(p.trial.id, 'running');
      markRunning(db, p.trial.id, { worker: slot.id, host, attempt: p.priorAttempts + p.tries });
      heartbeat(db, slot.id, { currentTrial: p.trial.id, host });
      slot.current = { trialId: p.trial.id, startedAt: Date.now(), progress: null };
      slot.send({ type: 'run', trialId: p.trial.id, config: p.trial.config, ...(opts.backend ? { backend: opts.backend } : {}) });
    }
    if (queue.length === 0 && inFlight.size === 0) resolveDone();
  };

  const onMessage = (slot: Slot, m: FromWorker) => {
    if (m.type === 'ready') return;
    const p = inFlight.get(m.trialId);
    if (!p || slot.current?.trialId !== m.trialId) return; // stale (aborted or restarted)
    if (m.type === 'progress') {
      slot.current.progress = m.progress;
      return;
    }
    slot.current = null;
    heartbeat(db, slot.id, { currentTrial: null, host });
    if (m.type === 'done') {
      const r = trialResultSchema.safeParse(m.result);
      // A malformed result repeats on every attempt: failed at once, as the sandbox does.
      if (!r.success) retryOrFail(slot, p, { name: 'InvalidResult', message: zodErrorLine(`trial ${m.trialId} result`, r.error), kind: 'user' });
      else {
        recordResult(db, m.trialId, r.data, { worker: slot.id, host, gitCommit });
        finishTrial(m.trialId, r.data.status);
      }
    } else {
      retryOrFail(slot, p, m.error);
    }
    dispatch();
    progress.update(snapshot(slots));
  };

  const onCrash = (slot: Slot, trialId: string | null, reason: string) => {
    if (interrupted) return; // runners die with us on Ctrl-C; their trials are re-queued below
    const p = trialId ? inFlight.get(trialId) : undefined;
    if (p) retryOrFail(slot, p, { name: 'Crash', message: reason, kind: 'retryable' });
    dispatch();
  };

  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    out.write(`\n${sig}: stopping; finished trials are saved, the ${inFlight.size} in flight will run next time\n`);
    resolveDone();
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  slots = createPool(concurrency, mode, { message: onMessage, crashed: onCrash }, opts.entry);
  for (const s of slots) upsertWorker(db, { id: s.id, host, backend: opts.backend ?? null, pid: process.pid });
  const ticker = setInterval(() => progress.update(snapshot(slots)), progress.tty ? 250 : Math.max(200, opts.progressMs ?? 5000));
  try {
    dispatch();
    await done;
  } finally {
    clearInterval(ticker);
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    await Promise.all(slots.map((s) => s.close()));
    // Trials in flight when we stopped go back to the queue for the next run.
    markQueued(db, [...inFlight.keys()]);
    for (const id of inFlight.keys()) status.set(id, 'queued');
    for (const s of slots) heartbeat(db, s.id, { currentTrial: null, host });
  }
  const snap = snapshot([]);
  progress.finish(snap);
  if (fatal) throw fatal;
  return { sweep: spec.name, db: file, total: list.length, added, skipped, ran: ranHere, counts: snap.counts, interrupted, elapsedMs: Date.now() - t0 };
}
