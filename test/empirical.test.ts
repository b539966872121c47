import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../worker/backend/index.js';
import {
  empiricalGp,
  empiricalNtk,
  empiricalNtkAsync,
  empiricalNtkNaive,
  kernelAgreement,
  monteCarloGp,
  ntkMovement,
  type ProbePoints,
} from '../worker/model/empirical.js';
import { computeKernels, relFrob, type Gram } from '../worker/kernels/index.js';
import { createHyperNet, forwardTrace, gaussianArray, train, type HyperNetSpec } from '../worker/model/index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

function randomProbe(P: number, dx: number, dz: number, seed: number): ProbePoints {
  return {
    x: tf.tensor2d(gaussianArray(P * dx, seed), [P, dx]),
    z: tf.tensor2d(gaussianArray(P * dz, seed + 1), [P, dz]),
  };
}

/**
 * 4 distinct x's × 2 shared z's, correlated (a common direction plus noise): pairs with x ≠ x' and Σ_f < 1 are
 * where the exact hyperkernel and the paper-code one differ most (they agree when x = x').
 */
function gridProbe(d: number, seed: number): ProbePoints {
  const bx = gaussianArray(d, seed);
  const bz = gaussianArray(d, seed + 1);
  const xs: number[] = [];
  const zs: number[] = [];
  for (let i = 0; i < 8; i++) {
    const nx = gaussianArray(d, seed + 10 + (i >> 1));
    const nz = gaussianArray(d, seed + 20 + (i & 1));
    for (let j = 0; j < d; j++) {
      xs.push(bx[j] + nx[j]);
      zs.push(bz[j] + nz[j]);
    }
  }
  return { x: tf.tensor2d(xs, [8, d]), z: tf.tensor2d(zs, [8, d]) };
}

const asPoints = (p: ProbePoints) => ({ x: p.x.arraySync() as number[][], z: p.z.arraySync() as number[][] });
const analytic = (p: ProbePoints, H: number, L: number, mode: 'exact' | 'paper-code') =>
  computeKernels(asPoints(p), { fDepth: H, gDepth: L, zKernel: { type: 'linear' } }, mode);

