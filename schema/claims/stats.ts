import { fitLogLogSlope, summarize, tCdf, tQuantile, type LogGroup } from '../queries-stats.js';

/**
 * The statistics behind claim verdicts, as pure functions: a mean with its t interval, Welch's two-sample t-test
 * (Welch–Satterthwaite degrees of freedom) and the log-log OLS slope with its t interval at any confidence
 * (the fit itself is schema/queries-stats.ts's, the one `query agreement` prints).
 */

export interface MeanInterval {
  n: number;
  mean: number;
  sd: number;
  df: number;
  /** Two-sided interval at the confidence level: mean ± t((1+c)/2, n − 1) · sd/√n. */
  low: number;
  high: number;
}

/** Mean and two-sided t interval of the finite values; null below two values (no sd, no interval). */
export function meanInterval(values: readonly number[], confidence: number): MeanInterval | null {
  const s = summarize(values);
  if (s.n < 2 || s.mean === null || s.sd === null) return null;
  const half = tQuantile((1 + confidence) / 2, s.n - 1) * (s.sd / Math.sqrt(s.n));
  return { n: s.n, mean: s.mean, sd: s.sd, df: s.n - 1, low: s.mean - half, high: s.mean + half };
}

export interface WelchTest {
  nA: number;
  nB: number;
  meanA: number;
  meanB: number;
  /** meanA − meanB. */
  diff: number;
  /** √(sA²/nA + sB²/nB). */
  se: number;
  /** Welch–Satterthwaite: se⁴ / ((sA²/nA)²/(nA−1) + (sB²/nB)²/(nB−1)). */
  df: number;
  t: number;
  /** One-sided p-value of H1: μA < μB (that is P(T ≤ t)). */
  pLess: number;
  /** One-sided p-value of H1: μA > μB. */
  pGreater: number;
}

/**
 * Welch's unequal-variance t-test of two samples (finite values only); null when either has fewer than two
 * values, or both have zero variance (no test is possible).
 */
export function welchTest(a: readonly number[], b: readonly number[]): WelchTest | null {
  const sa = summarize(a);
  const sb = summarize(b);
  if (sa.n < 2 || sb.n < 2 || sa.mean === null || sb.mean === null || sa.sd === null || sb.sd === null) return null;
  const va = (sa.sd * sa.sd) / sa.n;
  const vb = (sb.sd * sb.sd) / sb.n;
  const se = Math.sqrt(va + vb);
  if (!(se > 0)) return null;
  const df = (va + vb) ** 2 / (va * va / (sa.n - 1) + vb * vb / (sb.n - 1));
  const diff = sa.mean - sb.mean;
  const t = diff / se;
  const pLess = tCdf(t, df);
  return { nA: sa.n, nB: sb.n, meanA: sa.mean, meanB: sb.mean, diff, se, df, t, pLess, pGreater: tCdf(-t, df) };
}

export interface PowerFit {
  /** Exponent b of y ≈ a · x^b. */
  slope: number;
  /** Two-sided interval at the confidence level: b ± t((1+c)/2, N − 2) · SE. */
  low: number;
  high: number;
  se: number;
  df: number;
  /** Points (trials) in the fit and distinct x values among them. */
  n: number;
  xs: number;
}

/**
 * OLS of log y on log x over every point (not over group means), x > 0 and y > 0; null without two distinct x
 * or without a residual degree of freedom.
 */
export function powerFit(points: ReadonlyArray<{ x: number; y: number }>, confidence: number): PowerFit | null {
  const groups = new Map<number, LogGroup>();
  for (const { x, y } of points) {
    if (!(x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y))) continue;
    let g = groups.get(x);
    if (!g) groups.set(x, (g = { width: x, nLog: 0, sumLog: 0, sumLog2: 0 }));
    const ly = Math.log(y);
    g.nLog++;
    g.sumLog += ly;
    g.sumLog2 += ly * ly;
  }
  const fit = fitLogLogSlope([...groups.values()]);
  if (!fit || fit.se === null || fit.df < 1) return null;
  const half = tQuantile((1 + confidence) / 2, fit.df) * fit.se;
  return { slope: fit.slope, low: fit.slope - half, high: fit.slope + half, se: fit.se, df: fit.df, n: fit.nPoints, xs: groups.size };
}
