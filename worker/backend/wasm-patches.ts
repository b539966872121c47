/**
 * The two fixes the wasm backend needs (docs/model.md), in one place:
 *  1. tfjs's BatchMatMul gradient calls matMul with transposeA/transposeB flags, which take a ~12× slower path
 *     on wasm. Re-registered here with explicit transposes and plain matMul (same math on every backend).
 *  2. wasm has no `UnsortedSegmentSum` kernel, so gather's gradient throws. A small JS kernel is registered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { goesNative, nativeActive } from './native.js';

/** Swap the last two axes (a real copy, so the following matMul takes the fast path). */
export function transposeLast2(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  if (r < 2) throw new Error(`transposeLast2: rank ${r} < 2`);
  if (r === 2) return transpose2d(t as tf.Tensor2D);
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(t, perm);
}

/** Sum `grad` down to `shape` where matMul broadcast a batch dimension. */
function unbroadcast(grad: tf.Tensor, shape: number[]): tf.Tensor {
  let g = grad;
  const extra = g.rank - shape.length;
  if (extra > 0) g = tf.sum(g, [...Array(extra).keys()]);
  const axes: number[] = [];
  for (let i = 0; i < shape.length - 2; i++) if (shape[i] === 1 && g.shape[i] !== 1) axes.push(i);
  if (axes.length > 0) g = tf.sum(g, axes, true);
  return g;
}

const sizeOf = (t: tf.Tensor) => t.size;

/** Whether matMul(x, y, tA, tB) will run on the native path (same batch dims, large enough). */
function flagsGoNative(x: tf.Tensor, y: tf.Tensor, tA: boolean, tB: boolean): boolean {
  if (!nativeActive() || x.rank !== y.rank) return false;
  for (let i = 0; i < x.rank - 2; i++) if (x.shape[i] !== y.shape[i]) return false;
  const r = x.rank;
  const batch = x.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const M = tA ? x.shape[r - 1] : x.shape[r - 2];
  const K = tA ? x.shape[r - 2] : x.shape[r - 1];
  const N = tB ? y.shape[r - 2] : y.shape[r - 1];
  return goesNative(batch, M, K, N);
}

/**
 * x·yᵀ with one explicit transpose, choosing which operand to copy: x @ T(y) copies y; T(y @ T(x)) copies x and
 * the result. wasm's matMul also repacks its right operand on every call, so keeping a big weight matrix on the
 * left is faster still.
 */
export function matMulBT(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  // The native path takes the transpose flag itself (MLAS packs either layout): no copy.
  if (flagsGoNative(x, y, false, true)) return tf.matMul(x, y, false, true);
  const outSize = (x.size / x.shape[x.rank - 1]) * y.shape[y.rank - 2];
  if (sizeOf(y) > sizeOf(x) + outSize) return transposeLast2(tf.matMul(y, transposeLast2(x)));
  return tf.matMul(x, transposeLast2(y));
}

/** xᵀ·y with one explicit transpose: T(x) @ y copies x; T(T(y) @ x) copies y and the result. */
export function matMulAT(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (flagsGoNative(x, y, true, false)) return tf.matMul(x, y, true, false);
  const outSize = x.shape[x.rank - 1] * y.shape[y.rank - 1] * (x.size / (x.shape[x.rank - 1] * x.shape[x.rank - 2]));
  if (sizeOf(x) > sizeOf(y) + outSize) return transposeLast2(tf.matMul(transposeLast2(y), x));
  return tf.matMul(transposeLast2(x), y);
}

export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const dyT = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const T = transposeLast2;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      // dy·bᵀ; when b has one column (g's per-sample matrix-vector products) it is an outer product: a
      // broadcast multiply (one product per entry, the same floats) instead of wasm's slow batched matMul.
      da = () => (b.shape[b.rank - 1] === 1 ? tf.mul(dyT, transposeLast2(b)) : matMulBT(dyT, b));
      db = () => matMulAT(a, dyT); // aᵀ·dy
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(dyT, b);
      db = () => matMulAT(dyT, a);
    } else if (transposeA && !transposeB) {
      da = () => matMulBT(b, dyT);
      db = () => tf.matMul(a, dyT);
    } else {
      da = () => tf.matMul(T(b), T(dyT));
      db = () => tf.matMul(T(dyT), T(a));
    }
    return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
  },
};

