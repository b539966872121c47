import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../worker/backend/index.js';
import { hostMemoryActive, nativeActive, nativeProductCount, pinnedVersions } from '../worker/backend/native.js';
import { InPlaceAdam, InPlaceSgd } from '../worker/backend/native-host.js';
import { WASM_HEAP_MAX_BYTES } from '../core/backend.js';
import { onnxModel, onnxFloat } from '../worker/native/onnx.js';
import { loadNative, nativeGemmNT, nativeMatMul, setMaxOutputFloats } from '../worker/native/ort.js';
import { empiricalNtk } from '../worker/model/empirical.js';
import { choleskyJittered, choleskySolveInPlace, relFrob } from '../worker/kernels/index.js';
import { choleskySolveNative } from '../worker/native/linalg.js';
import { createHyperNet, gaussianArray, train, type HyperNetSpec } from '../worker/model/index.js';
import { runCli } from './helpers/cli.js';

const require = createRequire(import.meta.url);
const version = (pkg: string) => (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;

/** Naive float64 reference of op(a)·op(b) for one batch. */
function refMatMul(a: Float32Array, b: Float32Array, M: number, K: number, N: number, tA: boolean, tB: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = s;
    }
  }
  return out;
}

function maxRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst / scale;
}

describe('native compute path: pinned internals', () => {
  it('runs only on the onnxruntime-node, tfjs-backend-wasm and tfjs-backend-cpu versions whose private APIs it uses', () => {
    // native.ts calls onnxruntime-node's dist/binding.js session and tfjs-backend-wasm's heap internals. When either
    // package changes version, re-check both (binding.js run(feeds, fetches) with preallocated outputs; wasm's
    // makeOutput / typedArrayFromHeap), then update pinnedVersions and this test.
    expect(version('onnxruntime-node')).toBe('1.30.0');
    expect(version('@tensorflow/tfjs-backend-wasm')).toBe('4.22.0');
    // host-memory mode: tfjs-backend-cpu's data map (one typed array per tensor) and makeTensorInfo
    expect(version('@tensorflow/tfjs-backend-cpu')).toBe('4.22.0');
    expect(pinnedVersions).toEqual({
      'onnxruntime-node': '1.30.0',
      '@tensorflow/tfjs-backend-wasm': '4.22.0',
      '@tensorflow/tfjs-backend-cpu': '4.22.0',
    });
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    for (const [name, v] of Object.entries(pinnedVersions)) expect(pkg.dependencies[name]).toBe(v);
  });

  it('loads the native binding here', () => {
    expect(loadNative()).toBeNull();
  });

  it('serialises a model onnxruntime reads back with the declared symbolic inputs', () => {
    const m = onnxModel([{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
      [{ name: 'A', elemType: onnxFloat, dims: ['m', 'k'] }, { name: 'B', elemType: onnxFloat, dims: ['k', 3] }],
      [{ name: 'Y', elemType: onnxFloat, dims: ['m', 3] }]);
    const ortDir = require.resolve('onnxruntime-node/package.json').replace(/package\.json$/, '');
    const { binding, initOrt } = require(`${ortDir}dist/binding.js`) as {
      binding: { InferenceSession: new () => { loadModel(b: ArrayBufferLike, o: number, l: number, opt: object): void; inputMetadata: { name: string; symbolicDimensions: string[]; shape: number[] }[] } };
      initOrt(): void;
    };
    initOrt();
    const s = new binding.InferenceSession();
    s.loadModel(m.buffer, m.byteOffset, m.byteLength, {});
    expect(s.inputMetadata.map((i) => i.name)).toEqual(['A', 'B']);
    expect(s.inputMetadata[1].shape).toEqual([-1, 3]);
    expect(s.inputMetadata[1].symbolicDimensions[0]).toBe('k');
  });

  it('multiplies in float32 and float64, every transpose layout, against a naive product', () => {
    const [M, K, N] = [7, 40, 5];
    const a = Float32Array.from(gaussianArray(M * K, 1));
    const b = Float32Array.from(gaussianArray(K * N, 2));
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const want = refMatMul(a, b, M, K, N, tA, tB);
      const out = new Float32Array(M * N);
      nativeMatMul(a, b, out, 1, M, K, N, tA, tB, 2);
      expect(maxRel(out, want)).toBeLessThan(1e-6);
      const out64 = new Float64Array(M * N);
      nativeMatMul(Float64Array.from(a), Float64Array.from(b), out64, 1, M, K, N, tA, tB, 2);
      expect(maxRel(out64, want)).toBeLessThan(1e-14);
    }
  });
});

describe('native products with large outputs, in blocks', () => {
  it('equal the one-call product to float32 rounding, every layout, 2-D and batched, against a float64 reference', () => {
    expect(loadNative()).toBeNull();
    for (const [batch, M, K, N, tA, tB] of [
      [1, 37, 50, 64, false, false], [1, 37, 50, 64, true, false], [1, 37, 50, 64, false, true], [1, 37, 50, 64, true, true],
      [3, 20, 40, 33, false, false], [3, 20, 40, 33, true, true], [1, 100, 64, 48, false, false], [2, 70, 24, 40, true, false],
    ] as [number, number, number, number, boolean, boolean][]) {
      const a = gaussianArray(batch * M * K, 31);
      const b = gaussianArray(batch * K * N, 32);
      const once = new Float32Array(batch * M * N);
      const rank = batch > 1 ? 3 : 2;
      nativeMatMul(a, b, once, batch, M, K, N, tA, tB, rank);
      // blocks of whole batches (3-D), of 32 rows, of 16 rows (the smallest block)
      for (const cap of [M * N, 32 * Math.max(N, K), 1]) {
        const prev = setMaxOutputFloats(cap);
        const blocked = new Float32Array(batch * M * N);
        try {
          nativeMatMul(a, b, blocked, batch, M, K, N, tA, tB, rank);
        } finally {
          setMaxOutputFloats(prev);
        }
        expect(maxRel(blocked, once)).toBeLessThan(1e-6);
      }
      for (let q = 0; q < batch; q++) {
        const want = refMatMul(a.subarray(q * M * K, (q + 1) * M * K), b.subarray(q * K * N, (q + 1) * K * N), M, K, N, tA, tB);
        expect(maxRel(once.subarray(q * M * N, (q + 1) * M * N), want)).toBeLessThan(1e-5);
      }
    }
  });
});

/** Values of op on the wasm backend and on native (same process; the kernel is switched). */
async function both<T>(fn: () => T): Promise<{ wasm: T; native: T }> {
  await selectBackend('wasm');
  expect(nativeActive()).toBe(false);
  const wasm = fn();
  const info = await selectBackend('native');
  expect(info.name).toBe('native');
  expect(tf.getBackend()).toBe('wasm');
  expect(nativeActive()).toBe(true);
  const native = fn();
  await selectBackend('wasm');
  return { wasm, native };
}

type MatMulCase = [number[], number[], boolean, boolean];
/** Every transpose layout, 2-D and batched, large enough to go native (but the two batched 48/64 ones). */
const matMulLayouts: MatMulCase[] = [
  [[128, 256], [256, 96], false, false],
  [[256, 128], [256, 96], true, false],
  [[128, 256], [96, 256], false, true],
  [[256, 128], [96, 256], true, true],
  [[4, 64, 48], [4, 48, 64], false, false],
  [[4, 48, 64], [4, 64, 48], true, true],
];

/** tf.matMul of two seeded Gaussian tensors on the current backend, read back. */
function seededProduct(aS: number[], bS: number[], tA: boolean, tB: boolean): { shape: number[]; v: Float32Array } {
  return tf.tidy(() => {
    const a = tf.tensor(gaussianArray(aS.reduce((p, d) => p * d), 3), aS);
    const b = tf.tensor(gaussianArray(bS.reduce((p, d) => p * d), 4), bS);
    const y = tf.matMul(a, b, tA, tB);
    return { shape: y.shape, v: y.dataSync() as Float32Array };
  });
}

describe('native compute path: same results as wasm to float32 rounding', () => {
  it('tf.matMul, 2-D and batched, every transpose layout, large enough to go native', async () => {
    for (const [aS, bS, tA, tB] of matMulLayouts) {
      const r = await both(() => seededProduct(aS, bS, tA, tB));
      expect(r.native.shape).toEqual(r.wasm.shape);
      expect(maxRel(r.native.v, r.wasm.v)).toBeLessThan(1e-5);
    }
  });

  it('training: losses and weights after a few GD and Adam steps', async () => {
    const spec: HyperNetSpec = { dx: 16, dz: 4, n: 256, H: 3, m: 64, L: 2, k: 1 };
    const N = 128;
    const run = async (optimizer: 'gd' | 'adam') => {
      const net = createHyperNet(spec, 5);
      const d = {
        x: tf.tensor2d(gaussianArray(N * spec.dx, 1), [N, spec.dx]),
        z: tf.tensor2d(gaussianArray(N * spec.dz, 2), [N, spec.dz]),
        y: tf.tensor2d(gaussianArray(N * spec.k, 3), [N, spec.k]),
      };
      const r = await train(net, d, { optimizer, lr: optimizer === 'gd' ? 0.1 : 1e-3, steps: 5, batchSize: 0, loss: 'mse', logEvery: 1, seed: 0 });
      const w = net.params.map((p) => p.dataSync().slice() as Float32Array);
      net.dispose();
      tf.dispose([d.x, d.z, d.y]);
      return { curve: r.curve.map(([, l]) => l), w };
    };
    for (const opt of ['gd', 'adam'] as const) {
      await selectBackend('wasm');
      const wasm = await run(opt);
      await selectBackend('native');
      const before = tf.memory().numTensors;
      const native = await run(opt);
      expect(tf.memory().numTensors).toBe(before);
      await selectBackend('wasm');
      expect(native.curve.length).toBe(wasm.curve.length);
      expect(maxRel(native.curve, wasm.curve)).toBeLessThan(1e-5);
      // the loss moved: the comparison is not of untrained weights
      expect(Math.abs(wasm.curve[0] - wasm.curve.at(-1)!)).toBeGreaterThan(1e-3 * wasm.curve[0]);
      for (let i = 0; i < wasm.w.length; i++) expect(maxRel(native.w[i], wasm.w[i])).toBeLessThan(1e-5);
    }
  });

  it('the structured empirical NTK', async () => {
    const spec: HyperNetSpec = { dx: 16, dz: 4, n: 512, H: 3, m: 64, L: 2, k: 1 };
    const r = await both(() => {
      const net = createHyperNet(spec, 9);
      const probe = { x: tf.tensor2d(gaussianArray(16 * 16, 1), [16, 16]), z: tf.tensor2d(gaussianArray(16 * 4, 2), [16, 4]) };
      const g = empiricalNtk(net, probe);
      net.dispose();
      tf.dispose([probe.x, probe.z]);
      return g;
    });
    expect(relFrob(r.native, r.wasm)).toBeLessThan(1e-5);
  });
});

/** native in host-memory mode, as a trial too big for the wasm heap gets it. */
async function selectHost() {
  const info = await selectBackend('native', { tensorBytes: WASM_HEAP_MAX_BYTES + 1 });
  expect(info).toMatchObject({ name: 'native', hostMemory: true });
  expect(tf.getBackend()).toBe('cpu');
  expect(hostMemoryActive()).toBe(true);
  return info;
}

/** Values of fn on the wasm backend and on native's host-memory mode (same process). */
async function wasmAndHost<T>(fn: () => T | Promise<T>, goesNative = true): Promise<{ wasm: T; host: T }> {
  await selectBackend('wasm');
  const wasm = await fn();
  await selectHost();
  const before = tf.memory().numTensors;
  const products = nativeProductCount();
  const host = await fn();
  expect(tf.memory().numTensors).toBe(before);
  if (goesNative) expect(nativeProductCount()).toBeGreaterThan(products); // the large products did go native
  await selectBackend('wasm');
  expect(hostMemoryActive()).toBe(false);
  return { wasm, host };
}

describe('native host-memory mode (cpu backend arrays + MLAS): same results as wasm to float32 rounding', () => {
  it('tf.matMul, 2-D and batched, every transpose layout; small products stay on the cpu kernels', async () => {
    for (const [aS, bS, tA, tB] of [...matMulLayouts, [[4, 128, 64], [4, 96, 64], false, true]] as MatMulCase[]) {
      const r = await wasmAndHost(() => seededProduct(aS, bS, tA, tB), aS[1] !== 48 && aS[1] !== 64); // the two batched 1.6 MFLOP products stay below the native threshold
      expect(r.host.shape).toEqual(r.wasm.shape);
      expect(maxRel(r.host.v, r.wasm.v)).toBeLessThan(1e-5);
    }
    await selectHost();
    const products = nativeProductCount();
    const small = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2])).dataSync());
    expect(Array.from(small)).toEqual([4, 5, 10, 11]);
    expect(nativeProductCount()).toBe(products);
    await selectBackend('wasm');
  });

  it('training: losses and weights after a few GD and Adam steps, full batch and shared x', async () => {
    const spec: HyperNetSpec = { dx: 16, dz: 4, n: 256, H: 3, m: 64, L: 2, k: 1 };
    const N = 128;
    const run = async (optimizer: 'gd' | 'adam', shared: boolean) => {
      const net = createHyperNet(spec, 5);
      const D = shared ? 16 : N;
      const d = {
        x: tf.tensor2d(gaussianArray(D * spec.dx, 1), [D, spec.dx]),
        z: tf.tensor2d(gaussianArray(N * spec.dz, 2), [N, spec.dz]),
        y: tf.tensor2d(gaussianArray(N * spec.k, 3), [N, spec.k]),
        ...(shared ? { xIndex: Int32Array.from({ length: N }, (_, i) => i % D) } : {}),
      };
      const r = await train(net, d, { optimizer, lr: optimizer === 'gd' ? 0.1 : 1e-3, steps: 5, batchSize: shared ? 64 : 0, loss: 'mse', logEvery: 1, seed: 0 });
      const w = net.params.map((p) => p.dataSync().slice() as Float32Array);
      net.dispose();
      tf.dispose([d.x, d.z, d.y]);
      return { curve: r.curve.map(([, l]) => l), w };
    };
    for (const opt of ['gd', 'adam'] as const) {
      for (const shared of [false, true]) {
        const { wasm, host } = await wasmAndHost(() => run(opt, shared));
        expect(host.curve.length).toBe(wasm.curve.length);
        expect(maxRel(host.curve, wasm.curve)).toBeLessThan(1e-5);
        expect(Math.abs(wasm.curve[0] - wasm.curve.at(-1)!)).toBeGreaterThan(1e-3 * wasm.curve[0]);
        for (let i = 0; i < wasm.w.length; i++) expect(maxRel(host.w[i], wasm.w[i])).toBeLessThan(1e-5);
      }
    }
  });

  it('the structured empirical NTK', async () => {
    const spec: HyperNetSpec = { dx: 16, dz: 4, n: 512, H: 3, m: 64, L: 2, k: 1 };
    const r = await wasmAndHost(() => {
      const net = createHyperNet(spec, 9);
      const probe = { x: tf.tensor2d(gaussianArray(16 * 16, 1), [16, 16]), z: tf.tensor2d(gaussianArray(16 * 4, 2), [16, 4]) };
      const g = empiricalNtk(net, probe);
      net.dispose();
      tf.dispose([probe.x, probe.z]);
      return g;
    });
    expect(relFrob(r.host, r.wasm)).toBeLessThan(1e-5);
  });

  it('the in-place SGD and Adam updates are bit-identical to tfjs’s own on the cpu backend, without new weight tensors', async () => {
    const shapes: [number, number][] = [[7, 33], [33, 5]];
    const steps = (opt: tf.Optimizer, host: boolean) => {
      const vars = shapes.map(([r, c], i) => tf.tidy(() => tf.variable(tf.tensor2d(gaussianArray(r * c, 20 + i), [r, c]))));
      const ids = vars.map((v) => v.dataId);
      for (let s = 0; s < 4; s++) {
        const grads = shapes.map(([r, c], i) => tf.tensor2d(gaussianArray(r * c, 100 * s + i), [r, c]));
        opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])));
        tf.dispose(grads);
      }
      // in place: the weights keep their data; tfjs's update assigns new data
      expect(vars.every((v, i) => v.dataId === ids[i])).toBe(host);
      const out = vars.map((v) => v.dataSync().slice() as Float32Array);
      tf.dispose(vars);
      opt.dispose();
      return out;
    };
    await selectBackend('cpu');
    expect(hostMemoryActive()).toBe(false);
    const refSgd = steps(tf.train.sgd(0.05), false);
    const refAdam = steps(tf.train.adam(0.01), false);
    await selectHost();
    const sgd = steps(new InPlaceSgd(0.05), true);
    const adam = steps(new InPlaceAdam(0.01), true);
    await selectBackend('wasm');
    for (let i = 0; i < shapes.length; i++) {
      expect(Array.from(sgd[i])).toEqual(Array.from(refSgd[i]));
      expect(Array.from(adam[i])).toEqual(Array.from(refAdam[i]));
    }
  });
});

