/**
 * Pure statistics for the query layer: summary stats, the pooled log-log OLS slope with its t interval, the
 * Student t quantile, medians and curve downsampling. No I/O.
 */

export interface Summary {
  n: number;
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  sd: number | null;
}

/** Mean and sample sd from count, sum and sum of squares (what SQL aggregates give). */
export function summaryFromSums(n: number, sum: number | null, sumSq: number | null): Summary {
  if (n <= 0 || sum === null) return { n: 0, mean: null, sd: null };
  const mean = sum / n;
  if (n < 2 || sumSq === null) return { n, mean, sd: null };
  const v = (sumSq - n * mean * mean) / (n - 1);
  return { n, mean, sd: Math.sqrt(Math.max(0, v)) };
}

/** Two-pass mean and sample sd of the finite values. */
export function summarize(values: readonly number[]): Summary {
  const xs = values.filter(Number.isFinite);
  const n = xs.length;
  if (n === 0) return { n: 0, mean: null, sd: null };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: null };
  const ss = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { n, mean, sd: Math.sqrt(ss / (n - 1)) };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// ---- Student t ---------------------------------------------------------------------------------------

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), |error| < 1e-13 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  const front = Math.exp(lnFront);
  return x < (a + 1) / (a + b + 2) ? (front * betaCf(a, b, x)) / a : 1 - (front * betaCf(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on the CDF; p in (0, 1)). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new RangeError(`tQuantile: need 0 < p < 1 and df > 0 (got ${p}, ${df})`);
  let lo = -1e3;
  let hi = 1e3;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---- log-log slope -----------------------------------------------------------------------------------

/** One group's x value and sufficient statistics of log(y): count, Σ log y, Σ (log y)². */
export interface LogGroup {
  /** The x value (a width, a depth, a learning rate, ...). */
  width: number;
  nLog: number;
  sumLog: number;
  sumLog2: number;
}

export interface SlopeFit {
  /** Fitted b in y ≈ a · x^b (log scale) or y ≈ a · e^(b·x) (linear scale). */
  slope: number;
  /** 95 % interval: slope ± t(0.975, N − 2) · SE (OLS on every trial's log y; null when N − 2 < 1). */
  slopeLow: number | null;
  slopeHigh: number | null;
  /** log a. */
  intercept: number;
  /** Points (trials) in the fit and the t distribution's degrees of freedom. */
  nPoints: number;
  df: number;
  se: number | null;
}

/** How the x axis enters the fit: log(value) on log(x) (a power law, y ≈ a·x^b) or on x (y ≈ a·e^(b·x)). */
export type AxisScale = 'log' | 'linear';

export const slopeMethods: Record<AxisScale, string> = {
  log: 'OLS of log(value) on log(x) over every trial, 95% interval = slope ± t(0.975, N-2)·SE',
  linear: 'OLS of log(value) on x over every trial, 95% interval = slope ± t(0.975, N-2)·SE',
};

/**
 * Pooled OLS of log y on log x (scale log) or on x (scale linear) over every trial (not over group means), from
 * per-group sufficient statistics. Needs two distinct x values; returns null otherwise.
 */
export function fitLogSlope(groups: readonly LogGroup[], scale: AxisScale): SlopeFit | null {
  const X = scale === 'log' ? Math.log : (w: number) => w;
  const gs = groups.filter((g) => g.nLog > 0 && (scale === 'linear' || g.width > 0));
  if (new Set(gs.map((g) => g.width)).size < 2) return null;
  const N = gs.reduce((a, g) => a + g.nLog, 0);
  const xBar = gs.reduce((a, g) => a + g.nLog * X(g.width), 0) / N;
  const yBar = gs.reduce((a, g) => a + g.sumLog, 0) / N;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const g of gs) {
    const dx = X(g.width) - xBar;
    sxx += g.nLog * dx * dx;
    sxy += dx * (g.sumLog - g.nLog * yBar);
    // Σ (y − ȳ)² within this group's points, from its sums.
    syy += g.sumLog2 - 2 * yBar * g.sumLog + g.nLog * yBar * yBar;
  }
  const slope = sxy / sxx;
  const intercept = yBar - slope * xBar;
  const df = N - 2;
  if (df < 1) return { slope, slopeLow: null, slopeHigh: null, intercept, nPoints: N, df, se: null };
  const rss = Math.max(0, syy - slope * sxy);
  const se = Math.sqrt(rss / df / sxx);
  const t = tQuantile(0.975, df);
  return { slope, slopeLow: slope - t * se, slopeHigh: slope + t * se, intercept, nPoints: N, df, se };
}

// ---- curves ------------------------------------------------------------------------------------------

/**
 * Downsample a curve to at most `max` points, keeping the first and last and, in each bucket between,
 * the point of largest triangle area (LTTB), so spikes and plateaus survive on a log axis.
 */
export function downsample(points: ReadonlyArray<readonly [number, number]>, max: number): Array<[number, number]> {
  const n = points.length;
  if (n <= max || max < 3) return points.slice(0, Math.max(n <= max ? n : max, 0)).map(([a, b]) => [a, b]);
  const out: Array<[number, number]> = [[points[0][0], points[0][1]]];
  const every = (n - 2) / (max - 2);
  let a = 0;
  for (let i = 0; i < max - 2; i++) {
    const start = Math.floor(i * every) + 1;
    const end = Math.min(Math.floor((i + 1) * every) + 1, n - 1);
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let ax = 0;
    let ay = 0;
    const cnt = Math.max(nextEnd - end, 1);
    for (let j = end; j < nextEnd; j++) {
      ax += points[j][0];
      ay += points[j][1];
    }
    ax /= cnt;
    ay /= cnt;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const area = Math.abs(
        (points[a][0] - ax) * (points[j][1] - points[a][1]) - (points[a][0] - points[j][0]) * (ay - points[a][1]),
      );
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push([points[best][0], points[best][1]]);
    a = best;
  }
  out.push([points[n - 1][0], points[n - 1][1]]);
  return out;
}

/** The power-law fit: log y on log x. */
export const fitLogLogSlope = (groups: readonly LogGroup[]): SlopeFit | null => fitLogSlope(groups, 'log');