/** The subset of the wasm backend this kernel touches. */
interface HeapBackend {
  readSync(dataId: tf.DataId): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped (TF semantics). */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  numSegments: number,
  inner: number,
  out: { [i: number]: number; length: number },
): void {
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

const unsortedSegmentSumWasm: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const be = backend as unknown as HeapBackend;
    // segmentIds covers the leading dims of x; the rest is one contiguous row per id.
    const idsRank = segmentIds.shape.length;
    const innerShape = x.shape.slice(idsRank);
    const inner = innerShape.reduce((p, d) => p * d, 1);
    const out = be.makeOutput([numSegments, ...innerShape], x.dtype);
    const outVals = be.typedArrayFromHeap(out);
    outVals.fill(0);
    const xv = be.readSync(x.dataId) as tf.backend_util.TypedArray;
    const ids = be.readSync(segmentIds.dataId) as tf.backend_util.TypedArray;
    unsortedSegmentSumValues(xv, ids, numSegments, inner, outVals);
    return out;
  },
};

/**
 * Register both patches. Idempotent; call after the wasm backend is registered, before training.
 * Gradients are global in tfjs (not per backend). tfjs-core's Node bundle registers no gradients at all (only
 * the @tensorflow/tfjs union package does), so registerGradients() installs this BatchMatMul gradient on every
 * backend; here it is registered again so the patch stands on its own.
 */
export function applyWasmPatches(): void {
  tf.registerGradient(batchMatMulGradConfig);
  if (!tf.getKernel(tf.UnsortedSegmentSum, 'wasm')) tf.registerKernel(unsortedSegmentSumWasm);
}

/**
 * Transpose of a 2-D tensor in two passes that each touch memory in long runs: [r, c] → [c/b, r, b] (moves rows
 * of b floats) → [c/b, b, r] (transposes r × b panels that fit in cache). wasm's one-pass Transpose walks the
 * output with a stride of r floats and is ~1.4× slower at 4M–64M floats. Falls back to tf.transpose when b ∤ c.
 */
export function transpose2dBlocked(x: tf.Tensor2D, b = 32): tf.Tensor2D {
  const [r, c] = x.shape;
  if (c % b !== 0 || c <= b || r <= b) return tf.transpose(x);
  return tf.tidy(() => {
    const panels = tf.transpose(tf.reshape(x, [r, c / b, b]), [1, 0, 2]);
    return tf.reshape(tf.transpose(panels, [0, 2, 1]), [c, r]) as tf.Tensor2D;
  });
}

/**
 * 2-D transpose, blocked on wasm where that measured faster (tall inputs, or ≥ 1024 rows: e.g. [4096, 256] 9.2 →
 * 6.8 ms, [4096, 4096] 155 → 110 ms, [4096, 16384] 640 → 444 ms); wide short ones ([256, 4096]) stay one pass,
 * and so does every other backend (on webgpu one dispatch beats two).
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [r, c] = x.shape;
  return tf.getBackend() === 'wasm' && (r >= c || r >= 1024) ? transpose2dBlocked(x) : tf.transpose(x);
}

/**
 * a·w for a small activation a [B, k] and a large weight w [k, N] (N ≫ B), with the gradients of a plain matMul.
 * wasm's matMul packs its right operand on every call and runs slowly when that operand is many MB, so the
 * forward product is computed as (wᵀ·aᵀ)ᵀ: w is transposed once (blocked) and a becomes the small right operand.
 * The gradients are those of matMul(a, w): da = (w·doᵀ)ᵀ, dw = aᵀ·do (both with w or do as the left operand).
 * Same math as tf.matMul(a, w) (on wasm the same floats: checked bit-identical at several shapes).
 */
const matMulWideOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, w]);
  const value = transpose2d(tf.matMul(transpose2dBlocked(w), transpose2d(a)) as tf.Tensor2D);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sw] = saved;
      return [matMulBT(dy, sw), matMulAT(sa, dy)];
    },
  };
});

export function matMulWide(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return matMulWideOp(a, w) as tf.Tensor2D;
}

/** Data of the weights matMulWeight has seen (wasm caches the packed right operand of a matMul per tensor data). */
const seenWeights = new WeakSet<object>();

/**
 * a·w, as matMulWide on wasm when w is large (≥ 2²¹ floats, ≥ 4× a's size) and either a has ≥ 128 rows, or
 * a has ≥ 32 rows and w is new (a training step's updated weight: the plain product would pack all of it, ~35 ms
 * per 4M floats). A weight used again with few rows (kernel probes, small evaluation chunks) takes the plain
 * product, whose packing wasm has cached (structured NTK with 16 probes: 19 ms plain vs 35 ms wide). On the
 * native path the plain product is the fast one.
 */
export function matMulWeight(a: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm' || nativeActive() || w.size < 1 << 21 || w.size < 4 * a.size) return tf.matMul(a, w);
  const data = w.dataId as object;
  const fresh = !seenWeights.has(data);
  if (fresh) seenWeights.add(data);
  const rows = a.shape[0];
  return rows >= 128 || (fresh && rows >= 32) ? matMulWide(a, w) : tf.matMul(a, w);
}
