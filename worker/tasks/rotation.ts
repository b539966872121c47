/**
 * Task `mnist-rotation` (the paper's rotation prediction): for an MNIST image and angles a1, a2 ~ U[0°, 360°),
 * f reads the image rotated by a1, g reads it rotated by a1 + a2, and the target is a2's class among 12 bins of
 * 30°, taken mod 360 (see rotationBin). Train images come from the MNIST training set, test images from t10k.
 * Targets are one-hot (k = 12) for both the cross-entropy and the mse loss. Images are rotated (data.interpolation)
 * from pixel/255 with zero fill, then optionally standardised (data.pixels). With data.augment 'per-epoch' the
 * images stay the same and every epoch e ≥ 1 draws fresh angles for every sample (epoch 0 is the fixed data).
 */
import { dataSeedOf, type TrialConfig } from '../../core/config.js';
import { loadMnist, MNIST_PIXELS, MNIST_SIDE, type MnistSet } from './mnist.js';
import { createRff, rffApply, type RffMap } from './rff.js';
import { createRng, type Rng } from './rng.js';
import { ROTATION_BINS, rotateImage, rotationBin, standardizePixels, type Interpolation } from './rotate.js';
import type { TaskData, TaskSplit } from './types.js';

interface RotationOptions {
  interpolation: Interpolation;
  standardize: boolean;
  rff: RffMap | null;
}

/** The split's images: n distinct ones when the set has them (else with repeats), from the stream's rng. */
const pickImages = (set: MnistSet, n: number, rng: Rng): number[] =>
  n <= set.count ? rng.sample(set.count, n) : Array.from({ length: n }, () => rng.int(set.count));

/** The samples of `images`, the angles a1, a2 of each drawn in turn from `angles`. */
function build(set: MnistSet, images: readonly number[], angles: Rng, o: RotationOptions): TaskSplit {
  const n = images.length;
  const dz = o.rff ? o.rff.features : MNIST_PIXELS;
  const xRows: Float32Array[] = [];
  const z = new Float32Array(n * dz);
  const y = new Float32Array(n * ROTATION_BINS);
  const labels = new Int32Array(n);
  const img = new Float32Array(MNIST_PIXELS);
  const rotate = (degrees: number): Float32Array => {
    const r = rotateImage(img, MNIST_SIDE, degrees, o.interpolation);
    return o.standardize ? standardizePixels(r) : r;
  };
  images.forEach((idx, i) => {
    for (let p = 0; p < MNIST_PIXELS; p++) img[p] = set.images[idx * MNIST_PIXELS + p] / 255;
    const a1 = 360 * angles.uniform();
    const a2 = 360 * angles.uniform();
    xRows.push(rotate(a1));
    const second = rotate(a1 + a2);
    z.set(o.rff ? rffApply(o.rff, second) : second, i * dz);
    labels[i] = rotationBin(a2);
    y[i * ROTATION_BINS + labels[i]] = 1;
  });
  return { n, xRows, xIndex: Int32Array.from({ length: n }, (_, i) => i), z, y, labels };
}

export function rotationTask(config: TrialConfig): TaskData {
  const dataSeed = dataSeedOf(config);
  const rff = config.g.input === 'rff' ? createRff(MNIST_PIXELS, config.g.rffFeatures, config.g.rffGamma, dataSeed) : null;
  const o: RotationOptions = { interpolation: config.data.interpolation ?? 'bilinear', standardize: config.data.pixels === 'standardized', rff };
  const sets = { train: loadMnist('train'), test: loadMnist('t10k') };
  const streams = { train: 'mnist-rotation-train', test: 'mnist-rotation-test' };
  const sizes = { train: config.data.nTrain, test: config.data.nTest };
  const images = { train: [] as number[], test: [] as number[] };
  const splits = {} as { train: TaskSplit; test: TaskSplit };
  for (const s of ['train', 'test'] as const) {
    // One stream per split: the images, then the angles of epoch 0 (the data as it always was).
    const rng = createRng(dataSeed, streams[s]);
    images[s] = pickImages(sets[s], sizes[s], rng);
    splits[s] = build(sets[s], images[s], rng, o);
  }
  const data: TaskData = {
    task: 'mnist-rotation',
    dx: MNIST_PIXELS,
    dz: rff ? rff.features : MNIST_PIXELS,
    k: ROTATION_BINS,
    train: splits.train,
    test: splits.test,
    zInput: config.g.input,
  };
  if (config.data.augment !== 'per-epoch') return data;
  return {
    ...data,
    epoch: (e) =>
      e === 0
        ? splits
        : {
            train: build(sets.train, images.train, createRng(dataSeed, `${streams.train}-epoch-${e}`), o),
            test: build(sets.test, images.test, createRng(dataSeed, `${streams.test}-epoch-${e}`), o),
          },
  };
}
