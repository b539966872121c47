import type { StatusCounts } from '../../schema/store.js';
import { jobProgressSchema, type Heartbeat } from '../../core/protocol.js';
import { formatDuration } from '../duration.js';

export { formatDuration };

export interface ProgressSnapshot {
  sweep: string;
  counts: StatusCounts;
  /** Trials finished (any final status) since this session started. */
  finishedHere: number;
  elapsedMs: number;
  running: Array<{ trialId: string; worker: string }>;
  workers: Heartbeat[];
  /** Per trial id: the last progress reported by its worker. */
  progress: Map<string, unknown>;
  /** Milliseconds left by the time model (orchestrator/eta.ts); absent or null: by the rate of trials. */
  etaMs?: number | null;
}


/**
 * `completed 5  running 2  queued 10  failed 0 …  8.1/s  ETA 2s  workers 3 (6 slots × 1 compute thread)`: one
 * line of counts, rate, ETA and parallelism.
 */
export function summaryLine(p: ProgressSnapshot): string {
  const c = p.counts;
  const done = c.completed + c.diverged + c.failed + c.cancelled;
  const remaining = c.queued + c.running;
  const rate = p.elapsedMs > 0 ? (p.finishedHere * 1000) / p.elapsedMs : 0;
  const eta = p.etaMs != null ? formatDuration(p.etaMs) : rate > 0 ? formatDuration((remaining / rate) * 1000) : '?';
  const slots = p.workers.reduce((s, w) => s + w.concurrency, 0);
  const parts = [
    `${p.sweep}: ${done}/${c.total} done`,
    `completed ${c.completed}`, `diverged ${c.diverged}`, `failed ${c.failed}`, `cancelled ${c.cancelled}`,
    `running ${c.running}`, `queued ${c.queued}`,
    `${rate.toFixed(rate >= 10 ? 0 : 2)} trials/s`, `ETA ${remaining === 0 ? '0s' : eta}`,
    `workers ${p.workers.length}` + (p.workers.length > 0 ? ` (${slots} slot${slots === 1 ? '' : 's'} × 1 compute thread)` : ''),
  ];
  return parts.join('  ');
}

function progressText(raw: unknown): string {
  const r = jobProgressSchema.safeParse(raw);
  if (!r.success) return '';
  const p = r.data;
  let s = ` ${p.phase}`;
  if (p.step !== undefined && p.steps !== undefined) s += ` ${p.step}/${p.steps}`;
  if (p.loss !== undefined) s += ` loss ${p.loss.toPrecision(3)}`;
  return s;
}

/**
 * Live progress. On a TTY: a block of lines redrawn in place (counts, ETA, one line per worker with its current
 * trial). Otherwise: one plain summary line every `everyMs`.
 */
export class ProgressView {
  private lastPlain = 0;
  private drawn = 0;
  private lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WriteStream | NodeJS.WritableStream,
    private readonly tty: boolean,
    private readonly everyMs: number,
  ) {}

  update(p: ProgressSnapshot, force = false): void {
    if (!this.tty) {
      const now = Date.now();
      if (force || now - this.lastPlain >= this.everyMs) {
        this.lastPlain = now;
        this.out.write(`${summaryLine(p)}\n`);
      }
      return;
    }
    const now = Date.now();
    if (!force && now - this.lastDraw < 250) return; // redraw at most 4 times a second
    this.lastDraw = now;
    const lines = [summaryLine(p)];
    const byWorker = new Map<string, string[]>();
    for (const r of p.running) byWorker.set(r.worker, [...(byWorker.get(r.worker) ?? []), r.trialId]);
    for (const w of p.workers) {
      const trials = byWorker.get(w.id) ?? w.current;
      const age = formatDuration(Date.now() - w.heartbeatAt);
      const what = trials.length > 0 ? trials.map((t) => `${t}${progressText(p.progress.get(t))}`).join(', ') : 'idle';
      lines.push(`  ${w.id} (${w.backend ?? 'default'}, beat ${age} ago): ${what}`);
    }
    const clear = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.out.write(clear + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Leave the last frame on screen (TTY) or print a final line (plain). */
  finish(p: ProgressSnapshot): void {
    this.update(p, true);
    this.drawn = 0;
  }
}
