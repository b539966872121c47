/**
 * Kernel regression by Cholesky against an independent Gaussian-elimination solve, on functions drawn from the
 * kernel's own GP.
 */
import { describe, expect, it } from 'vitest';
import {
  choleskyJittered,
  computeCrossKernels,
  computeKernels,
  type Gram,
  kernelRegression,
  NotPositiveDefiniteError,
  type PointSet,
} from '../worker/kernels/index.js';
import { gaussSolve, gaussian, naiveCholesky, randomVectors } from './helpers/kernels-mc.js';

const rows = (g: Gram): number[][] => Array.from({ length: g.rows }, (_, i) => Array.from(g.data.subarray(i * g.cols, (i + 1) * g.cols)));

/** 6 distinct x, 30 z each in the plane: the image-completion shape in miniature. */
function points(seed: number): PointSet {
  const rng = gaussian(seed);
  const xs = randomVectors(rng, 6, 8);
  const x: number[][] = [], z: number[][] = [];
  for (const xi of xs) for (let k = 0; k < 30; k++) { x.push(xi); z.push([rng(), rng()]); }
  return { x, z };
}

describe('kernel regression', () => {
  const p = points(9);
  const net = { fDepth: 2, gDepth: 2, zKernel: { type: 'rbf', gamma: 0.5 } as const };
  const K = computeKernels(p, net).gp;
  const n = p.x.length;
  // two independent draws from GP(0, K): y = C·ξ with C = chol(K + 1e−10·I)
  const C = naiveCholesky(rows(K).map((r, i) => r.map((v, j) => v + (i === j ? 1e-10 : 0))));
  const rng = gaussian(10);
  const xi = [randomVectors(rng, n, 1).map((v) => v[0]), randomVectors(rng, n, 1).map((v) => v[0])];
  const f = xi.map((e) => C.map((row) => row.reduce((s, c, k) => s + c * e[k], 0)));
  const train = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 !== 0);
  const test = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 0);
  const sub = (idx: number[]): PointSet => ({ x: idx.map((i) => p.x[i]), z: idx.map((i) => p.z[i]) });
  const kTrain = computeKernels(sub(train), net).gp;
  const kTestTrain = computeCrossKernels(sub(test), sub(train), net).gp;
  const y = new Float64Array(train.length * 2);
  train.forEach((i, r) => { y[2 * r] = f[0][i]; y[2 * r + 1] = f[1][i]; });

  it('recovers a function drawn from the kernel’s own GP and equals the posterior mean by Gaussian elimination', () => {
    const pred = kernelRegression(kTrain, kTestTrain, y, 2, 1e-9);
    const A = rows(kTrain).map((r, i) => r.map((v, j) => v + (i === j ? 1e-9 * v : 0)));
    for (let o = 0; o < 2; o++) {
      const alpha = gaussSolve(A, train.map((i) => f[o][i]));
      let err = 0, prior = 0, maxDev = 0, scale = 0;
      test.forEach((i, t) => {
        const mean = rows(kTestTrain)[t].reduce((s, k, j) => s + k * alpha[j], 0);
        maxDev = Math.max(maxDev, Math.abs(pred[2 * t + o] - mean));
        scale = Math.max(scale, Math.abs(mean));
        err += (pred[2 * t + o] - f[o][i]) ** 2;
        prior += f[o][i] ** 2;
      });
      expect(maxDev / scale).toBeLessThan(1e-6);
      expect(err / prior).toBeLessThan(0.2); // the prior mean (0) scores 1; here the posterior gets ≈ 0.05 // held-out error ≪ prior variance
    }
  });

  it('interpolates the training targets as the jitter goes to 0', () => {
    const errs = [1e-4, 1e-8, 1e-12].map((jitter) => {
      const pred = kernelRegression(kTrain, kTrain, y, 2, jitter);
      let m = 0;
      for (let e = 0; e < y.length; e++) m = Math.max(m, Math.abs(pred[e] - y[e]));
      return m;
    });
    expect(errs[1]).toBeLessThan(errs[0]);
    expect(errs[2]).toBeLessThan(errs[1]);
    expect(errs[2]).toBeLessThan(1e-4);
  });

  it('factors multi-block matrices exactly: L·Lᵀ = K + ε·diag K', () => {
    const q = points(3);
    const g = computeKernels(q, { fDepth: 3, gDepth: 2, zKernel: { type: 'rbf', gamma: 0.3 } }).hyperkernel;
    const N = g.rows, eps = 1e-6;
    const l = choleskyJittered(g, eps);
    let m = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k <= j; k++) s += l[i * N + k] * l[j * N + k];
        const want = g.data[i * N + j] * (i === j ? 1 + eps : 1);
        m = Math.max(m, Math.abs(s - want));
      }
    }
    expect(N).toBeGreaterThan(64);
    expect(m).toBeLessThan(1e-11);
  });

  it('refuses a Gram that is not positive definite', () => {
    const bad: Gram = { rows: 2, cols: 2, data: Float64Array.of(1, 2, 2, 1) };
    expect(() => kernelRegression(bad, bad, Float64Array.of(1, 2), 1, 0)).toThrow(NotPositiveDefiniteError);
  });
});
