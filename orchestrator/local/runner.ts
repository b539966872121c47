import { hostname } from 'node:os';
import { closeDb, ensureDbDir, openDb, type Db } from '../../schema/db.js';
import { markQueued, markRunning, recordFailure, recordProgress, recordResult, sweepTrialRows, upsertSweep, upsertWorker, heartbeat } from '../../schema/store.js';
import type { TrialStatus } from '../../schema/tables.js';
import { claimWriter } from '../writer-lock.js';
import { bindSweepName } from '../sweep-binding.js';
import type { BackendName } from '../../core/backend.js';
import { trialProgressSchema } from '../../core/progress.js';
import { trialResultSchema } from '../../core/result.js';
import { HypersweepError, zodErrorLine, type ErrorKind } from '../../core/errors.js';
import { codeIdentity } from '../../core/code-identity.js';
import { loadSweep, type SweepSpec } from '../sweep.js';
import { handleStale } from '../stale.js';
import { expandSweep, type ExpandedTrial } from '../expand.js';
import { timingRows } from '../../schema/cost-samples.js';
import { timeModelFor, trialSeconds } from '../cost-model.js';
import { EtaEstimator } from '../eta.js';
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
  /** Rebind a sweep name stored with a different spec to this one (`--replace`). @defaultValue false */
  replace?: boolean;
  /** Re-run finished trials whose stored result other code produced (`--rerun-stale`). @defaultValue false */
  rerunStale?: boolean;
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
  /** Finished trials produced by other (or unknown) code when the run started; re-run with `rerunStale`. */
  stale: number;
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
    const release = claimWriter(db, file);
    try {
      bindSweepName(db, spec, list, { replace: opts.replace ?? false, file });
      return await new LocalRun(db, file, spec, list, opts).run();
    } finally {
      release();
    }
  } finally {
    closeDb(db);
  }
}

interface Pending {
  trial: ExpandedTrial;
  /** Attempts before this one (all runs). */
  priorAttempts: number;
  /** Attempts made by this run. */
  tries: number;
}

/**
 * One local run of a sweep on an open database: the queue of pending trials, the pool of trial slots, and the
 * decisions on each message from a slot (record, retry, fail, stop). Every database write happens here, on the
 * main thread.
 */
class LocalRun {
  private readonly t0 = Date.now();
  private readonly out: NodeJS.WritableStream;
  private readonly host = hostname();
  /** The code the pool runs (the same build as this process): recorded with every result. */
  private readonly code = codeIdentity();
  private readonly added: number;
  private readonly stale: number;
  /** Every trial's status, as the progress view counts it. */
  private readonly status = new Map<string, TrialStatus>();
  private readonly queue: Pending[];
  private readonly skipped: number;
  private readonly inFlight = new Map<string, Pending>();
  /** The ETA: the time model's seconds per trial, corrected as trials finish. */
  private readonly eta: EtaEstimator;
  private concurrency = 1;
  private readonly maxTries: number;
  private readonly progress: LocalProgress;
  private ranHere = 0;
  private interrupted = false;
  private fatal: HypersweepError | null = null;
  private slots: Slot[] = [];
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(
    private readonly db: Db,
    private readonly file: string,
    private readonly spec: SweepSpec,
    private readonly list: ExpandedTrial[],
    private readonly opts: LocalRunOptions,
  ) {
    this.out = opts.out ?? process.stdout;
    this.added = upsertSweep(db, spec, list).added;
    this.stale = handleStale(db, spec.name, opts.rerunStale ?? false, (l) => this.out.write(`${l}\n`), this.code).stale;
    const rows = new Map(sweepTrialRows(db, spec.name).map((r) => [r.id, r]));
    // `running` rows here are left over from a run that was killed: nobody else writes this file.
    markQueued(db, list.filter((t) => rows.get(t.id)?.status === 'running').map((t) => t.id));
    for (const t of list) {
      const s = rows.get(t.id)?.status ?? 'queued';
      this.status.set(t.id, s === 'running' ? 'queued' : s);
    }
    this.queue = list
      .filter((t) => !finished.has(this.status.get(t.id)!))
      .map((trial) => ({ trial, priorAttempts: rows.get(trial.id)?.attempts ?? 0, tries: 0 }));
    for (const p of this.queue) this.status.set(p.trial.id, 'queued');
    this.skipped = list.length - this.queue.length;
    const model = timeModelFor(timingRows(db, { host: this.host }), this.host, opts.backend);
    this.eta = new EtaEstimator(new Map(this.queue.map((p) => [p.trial.id, trialSeconds(model, p.trial.config)])), 1);
    this.maxTries = 1 + spec.retries;
    this.progress = new LocalProgress(this.out, opts.tty ?? ('isTTY' in this.out && this.out.isTTY === true), opts.progressMs ?? 5000);
  }

