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
/** The tfjs-backend-cpu version whose tensor storage host-memory mode reads and writes (package.json pins the same). */
const cpuVersion = '4.22.0';

/** The versions whose internals the native path uses. */
export const pinnedVersions = {
  'onnxruntime-node': ortVersion,
  '@tensorflow/tfjs-backend-wasm': wasmVersion,
  '@tensorflow/tfjs-backend-cpu': cpuVersion,
} as const;

/** The wasm backend internals used here (tfjs-backend-wasm 4.22.0). */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.backend_util.TypedArray;
}

/** Heap mode: the wasm backend's large products run natively. */
let active = false;
/** Host-memory mode: the cpu backend's large products run natively (native-host.ts). */
let hostActive = false;
let wasmBatchMatMul: tf.KernelConfig | null = null;
let cpuBatchMatMul: tf.KernelConfig | null = null;

/** Smallest product worth the native call (below it, wasm's overhead is lower). */
const minFlops = 2e6;
const minInner = 32;

/** Products computed natively so far, in this thread (tests check that a path really goes native). */
let nativeProducts = 0;
export function nativeProductCount(): number {
  return nativeProducts;
}

/** Whether a product of these sizes goes native (when the native path is active). */
export function goesNative(batch: number, M: number, K: number, N: number): boolean {
  return nativeActive() && K >= minInner && 2 * batch * M * K * N >= minFlops;
}

/** Whether the active backend's large products currently run on the native library (either mode). */
export function nativeActive(): boolean {
  if (!active && !hostActive) return false;
  const b = tf.getBackend();
  return (active && b === 'wasm') || (hostActive && b === 'cpu');
}

/** Whether the native path runs in host-memory mode now (the cpu backend's JS arrays, no wasm heap). */
export function hostMemoryActive(): boolean {
  return hostActive && tf.getBackend() === 'cpu';
}

/** The sizes of a product op(a)·op(b) with the same batch dims on both sides; null when it cannot go native. */
function productSizes(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || ra !== rb) return null;
  // Same batch dims on both sides (no broadcasting), flattened to one.
  for (let i = 0; i < ra - 2; i++) if (a.shape[i] !== b.shape[i]) return null;
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (!goesNative(batch, M, K, N)) return null;
  return { batch, M, K, N, rank: (ra === 2 ? 2 : 3) as 2 | 3, outShape: [...a.shape.slice(0, -2), M, N] };
}

const nativeKernel: tf.KernelFunc = (args) => {
  const fallback = wasmBatchMatMul!.kernelFunc;
  const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const p = active ? productSizes(a, b, transposeA, transposeB) : null;
  if (!p) return fallback(args);
  const be = args.backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(p.outShape, 'float32');
  // Views after makeOutput: an allocation can grow (and so replace) the heap's ArrayBuffer.
  const av = be.typedArrayFromHeap(a) as Float32Array;
  const bv = be.typedArrayFromHeap(b) as Float32Array;
  const ov = be.typedArrayFromHeap(out) as Float32Array;
  nativeMatMul(av, bv, ov, p.batch, p.M, p.K, p.N, transposeA, transposeB, p.rank);
  nativeProducts++;
  return out;
};

/** The cpu backend internals used in host-memory mode (tfjs-backend-cpu 4.22.0): each tensor is one JS typed array. */
export interface CpuArrayBackend {
  data: { get(dataId: tf.DataId): { values?: tf.backend_util.BackendValues; refCount: number } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** Host-memory mode: operands read and result written as the cpu backend's own arrays (no copies, no heap). */
const hostKernel: tf.KernelFunc = (args) => {
  const fallback = cpuBatchMatMul!.kernelFunc;
  const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const p = hostActive ? productSizes(a, b, transposeA, transposeB) : null;
  if (!p) return fallback(args);
  const be = args.backend as unknown as CpuArrayBackend;
  const av = be.data.get(a.dataId).values;
  const bv = be.data.get(b.dataId).values;
  if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return fallback(args);
  const ov = new Float32Array(p.batch * p.M * p.N);
  nativeMatMul(av, bv, ov, p.batch, p.M, p.K, p.N, transposeA, transposeB, p.rank);
  nativeProducts++;
  return be.makeTensorInfo(p.outShape, 'float32', ov);
};

/**
 * Turn host-memory mode on or off: the (already initialised) cpu backend's large products on the native library.
 * Returns null, or why the native library cannot be used here.
 */
export function setHostMatMul(on: boolean): string | null {
  if (on) {
    const have = packageVersion('@tensorflow/tfjs-backend-cpu');
    if (have !== cpuVersion) return `@tensorflow/tfjs-backend-cpu is ${have}; host-memory mode is written for ${cpuVersion}`;
    const why = loadNative();
    if (why) return why;
  }
  if (!cpuBatchMatMul) {
    const k = tf.getKernel(tf.BatchMatMul, 'cpu');
    if (!k) throw new Error('setHostMatMul: the cpu backend is not registered');
    cpuBatchMatMul = k;
    tf.unregisterKernel(tf.BatchMatMul, 'cpu');
    tf.registerKernel({ ...k, kernelFunc: hostKernel });
  }
  hostActive = on;
  return null;
}

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
