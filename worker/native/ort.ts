/**
 * onnxruntime-node's native CPU library (MLAS GEMMs) as synchronous calls on typed arrays: one cached session per
 * operation layout with symbolic dimensions, one intra-op thread each (a trial per core is the parallelism).
 *
 * onnxruntime-node's public `run()` is async; the callers (tfjs kernels, the float64 linear algebra) need a
 * synchronous product, so this uses the native session of `onnxruntime-node/dist/binding.js`, a private API.
 * The version is pinned: `loadNative` refuses another one, and test/native.test.ts fails when it changes.
 * No tfjs here: worker/kernels (float64) uses it too.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { onnxModel, onnxFloat, onnxDouble, type OnnxElemType, type OnnxNode } from './onnx.js';

/** The onnxruntime-node version whose private binding this module uses (package.json pins the same). */
export const ortVersion = '1.30.0';

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

/** The installed version of a package. */
export function packageVersion(pkg: string): string {
  const file = require.resolve(`${pkg}/package.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * Load onnxruntime-node's native binding (once per thread). Returns null on success, or one line saying why the
 * native path cannot run here (a missing or different-version package, a library that does not load, or the
 * environment variable HYPERSWEEP_NO_NATIVE set: everything then runs on the wasm and JS paths).
 */
export function loadNative(): string | null {
  if (ort || loadError) return loadError;
  if (process.env.HYPERSWEEP_NO_NATIVE) return (loadError = 'turned off by HYPERSWEEP_NO_NATIVE');
  try {
    const have = packageVersion('onnxruntime-node');
    if (have !== ortVersion) throw new Error(`onnxruntime-node is ${have}; the native path is written for ${ortVersion}`);
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

/** One-thread CPU sessions: a trial per core is the parallelism. */
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
 * Output floats one native call may write (16 MB). The binding returns every output as a fresh copy (a new
 * ArrayBuffer, garbage until V8 collects it), even a preallocated one it wrote in place: a product with a larger
 * output is computed in blocks of rows (or of batches), so the copy stays small (a 4 GB weight gradient would
 * otherwise be held twice; at (n, m, batch) = (4096, 1024, 128) blocks of 64 MB peaked at 799 MB, of 16 MB at 715,
 * of 4 MB at 715). Each output element is the same dot product over K, to float32 rounding (MLAS's row tiles may
 * sum in another order).
 */
let maxOutputFloats = 1 << 22;

/** Change the block size (tests); returns the previous one. */
export function setMaxOutputFloats(n: number): number {
  const prev = maxOutputFloats;
  maxOutputFloats = n;
  return prev;
}

/**
 * out = op(a)·op(b) on the native library, in place (out must not overlap a or b). Shapes: a [batch?, M, K]
 * (or [K, M] with transA), b [batch?, K, N] (or [N, K]); batch is 1 for rank 2.
 */
export function nativeMatMul(a: Float, b: Float, out: Float, batch: number, M: number, K: number, N: number,
  transA: boolean, transB: boolean, rank: 2 | 3): void {
  if (batch * M * N <= maxOutputFloats) return matMulCall(a, b, out, batch, M, K, N, transA, transB, rank);
  const [sa, sb, so] = [M * K, K * N, M * N];
  if (so <= maxOutputFloats) {
    // groups of whole batches
    const g = Math.max(1, Math.floor(maxOutputFloats / so));
    for (let b0 = 0; b0 < batch; b0 += g) {
      const n = Math.min(g, batch - b0);
      matMulCall(a.subarray(b0 * sa, (b0 + n) * sa), b.subarray(b0 * sb, (b0 + n) * sb), out.subarray(b0 * so, (b0 + n) * so),
        n, M, K, N, transA, transB, 3);
    }
    return;
  }
  // blocks of output rows (a multiple of 16: MLAS's row kernels then see whole tiles, and a tiny M its slower
  // GEMV path is avoided), one batch at a time; with transA the rows' columns of a are copied (K × rows floats)
  const rows = Math.max(16, 16 * Math.floor(maxOutputFloats / Math.max(N, transA ? K : 1) / 16));
  for (let bi = 0; bi < batch; bi++) {
    const ab = a.subarray(bi * sa, (bi + 1) * sa);
    const bb = b.subarray(bi * sb, (bi + 1) * sb);
    for (let m0 = 0; m0 < M; m0 += rows) {
      const r = Math.min(rows, M - m0);
      let blk: Float;
      if (!transA) blk = ab.subarray(m0 * K, (m0 + r) * K);
      else {
        blk = ab instanceof Float64Array ? new Float64Array(K * r) : new Float32Array(K * r);
        for (let k = 0; k < K; k++) for (let i = 0; i < r; i++) blk[k * r + i] = ab[k * M + m0 + i];
      }
      matMulCall(blk, bb, out.subarray(bi * so + m0 * N, bi * so + (m0 + r) * N), 1, r, K, N, transA, transB, 2);
    }
  }
}

function matMulCall(a: Float, b: Float, out: Float, batch: number, M: number, K: number, N: number,
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

/**
 * out = beta·c + alpha·a·bᵀ (Gemm, transB), rank 2, a [M, K], b [N, K], c and out [M, N]. `out` may be `c` itself
 * (onnxruntime copies c into the output first, then accumulates; a self-copy is a no-op): an in-place update.
 */
export function nativeGemmNT(a: Float, b: Float, c: Float, out: Float, M: number, K: number, N: number, alpha: number, beta: number): void {
  if (!ort) throw new Error('native compute path not loaded');
  const f64 = a instanceof Float64Array;
  const type = f64 ? 'float64' : 'float32';
  const elem = f64 ? onnxDouble : onnxFloat;
  const s = session(`gemmNT ${alpha} ${beta} ${elem}`, () => onnxModel(
    [{ op: 'Gemm', inputs: ['A', 'B', 'C'], outputs: ['Y'], attrs: { transB: { i: 1 }, alpha: { f: alpha }, beta: { f: beta } } }],
    [{ name: 'A', elemType: elem, dims: ['m', 'k'] }, { name: 'B', elemType: elem, dims: ['n', 'k'] }, { name: 'C', elemType: elem, dims: ['m', 'n'] }],
    [{ name: 'Y', elemType: elem, dims: ['m', 'n'] }]));
  s.run(
    { A: new ort.Tensor(type, a, [M, K]), B: new ort.Tensor(type, b, [N, K]), C: new ort.Tensor(type, c, [M, N]) },
    { Y: new ort.Tensor(type, out, [M, N]) },
    {},
  );
}

/** Whether the native calls can run (loadNative succeeded). */
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

