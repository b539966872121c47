/**
 * Public API of the analytic kernel engine: float64, pure (arrays in, arrays out; no I/O, no tfjs). Modules outside
 * worker/kernels import only from here, and worker/kernels imports nothing of ours but core/.
 */
import { ALL_KERNELS, kernelGrams, type NetSpec } from './engine.js';
import type { Gram } from './gram.js';
import type { PointSet } from './inputs.js';
import type { KernelMode } from './maps.js';

export type { Gram } from './gram.js';
export type { ZKernelSpec, PointSet } from './inputs.js';
export { safeNorm } from './inputs.js';
export type { KernelMode, KernelMap } from './maps.js';
export type { NetSpec, KernelName, KernelStats } from './engine.js';
export { relFrob, alignment, toRows, at } from './gram.js';
export { kernelRegression, choleskyJittered, choleskySolveInPlace, NotPositiveDefiniteError, DEFAULT_JITTER } from './regression.js';
export { kernelGrams, ALL_KERNELS } from './engine.js';
export { KernelBlock, serial, dense, relu, producedDense, paperRelu, paperProducedRelu, layerMap, layersMap } from './maps.js';
export { hypernetArchitecture, fLayers, gLayers, mlpLayers, sizeArchitecture, sizeG, sizedHypernet, gWeightsOf, fParamsOf, hiddenUnitsOf, reluScale, activationScale } from './architecture.js';
export type { Architecture, Layer, LayerKind, HyperNetSpec, SizedArchitecture, SizedLayer, Parametrization, GVariant } from './architecture.js';
export { kappa0, kappa1 } from './dual.js';

/** Every analytic Gram of a point set (or between two), and which formulas produced them. */
export interface KernelSet {
  mode: KernelMode;
  /** Σ_f(x_i, x_j) broadcast to point pairs. */
  sigmaF: Gram;
  /** Θ_f(x_i, x_j) broadcast to point pairs. */
  thetaF: Gram;
  /** K_GP (exact) or the official code's GP kernel F^{L−1} (paper-code). */
  gp: Gram;
  /** Θ_h = Θ_f ⊙ K_g. */
  hyperkernel: Gram;
  /** Standard ReLU MLP of depth H + L on the input kernel (x̂·x̂' + K_z)/2. */
  mlp: { nngp: Gram; ntk: Gram };
}

function toSet(mode: KernelMode, g: ReturnType<typeof kernelGrams>['grams']): KernelSet {
  const need = (k: keyof typeof g): Gram => {
    const v = g[k];
    if (!v) throw new Error(`kernel engine: ${k} missing`);
    return v;
  };
  return {
    mode,
    sigmaF: need('sigmaF'),
    thetaF: need('thetaF'),
    gp: need('gp'),
    hyperkernel: need('hyperkernel'),
    mlp: { nngp: need('mlpNngp'), ntk: need('mlpNtk') },
  };
}

/** All kernels of a point set with itself: N × N, symmetric. Mode defaults to 'exact'. */
export function computeKernels(points: PointSet, net: NetSpec, mode: KernelMode = 'exact'): KernelSet {
  return toSet(mode, kernelGrams(points, null, net, mode, ALL_KERNELS).grams);
}

/** All kernels between two point sets: Na × Nb. Mode defaults to 'exact'. */
export function computeCrossKernels(a: PointSet, b: PointSet, net: NetSpec, mode: KernelMode = 'exact'): KernelSet {
  return toSet(mode, kernelGrams(a, b, net, mode, ALL_KERNELS).grams);
}
