import { makespan } from './cost-model.js';

/**
 * The ETA of a running sweep, local or distributed, from the same time model as `plan` (cost-model.ts): each
 * trial's predicted seconds, scaled by how the finished trials compared with their predictions, laid out on the
 * worker slots (trials running now first, then the queue in order). The shown finish time moves towards the
 * model's smoothly, so a single fast or slow trial cannot swing it. Pure: every call says what time it is.
 */
export class EtaEstimator {
  private readonly queued: Set<string>;
  private readonly running = new Map<string, number>();
  /** Σ actual and Σ predicted seconds of the finished trials. */
  private actual = 0;
  private predictedDone = 0;
  /** The prior's weight in the ratio, in predicted seconds: two average trials. */
  private readonly priorWeight: number;
  private shownFinish: number | null = null;
  private lastAt = 0;

  constructor(
    private readonly predicted: ReadonlyMap<string, number>,
    /** Trial slots: local workers, or the distributed workers' total concurrency. */
    public workers: number,
    /** Trials to run, in the order they will be taken. */
    order: Iterable<string> = predicted.keys(),
  ) {
    this.queued = new Set(order);
    const p = [...predicted.values()];
    this.priorWeight = p.length > 0 ? (2 * p.reduce((a, b) => a + b, 0)) / p.length : 1;
  }

  private seconds(id: string): number {
    return this.predicted.get(id) ?? 0;
  }

  /** A trial slot took `id` at `atMs`. */
  started(id: string, atMs: number): void {
    this.queued.delete(id);
    this.running.set(id, atMs);
  }

  /** `id` reached a final status; `seconds`: its measured compute time (default: since it started). */
  finished(id: string, atMs: number, seconds?: number): void {
    const t0 = this.running.get(id);
    this.running.delete(id);
    this.queued.delete(id);
    const took = seconds ?? (t0 === undefined ? undefined : (atMs - t0) / 1000);
    if (took !== undefined && took >= 0) {
      this.actual += took;
      this.predictedDone += this.seconds(id);
    }
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Trials queued or running, as far as the estimator knows. */
  unfinished(): string[] {
    return [...this.queued, ...this.running.keys()];
  }

  /** `id` goes back to the queue (a retry, or re-queued after a crash). */
  requeued(id: string): void {
    this.running.delete(id);
    this.queued.add(id);
  }

  /** Measured over predicted so far, shrunk towards 1 by the prior's weight. */
  ratio(): number {
    return (this.actual + this.priorWeight) / (this.predictedDone + this.priorWeight);
  }

  /** The model's seconds left, unsmoothed. */
  rawSeconds(nowMs: number): number {
    const r = this.ratio();
    // A trial past its prediction still has a part of what it has run left (the longer it runs, the more).
    const busy = [...this.running].map(([id, t0]) => {
      const e = Math.max(0, (nowMs - t0) / 1000);
      return Math.max(this.seconds(id) * r - e, 0.2 * e);
    });
    if (busy.length === 0 && this.queued.size === 0) return 0;
    const slots = Math.max(1, this.workers, busy.length);
    busy.sort((a, b) => a - b);
    return makespan([...this.queued].map((id) => this.seconds(id) * r), slots, busy);
  }

  /**
   * Milliseconds left, smoothed: the shown finish time follows the model's with a time constant of a tenth of the
   * time left (1 s to 60 s). 0 when nothing is left.
   */
  etaMs(nowMs: number): number {
    const raw = this.rawSeconds(nowMs) * 1000;
    if (raw <= 0) {
      this.shownFinish = nowMs;
      return 0;
    }
    const target = nowMs + raw;
    if (this.shownFinish === null) this.shownFinish = target;
    else {
      const tau = Math.min(60_000, Math.max(1000, 0.1 * raw));
      const alpha = 1 - Math.exp(-Math.max(0, nowMs - this.lastAt) / tau);
      this.shownFinish += alpha * (target - this.shownFinish);
    }
    this.lastAt = nowMs;
    return Math.max(0, this.shownFinish - nowMs);
  }
}