describe('in-place optimizers with a shared weight', () => {
  it('update a copy when another tensor reads the weight array: the other tensor keeps its values', async () => {
    const run = (opt: tf.Optimizer) => {
      const v = tf.tidy(() => tf.variable(tf.tensor2d(gaussianArray(6 * 9, 40), [6, 9])));
      const alias = tf.reshape(v, [9, 6]); // shares v's data
      const before = alias.dataSync().slice();
      const g = tf.tensor2d(gaussianArray(6 * 9, 41), [6, 9]);
      opt.applyGradients({ [v.name]: g });
      const after = { w: v.dataSync().slice() as Float32Array, alias: alias.dataSync().slice() as Float32Array };
      expect(Array.from(after.alias)).toEqual(Array.from(before));
      tf.dispose([v, alias, g]);
      opt.dispose();
      return after.w;
    };
    await selectBackend('cpu');
    const ref = [run(tf.train.sgd(0.05)), run(tf.train.adam(0.01))];
    await selectHost();
    const got = [run(new InPlaceSgd(0.05)), run(new InPlaceAdam(0.01))];
    await selectBackend('wasm');
    expect(Array.from(got[0])).toEqual(Array.from(ref[0]));
    expect(Array.from(got[1])).toEqual(Array.from(ref[1]));
  });
});

