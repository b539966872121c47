/**
 * The native CPU compute path: the wasm backend with its large matrix products computed by onnxruntime-node's
 * MLAS (native SIMD GEMM) instead of wasm's. The tfjs `BatchMatMul` kernel of the wasm backend is wrapped: when
 * the native path is on and a product is large enough to gain (≥ 2 MFLOP and an inner dimension ≥ 32), it reads
 * the operands and writes the result in place in the wasm heap (no copies) through one cached onnxruntime session
 * per (rank, transposeA, transposeB) with symbolic dimensions; every other product runs on wasm as before. Same
 * math, different summation order: results equal wasm's to float32 rounding.
 *
 * tfjs kernels return synchronously, and onnxruntime-node's public `run()` is async, so this uses the native
 * session of `onnxruntime-node/dist/binding.js` (a private API) and tfjs-backend-wasm's heap internals
 * (`typedArrayFromHeap`, `makeOutput`). Both are pinned: `setNativeMatMul` refuses other versions, and
 * test/native.test.ts fails when either package changes version.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadNative, nativeMatMul, ortVersion, packageVersion } from '../native/ort.js';

/** The tfjs-backend-wasm version whose heap internals the kernel below uses (package.json pins the same). */
const wasmVersion = '4.22.0';

/** The versions whose internals the native path uses. */
export const pinnedVersions = { 'onnxruntime-node': ortVersion, '@tensorflow/tfjs-backend-wasm': wasmVersion } as const;

/** The wasm backend internals used here (tfjs-backend-wasm 4.22.0). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

let active = false;
let wasmBatchMatMul: tf.KernelConfig | null = null;

/** Smallest product worth the native call (below it, wasm's overhead is lower). */
const minFlops = 2e6;
const minInner = 32;

/** Whether a product of these sizes goes native (when the native path is active). */
export function goesNative(batch: number, M: number, K: number, N: number): boolean {
  return active && K >= minInner && 2 * batch * M * K * N >= minFlops;
}

/** Whether the wasm backend's large products currently run on the native library. */
export function nativeActive(): boolean {
  return active;
}

const nativeKernel: tf.KernelFunc = (args) => {
  const fallback = wasmBatchMatMul!.kernelFunc;
  const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (!active || a.dtype !== 'float32' || b.dtype !== 'float32' || ra !== rb) return fallback(args);
  // Same batch dims on both sides (no broadcasting), flattened to one.
  for (let i = 0; i < ra - 2; i++) if (a.shape[i] !== b.shape[i]) return fallback(args);
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (!goesNative(batch, M, K, N)) return fallback(args);
  const be = args.backend as unknown as WasmHeapBackend;
  const out = be.makeOutput([...a.shape.slice(0, -2), M, N], 'float32');
  // Views after makeOutput: an allocation can grow (and so replace) the heap's ArrayBuffer.
  const av = be.typedArrayFromHeap(a) as Float32Array;
  const bv = be.typedArrayFromHeap(b) as Float32Array;
  const ov = be.typedArrayFromHeap(out) as Float32Array;
  nativeMatMul(av, bv, ov, batch, M, K, N, transposeA, transposeB, ra === 2 ? 2 : 3);
  return out;
};

/**
 * Turn the native matmuls of the (already initialised) wasm backend on or off. Returns null, or why the native
 * library cannot be used here (then the wasm kernels stay as they are).
 */
export function setNativeMatMul(on: boolean): string | null {
  if (on) {
    const have = packageVersion('@tensorflow/tfjs-backend-wasm');
    if (have !== wasmVersion) return `@tensorflow/tfjs-backend-wasm is ${have}; the native path is written for ${wasmVersion}`;
    const why = loadNative();
    if (why) return why;
  }
  if (!wasmBatchMatMul) {
    const k = tf.getKernel(tf.BatchMatMul, 'wasm');
    if (!k) throw new Error('setNativeMatMul: the wasm backend is not registered');
    wasmBatchMatMul = k;
    tf.unregisterKernel(tf.BatchMatMul, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: nativeKernel });
  }
  active = on;
  return null;
}
