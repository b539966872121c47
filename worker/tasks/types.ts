/** The data of a trial as plain float32 arrays (no tfjs), built from the config by a seeded, pure task. */

/** Samples u_i = (x_i, z_i) with targets y_i. f's input rows may be shared by many samples (one image, many pixels). */
export interface TaskSplit {
  /** Number of samples. */
  readonly n: number;
  /** Distinct rows of f's input (dx each); sample i reads xRows[xIndex[i]]. Same row object → same x. */
  readonly xRows: readonly Float32Array[];
  readonly xIndex: Int32Array;
  /** g's input, n × dz row-major (after random Fourier features when g.input = 'rff'). */
  readonly z: Float32Array;
  /** Targets, n × k row-major: real values (mse) or one-hot classes. */
  readonly y: Float32Array;
  /** mnist-rotation: the class of each sample. */
  readonly labels?: Int32Array;
  /** mnist-completion: g's raw input (column, row) before the features, n × 2. */
  readonly coords?: Float32Array;
  /** mnist-completion: 1 where the pixel is in the hidden (zeroed) half of f's image. */
  readonly hidden?: Uint8Array;
}

export interface TaskData {
  readonly task: 'sphere' | 'mnist-completion' | 'mnist-rotation';
  readonly dx: number;
  readonly dz: number;
  readonly k: number;
  readonly train: TaskSplit;
  readonly test: TaskSplit;
  /** How g's input is formed, for the analytic kernels of the probe points. */
  readonly zInput: 'linear' | 'rff';
  /** mnist-completion: indices of the MNIST images used (train set, t10k set). */
  readonly images?: { train: number[]; test: number[] };
  /**
   * mnist-completion with kernels.regressionDraws K > 1: draws 2..K of the training pixels for the kernel
   * regression — the same images in the same order as `train` (so its xIndex applies), new random pixels.
   */
  readonly extraDraws?: readonly PixelDraw[];
  /**
   * Per-epoch augmentation (mnist-rotation with data.augment 'per-epoch'): the splits of epoch e (0-based) — the
   * same images with fresh random draws; epoch 0 is `train`/`test`.
   */
  readonly epoch?: (e: number) => { train: TaskSplit; test: TaskSplit };
}

/** One draw of training pixels: (column, row) per sample (n × 2) and the pixel values (n). */
export interface PixelDraw {
  readonly coords: Float32Array;
  readonly y: Float32Array;
}

/** Rows [start, start + count) of a split as dense arrays: x (count × dx), z (count × dz), y (count × k). */
export function sliceSplit(
  s: TaskSplit,
  dims: { dx: number; dz: number; k: number },
  start = 0,
  count = s.n - start,
): { n: number; x: Float32Array; z: Float32Array; y: Float32Array } {
  const end = Math.min(s.n, start + count);
  const m = Math.max(0, end - start);
  const x = new Float32Array(m * dims.dx);
  for (let i = 0; i < m; i++) x.set(s.xRows[s.xIndex[start + i]], i * dims.dx);
  return {
    n: m,
    x,
    z: s.z.slice(start * dims.dz, end * dims.dz),
    y: s.y.slice(start * dims.k, end * dims.k),
  };
}

/**
 * Rows [start, start + count) of a split with f's input shared: x holds the d distinct rows these samples read
 * (d × dx, in order of first use) and sample i reads x row xIndex[i]. z and y as in sliceSplit.
 */
export function sliceSplitShared(
  s: TaskSplit,
  dims: { dx: number; dz: number; k: number },
  start = 0,
  count = s.n - start,
): { n: number; d: number; x: Float32Array; xIndex: Int32Array; z: Float32Array; y: Float32Array } {
  const end = Math.min(s.n, start + count);
  const m = Math.max(0, end - start);
  const slot = new Map<number, number>();
  const distinct: number[] = [];
  const xIndex = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const r = s.xIndex[start + i];
    let l = slot.get(r);
    if (l === undefined) {
      l = distinct.length;
      slot.set(r, l);
      distinct.push(r);
    }
    xIndex[i] = l;
  }
  const x = new Float32Array(distinct.length * dims.dx);
  distinct.forEach((r, l) => x.set(s.xRows[r], l * dims.dx));
  return {
    n: m,
    d: distinct.length,
    x,
    xIndex,
    z: s.z.slice(start * dims.dz, end * dims.dz),
    y: s.y.slice(start * dims.k, end * dims.k),
  };
}

/** The first `count` samples of a split as analytic-kernel points (x rows shared by reference, z as row views). */
export function splitPoints(
  s: TaskSplit,
  dz: number,
  start = 0,
  count = s.n - start,
  z: Float32Array = s.z,
): { x: Float32Array[]; z: Float32Array[] } {
  const end = Math.min(s.n, start + count);
  const x: Float32Array[] = [];
  const zs: Float32Array[] = [];
  for (let i = start; i < end; i++) {
    x.push(s.xRows[s.xIndex[i]]);
    zs.push(z.subarray(i * dz, (i + 1) * dz));
  }
  return { x, z: zs };
}