describe('native float64 linear algebra', () => {
  it('Gemm C −= A·Bᵀ in place, float64, against a naive product', () => {
    const [M, K, N] = [9, 33, 6];
    const a = Float64Array.from(gaussianArray(M * K, 5));
    const b = Float64Array.from(gaussianArray(N * K, 6));
    const c = Float64Array.from(gaussianArray(M * N, 7));
    const want = Float64Array.from(c);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let q = 0; q < K; q++) s += a[i * K + q] * b[j * K + q];
      want[i * N + j] -= s;
    }
    nativeGemmNT(a, b, c, c, M, K, N, -1, 1);
    expect(maxRel(c, want)).toBeLessThan(1e-14);
  });

  /** A kernel-like SPD matrix: an RBF Gram of random points (smooth, far from diagonal), n × n. */
  function rbfGram(n: number, seed: number): Float64Array {
    const pts = gaussianArray(n * 3, seed);
    const k = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let d = 0;
      for (let q = 0; q < 3; q++) d += (pts[i * 3 + q] - pts[j * 3 + q]) ** 2;
      k[i * n + j] = Math.exp(-0.5 * d) + (i === j ? 0.05 : 0);
    }
    return k;
  }

  it('the jittered Cholesky solve equals the JS path (3 panels, the last one narrow) to the last digits', () => {
    const n = 700, outputs = 2, jitter = 1e-9;
    const kd = rbfGram(n, 11);
    const y = Float64Array.from(gaussianArray(n * outputs, 12));
    const x = choleskySolveNative(kd, n, y, outputs, jitter);
    expect(x).toBeInstanceOf(Float64Array);
    const l = choleskyJittered({ rows: n, cols: n, data: kd }, jitter);
    const ref = Float64Array.from(y);
    choleskySolveInPlace(l, n, ref, outputs);
    expect(maxRel(x as Float64Array, ref)).toBeLessThan(1e-10);
    // and it solves the system: residual of (K + ε·diag K)·x − y
    let res = 0, scale = 0;
    for (let i = 0; i < n; i++) for (let t = 0; t < outputs; t++) {
      let s = jitter * kd[i * n + i] * (x as Float64Array)[i * outputs + t];
      for (let j = 0; j < n; j++) s += kd[i * n + j] * (x as Float64Array)[j * outputs + t];
      res = Math.max(res, Math.abs(s - y[i * outputs + t]));
      scale = Math.max(scale, Math.abs(y[i * outputs + t]));
    }
    expect(res / scale).toBeLessThan(1e-9);
  });

  it('reports the row where the matrix stops being positive definite, like the JS path', () => {
    const n = 600;
    const kd = rbfGram(n, 13);
    // make row 400 a copy of row 399 (and the column): singular from there
    for (let j = 0; j < n; j++) kd[400 * n + j] = kd[399 * n + j];
    for (let i = 0; i < n; i++) kd[i * n + 400] = kd[i * n + 399];
    const r = choleskySolveNative(kd, n, new Float64Array(n), 1, 0);
    expect(r).not.toBeInstanceOf(Float64Array);
    expect((r as { row: number }).row).toBe(400);
    expect(() => choleskyJittered({ rows: n, cols: n, data: kd }, 0)).toThrow(/row 400/);
  });

  it('leaves small systems to the JS path', () => {
    expect(choleskySolveNative(new Float64Array(4), 2, new Float64Array(2), 1, 0)).toBeNull();
  });
});

