/**
 * Random Fourier features for the RBF kernel exp(−γ‖z − z'‖²) (Rahimi & Recht): φ(z) = sqrt(2/D)·cos(Ωz + β),
 * Ω ~ N(0, 2γ·I) (D × d), β ~ U[0, 2π). E[φ(z)·φ(z')] = exp(−γ‖z − z'‖²).
 */
import { createRng } from './rng.js';

export interface RffMap {
  readonly inputDim: number;
  readonly features: number;
  readonly gamma: number;
  /** features × inputDim, row-major. */
  readonly omega: Float64Array;
  readonly beta: Float64Array;
}

/** Draw the D features once per trial seed. */
export function createRff(inputDim: number, features: number, gamma: number, seed: number): RffMap {
  if (!(gamma > 0)) throw new RangeError(`rff: gamma must be > 0, got ${gamma}`);
  const rng = createRng(seed, 'rff');
  const sd = Math.sqrt(2 * gamma);
  const omega = new Float64Array(features * inputDim);
  for (let i = 0; i < omega.length; i++) omega[i] = sd * rng.normal();
  const beta = new Float64Array(features);
  for (let i = 0; i < features; i++) beta[i] = 2 * Math.PI * rng.uniform();
  return { inputDim, features, gamma, omega, beta };
}

/** φ(z) for one input; writes into `out` (length D) when given. */
export function rffApply(map: RffMap, z: ArrayLike<number>, out = new Float32Array(map.features)): Float32Array {
  if (z.length !== map.inputDim) throw new RangeError(`rff: input has ${z.length} values, expected ${map.inputDim}`);
  const D = map.features, d = map.inputDim, scale = Math.sqrt(2 / D);
  for (let j = 0; j < D; j++) {
    let s = map.beta[j];
    const o = j * d;
    for (let k = 0; k < d; k++) s += map.omega[o + k] * z[k];
    out[j] = scale * Math.cos(s);
  }
  return out;
}
