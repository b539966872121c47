/**
 * Monte-Carlo checks of the analytic kernels against sampled wide networks (plain float64, seeded).
 */
import { describe, expect, it } from 'vitest';
import { computeKernels, type Gram, type PointSet, relFrob } from '../worker/kernels/index.js';
import { dot, gaussian, matTVec, matVec, naiveCholesky, normals, randomVectors, unit } from './helpers/kernels-mc.js';

/*
 * Noise: one sampled net's kernel fluctuates by O(√(depth/width)); the means below (width 512 × 48 nets for the MLP,
 * m = 1024 × 24 draws for g) land 1–4 % from the analytic kernels across seeds (KMC_SEED=… to try others), hence
 * the 5 % tolerance. The seed is fixed so the test is deterministic.
 */
const SEED = Number(process.env.KMC_SEED ?? 1);
const TOL = 0.05;
const seeds = (base: number, n: number) => Array.from({ length: n }, (_, i) => base + i);
/** relFrob restricted to pairs whose x differ (where exact and paper-code formulas differ structurally). */
function relFrobOffX(est: Gram, ref: Gram, xIdx: number[]): number {
  let num = 0, den = 0;
  const n = xIdx.length;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (xIdx[i] === xIdx[j]) continue;
    const e = i * n + j;
    num += (est.data[e] - ref.data[e]) ** 2;
    den += ref.data[e] ** 2;
  }
  return Math.sqrt(num / den);
}
const relu = (v: number) => (v > 0 ? v : 0);
const gram = (n: number, f: (i: number, j: number) => number): Gram => {
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = f(i, j);
  return { rows: n, cols: n, data };
};

/**
 * One sampled ReLU MLP in NTK parametrization (docs/kernels.md): a⁰ = input, aˡ = √(2/n)·relu(Wˡaˡ⁻¹), o = Wᴰaᴰ⁻¹, W ~ N(0,1).
 * Returns the empirical NNGP aᴰ⁻¹·aᴰ⁻¹′ and the empirical NTK Σ_l (δˡ·δˡ′)(aˡ⁻¹·aˡ⁻¹′) from explicit per-layer
 * gradients (δˡ = ∂o/∂(Wˡaˡ⁻¹)).
 */
function sampledMlp(inputs: number[][], depth: number, width: number, seed: number): { nngp: Gram; ntk: Gram } {
  const rng = gaussian(seed);
  const d = inputs[0].length, P = inputs.length;
  const dims = [d, ...new Array<number>(depth - 1).fill(width), 1];
  const W = dims.slice(1).map((out, l) => normals(rng, out * dims[l]));
  const acts: Float64Array[][] = [], pre: Float64Array[][] = [], deltas: Float64Array[][] = [];
  const c = Math.sqrt(2 / width);
  for (const x of inputs) {
    const a = [Float64Array.from(x)], h: Float64Array[] = [];
    for (let l = 0; l < depth - 1; l++) {
      const hl = matVec(W[l], width, dims[l], a[l], new Float64Array(width));
      h.push(hl);
      a.push(hl.map((v) => c * relu(v)));
    }
    // backward: δᴰ = 1; δˡ = √(2/n)·relu′(hˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹
    const del: Float64Array[] = new Array(depth);
    del[depth - 1] = Float64Array.of(1);
    for (let l = depth - 2; l >= 0; l--) {
      const back = matTVec(W[l + 1], dims[l + 2], dims[l + 1], del[l + 1], new Float64Array(width));
      del[l] = back.map((v, k) => (h[l][k] > 0 ? c * v : 0));
    }
    acts.push(a);
    pre.push(h);
    deltas.push(del);
  }
  const nngp = gram(P, (i, j) => dot(acts[i][depth - 1], acts[j][depth - 1]));
  const ntk = gram(P, (i, j) => {
    let s = 0;
    for (let l = 0; l < depth; l++) s += dot(deltas[i][l], deltas[j][l]) * dot(acts[i][l], acts[j][l]);
    return s;
  });
  return { nngp, ntk };
}

function mean(gs: Gram[]): Gram {
  const out = new Float64Array(gs[0].data.length);
  for (const g of gs) for (let i = 0; i < out.length; i++) out[i] += g.data[i] / gs.length;
  return { rows: gs[0].rows, cols: gs[0].cols, data: out };
}

describe('standard ReLU MLP kernels', () => {
  const rng = gaussian(101);
  const xs = randomVectors(rng, 5, 6);
  const zs = randomVectors(rng, 5, 3);

  it('Σ_f and Θ_f agree with sampled wide networks (H = 3, width 512, 48 nets)', () => {
    const runs = seeds(SEED, 48).map((s) => sampledMlp(xs.map(unit), 3, 512, s));
    const k = computeKernels({ x: xs, z: zs }, { fDepth: 3, gDepth: 1, zKernel: { type: 'linear' } });
    expect(relFrob(mean(runs.map((r) => r.nngp)), k.sigmaF)).toBeLessThan(TOL);
    expect(relFrob(mean(runs.map((r) => r.ntk)), k.thetaF)).toBeLessThan(TOL);
  });

  it('the MLP baseline (depth H + L on (x̂·x̂′ + ẑ·ẑ′)/2) agrees with a sampled net on [x̂, ẑ]/√2', () => {
    const inputs = xs.map((x, i) => [...unit(x), ...unit(zs[i])].map((v) => v / Math.SQRT2));
    const runs = seeds(SEED + 50, 48).map((s) => sampledMlp(inputs, 4, 512, s));
    const k = computeKernels({ x: xs, z: zs }, { fDepth: 2, gDepth: 2, zKernel: { type: 'linear' } });
    expect(relFrob(mean(runs.map((r) => r.nngp)), k.mlp.nngp)).toBeLessThan(TOL);
    expect(relFrob(mean(runs.map((r) => r.ntk)), k.mlp.ntk)).toBeLessThan(TOL);
  });
});