describe('auto without the native library', () => {
  it('falls back to wasm with one line saying why, and the trial runs (built CLI)', async () => {
    const args = ['trial', '--config', 'test/fixtures/trial-sphere.json', '--json', '--set', 'train.steps=3'];
    const off = await runCli(args, { env: { HYPERSWEEP_NO_NATIVE: '1' } });
    expect(off.code).toBe(0);
    const lines = off.stderr.split('\n').filter((l) => l.includes('native'));
    expect(lines).toEqual(['hypersweep: backend native is not available: turned off by HYPERSWEEP_NO_NATIVE; using wasm']);
    expect((JSON.parse(off.stdout) as { backend: string }).backend).toBe('wasm');
    const on = await runCli(args);
    expect(on.code).toBe(0);
    expect(on.stderr).not.toMatch(/native/);
    expect((JSON.parse(on.stdout) as { backend: string }).backend).toBe('native');
  }, 120_000);

  it('HYPERSWEEP_NATIVE_MEMORY=host: one line says so, the trial runs in host memory with the same losses (built CLI)', async () => {
    const args = ['trial', '--config', 'test/fixtures/trial-sphere.json', '--json', '--set', 'train.steps=3'];
    type Out = { backend: string; versions: { device: string }; metrics: { trainLoss: number; testLoss: number } };
    const host = await runCli(args, { env: { HYPERSWEEP_NATIVE_MEMORY: 'host' } });
    expect(host.code).toBe(0);
    expect(host.stderr.split('\n').filter((l) => l.includes('native'))).toEqual([
      'hypersweep: backend auto: HYPERSWEEP_NATIVE_MEMORY=host: running native in host-memory mode (JS arrays + MLAS matmuls)',
    ]);
    const h = JSON.parse(host.stdout) as Out;
    expect(h.backend).toBe('native');
    expect(h.versions.device).toMatch(/host memory/);
    const heap = JSON.parse((await runCli(args)).stdout) as Out;
    expect(heap.versions.device).toMatch(/wasm SIMD/);
    expect(Math.abs(h.metrics.trainLoss - heap.metrics.trainLoss)).toBeLessThan(1e-5 * Math.abs(heap.metrics.trainLoss));
    expect(Math.abs(h.metrics.testLoss - heap.metrics.testLoss)).toBeLessThan(1e-5 * Math.abs(heap.metrics.testLoss));
  }, 120_000);
});
