/**
 * mnist-completion's kernel regression with the analytic kernels (the paper's experiment): Θ_h and K_GP on the
 * training pixels, predictions on every pixel of the held-out images, relative jitter 1e−9, Cholesky; with
 * kernels.regressionDraws K, one regression per draw of the training pixels and the K predictions averaged.
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
import { splitPoints, type TaskData, type TaskSplit } from '../tasks/index.js';
import { loadMnist, MNIST_PIXELS } from '../tasks/mnist.js';
import { regressionTrainPoints } from '../model/cost.js';
import { pixelMse } from './evaluate.js';


/** MSEs of one kernel's predictions; null with `error` when its Gram was not numerically positive definite. */
export interface RegressionScore {
  mseAll: number | null;
  mseHidden: number | null;
  mseVisible: number | null;
  error?: string;
}

/** MSEs of a baseline predictor. */
export interface BaselineScore {
  mseAll: number;
  mseHidden: number | null;
}

export interface KernelRegressionMetrics {
  /** Training pixels per draw (the first ones, whole images, when the training set is larger than the cap). */
  trainPoints: number;
  testPoints: number;
  /** Independent draws of the training pixels, one regression each, predictions averaged. */
  draws: number;
  mode: KernelMode;
  jitter: number;
  zKernel: string;
  hyperkernel: RegressionScore;
  gp: RegressionScore;
  /** Predicting the training targets' mean everywhere: the bar any useful predictor must clear. */
  meanBaseline: BaselineScore;
  baselines: {
    /** The per-pixel mean of the training images (all their pixels, unmasked). */
    meanImage: BaselineScore;
    /** The test image's visible part copied, the mean image where it is hidden. */
    copyVisible: BaselineScore;
  };
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
  const draws = [{ coords: train.coords, y: train.y }, ...(data.extraDraws ?? [])];
  const predH = new Float64Array(test.n), predG = new Float64Array(test.n);
  let errH: string | undefined, errG: string | undefined;
  for (const d of draws) {
    const trainPts = splitPoints(train, 2, 0, nTrain, d.coords);
    const kTrain = kernelGrams(trainPts, null, spec, net.mode, ['gp', 'hyperkernel']).grams;
    const y = Float64Array.from(d.y.subarray(0, nTrain));
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
    const aH = errH === undefined ? alpha(kTrain.hyperkernel) : errH;
    const aG = errG === undefined ? alpha(kTrain.gp) : errG;
    if (typeof aH === 'string') errH = aH;
    if (typeof aG === 'string') errG = aG;
    const chunk = 784; // one held-out image at a time keeps the cross Grams at 784 × nTrain
    for (let start = 0; start < test.n; start += chunk) {
      signal?.throwIfAborted();
      const pts = splitPoints(test, 2, start, chunk, test.coords);
      const cross = kernelGrams(pts, trainPts, spec, net.mode, ['gp', 'hyperkernel']).grams;
      if (typeof aH !== 'string') apply(cross.hyperkernel, aH, predH, start, 1 / draws.length);
      if (typeof aG !== 'string') apply(cross.gp, aG, predG, start, 1 / draws.length);
    }
  }
  const score = (err: string | undefined, pred: Float64Array): RegressionScore =>
    err !== undefined ? { mseAll: null, mseHidden: null, mseVisible: null, error: err } : pixelMse(pred, test.y, test.hidden);
  let mean = 0;
  for (const v of train.y.subarray(0, nTrain)) mean += v / nTrain;
  const images = data.images?.train.slice(0, Math.round((nTrain * train.xRows.length) / train.n)) ?? [];
  return {
    trainPoints: nTrain,
    testPoints: test.n,
    draws: draws.length,
    mode: net.mode,
    jitter: DEFAULT_JITTER,
    zKernel: `rbf(gamma=${net.gamma}) on raw (column, row)`,
    hyperkernel: score(errH, predH),
    gp: score(errG, predG),
    meanBaseline: baseline(new Float64Array(test.n).fill(mean), test),
    baselines: imageBaselines(images, test),
  };
}

function baseline(pred: ArrayLike<number>, test: TaskSplit): BaselineScore {
  const { mseAll, mseHidden } = pixelMse(pred, test.y, test.hidden);
  return { mseAll, mseHidden };
}

/** The mean-image and copy-the-visible-half baselines on the test images (784 pixels each, in order). */
function imageBaselines(trainImages: readonly number[], test: TaskSplit): KernelRegressionMetrics['baselines'] {
  const set = loadMnist('train');
  const meanImage = new Float64Array(MNIST_PIXELS);
  for (const img of trainImages) {
    for (let p = 0; p < MNIST_PIXELS; p++) meanImage[p] += set.images[img * MNIST_PIXELS + p] / 255 / trainImages.length;
  }
  const tiled = Float64Array.from({ length: test.n }, (_, i) => meanImage[i % MNIST_PIXELS]);
  const copy = Float64Array.from({ length: test.n }, (_, i) => (test.hidden?.[i] ? tiled[i] : test.y[i]));
  return { meanImage: baseline(tiled, test), copyVisible: baseline(copy, test) };
}

function apply(k: Gram | undefined, alpha: Float64Array, out: Float64Array, offset: number, weight: number): void {
  if (!k) throw new Error('kernel regression: missing cross Gram');
  for (let i = 0; i < k.rows; i++) {
    let s = 0;
    const o = i * k.cols;
    for (let j = 0; j < k.cols; j++) s += k.data[o + j] * alpha[j];
    out[offset + i] += s * weight;
  }
}
