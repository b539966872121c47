import { describe, expect, it } from 'vitest';
import { EtaEstimator } from '../orchestrator/eta.js';
import { mulberry32 } from '../worker/model/rng.js';

/**
 * A simulated sweep: trials predicted small-first, actually `scale` × slower than predicted with lognormal noise,
 * run on `workers` slots, each taking the next trial when free. Every `dt` seconds of simulated time, the
 * estimator's ETA and the old progress line's (cost done per elapsed time, extrapolated) are sampled.
 */
function simulate(opts: { trials: number; workers: number; scale: number; sigma: number; seed: number; dt: number }) {
  const rand = mulberry32(opts.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  // Sizes grow geometrically along the sweep, as in a width sweep ordered small-first.
  const predicted = new Map<string, number>();
  const actual = new Map<string, number>();
  for (let i = 0; i < opts.trials; i++) {
    const p = 0.3 + 0.2 * 1.35 ** i;
    predicted.set(`t${i}`, p);
    actual.set(`t${i}`, p * opts.scale * Math.exp(opts.sigma * gauss()));
  }
  const ids = [...predicted.keys()];
  // Exact schedule of the run, computed first.
  const free = Array.from({ length: opts.workers }, () => 0);
  const events: Array<{ id: string; start: number; end: number }> = [];
  for (const id of ids) {
    let k = 0;
    for (let i = 1; i < free.length; i++) if (free[i]! < free[k]!) k = i;
    events.push({ id, start: free[k]!, end: free[k]! + actual.get(id)! });
    free[k] = events[events.length - 1]!.end;
  }
  const T = Math.max(...free);
  const eta = new EtaEstimator(predicted, opts.workers);
  const costToRun = ids.reduce((s, id) => s + predicted.get(id)!, 0);
  const samples: Array<{ t: number; eta: number; old: number | null }> = [];
  const started = new Set<string>();
  const done = new Set<string>();
  for (let t = 0; t <= T + opts.dt; t += opts.dt) {
    for (const e of events) {
      if (e.start <= t && !started.has(e.id)) {
        started.add(e.id);
        eta.started(e.id, e.start * 1000);
      }
      if (e.end <= t && !done.has(e.id)) {
        done.add(e.id);
        eta.finished(e.id, e.end * 1000, e.end - e.start);
      }
    }
    const costDone = [...done].reduce((s, id) => s + predicted.get(id)!, 0);
    const old = costDone > 0 ? ((costToRun - costDone) / costDone) * t : null;
    samples.push({ t, eta: eta.etaMs(t * 1000) / 1000, old });
  }
  return { T, samples };
}

/** The largest jump of the predicted finish time (t + ETA) between consecutive samples, as a fraction of T. */
function maxSwing(T: number, xs: Array<{ t: number; v: number }>): number {
  let m = 0;
  for (let i = 1; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]!.t + xs[i]!.v - (xs[i - 1]!.t + xs[i - 1]!.v)) / T);
  return m;
}

describe('ETA', () => {
  it('stays near the true finish and never swings, where extrapolating the cost rate does', () => {
    let oldWorst = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const { T, samples } = simulate({ trials: 20, workers: 2, scale: 1.8, sigma: 0.35, seed, dt: 0.25 });
      const late = samples.filter((s) => s.t >= 0.25 * T && s.t < T);
      for (const s of late) expect(Math.abs(s.t + s.eta - T) / T, `seed ${seed} at ${s.t.toFixed(1)} s of ${T.toFixed(1)}`).toBeLessThan(0.3);
      expect(maxSwing(T, samples.filter((s) => s.t < T).map((s) => ({ t: s.t, v: s.eta })))).toBeLessThan(0.08);
      expect(samples[samples.length - 1]!.eta).toBe(0);
      const old = samples.filter((s) => s.old !== null && s.t < T).map((s) => ({ t: s.t, v: s.old! }));
      oldWorst = Math.max(oldWorst, maxSwing(T, old));
    }
    // The old line, on the same runs, jumps by a large part of the run between two samples.
    expect(oldWorst).toBeGreaterThan(0.3);
  });

  it('learns a model that is off by a constant factor', () => {
    const predicted = new Map(Array.from({ length: 10 }, (_, i) => [`t${i}`, 1] as const));
    const eta = new EtaEstimator(predicted, 1);
    // Every trial takes 3 s against 1 s predicted.
    for (let i = 0; i < 6; i++) {
      eta.started(`t${i}`, i * 3000);
      eta.finished(`t${i}`, (i + 1) * 3000);
    }
    // (18 + 2) / (6 + 2) = 2.5: mostly the data after 6 trials, the prior (two average trials) weighing the rest.
    expect(eta.ratio()).toBeCloseTo(20 / 8, 12);
    expect(eta.rawSeconds(18_000)).toBeCloseTo(4 * 2.5, 9);
  });

  it('counts running trials: the time left of each, and more for one past its prediction', () => {
    const eta = new EtaEstimator(new Map([['a', 10], ['b', 10], ['c', 4]]), 2);
    eta.started('a', 0);
    eta.started('b', 0);
    // 4 s in: a and b have 6 s left each (ratio 1), then c on the first free slot: 10 s.
    expect(eta.rawSeconds(4000)).toBeCloseTo(10, 9);
    // 20 s in, both overdue: 0.2 × 20 = 4 s left each, then c: 8 s.
    expect(eta.rawSeconds(20_000)).toBeCloseTo(8, 9);
    eta.finished('a', 20_000);
    eta.finished('b', 20_000);
    eta.started('c', 20_000);
    eta.finished('c', 21_000);
    expect(eta.etaMs(21_000)).toBe(0);
  });
});
