import type { TrialStatus } from '../../schema/tables.js';
import { formatDuration } from '../duration.js';

export { formatDuration };

/** What progress shows of a trial runner. */
export interface SlotView {
  id: string;
  current: { trialId: string; startedAt: number; progress: unknown } | null;
}

export interface LocalSnapshot {
  sweep: string;
  /** Trials in the sweep file. */
  total: number;
  counts: Record<TrialStatus, number>;
  /** Trials this run brought to a final status. */
  ranHere: number;
  /** Trials this run set out to run. */
  toRun: number;
  /** Milliseconds left by the time model (orchestrator/eta.ts), smoothed; null: unknown. */
  etaMs: number | null;
  /** Trial runners, one trial each with one compute thread. */
  workers: number;
  elapsedMs: number;
  slots: SlotView[];
}


/** `2 workers × 1 compute thread`: the parallelism of a local run. */
export const parallelism = (workers: number) => `${workers} worker${workers === 1 ? '' : 's'} × 1 compute thread`;

/** The counts line: `quickstart 5/12 [#####.......] completed 5 running 2 queued 5 … ETA 40s  2 workers × 1 compute thread`. */
export function countsLine(p: LocalSnapshot, barWidth = 0): string {
  const c = p.counts;
  const done = c.completed + c.diverged + c.failed + c.cancelled;
  const remaining = p.toRun - p.ranHere;
  const eta = remaining <= 0 ? '0s' : p.etaMs !== null ? formatDuration(p.etaMs) : '?';
  const filled = barWidth > 0 ? Math.round((barWidth * done) / Math.max(p.total, 1)) : 0;
  const bar = barWidth > 0 ? ` [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
  const parts = [`${p.sweep} ${done}/${p.total}${bar}`, `completed ${c.completed}`];
  for (const s of ['diverged', 'failed', 'cancelled'] as const) if (c[s] > 0) parts.push(`${s} ${c[s]}`);
  parts.push(`running ${c.running}`, `queued ${c.queued}`, `elapsed ${formatDuration(p.elapsedMs)}`, `ETA ${eta}`, parallelism(p.workers));
  return parts.join('  ');
}

function stepText(progress: unknown): string {
  if (progress && typeof progress === 'object') {
    const { step, steps, loss } = progress as { step?: unknown; steps?: unknown; loss?: unknown };
    if (typeof step === 'number' && typeof steps === 'number') {
      return ` step ${step}/${steps}${typeof loss === 'number' ? ` loss ${loss.toPrecision(3)}` : ''}`;
    }
  }
  return '';
}

/**
 * Live progress. On a TTY: the counts with a bar, then one line per runner with its trial, redrawn in place.
 * Otherwise: one plain counts line every `everyMs`.
 */
export class LocalProgress {
  private drawn = 0;
  private lastPlain = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    readonly tty: boolean,
    private readonly everyMs: number,
  ) {}

  update(p: LocalSnapshot): void {
    if (!this.tty) {
      const now = Date.now();
      if (now - this.lastPlain < this.everyMs) return;
      this.lastPlain = now;
      this.out.write(`${countsLine(p)}\n`);
      return;
    }
    const lines = [countsLine(p, 24)];
    for (const s of p.slots) {
      const c = s.current;
      lines.push(`  ${s.id}: ${c ? `${c.trialId} ${formatDuration(Date.now() - c.startedAt)}${stepText(c.progress)}` : 'idle'}`);
    }
    const clear = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.out.write(clear + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** The last frame (TTY) or a final plain line. */
  finish(p: LocalSnapshot): void {
    this.lastPlain = 0;
    this.update(p);
    this.drawn = 0;
  }
}
