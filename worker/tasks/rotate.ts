/**
 * Image rotation and the rotation-prediction labels (pure functions).
 */

/** Number of rotation classes: 12 bins of 30°. */
export const ROTATION_BINS = 12;
export const BIN_DEGREES = 360 / ROTATION_BINS;

/** An angle in degrees reduced to [0, 360): −10 → 350, 360 → 0, 725 → 5. */
export function wrapDegrees(a: number): number {
  const r = ((a % 360) + 360) % 360;
  return r >= 360 ? 0 : r; // (−1e−20 % 360) + 360 rounds to 360
}

/**
 * The class of a rotation angle a2: the nearest of 0°, 30°, …, 330°, with the wrap-around done right, i.e.
 * class c covers [30c − 15°, 30c + 15°) mod 360, so 350°, 359.9° and −10° are class 0 (≡ 360°). The official code
 * (rotations_experiment/datasets.py) also takes the nearest multiple of 30° but never wraps: a2 ∈ [345°, 360°) gets
 * 330° (class 11) instead of 0°, so its class 11 spans 45° and its class 0 only 15°. Here every class spans 30°.
 */
export function rotationBin(a2: number): number {
  if (!Number.isFinite(a2)) throw new RangeError(`rotationBin: angle ${a2} is not finite`);
  return Math.floor((wrapDegrees(a2) + BIN_DEGREES / 2) / BIN_DEGREES) % ROTATION_BINS;
}

/** How a rotated image samples its source: bilinear interpolation, or the nearest pixel (torchvision's default). */
export type Interpolation = 'bilinear' | 'nearest';

/** MNIST's pixel mean and sd (of pixel/255 over the training set): the official code's normalisation. */
export const MNIST_MEAN = 0.1307;
export const MNIST_SD = 0.3081;

/** (v − 0.1307)/0.3081 for each v = pixel/255, in place; returns `img`. */
export function standardizePixels(img: Float32Array): Float32Array {
  for (let i = 0; i < img.length; i++) img[i] = (img[i] - MNIST_MEAN) / MNIST_SD;
  return img;
}

/**
 * Rotate a side×side row-major image by `degrees` counter-clockwise (as displayed: row 0 at the top) about its
 * centre, by bilinear interpolation or the nearest source pixel; pixels that come from outside the image are 0.
 * Returns a new array. For 90°: out[r][c] = in[c][side − 1 − r].
 */
export function rotateImage(img: ArrayLike<number>, side: number, degrees: number, interpolation: Interpolation = 'bilinear'): Float32Array {
  if (img.length !== side * side) throw new RangeError(`rotateImage: ${img.length} pixels, expected ${side}×${side}`);
  const out = new Float32Array(side * side);
  const t = (wrapDegrees(degrees) * Math.PI) / 180;
  // Exact values at multiples of 90° keep those rotations exact permutations.
  const q = wrapDegrees(degrees) / 90;
  const exact = Number.isInteger(q);
  const cos = exact ? [1, 0, -1, 0][q] : Math.cos(t);
  const sin = exact ? [0, 1, 0, -1][q] : Math.sin(t);
  const c0 = (side - 1) / 2;
  for (let r = 0; r < side; r++) {
    const dy = r - c0;
    for (let c = 0; c < side; c++) {
      const dx = c - c0;
      // Source of output pixel (c, r): the inverse rotation, written in the y-down frame.
      const sx = c0 + cos * dx - sin * dy;
      const sy = c0 + sin * dx + cos * dy;
      out[r * side + c] = interpolation === 'nearest' ? nearest(img, side, sx, sy) : bilinear(img, side, sx, sy);
    }
  }
  return out;
}

function bilinear(img: ArrayLike<number>, side: number, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const px = (cx: number, cy: number): number => (cx >= 0 && cx < side && cy >= 0 && cy < side ? img[cy * side + cx] : 0);
  return (
    (1 - fy) * ((1 - fx) * px(x0, y0) + fx * px(x0 + 1, y0)) +
    fy * ((1 - fx) * px(x0, y0 + 1) + fx * px(x0 + 1, y0 + 1))
  );
}

/** The pixel nearest to (x, y), 0 outside the image (halves round up; they do not occur off the exact 90° steps). */
function nearest(img: ArrayLike<number>, side: number, x: number, y: number): number {
  const cx = Math.round(x), cy = Math.round(y);
  return cx >= 0 && cx < side && cy >= 0 && cy < side ? img[cy * side + cx] : 0;
}