/**
 * The n → ∞ limit of f simulated exactly (docs/kernels.md): every weight entry of g is Gaussian jointly across the distinct
 * x with covariance Σ_f, so W(x_p) = Σ_q C[p][q]·Ξ_q with C = chol(Σ_f) and Ξ_q iid N(0, 1) matrices. g is finite
 * (width m). Per draw: K̂_GP(u, u′) = Σ_f(x, x′)·(bᴸ⁻¹·bᴸ⁻¹′) and K̂_g(u, u′) = ⟨∇_W g(u), ∇_W g(u′)⟩.
 */
function sampledHyper(
  xIdx: number[], zs: number[][], sigmaF: number[][], L: number, m: number, seed: number,
): { gp: Gram; kg: Gram } {
  const rng = gaussian(seed);
  const P = xIdx.length, X = sigmaF.length, dz = zs[0].length;
  const C = naiveCholesky(sigmaF);
  const dims = [dz, ...new Array<number>(L - 1).fill(m), 1];
  // Ξ[l][q], then W[l][p] = Σ_q C[p][q] Ξ[l][q]
  const W: Float64Array[][] = [];
  for (let l = 0; l < L; l++) {
    const size = dims[l + 1] * dims[l];
    const xi = Array.from({ length: X }, () => normals(rng, size));
    W.push(
      Array.from({ length: X }, (_, p) => {
        const w = new Float64Array(size);
        for (let q = 0; q <= p; q++) {
          const cpq = C[p][q];
          if (cpq !== 0) for (let e = 0; e < size; e++) w[e] += cpq * xi[q][e];
        }
        return w;
      }),
    );
  }
  const c = Math.sqrt(2 / m);
  const acts: Float64Array[][] = [], deltas: Float64Array[][] = [];
  for (let i = 0; i < P; i++) {
    const p = xIdx[i];
    const b = [Float64Array.from(unit(zs[i]))], h: Float64Array[] = [];
    for (let l = 0; l < L - 1; l++) {
      const hl = matVec(W[l][p], m, dims[l], b[l], new Float64Array(m));
      h.push(hl);
      b.push(hl.map((v) => c * relu(v)));
    }
    const del: Float64Array[] = new Array(L);
    del[L - 1] = Float64Array.of(1);
    for (let l = L - 2; l >= 0; l--) {
      const back = matTVec(W[l + 1][p], dims[l + 2], dims[l + 1], del[l + 1], new Float64Array(m));
      del[l] = back.map((v, k) => (h[l][k] > 0 ? c * v : 0));
    }
    acts.push(b);
    deltas.push(del);
  }
  const gp = gram(P, (i, j) => sigmaF[xIdx[i]][xIdx[j]] * dot(acts[i][L - 1], acts[j][L - 1]));
  const kg = gram(P, (i, j) => {
    let s = 0;
    for (let l = 0; l < L; l++) s += dot(deltas[i][l], deltas[j][l]) * dot(acts[i][l], acts[j][l]);
    return s;
  });
  return { gp, kg };
}

describe('hypernetwork kernels, n = ∞ simulated exactly, m = 1024', () => {
  const rng = gaussian(202);
  const distinct = randomVectors(rng, 3, 6);
  const xIdx = [0, 0, 1, 1, 2, 2, 0];
  const points: PointSet = { x: xIdx.map((p) => distinct[p]), z: randomVectors(rng, xIdx.length, 3) };
  const zs = points.z.map((v) => Array.from(v));

  for (const L of [2, 3]) {
    it(`K_GP and Θ_h = Θ_f ⊙ K_g agree within a few % (H = 3, L = ${L}) and sit farther from paper-code`, () => {
      const net = { fDepth: 3, gDepth: L, zKernel: { type: 'linear' } as const };
      const exact = computeKernels(points, net);
      const paper = computeKernels(points, net, 'paper-code');
      const sf = [0, 2, 4].map((i) => [0, 2, 4].map((j) => exact.sigmaF.data[i * xIdx.length + j]));
      const runs = seeds(SEED + 1000 * L, 24).map((s) => sampledHyper(xIdx, zs, sf, L, 1024, s));
      const gp = mean(runs.map((r) => r.gp));
      const kg = mean(runs.map((r) => r.kg));
      const hk: Gram = { ...kg, data: kg.data.map((v, e) => v * exact.thetaF.data[e]) };
      const dGp = relFrob(gp, exact.gp), dHk = relFrob(hk, exact.hyperkernel);
      expect(dGp).toBeLessThan(TOL);
      expect(dHk).toBeLessThan(TOL);
      // where x ≠ x′ the code's formulas are off by 20–60 % (18–36 % on the paper's own experiments)
      const offExact = [relFrobOffX(gp, exact.gp, xIdx), relFrobOffX(hk, exact.hyperkernel, xIdx)];
      const offPaper = [relFrobOffX(gp, paper.gp, xIdx), relFrobOffX(hk, paper.hyperkernel, xIdx)];
      expect(offPaper[0]).toBeGreaterThan(Math.max(0.3, 4 * offExact[0]));
      expect(offPaper[1]).toBeGreaterThan(Math.max(0.15, 4 * offExact[1]));
    });
  }
});
