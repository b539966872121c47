import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { zodErrorLine } from '../../core/errors.js';
import { fromWorkerSchema, type FromWorker, type ToWorker } from './protocol.js';

/** How trial slots are isolated: worker threads share the process; child processes survive each other's crashes. */
export type PoolMode = 'threads' | 'processes';

export interface PoolEvents {
  /** A message from a slot (validated). */
  message(slot: Slot, m: FromWorker): void;
  /** A slot died while `trialId` was running on it (crash, out of memory, killed). The slot is replaced. */
  crashed(slot: Slot, trialId: string | null, reason: string): void;
}

/** One trial runner: a worker thread or a child process, one trial at a time. */
export class Slot {
  /** The trial running now, with its start time (ms) and last progress. */
  current: { trialId: string; startedAt: number; progress: unknown } | null = null;
  private handle!: Worker | ChildProcess;
  /** Set by close(): exits are expected from then on. */
  private closing = false;

  constructor(
    readonly id: string,
    private readonly mode: PoolMode,
    private readonly entry: string,
    private readonly events: PoolEvents,
  ) {
    this.spawn();
  }

  private spawn(): void {
    let lastError: string | null = null;
    // Events of a handle that was replaced (restart) are ignored.
    const live = () => this.handle === h && !this.closing;
    const onMessage = (raw: unknown) => {
      if (!live()) return;
      const r = fromWorkerSchema.safeParse(raw);
      if (!r.success) {
        const trialId = this.current?.trialId ?? null;
        this.restart();
        this.events.crashed(this, trialId, zodErrorLine(`slot ${this.id} message`, r.error));
        return;
      }
      this.events.message(this, r.data);
    };
    const onExit = (how: string) => {
      if (!live()) return;
      const trialId = this.current?.trialId ?? null;
      this.current = null;
      this.spawn();
      this.events.crashed(this, trialId, `trial runner exited (${how})${lastError ? `: ${lastError}` : ''}`);
    };
    let h: Worker | ChildProcess;
    if (this.mode === 'threads') {
      const w = new Worker(this.entry, { env: process.env });
      w.on('message', onMessage);
      w.on('error', (err) => (lastError = err.message)); // an uncaught error ends the thread; 'exit' follows
      w.on('exit', (code) => onExit(`code ${code}`));
      h = w;
    } else {
      const c = fork(this.entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
      c.on('message', onMessage);
      c.on('error', (err) => (lastError = err.message));
      c.on('exit', (code, signal) => onExit(signal ? `signal ${signal}` : `code ${code}`));
      h = c;
    }
    this.handle = h;
  }

  send(m: ToWorker): void {
    if (this.handle instanceof Worker) this.handle.postMessage(m);
    else this.handle.send(m);
  }

  /** Kill the runner (its trial is lost) and start a fresh one. */
  restart(): void {
    const old = this.handle;
    this.current = null;
    this.spawn(); // replaces this.handle first, so the old one's exit is ignored
    if (old instanceof Worker) void old.terminate();
    else if (old.exitCode === null) old.kill('SIGKILL');
  }

  /** Stop for good: running trials are abandoned (the runner re-queues them). */
  async close(): Promise<void> {
    this.closing = true;
    if (this.handle instanceof Worker) {
      await this.handle.terminate();
      return;
    }
    const c = this.handle;
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    });
  }
}

/** The compiled trial-runner entry (dist/orchestrator/local/thread.js) next to this module. */
export function defaultEntry(): string {
  const js = fileURLToPath(new URL('./thread.js', import.meta.url));
  if (!existsSync(js)) throw new Error(`${js} is missing: run \`npm run build\` (the local runner runs from dist/)`);
  return js;
}

export function createPool(n: number, mode: PoolMode, events: PoolEvents, entry = defaultEntry()): Slot[] {
  return Array.from({ length: n }, (_, i) => new Slot(`local-${i + 1}`, mode, entry, events));
}
