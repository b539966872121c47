/**
 * Task `mnist-rotation` (the paper's rotation prediction): for an MNIST image and angles a1, a2 ~ U[0°, 360°),
 * f reads the image rotated by a1, g reads it rotated by a1 + a2, and the target is a2's class among 12 bins of
 * 30°, taken mod 360 (see rotationBin). Train images come from the MNIST training set, test images from t10k.
 * Targets are one-hot (k = 12) for both the cross-entropy and the mse loss.
 */
import { dataSeedOf, type TrialConfig } from '../../core/config.js';
import { loadMnist, MNIST_PIXELS, MNIST_SIDE, type MnistSet } from './mnist.js';
import { createRff, rffApply, type RffMap } from './rff.js';
import { createRng } from './rng.js';
import { ROTATION_BINS, rotateImage, rotationBin } from './rotate.js';
import type { TaskData, TaskSplit } from './types.js';

function split(set: MnistSet, n: number, seed: number, stream: string, rff: RffMap | null): TaskSplit {
  const rng = createRng(seed, stream);
  const images = n <= set.count ? rng.sample(set.count, n) : Array.from({ length: n }, () => rng.int(set.count));
  const dz = rff ? rff.features : MNIST_PIXELS;
  const xRows: Float32Array[] = [];
  const z = new Float32Array(n * dz);
  const y = new Float32Array(n * ROTATION_BINS);
  const labels = new Int32Array(n);
  const img = new Float32Array(MNIST_PIXELS);
  images.forEach((idx, i) => {
    for (let p = 0; p < MNIST_PIXELS; p++) img[p] = set.images[idx * MNIST_PIXELS + p] / 255;
    const a1 = 360 * rng.uniform();
    const a2 = 360 * rng.uniform();
    xRows.push(rotateImage(img, MNIST_SIDE, a1));
    const second = rotateImage(img, MNIST_SIDE, a1 + a2);
    z.set(rff ? rffApply(rff, second) : second, i * dz);
    labels[i] = rotationBin(a2);
    y[i * ROTATION_BINS + labels[i]] = 1;
  });
  return { n, xRows, xIndex: Int32Array.from({ length: n }, (_, i) => i), z, y, labels };
}

export function rotationTask(config: TrialConfig): TaskData {
  const dataSeed = dataSeedOf(config);
  const rff = config.g.input === 'rff' ? createRff(MNIST_PIXELS, config.g.rffFeatures, config.g.rffGamma, dataSeed) : null;
  return {
    task: 'mnist-rotation',
    dx: MNIST_PIXELS,
    dz: rff ? rff.features : MNIST_PIXELS,
    k: ROTATION_BINS,
    train: split(loadMnist('train'), config.data.nTrain, dataSeed, 'mnist-rotation-train', rff),
    test: split(loadMnist('t10k'), config.data.nTest, dataSeed, 'mnist-rotation-test', rff),
    zInput: config.g.input,
  };
}
