/** Public API of the model: the hypernetwork, its training, its cost. */
export { createHyperNet, forwardTrace, forwardShared, sharedLayout, paramShapes, normalizeRows, validateSpec } from './hypernet.js';
export type { HyperNet, HyperNetOptions, HyperNetSpec, ForwardTrace, SharedLayout } from './hypernet.js';
export { train, trainEpochs, evaluateLoss, evaluateLossAsync, lossOf } from './train.js';
export type { TrainData, TrainOptions, TrainHooks, TrainOutcome, LossName, EpochTrainOptions, EpochTrainHooks } from './train.js';
export { empiricalNtk, empiricalNtkAsync, empiricalNtkNaive, empiricalGp, empiricalGpAsync, monteCarloGp, monteCarloGpAsync, ntkMovement, kernelAgreement } from './empirical.js';
export type { ProbePoints } from './empirical.js';
export { estimateTrialCost, estimateCost, assertWithinMemoryCap, machineMemory, memoryLimits, taskHostBytes, WASM_HEAP_MAX_BYTES, specFromConfig, gWeightCount, fParamCount, MemoryCapError, taskRows, regressionTrainPoints, trainingSteps } from './cost.js';
export type { TrialCost, SplitRows, BackendMemory, MachineMemory } from './cost.js';
export { mulberry32, permutation, subSeed, gaussianArray } from './rng.js';
