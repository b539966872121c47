/** Public API of the model: the hypernetwork, its training, its cost. */
export { createHyperNet, forwardTrace, gLayerShapes, paramShapes, normalizeRows, validateSpec } from './hypernet.js';
export type { HyperNet, HyperNetOptions, HyperNetSpec, ForwardTrace } from './hypernet.js';
export { train, evaluateLoss, evaluateLossAsync, lossOf } from './train.js';
export type { TrainData, TrainOptions, TrainHooks, TrainOutcome, LossName } from './train.js';
export { estimateTrialCost, estimateCost, assertWithinMemoryCap, specFromConfig, gWeightCount, fParamCount, MemoryCapError } from './cost.js';
export type { TrialCost } from './cost.js';
export { mulberry32, permutation, subSeed, gaussianArray } from './rng.js';
