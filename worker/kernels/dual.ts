/**
 * The ReLU dual, written once. In the NTK parametrization used throughout hypersweep the √2 of √(2/n)·relu is
 * folded in: for a 2×2 covariance [[a, c], [c, b]], ρ = c/√(ab) clipped to [−1, 1], θ = arccos ρ,
 *   κ1(a, c, b) = (√(ab)/π)·(sin θ + (π − θ)·ρ)   (κ1 = a on the diagonal: the next layer's covariance)
 *   κ0(a, c, b) = (π − θ)/π                        (κ0 = 1 on the diagonal: the derivative factor)
 * Both come from one angle. The relu maps (maps.ts) call `reluDualAt` per entry; `kappa1`/`kappa0` are the same
 * arithmetic for one entry given (a, c, b).
 */

const PI = Math.PI;
const INV_PI = 1 / Math.PI;

/**
 * Guard 1 — snap near ±1. Within this distance of ±1 a correlation is taken as exactly ±1. arccos has infinite
 * slope there: a rounding error of 1e−16 in ρ = 1 would move θ by 1.4e−8 and κ0 by 4.5e−9, so identical points
 * would not get κ0 = 1. Snapping costs at most √(2·1e−13)/π ≈ 1.4e−7 in κ0 (and ~1e−13 in κ1) for distinct
 * points that close. It also clips |ρ| > 1 (rounding) to ±1 instead of letting arccos return NaN.
 */
export const CORR_SNAP = 1e-13;
const SNAP_HI = 1 - CORR_SNAP;
export const snapCorr = (r: number): number => (r > SNAP_HI ? 1 : r < -SNAP_HI ? -1 : r);

/**
 * Guard 2 — a zero-variance side (a = 0 or b = 0): relu of a constant-zero unit is zero (κ1 = 0), and the angle is
 * undefined; like neural-tangents we take θ = π/2 (κ0 = 1/2).
 */
const ZERO_VARIANCE_K1 = 0;
const ZERO_VARIANCE_K0 = 0.5;

/** 1/√v for κ's normalisation, 0 for a zero variance (guard 2 then applies). */
export const invSqrt0 = (s: number): number => (s > 0 ? 1 / s : 0);

/** κ1 and κ0 at one entry. The functions below return one shared record (no allocation in the hot loops): read it at once. */
export interface Dual {
  k1: number;
  k0: number;
}
const out: Dual = { k1: 0, k0: 0 };

/**
 * The dual at one entry from the clipped correlation r and the scale √(ab): κ1 = √(ab)·(√(1 − r²) + (π − θ)·r)/π,
 * κ0 = (π − θ)/π. The paper-code maps pass scale 1 (they take the raw entry as the correlation).
 */
export function reluDualAt(r: number, sab: number): Dual {
  const rest = PI - Math.acos(r);
  out.k1 = sab * (Math.sqrt(1 - r * r) + rest * r) * INV_PI;
  out.k0 = rest * INV_PI;
  return out;
}

/**
 * The dual at one entry from c and the square roots of the variances (sa = √a, ia = 1/√a or 0; likewise b), as the
 * relu map evaluates it: ρ = c·(1/√a)·(1/√b), snapped (guard 1); guard 2 when √a·√b is not positive.
 */
export function reluDual(c: number, sa: number, ia: number, sb: number, ib: number): Dual {
  const sab = sa * sb;
  if (sab > 0) return reluDualAt(snapCorr(c * ia * ib), sab);
  out.k1 = ZERO_VARIANCE_K1;
  out.k0 = ZERO_VARIANCE_K0;
  return out;
}

function dualOf(a: number, c: number, b: number): Dual {
  const sa = Math.sqrt(a), sb = Math.sqrt(b);
  return reluDual(c, sa, invSqrt0(sa), sb, invSqrt0(sb));
}

/** κ1(a, c, b) at one entry. */
export const kappa1 = (a: number, c: number, b: number): number => dualOf(a, c, b).k1;

/** κ0(a, c, b) at one entry. */
export const kappa0 = (a: number, c: number, b: number): number => dualOf(a, c, b).k0;

/**
 * Guard 3 (paper-code mode only) — the official code's shrink before every arccos: ρ ← sign(ρ)·(|ρ| − 1e−4); it
 * takes the raw entry as the correlation (it assumes unit variances). We clip to [−1, 1] after the shrink, where
 * the code would give NaN.
 */
export const PAPER_SHRINK = 1e-4;
export function paperCorr(c: number): number {
  const r = c > 0 ? c - PAPER_SHRINK : c < 0 ? c + PAPER_SHRINK : 0;
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

/** The official code's κ1 and κ0 of a raw entry c: the dual at the shrunk correlation, scale 1. */
export const paperReluDual = (c: number): Dual => reluDualAt(paperCorr(c), 1);
