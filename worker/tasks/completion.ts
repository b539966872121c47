/**
 * Task `mnist-completion` (the paper's image completion / representation): f reads an MNIST image with its bottom
 * half zeroed (data.mask = 'top-half') or the full image ('none'); g reads one pixel's (column, row) through random
 * Fourier features of the RBF kernel exp(−γ‖z − z'‖²) on raw integer coordinates; the target is that pixel's value
 * in [0, 1]. Training: data.nTrain images of the MNIST training set × data.pixelsPerImage random pixels each.
 * Test: data.nTest images of the held-out t10k set, all 784 pixels each. Which images: data.split 'random'
 * (seeded random non-blank images) or 'paper' (the official protocol: training rows 5000, 5001, … — the rows
 * after TensorFlow's 5000-image validation split — and t10k rows 0, 1, …, in order).
 */
import { dataSeedOf, regressionDrawsOf, splitOf, type TrialConfig } from '../../core/config.js';
import { loadMnist, MNIST_PIXELS, MNIST_SIDE, type MnistSet } from './mnist.js';
import { createRff, rffApply, type RffMap } from './rff.js';
import { createRng } from './rng.js';
import type { PixelDraw, TaskData, TaskSplit } from './types.js';

/** First hidden row when the bottom half is masked. */
const HIDDEN_FROM_ROW = MNIST_SIDE / 2;

/** f's view of an image: pixels in [0, 1], rows ≥ 14 zeroed when masked. */
export function maskedImage(set: MnistSet, i: number, mask: 'top-half' | 'none'): Float32Array {
  const out = new Float32Array(MNIST_PIXELS);
  const src = set.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
  const end = mask === 'top-half' ? HIDDEN_FROM_ROW * MNIST_SIDE : MNIST_PIXELS;
  for (let p = 0; p < end; p++) out[p] = src[p] / 255;
  return out;
}

/** Pick `count` distinct images whose visible part is not blank (f normalises its input, so x = 0 is undefined). */
function pickImages(set: MnistSet, count: number, seed: number, stream: string, mask: 'top-half' | 'none'): number[] {
  const rng = createRng(seed, stream);
  const order = rng.sample(set.count, Math.min(set.count, count * 2 + 16));
  const out: number[] = [];
  for (const i of order) {
    if (out.length === count) break;
    if (maskedImage(set, i, mask).some((v) => v > 0)) out.push(i);
  }
  if (out.length < count) throw new RangeError(`mnist-completion: could not find ${count} non-blank images`);
  return out;
}

/** The first training row of the 'paper' split: TensorFlow's input_data keeps rows 0–4999 for validation. */
const PAPER_TRAIN_OFFSET = 5000;

/** Rows first, first + 1, …, first + count − 1 of a file, in order; a blank visible part is an error, not skipped. */
function rowsInOrder(set: MnistSet, first: number, count: number, mask: 'top-half' | 'none'): number[] {
  if (first + count > set.count) throw new RangeError(`mnist-completion: data.split 'paper' needs ${first + count} rows of the ${set.split} file, it has ${set.count}`);
  const rows = Array.from({ length: count }, (_, i) => first + i);
  const blank = rows.find((i) => !maskedImage(set, i, mask).some((v) => v > 0));
  if (blank !== undefined) throw new RangeError(`mnist-completion: ${set.split} row ${blank} is blank where f reads it (f normalises its input)`);
  return rows;
}

/** Pixel values (in [0, 1]) and (column, row) of the given pixels of each image, in order. */
function pixelDraw(set: MnistSet, images: number[], pixels: () => number[]): PixelDraw {
  const coords: number[] = [];
  const y: number[] = [];
  for (const img of images) {
    for (const p of pixels()) {
      coords.push(p % MNIST_SIDE, Math.floor(p / MNIST_SIDE));
      y.push(set.images[img * MNIST_PIXELS + p] / 255);
    }
  }
  return { coords: Float32Array.from(coords), y: Float32Array.from(y) };
}

function split(
  set: MnistSet,
  images: number[],
  pixels: (img: number) => number[],
  mask: 'top-half' | 'none',
  rff: RffMap,
): TaskSplit {
  const xRows: Float32Array[] = [];
  const xIndex: number[] = [];
  const coords: number[] = [];
  const y: number[] = [];
  const hidden: number[] = [];
  images.forEach((img, r) => {
    xRows.push(maskedImage(set, img, mask));
    for (const p of pixels(r)) {
      const row = Math.floor(p / MNIST_SIDE), col = p % MNIST_SIDE;
      xIndex.push(r);
      coords.push(col, row);
      y.push(set.images[img * MNIST_PIXELS + p] / 255);
      hidden.push(mask === 'top-half' && row >= HIDDEN_FROM_ROW ? 1 : 0);
    }
  });
  const n = xIndex.length;
  const c = Float32Array.from(coords);
  const z = new Float32Array(n * rff.features);
  for (let i = 0; i < n; i++) rffApply(rff, c.subarray(2 * i, 2 * i + 2), z.subarray(i * rff.features, (i + 1) * rff.features));
  return { n, xRows, xIndex: Int32Array.from(xIndex), z, y: Float32Array.from(y), coords: c, hidden: Uint8Array.from(hidden) };
}

export function completionTask(config: TrialConfig): TaskData {
  const dataSeed = dataSeedOf(config);
  const { nTrain, nTest, pixelsPerImage, mask } = config.data;
  const trainSet = loadMnist('train');
  const testSet = loadMnist('t10k');
  const rff = createRff(2, config.g.rffFeatures, config.g.rffGamma, dataSeed);
  const paper = splitOf(config) === 'paper';
  const trainImages = paper ? rowsInOrder(trainSet, PAPER_TRAIN_OFFSET, nTrain, mask) : pickImages(trainSet, nTrain, dataSeed, 'mnist-completion-train', mask);
  const testImages = nTest === 0 ? [] : paper ? rowsInOrder(testSet, 0, nTest, mask) : pickImages(testSet, nTest, dataSeed, 'mnist-completion-test', mask);
  const pixelRng = createRng(dataSeed, 'mnist-completion-pixels');
  const draw = () => pixelRng.sample(MNIST_PIXELS, pixelsPerImage);
  const all = Array.from({ length: MNIST_PIXELS }, (_, p) => p);
  const train = split(trainSet, trainImages, draw, mask, rff);
  // Draws 2..K continue the pixel stream after the first, so K = 1 leaves every earlier trial's data unchanged.
  const extraDraws = Array.from({ length: regressionDrawsOf(config) - 1 }, () => pixelDraw(trainSet, trainImages, draw));
  return {
    task: 'mnist-completion',
    dx: MNIST_PIXELS,
    dz: rff.features,
    k: 1,
    train,
    test: split(testSet, testImages, () => all, mask, rff),
    zInput: 'rff',
    images: { train: trainImages, test: testImages },
    ...(extraDraws.length ? { extraDraws } : {}),
  };
}
