/**
 * A small terminal reporter of a trial's progress (core/progress.ts) for `hypersweep trial`: a \r progress bar on
 * a TTY, sparse plain lines otherwise.
 */
import { trialPhases, type TrialPhase, type TrialProgress } from '../core/progress.js';

export interface ProgressSink {
  write(s: string): unknown;
}

export interface ProgressReporter {
  report(p: TrialProgress): void;
  /** Clear the bar (TTY) so the next output starts on a clean line. */
  finish(): void;
}

/** `[#######.............]  35%` for a fraction in [0, 1]. */
export function progressBar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

function describe(p: TrialProgress): string {
  let s = p.phase;
  if (p.step !== undefined && p.steps !== undefined) s += ` step ${p.step}/${p.steps}`;
  if (p.loss !== undefined) s += ` loss ${p.loss.toPrecision(4)}`;
  return s;
}

/** How far the trial is, as the bar shows it: training steps done; 0 before training, 1 after it. */
function overallFraction(p: TrialProgress): number {
  if (p.steps) return (p.step ?? 0) / p.steps;
  const at = trialPhases.indexOf(p.phase as TrialPhase);
  return at > trialPhases.indexOf('train') ? 1 : 0;
}

/**
 * A reporter writing to `sink` (stderr). On a TTY: one line redrawn with \r at most 10 times a second. Otherwise:
 * a line per phase change and, while training, one per 10 % of the steps or per `plainEveryMs`, whichever is rarer.
 */
export function createProgressReporter(
  sink: ProgressSink,
  opts: { tty: boolean; columns?: number; plainEveryMs?: number; now?: () => number },
): ProgressReporter {
  const now = opts.now ?? Date.now;
  const plainEveryMs = opts.plainEveryMs ?? 5000;
  let lastPhase = '';
  let lastDraw = -Infinity;
  let lastTenth = -1;
  let drawn = 0;
  return {
    report(p) {
      const t = now();
      const fraction = overallFraction(p);
      if (opts.tty) {
        if (p.phase === lastPhase && t - lastDraw < 100 && fraction < 1) return;
        lastPhase = p.phase;
        lastDraw = t;
        const cols = Math.max(40, opts.columns || 80); // 0 or undefined: width unknown
        const line = `${progressBar(fraction)} ${describe(p)}`.slice(0, cols - 1);
        sink.write(`\r${line.padEnd(drawn)}`);
        drawn = line.length;
        return;
      }
      const tenth = Math.floor(fraction * 10);
      const phaseChanged = p.phase !== lastPhase;
      if (!phaseChanged && (tenth <= lastTenth || t - lastDraw < plainEveryMs)) return;
      lastPhase = p.phase;
      lastDraw = t;
      lastTenth = phaseChanged ? (p.steps ? tenth : -1) : tenth;
      sink.write(`trial: ${describe(p)}\n`);
    },
    finish() {
      if (opts.tty && drawn > 0) sink.write(`\r${' '.repeat(drawn)}\r`);
      drawn = 0;
    },
  };
}
