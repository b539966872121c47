/**
 * mnist-completion's kernel regression with the analytic kernels (the paper's experiment): Θ_h and K_GP on the
 * training pixels, predictions on every pixel of the held-out images, relative jitter 1e−9, Cholesky.
 * g's input kernel is the RBF exp(−γ‖z − z'‖²) on the raw (column, row) coordinates: the infinite-feature limit
 * of the network's random Fourier features.
 */
import {
  DEFAULT_JITTER,
  kernelGrams,
  NotPositiveDefiniteError,
  type Gram,
  type KernelMode,
} from '../kernels/index.js';
import { choleskySolveJittered } from '../kernels/regression.js';
import { choleskySolveNative } from '../native/linalg.js';
import { splitPoints, type TaskData } from '../tasks/index.js';
import { regressionTrainPoints } from '../model/cost.js';
import { pixelMse } from './evaluate.js';


/** MSEs of one kernel's predictions; null with `error` when its Gram was not numerically positive definite. */
export interface RegressionScore {
  mseAll: number | null;
  mseHidden: number | null;
  error?: string;
}

export interface KernelRegressionMetrics {
  /** Training pixels used (the first ones, whole images, when the training set is larger than the cap). */
  trainPoints: number;
  testPoints: number;
  mode: KernelMode;
  jitter: number;
  zKernel: string;
  hyperkernel: RegressionScore;
  gp: RegressionScore;
  /** Predicting the training targets' mean everywhere: the bar any useful predictor must clear. */
  meanBaseline: { mseAll: number; mseHidden: number | null };
}

export function completionKernelRegression(
  data: TaskData,
  net: { fDepth: number; gDepth: number; gamma: number; mode: KernelMode; maxTrain: number },
  signal?: AbortSignal,
): KernelRegressionMetrics | null {
  const { train, test } = data;
  if (!train.coords || !test.coords || test.n === 0) return null;
  // Whole images only, so every training image contributes the same number of pixels.
  const nTrain = regressionTrainPoints(train.n, train.xRows.length, net.maxTrain);
  const spec = { fDepth: net.fDepth, gDepth: net.gDepth, zKernel: { type: 'rbf' as const, gamma: net.gamma } };
  const trainPts = splitPoints(train, 2, 0, nTrain, train.coords);
  const kTrain = kernelGrams(trainPts, null, spec, net.mode, ['gp', 'hyperkernel']).grams;
  const y = Float64Array.from(train.y.subarray(0, nTrain));
  // α = (K + ε·diag K)⁻¹·y once per kernel; a kernel whose Gram is not numerically positive definite gets no score.
  const alpha = (k: Gram | undefined): Float64Array | string => {
    if (!k) throw new Error('kernel regression: missing train Gram');
    try {
      return choleskySolveJittered(k, y, 1, DEFAULT_JITTER, choleskySolveNative);
    } catch (e) {
      if (e instanceof NotPositiveDefiniteError) return e.message;
      throw e;
    }
  };
  const aH = alpha(kTrain.hyperkernel);
  const aG = alpha(kTrain.gp);
  const predH = new Float64Array(test.n), predG = new Float64Array(test.n);
  const chunk = 784; // one held-out image at a time keeps the cross Grams at 784 × nTrain
  for (let start = 0; start < test.n; start += chunk) {
    signal?.throwIfAborted();
    const pts = splitPoints(test, 2, start, chunk, test.coords);
    const cross = kernelGrams(pts, trainPts, spec, net.mode, ['gp', 'hyperkernel']).grams;
    if (typeof aH !== 'string') apply(cross.hyperkernel, aH, predH, start);
    if (typeof aG !== 'string') apply(cross.gp, aG, predG, start);
  }
  const score = (a: Float64Array | string, pred: Float64Array): RegressionScore =>
    typeof a === 'string' ? { mseAll: null, mseHidden: null, error: a } : pixelMse(pred, test.y, test.hidden);
  let mean = 0;
  for (const v of y) mean += v / nTrain;
  return {
    trainPoints: nTrain,
    testPoints: test.n,
    mode: net.mode,
    jitter: DEFAULT_JITTER,
    zKernel: `rbf(gamma=${net.gamma}) on raw (column, row)`,
    hyperkernel: score(aH, predH),
    gp: score(aG, predG),
    meanBaseline: pixelMse(new Float64Array(test.n).fill(mean), test.y, test.hidden),
  };
}

function apply(k: Gram | undefined, alpha: Float64Array, out: Float64Array, offset: number): void {
  if (!k) throw new Error('kernel regression: missing cross Gram');
  for (let i = 0; i < k.rows; i++) {
    let s = 0;
    const o = i * k.cols;
    for (let j = 0; j < k.cols; j++) s += k.data[o + j] * alpha[j];
    out[offset + i] = s;
  }
}
