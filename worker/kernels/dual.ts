/**
 * ReLU dual maps, in the NTK parametrization used throughout hypersweep (the √2 of sqrt(2/n)·relu folded in):
 * for a 2×2 covariance [[a, c], [c, b]], ρ = clip(c/√(ab), −1, 1), θ = arccos ρ,
 *   κ1(a, c, b) = (√(ab)/π)·(sin θ + (π − θ)·ρ)   (κ1 = a on the diagonal: the next layer's covariance)
 *   κ0(a, c, b) = (π − θ)/π                        (κ0 = 1 on the diagonal: the derivative factor)
 */

/**
 * Within this distance of ±1 a correlation is taken as exactly ±1. arccos has infinite slope there: a rounding
 * error of 1e−16 in ρ = 1 would move θ by 1.4e−8 and κ0 by 4.5e−9, so identical points would not get κ0 = 1.
 * Snapping costs at most √(2·1e−13)/π ≈ 1.4e−7 in κ0 (and ~1e−13 in κ1) for distinct points that close.
 */
export const CORR_SNAP = 1e-13;

/** Clip a correlation to [−1, 1], snapping |ρ| > 1 − CORR_SNAP to ±1 (see CORR_SNAP). */
export const clipCorr = (r: number): number => (r > 1 - CORR_SNAP ? 1 : r < CORR_SNAP - 1 ? -1 : r);

/** κ1 for a unit-variance pair with correlation ρ (already clipped). */
export function kappa1Corr(rho: number): number {
  const theta = Math.acos(rho);
  return (Math.sqrt(1 - rho * rho) + (Math.PI - theta) * rho) / Math.PI;
}

/** κ0 for correlation ρ (already clipped). */
export const kappa0Corr = (rho: number): number => (Math.PI - Math.acos(rho)) / Math.PI;

/**
 * κ1(a, c, b). A zero-variance side (a = 0 or b = 0) gives 0: relu of a constant-zero unit is zero.
 */
export function kappa1(a: number, c: number, b: number): number {
  const s = Math.sqrt(a * b);
  if (!(s > 0)) return 0;
  return s * kappa1Corr(clipCorr(c / s));
}

/** κ0(a, c, b). With a zero-variance side the angle is undefined; like neural-tangents we take θ = π/2. */
export function kappa0(a: number, c: number, b: number): number {
  const s = Math.sqrt(a * b);
  if (!(s > 0)) return 0.5;
  return kappa0Corr(clipCorr(c / s));
}

/** The official code's correlation shrink, applied before every arccos there: ρ ← sign(ρ)·(|ρ| − 1e−4). */
export const PAPER_SHRINK = 1e-4;
export const paperShrink = (r: number): number => (r > 0 ? r - PAPER_SHRINK : r < 0 ? r + PAPER_SHRINK : 0);

/**
 * κ1 as the official code computes it: the raw entry is taken as the correlation (no division by √(ab)),
 * shrunk, then (ρ(π − arccos ρ) + √|1 − ρ²|)/π. We clip after the shrink, where the code would give NaN.
 */
const clip1 = (r: number): number => (r > 1 ? 1 : r < -1 ? -1 : r);

export function paperKappa1(c: number): number {
  const r = clip1(paperShrink(c));
  return (r * (Math.PI - Math.acos(r)) + Math.sqrt(Math.abs(1 - r * r))) / Math.PI;
}

/** κ0 as the official code computes it (raw entry as correlation, shrunk). */
export const paperKappa0 = (c: number): number => (Math.PI - Math.acos(clip1(paperShrink(c)))) / Math.PI;
