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
 * (`dataIdMap`, `typedArrayFromHeap`, `makeOutput`). Both are pinned: `loadNative` refuses other versions, and
 * test/native.test.ts fails when either package changes version.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { onnxModel, onnxFloat, onnxDouble, type OnnxElemType, type OnnxNode } from './onnx.js';

/** The versions whose internals this module uses (package.json pins the same). */
export const pinnedVersions = { 'onnxruntime-node': '1.30.0', '@tensorflow/tfjs-backend-wasm': '4.22.0' } as const;

const require = createRequire(import.meta.url);

/** onnxruntime-node's native InferenceSession (dist/binding.js; private API of the pinned version). */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: Record<string, unknown>): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: Record<string, unknown>): Record<string, unknown>;
}

interface OrtNative {
  newSession(): NativeSession;
  /** onnxruntime-common's Tensor constructor (the binding reads and creates instances of it). */
  Tensor: new (type: 'float32' | 'float64', data: Float32Array | Float64Array, dims: readonly number[]) => unknown;
}

let ort: OrtNative | null = null;
let loadError: string | null = null;

function packageVersion(pkg: string, from?: string): string {
  const file = require.resolve(`${pkg}/package.json`, from ? { paths: [from] } : undefined);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Load onnxruntime-node's native binding (once per thread). Returns null on success, or one line saying why the
 * native path cannot run here (a missing or different-version package, a library that does not load).
 */
export function loadNative(): string | null {
  if (ort || loadError) return loadError;
  try {
    for (const [pkg, want] of Object.entries(pinnedVersions)) {
      const have = packageVersion(pkg);
      if (have !== want) throw new Error(`${pkg} is ${have}; the native path is written for ${want}`);
    }
    const ortDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const b = require(path.join(ortDir, 'dist', 'binding.js')) as {
      binding: { InferenceSession: new () => NativeSession };
      initOrt(): void;
    };
    const common = require(require.resolve('onnxruntime-common', { paths: [ortDir] })) as { Tensor: OrtNative['Tensor'] };
    b.initOrt();
    ort = { newSession: () => new b.binding.InferenceSession(), Tensor: common.Tensor };
    selfCheck();
  } catch (e) {
    ort = null;
    loadError = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  }
  return loadError;
}

/** One-thread CPU sessions: a trial per core is the parallelism (see orchestrator/local). */
const sessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  executionProviders: [{ name: 'cpu' }],
};

const sessions = new Map<string, NativeSession>();

function session(key: string, build: () => Uint8Array): NativeSession {
  let s = sessions.get(key);
  if (!s) {
    if (!ort) throw new Error('native compute path not loaded');
    const model = build();
    s = ort.newSession();
    s.loadModel(model.buffer, model.byteOffset, model.byteLength, sessionOptions);
    sessions.set(key, s);
  }
  return s;
}

/** Y = op(A)·op(B) for rank-2 or rank-3 operands (one batch dim), with symbolic sizes. */
function matMulSession(rank: 2 | 3, transA: boolean, transB: boolean, elem: OnnxElemType): NativeSession {
  return session(`matmul ${rank} ${transA} ${transB} ${elem}`, () => {
    const batch = rank === 3 ? ['b'] : [];
    const node: OnnxNode = transA || transB
      ? { op: 'FusedMatMul', domain: 'com.microsoft', inputs: ['A', 'B'], outputs: ['Y'], attrs: { transA: { i: +transA }, transB: { i: +transB }, alpha: { f: 1 } } }
      : { op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] };
    return onnxModel([node],
      [{ name: 'A', elemType: elem, dims: [...batch, transA ? 'k' : 'm', transA ? 'm' : 'k'] },
        { name: 'B', elemType: elem, dims: [...batch, transB ? 'n' : 'k', transB ? 'k' : 'n'] }],
      [{ name: 'Y', elemType: elem, dims: [...batch, 'm', 'n'] }]);
  });
}

type Float = Float32Array | Float64Array;

/**
 * out = op(a)·op(b) on the native library, in place (out must not overlap a or b). Shapes: a [batch?, M, K]
 * (or [K, M] with transA), b [batch?, K, N] (or [N, K]); batch is 1 for rank 2.
 */
export function nativeMatMul(a: Float, b: Float, out: Float, batch: number, M: number, K: number, N: number,
  transA: boolean, transB: boolean, rank: 2 | 3): void {
  if (!ort) throw new Error('native compute path not loaded');
  const f64 = a instanceof Float64Array;
  const type = f64 ? 'float64' : 'float32';
  const lead = rank === 3 ? [batch] : [];
  const s = matMulSession(rank, transA, transB, f64 ? onnxDouble : onnxFloat);
  s.run(
    { A: new ort.Tensor(type, a, [...lead, ...(transA ? [K, M] : [M, K])]), B: new ort.Tensor(type, b, [...lead, ...(transB ? [N, K] : [K, N])]) },
    { Y: new ort.Tensor(type, out, [...lead, M, N]) },
    {},
  );
}

/** Whether `nativeMatMul` can run (loadNative succeeded). */
export function nativeLoaded(): boolean {
  return ort !== null;
}

/** A 2×3 · 3×2 product, both layouts, against the hand-computed values: the binding behaves as this file expects. */
function selfCheck(): void {
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const b = Float32Array.from([1, 0, 0, 1, 1, 1]);
  const out = new Float32Array(4);
  nativeMatMul(a, b, out, 1, 2, 3, 2, false, false, 2);
  const outT = new Float32Array(4);
  nativeMatMul(a, b, outT, 1, 2, 3, 2, true, false, 2);
  const want = [4, 5, 10, 11];
  const wantT = [6, 8, 8, 10]; // [[1,3,5],[2,4,6]]·b
  if (!want.every((v, i) => out[i] === v) || !wantT.every((v, i) => outT[i] === v)) {
    throw new Error(`onnxruntime-node self-check failed: got ${Array.from(out)} / ${Array.from(outT)}`);
  }
}

// ---- the tfjs wasm BatchMatMul kernel, wrapped --------------------------------------------------------------

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
  if (!goesNative(batch, M, K, N) || M === 0 || N === 0) return fallback(args);
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