  async run(): Promise<LocalSummary> {
    const { spec, list, file, opts, out } = this;
    if (this.queue.length === 0) {
      out.write(`${spec.name}: all ${list.length} trials already finished in ${file}; nothing to run\n`);
      return this.summary();
    }
    const mode = opts.mode ?? 'threads';
    const concurrency = Math.max(1, Math.min(opts.concurrency, this.queue.length));
    this.concurrency = concurrency;
    this.eta.workers = concurrency;
    out.write(
      `${spec.name}: ${list.length} trials (${this.added} new, ${this.skipped} already finished), running ${this.queue.length} ` +
        `on ${concurrency} ${mode === 'processes' ? 'process' : 'thread'}${concurrency === 1 ? '' : mode === 'processes' ? 'es' : 's'}` +
        `${opts.backend ? ` with backend ${opts.backend}` : ''}; results go to ${file}\n`,
    );
    const onSignal = (sig: NodeJS.Signals) => this.stop(sig);
    const handleSignals = opts.handleSignals ?? true;
    if (handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    this.slots = createPool(concurrency, mode, { message: (slot, m) => this.onMessage(slot, m), crashed: (slot, id, why) => this.onCrash(slot, id, why) }, opts.entry);
    for (const s of this.slots) upsertWorker(this.db, { id: s.id, host: this.host, backend: opts.backend ?? null, pid: process.pid });
    const ticker = setInterval(() => this.progress.update(this.snapshot(this.slots)), this.progress.tty ? 250 : Math.max(200, opts.progressMs ?? 5000));
    try {
      this.dispatch();
      await this.done;
    } finally {
      clearInterval(ticker);
      if (handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await Promise.all(this.slots.map((s) => s.close()));
      // Trials in flight when we stopped go back to the queue for the next run.
      markQueued(this.db, [...this.inFlight.keys()]);
      for (const id of this.inFlight.keys()) this.status.set(id, 'queued');
      for (const s of this.slots) heartbeat(this.db, s.id, { currentTrial: null, host: this.host });
    }
    this.progress.finish(this.snapshot([]));
    if (this.fatal) throw this.fatal;
    return this.summary();
  }

  private summary(): LocalSummary {
    const { spec, list, file } = this;
    const counts = this.snapshot([]).counts;
    return { sweep: spec.name, db: file, total: list.length, added: this.added, skipped: this.skipped, stale: this.stale, ran: this.ranHere, counts, interrupted: this.interrupted, elapsedMs: Date.now() - this.t0 };
  }

  private snapshot(slots: Slot[]): LocalSnapshot {
    const counts = Object.fromEntries(['queued', 'running', 'completed', 'failed', 'diverged', 'cancelled'].map((s) => [s, 0])) as Record<TrialStatus, number>;
    for (const s of this.status.values()) counts[s]++;
    return {
      sweep: this.spec.name, total: this.list.length, counts, ranHere: this.ranHere,
      toRun: this.queue.length + this.inFlight.size + this.ranHere, etaMs: this.eta.etaMs(Date.now()), workers: this.concurrency,
      elapsedMs: Date.now() - this.t0, slots,
    };
  }

  private finishTrial(id: string, s: TrialStatus): void {
    this.status.set(id, s);
    this.eta.finished(id, Date.now());
    this.inFlight.delete(id);
    this.ranHere++;
  }

  /** What to do with a failed attempt, by the error's kind (core/errors.ts classify, the same as in a sandbox). */
  private retryOrFail(slot: Slot, p: Pending, error: { name: string; message: string; kind: ErrorKind }): void {
    const { name, message, kind } = error;
    const line = `${name}: ${message}`.split('\n')[0]!.slice(0, 2000);
    if (kind === 'fatal') {
      // Every trial would fail the same way: stop; trials in flight (this one included) are re-queued by run().
      this.fatal ??= new HypersweepError(message);
      this.resolveDone();
      return;
    }
    if (kind === 'retryable' && p.tries < this.maxTries && !this.interrupted) {
      this.inFlight.delete(p.trial.id);
      this.status.set(p.trial.id, 'queued');
      this.queue.push(p); // retried after the others
      this.eta.requeued(p.trial.id);
      this.out.write(`${p.trial.id} attempt ${p.tries}/${this.maxTries} failed on ${slot.id} (${line}); will retry\n`);
      return;
    }
    recordFailure(this.db, p.trial.id, { error: line, attempts: p.priorAttempts + p.tries, status: 'failed', worker: slot.id, host: this.host });
    this.finishTrial(p.trial.id, 'failed');
    this.out.write(`${p.trial.id} failed after ${p.tries} attempt${p.tries === 1 ? '' : 's'}: ${line}\n`);
  }

  /** Give each idle slot the next queued trial; resolve `done` when nothing is left (or the run is stopping). */
  private dispatch(): void {
    if (this.interrupted || this.fatal) {
      if (this.inFlight.size === 0) this.resolveDone();
      return;
    }
    for (const slot of this.slots) {
      if (slot.current || this.queue.length === 0) continue;
      const p = this.queue.shift()!;
      p.tries++;
      this.inFlight.set(p.trial.id, p);
      this.status.set(p.trial.id, 'running');
      markRunning(this.db, p.trial.id, { worker: slot.id, host: this.host, attempt: p.priorAttempts + p.tries });
      heartbeat(this.db, slot.id, { currentTrial: p.trial.id, host: this.host });
      slot.current = { trialId: p.trial.id, startedAt: Date.now(), progress: null };
      this.eta.started(p.trial.id, slot.current.startedAt);
      slot.send({ type: 'run', trialId: p.trial.id, config: p.trial.config, ...(this.opts.backend ? { backend: this.opts.backend } : {}) });
    }
    if (this.queue.length === 0 && this.inFlight.size === 0) this.resolveDone();
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') return;
    const p = this.inFlight.get(m.trialId);
    if (!p || slot.current?.trialId !== m.trialId) return; // stale (aborted or restarted)
    if (m.type === 'progress') {
      slot.current.progress = m.progress;
      // The partial curve for the dashboard: one upsert per progress message (at most 5 a second per slot).
      const pr = trialProgressSchema.safeParse(m.progress);
      if (pr.success && pr.data.phase === 'train' && pr.data.step !== undefined && pr.data.loss !== undefined) {
        recordProgress(this.db, m.trialId, [[pr.data.step, pr.data.loss]]);
      }
      return;
    }
    slot.current = null;
    heartbeat(this.db, slot.id, { currentTrial: null, host: this.host });
    if (m.type === 'done') {
      const r = trialResultSchema.safeParse(m.result);
      // A malformed result repeats on every attempt: failed at once, as the sandbox does.
      if (!r.success) this.retryOrFail(slot, p, { name: 'InvalidResult', message: zodErrorLine(`trial ${m.trialId} result`, r.error), kind: 'user' });
      else {
        recordResult(this.db, m.trialId, r.data, { worker: slot.id, host: this.host, code: this.code });
        this.finishTrial(m.trialId, r.data.status);
      }
    } else {
      this.retryOrFail(slot, p, m.error);
    }
    this.dispatch();
    this.progress.update(this.snapshot(this.slots));
  }

  private onCrash(slot: Slot, trialId: string | null, reason: string): void {
    if (this.interrupted) return; // runners die with us on Ctrl-C; their trials are re-queued by run()
    const p = trialId ? this.inFlight.get(trialId) : undefined;
    if (p) this.retryOrFail(slot, p, { name: 'Crash', message: reason, kind: 'retryable' });
    this.dispatch();
  }

  private stop(sig: NodeJS.Signals): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.out.write(`\n${sig}: stopping; finished trials are saved, the ${this.inFlight.size} in flight will run next time\n`);
    this.resolveDone();
  }
}