function meanGram(grams: Gram[]): Gram {
  const out = new Float64Array(grams[0].data.length);
  for (const g of grams) g.data.forEach((v, i) => (out[i] += v / grams.length));
  return { rows: grams[0].rows, cols: grams[0].cols, data: out };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('structured empirical NTK', () => {
  const cases: [number, number, number][] = [[3, 2, 1], [1, 1, 1], [1, 2, 1], [3, 1, 1], [2, 3, 2], [1, 1, 3]];
  for (const [H, L, k] of cases) {
    it(`equals the naive per-sample-gradient NTK (H=${H}, L=${L}, k=${k})`, async () => {
      const spec = { dx: 5, dz: 3, n: 12, H, m: 7, L, k };
      const net = createHyperNet(spec, 3);
      const probe = randomProbe(5, 5, 3, 9);
      const before = tf.memory().numTensors;
      const structured = empiricalNtk(net, probe);
      const viaAsync = await empiricalNtkAsync(net, probe);
      const naive = await empiricalNtkNaive(net, probe, 3); // small blocks: exercises the block-pair assembly
      expect(tf.memory().numTensors).toBe(before);
      expect(structured.rows).toBe(5);
      expect(relFrob(structured, naive)).toBeLessThan(1e-5);
      expect(viaAsync).toEqual(structured);
      net.dispose();
      tf.dispose([probe.x, probe.z]);
    });
  }

  it('averaged over 16 wide networks is within 10 % of the exact hyperkernel and clearly farther from paper-code', () => {
    const H = 2, L = 2, d = 16;
    const probe = gridProbe(d, 5);
    const exact = analytic(probe, H, L, 'exact');
    const paper = analytic(probe, H, L, 'paper-code');
    // the two analytic kernels must differ on these points for the test to mean anything
    expect(relFrob(paper.hyperkernel, exact.hyperkernel)).toBeGreaterThan(0.08);
    const spec = { dx: d, dz: d, n: 1024, H, m: 512, L, k: 1 };
    const ntks: Gram[] = [];
    const gps: Gram[] = [];
    for (let s = 0; s < 16; s++) {
      const net = createHyperNet(spec, 500 + s);
      ntks.push(empiricalNtk(net, probe));
      gps.push(empiricalGp(net, probe));
      net.dispose();
    }
    const ntk = meanGram(ntks);
    const gp = meanGram(gps);
    const dExact = relFrob(ntk, exact.hyperkernel);
    const dPaper = relFrob(ntk, paper.hyperkernel);
    expect(dExact).toBeLessThan(0.1);
    expect(dPaper).toBeGreaterThan(1.5 * dExact);
    // diagonal identity Θ_h(u,u) = H·L
    for (let i = 0; i < 8; i++) expect(ntk.data[i * 9]).toBeGreaterThan(0.85 * H * L);
    for (let i = 0; i < 8; i++) expect(ntk.data[i * 9]).toBeLessThan(1.15 * H * L);
    // GP: single-network estimates average to K_GP; the paper-code GP kernel is far off
    expect(relFrob(gp, exact.gp)).toBeLessThan(0.1);
    expect(relFrob(gp, paper.gp)).toBeGreaterThan(0.2);
    tf.dispose([probe.x, probe.z]);
  });

  it('at fixed small m, does not approach Θ_h as n grows 4×; with n and m growing together it does', () => {
    const probe = randomProbe(8, 8, 8, 21);
    const exact = analytic(probe, 3, 2, 'exact');
    const dist = (n: number, m: number, seeds: number) => {
      const d: number[] = [];
      for (let s = 0; s < seeds; s++) {
        const net = createHyperNet({ dx: 8, dz: 8, n, H: 3, m, L: 2, k: 1 }, 900 + s);
        d.push(relFrob(empiricalNtk(net, probe), exact.hyperkernel));
        net.dispose();
      }
      return mean(d);
    };
    const small = dist(64, 4, 32);
    const wideF = dist(256, 4, 32);
    // plateau: g's randomness (m) dominates. Pure width^(−1/2) decay in n would give a ratio of 0.5.
    expect(wideF).toBeGreaterThan(0.7 * small);
    const both0 = dist(64, 16, 8);
    const both1 = dist(1024, 256, 8);
    expect(both1).toBeLessThan(0.5 * both0); // ~ width^(−1/2): 16× width → ~4× closer
    tf.dispose([probe.x, probe.z]);
  });
});

describe('the forward pass at large width', () => {
  it('keeps unit activations on average and its last hidden Gram matches Σ_f (8 nets, n = 2048)', () => {
    const probe = gridProbe(8, 71);
    const exact = analytic(probe, 3, 2, 'exact');
    const grams: Gram[] = [];
    for (let s = 0; s < 8; s++) {
      const net = createHyperNet({ dx: 8, dz: 8, n: 2048, H: 3, m: 8, L: 2, k: 1 }, 40 + s);
      const sigma = tf.tidy(() => {
        const top = forwardTrace(net, probe.x, probe.z).top;
        return tf.matMul(top, tf.transpose(top)) as tf.Tensor2D;
      });
      grams.push({ rows: 8, cols: 8, data: Float64Array.from(sigma.dataSync()) });
      sigma.dispose();
      net.dispose();
    }
    const est = meanGram(grams);
    // one net's ‖a²‖² has sd ≈ √(2·5/n) ≈ 0.07 at n = 2048; the mean of 8 about 0.025
    for (let i = 0; i < 8; i++) expect(Math.abs(est.data[i * 9] - 1)).toBeLessThan(0.08); // diag Σ_f = 1
    expect(relFrob(est, exact.sigmaF)).toBeLessThan(0.05);
    tf.dispose([probe.x, probe.z]);
  });
});

describe('empirical GP kernel', () => {
  it('Monte-Carlo mean of h(u)h(u′) over inits approaches K_GP, not the paper-code GP kernel', () => {
    const probe = gridProbe(8, 31);
    const exact = analytic(probe, 3, 2, 'exact');
    const paper = analytic(probe, 3, 2, 'paper-code');
    const spec: HyperNetSpec = { dx: 8, dz: 8, n: 128, H: 3, m: 64, L: 2, k: 4 };
    const mc = monteCarloGp(spec, probe, Array.from({ length: 150 }, (_, i) => i));
    const dExact = relFrob(mc, exact.gp);
    expect(dExact).toBeLessThan(0.2);
    expect(relFrob(mc, paper.gp)).toBeGreaterThan(1.5 * dExact);
    tf.dispose([probe.x, probe.z]);
  });
});

describe('agreement metrics', () => {
  it('are zero distance / unit alignment for the analytic kernels themselves', () => {
    const probe = randomProbe(6, 4, 3, 41);
    const exact = analytic(probe, 2, 2, 'exact');
    const paper = analytic(probe, 2, 2, 'paper-code');
    const a = kernelAgreement(exact.hyperkernel, exact.gp, exact, paper);
    expect(a.ntkRelFrob).toBe(0);
    expect(a.gpRelFrob).toBe(0);
    expect(a.ntkAlignment).toBeCloseTo(1, 12);
    expect(a.gpAlignment).toBeCloseTo(1, 12);
    expect(a.paperCodeNtkRelFrob).toBeCloseTo(relFrob(exact.hyperkernel, paper.hyperkernel), 12);
    tf.dispose([probe.x, probe.z]);
  });

  it('measure NTK movement in training without leaking tensors; narrow g moves more than wide g', async () => {
    const probe = randomProbe(6, 8, 4, 51);
    const x = tf.tensor2d(gaussianArray(32 * 8, 61), [32, 8]);
    const z = tf.tensor2d(gaussianArray(32 * 4, 62), [32, 4]);
    const y = tf.tensor2d(gaussianArray(32, 63), [32, 1]);
    const before = tf.memory().numTensors;
    const movement = async (m: number) => {
      const moves: number[] = [];
      for (let s = 0; s < 3; s++) {
        const net = createHyperNet({ dx: 8, dz: 4, n: 256, H: 3, m, L: 2, k: 1 }, 70 + s);
        const t0 = empiricalNtk(net, probe);
        const r = await train(net, { x, z, y }, { optimizer: 'gd', lr: 0.3, steps: 100, batchSize: 0, loss: 'mse', logEvery: 50, seed: 0 });
        expect(r.status).toBe('completed');
        moves.push(ntkMovement(t0, empiricalNtk(net, probe)));
        empiricalGp(net, probe);
        net.dispose();
      }
      return mean(moves);
    };
    const narrow = await movement(4);
    const wide = await movement(256);
    expect(tf.memory().numTensors).toBe(before);
    expect(wide).toBeGreaterThan(0);
    expect(narrow).toBeGreaterThan(2 * wide);
    tf.dispose([x, z, y, probe.x, probe.z]);
  });
});
