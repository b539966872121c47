/**
 * Analytic kernels against identities and naive per-entry evaluations of docs/kernels.md's formulas (the engine runs
 * them as tiled per-layer maps with deduped x; these tests recompute entry by entry, in sum-of-products form).
 */
import { describe, expect, it } from 'vitest';
import {
  ALL_KERNELS,
  at,
  computeCrossKernels,
  computeKernels,
  type Gram,
  kappa0,
  kappa1,
  kernelGrams,
  type NetSpec,
  type PointSet,
  type ZKernelSpec,
} from '../worker/kernels/index.js';
import { dot, gaussian, randomVectors, unit } from './helpers/kernels-mc.js';

const maxAbsDiff = (a: Gram, b: Gram): number => {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
};

function kz(spec: ZKernelSpec, a: number[], b: number[]): number {
  if (spec.type === 'linear') return dot(unit(a), unit(b));
  if (spec.type === 'dot') return dot(a, b);
  let s = 0;
  for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
  return Math.exp(-spec.gamma * s);
}

/** Standard ReLU NNGP/NTK, `depth` weight layers, from an input covariance (a, c, b). */
function standardNaive(a: number, c: number, b: number, depth: number): { nngp: number; ntk: number } {
  let s = c, t = c;
  for (let l = 1; l < depth; l++) {
    const sd = kappa0(a, s, b);
    s = kappa1(a, s, b); // κ1 keeps the diagonal: a and b stay
    t = t * sd + s;
  }
  return { nngp: s, ntk: t };
}

/** Exact hypernetwork kernels at one pair, in docs/kernels.md's product form. */
function hyperNaive(
  sf: number, sfa: number, sfb: number, tf: number, k: number, ka: number, kb: number, L: number,
): { gp: number; kg: number; hk: number } {
  const S = [NaN, sf * k], Sa = [NaN, sfa * ka], Sb = [NaN, sfb * kb];
  const F = [k], D = [NaN];
  for (let l = 1; l <= L - 1; l++) {
    D[l] = kappa0(Sa[l], S[l], Sb[l]);
    F[l] = kappa1(Sa[l], S[l], Sb[l]);
    S[l + 1] = sf * F[l];
    Sa[l + 1] = sfa * Sa[l];
    Sb[l + 1] = sfb * Sb[l];
  }
  let kg = 0;
  for (let l = 1; l <= L; l++) {
    let p = F[l - 1];
    for (let q = l; q <= L - 1; q++) p *= sf * D[q];
    kg += p;
  }
  return { gp: S[L], kg, hk: tf * kg };
}

/** Every kernel entry by the naive route. */
function naiveKernels(p: PointSet, q: PointSet, net: NetSpec) {
  const H = net.fDepth, L = net.gDepth;
  const n1 = p.x.length, n2 = q.x.length;
  const out = { sigmaF: [] as number[], thetaF: [] as number[], gp: [] as number[], hk: [] as number[], mlpNngp: [] as number[], mlpNtk: [] as number[] };
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      const xa = unit(p.x[i]), xb = unit(q.x[j]);
      const xab = dot(xa, xb), xaa = dot(xa, xa), xbb = dot(xb, xb);
      const f = standardNaive(xaa, xab, xbb, H);
      const fa = standardNaive(xaa, xaa, xaa, H), fb = standardNaive(xbb, xbb, xbb, H);
      const za = Array.from(p.z[i]), zb = Array.from(q.z[j]);
      const k = kz(net.zKernel, za, zb), ka = kz(net.zKernel, za, za), kb = kz(net.zKernel, zb, zb);
      const h = hyperNaive(f.nngp, fa.nngp, fb.nngp, f.ntk, k, ka, kb, L);
      const m = standardNaive((xaa + ka) / 2, (xab + k) / 2, (xbb + kb) / 2, H + L);
      out.sigmaF.push(f.nngp); out.thetaF.push(f.ntk); out.gp.push(h.gp); out.hk.push(h.hk);
      out.mlpNngp.push(m.nngp); out.mlpNtk.push(m.ntk);
    }
  }
  return out;
}

function closeArrays(got: Float64Array, want: number[], tol: number): void {
  expect(got.length).toBe(want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(m).toBeLessThan(tol);
}

/** Points whose x repeat (several z per x), as in image completion. */
function sharedXPoints(seed: number, distinct: number, perX: number, dx: number, dz: number): { x: number[][]; z: number[][] } {
  const rng = gaussian(seed);
  const xs = randomVectors(rng, distinct, dx);
  const x: number[][] = [], z: number[][] = [];
  for (let r = 0; r < perX; r++) {
    for (let d = 0; d < distinct; d++) {
      x.push([...xs[d]]); // equal by value, distinct arrays: dedupe must go by value
      z.push(Array.from({ length: dz }, () => rng()));
    }
  }
  return { x, z };
}

describe('ReLU dual maps', () => {
  it('κ1 equals 2·E[relu(u)relu(v)] by 2-D quadrature', () => {
    for (const [a, c, b] of [[1, 0.3, 1], [2, -1.1, 0.9], [0.5, 0.49, 0.6], [1.3, 0, 0.7]]) {
      const rho = c / Math.sqrt(a * b), h = 0.02;
      let s = 0;
      for (let g1 = -8 + h / 2; g1 < 8; g1 += h) {
        for (let g2 = -8 + h / 2; g2 < 8; g2 += h) {
          const u = Math.sqrt(a) * g1, v = Math.sqrt(b) * (rho * g1 + Math.sqrt(1 - rho * rho) * g2);
          if (u > 0 && v > 0) s += u * v * Math.exp(-(g1 * g1 + g2 * g2) / 2);
        }
      }
      const quad = (2 * s * h * h) / (2 * Math.PI);
      expect(Math.abs(kappa1(a, c, b) - quad)).toBeLessThan(2e-4);
    }
  });

  it('κ0 equals 2·P(u > 0, v > 0) (Sheppard: 1/2 + asin(ρ)/π)', () => {
    for (const rho of [-0.99, -0.5, 0, 0.2, 0.7, 0.999]) {
      expect(kappa0(2, 2 * rho, 2)).toBeCloseTo(0.5 + Math.asin(rho) / Math.PI, 14);
    }
  });

  it('is a on the diagonal for κ1 and 1 for κ0, and clips ρ past ±1 instead of returning NaN', () => {
    expect(kappa1(1.7, 1.7, 1.7)).toBeCloseTo(1.7, 14);
    expect(kappa0(1.7, 1.7, 1.7)).toBe(1);
    expect(kappa1(1, 1 + 1e-12, 1)).toBeCloseTo(1, 12);
    expect(kappa0(1, -1 - 1e-12, 1)).toBe(0);
    expect(kappa1(1, -1 - 1e-12, 1)).toBe(0);
  });
});

describe('exact kernels', () => {
  const zKernels: ZKernelSpec[] = [{ type: 'linear' }, { type: 'rbf', gamma: 0.3 }];

  it('equal H·L on the diagonal of Θ_h for unit inputs (and H for Θ_f, 1 for K_GP)', () => {
    for (const zKernel of zKernels) {
      for (const [H, L] of [[1, 1], [2, 1], [1, 3], [3, 3], [4, 2]]) {
        const p = sharedXPoints(H * 10 + L, 4, 3, 5, 2);
        const k = computeKernels(p, { fDepth: H, gDepth: L, zKernel });
        for (let i = 0; i < 12; i++) {
          expect(at(k.hyperkernel, i, i)).toBeCloseTo(H * L, 12);
          expect(at(k.thetaF, i, i)).toBeCloseTo(H, 12);
          expect(at(k.gp, i, i)).toBeCloseTo(1, 12);
          expect(at(k.mlp.ntk, i, i)).toBeCloseTo(H + L, 12);
        }
      }
    }
  });

  it('at x = x′ Θ_h equals Θ_f(x, x) times the standard NTK of g', () => {
    const rng = gaussian(7);
    const x0 = randomVectors(rng, 1, 6)[0];
    const z = randomVectors(rng, 9, 3);
    const p: PointSet = { x: z.map(() => x0), z };
    for (const [H, L] of [[2, 2], [3, 3], [1, 4]]) {
      const k = computeKernels(p, { fDepth: H, gDepth: L, zKernel: { type: 'linear' } });
      for (let i = 0; i < 9; i++) {
        for (let j = 0; j < 9; j++) {
          const zi = unit(z[i]), zj = unit(z[j]);
          const g = standardNaive(1, dot(zi, zj), 1, L);
          expect(at(k.hyperkernel, i, j)).toBeCloseTo(H * g.ntk, 12);
          expect(at(k.gp, i, j)).toBeCloseTo(g.nngp, 12);
        }
      }
    }
  });

  it('reduces to K_GP = Σ_f·K_z and Θ_h = Θ_f·K_z for L = 1', () => {
    const p = sharedXPoints(3, 5, 2, 4, 2);
    const k = computeKernels(p, { fDepth: 3, gDepth: 1, zKernel: { type: 'rbf', gamma: 0.5 } });
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 10; j++) {
        const kzij = kz({ type: 'rbf', gamma: 0.5 }, Array.from(p.z[i]), Array.from(p.z[j]));
        expect(at(k.gp, i, j)).toBeCloseTo(at(k.sigmaF, i, j) * kzij, 13);
        expect(at(k.hyperkernel, i, j)).toBeCloseTo(at(k.thetaF, i, j) * kzij, 13);
      }
    }
  });

  it('matches a naive per-entry evaluation for all kernels, z kernels and depths', () => {
    const dotZ = (seed: number): PointSet => {
      const p = sharedXPoints(seed, 4, 3, 5, 3);
      return { x: p.x, z: p.z.map((v) => v.map((t) => 0.6 * t)) };
    };
    for (const zKernel of [...zKernels, { type: 'dot' } as ZKernelSpec]) {
      for (const [H, L] of [[1, 1], [2, 3], [3, 2], [4, 4]]) {
        const p = zKernel.type === 'dot' ? dotZ(H + 5 * L) : sharedXPoints(H + 5 * L, 4, 3, 5, 3);
        const net = { fDepth: H, gDepth: L, zKernel };
        const k = computeKernels(p, net);
        const want = naiveKernels(p, p, net);
        closeArrays(k.sigmaF.data, want.sigmaF, 1e-12);
        closeArrays(k.thetaF.data, want.thetaF, 1e-12);
        closeArrays(k.gp.data, want.gp, 1e-12);
        closeArrays(k.hyperkernel.data, want.hk, 1e-12);
        closeArrays(k.mlp.nngp.data, want.mlpNngp, 1e-12);
        closeArrays(k.mlp.ntk.data, want.mlpNtk, 1e-12);
      }
    }
  });

  it('matches the naive evaluation for high-dimensional x (the SIMD x̂·x̂′ path, odd dimension)', () => {
    const p = sharedXPoints(77, 9, 2, 101, 2);
    const net: NetSpec = { fDepth: 3, gDepth: 2, zKernel: { type: 'rbf', gamma: 0.4 } };
    const k = computeKernels(p, net);
    const want = naiveKernels(p, p, net);
    closeArrays(k.sigmaF.data, want.sigmaF, 1e-12);
    closeArrays(k.hyperkernel.data, want.hk, 1e-12);
    closeArrays(k.mlp.ntk.data, want.mlpNtk, 1e-12);
    const q = sharedXPoints(78, 5, 1, 101, 2);
    const c = computeCrossKernels(p, q, net);
    const wantC = naiveKernels(p, q, net);
    closeArrays(c.thetaF.data, wantC.thetaF, 1e-12);
    closeArrays(c.hyperkernel.data, wantC.hk, 1e-12);
  });

  it('gives the same Grams for any tile size, and cross kernels equal blocks of the joint Gram', () => {
    const p = sharedXPoints(11, 7, 11, 6, 2);
    const net: NetSpec = { fDepth: 3, gDepth: 3, zKernel: { type: 'rbf', gamma: 0.7 } };
    const ref = kernelGrams(p, null, net, 'exact', ALL_KERNELS).grams;
    for (const tile of [1, 5, 13]) {
      const g = kernelGrams(p, null, net, 'exact', ALL_KERNELS, tile).grams;
      for (const name of ALL_KERNELS) expect(maxAbsDiff(g[name]!, ref[name]!)).toBeLessThan(1e-14);
    }
    const a: PointSet = { x: p.x.slice(0, 30), z: p.z.slice(0, 30) };
    const b: PointSet = { x: p.x.slice(30), z: p.z.slice(30) };
    for (const mode of ['exact', 'paper-code'] as const) {
      const joint = computeKernels(p, net, mode);
      const cross = computeCrossKernels(a, b, net, mode);
      expect([cross.hyperkernel.rows, cross.hyperkernel.cols]).toEqual([30, p.x.length - 30]);
      let m = 0;
      for (let i = 0; i < 30; i++) {
        for (let j = 0; j < p.x.length - 30; j++) {
          m = Math.max(m, Math.abs(at(cross.hyperkernel, i, j) - at(joint.hyperkernel, i, 30 + j)));
          m = Math.max(m, Math.abs(at(cross.gp, i, j) - at(joint.gp, i, 30 + j)));
          m = Math.max(m, Math.abs(at(cross.mlp.ntk, i, j) - at(joint.mlp.ntk, i, 30 + j)));
        }
      }
      expect(m).toBeLessThan(1e-13);
    }
  });

  it('is symmetric and treats x rows equal by value (including −0) as one x', () => {
    const p: PointSet = {
      x: [[1, 0, 2], [1, -0, 2], [0.5, 1, 0]],
      z: [[1, 2], [1, 2], [0, 1]],
    };
    const k = computeKernels(p, { fDepth: 2, gDepth: 2, zKernel: { type: 'linear' } });
    expect(at(k.sigmaF, 0, 1)).toBe(at(k.sigmaF, 0, 0));
    expect(at(k.hyperkernel, 0, 1)).toBeCloseTo(4, 12); // same x, same z: the diagonal value H·L
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(at(k.hyperkernel, i, j)).toBe(at(k.hyperkernel, j, i));
  });
});

/** The official code's kernels as docs/kernels.md describes them, per entry. */
function paperNaive(xa: number[], xb: number[], k: number, H: number, L: number): { sf: number; tf: number; gp: number; hk: number } {
  const shrink = (r: number) => Math.sign(r) * (Math.abs(r) - 1e-4);
  const k1 = (c: number) => {
    const r = shrink(c);
    return (r * (Math.PI - Math.acos(r)) + Math.sqrt(Math.abs(1 - r * r))) / Math.PI;
  };
  const k0 = (c: number) => (Math.PI - Math.acos(shrink(c))) / Math.PI;
  const S = [dot(unit(xa), unit(xb))], Sd: number[] = [];
  for (let i = 1; i <= H - 1; i++) { Sd[i] = k0(S[i - 1]); S[i] = k1(S[i - 1]); }
  let tf = 0;
  for (let i = 0; i <= H - 1; i++) { let p = S[i]; for (let j = i + 1; j <= H - 1; j++) p *= Sd[j]; tf += p; }
  const sf = S[H - 1];
  const F = [k], D: number[] = [];
  for (let i = 1; i <= L - 1; i++) { D[i] = k0(F[i - 1] * sf); F[i] = k1(F[i - 1] * sf); }
  let kg = 0;
  for (let i = 0; i <= L - 1; i++) { let p = F[i]; for (let j = i + 1; j <= L - 1; j++) p *= D[j]; kg += p; }
  return { sf, tf, gp: F[L - 1], hk: tf * kg };
}

describe('paper-code mode', () => {
  it('matches a per-entry transcription of the official code’s recursion (shrink, no Σ_f in backward or GP)', () => {
    const p = sharedXPoints(21, 5, 3, 6, 2);
    // the official g input: RBF on raw integer pixel coordinates, exp(−‖z − z′‖²/4)
    const z = p.z.map((v) => v.map((t) => Math.round(5 * t)));
    for (const [H, L] of [[3, 3], [2, 1], [3, 4]]) {
      const k = computeKernels({ x: p.x, z }, { fDepth: H, gDepth: L, zKernel: { type: 'rbf', gamma: 0.25 } }, 'paper-code');
      expect(k.mode).toBe('paper-code');
      const n = p.x.length;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const kzij = kz({ type: 'rbf', gamma: 0.25 }, z[i], z[j]);
          const want = paperNaive(p.x[i], p.x[j], kzij, H, L);
          expect(at(k.sigmaF, i, j)).toBeCloseTo(want.sf, 12);
          expect(at(k.thetaF, i, j)).toBeCloseTo(want.tf, 12);
          expect(at(k.gp, i, j)).toBeCloseTo(want.gp, 12);
          expect(at(k.hyperkernel, i, j)).toBeCloseTo(want.hk, 11);
        }
      }
    }
  });

  it('agrees with exact mode within 2 % when x = x′ and differs by far more when x ≠ x′', () => {
    const rng = gaussian(5);
    const z = randomVectors(rng, 12, 2).map((v) => v.map((t) => Math.round(4 * t)));
    const x0 = randomVectors(rng, 1, 8)[0];
    const net: NetSpec = { fDepth: 3, gDepth: 3, zKernel: { type: 'rbf', gamma: 0.25 } };
    const same = { x: z.map(() => x0), z };
    const relDiff = (a: Gram, b: Gram) => {
      let num = 0, den = 0;
      for (let i = 0; i < a.data.length; i++) { num += (a.data[i] - b.data[i]) ** 2; den += b.data[i] ** 2; }
      return Math.sqrt(num / den);
    };
    const e1 = computeKernels(same, net), p1 = computeKernels(same, net, 'paper-code');
    expect(relDiff(p1.hyperkernel, e1.hyperkernel)).toBeLessThan(0.02);
    expect(relDiff(p1.gp, e1.gp)).toBeLessThan(0.02);
    const diff = { x: randomVectors(rng, 12, 8), z };
    const e2 = computeKernels(diff, net), p2 = computeKernels(diff, net, 'paper-code');
    // at x = x′ only the 1e−4 shrink separates them (≈1.4 % on Θ_h here); with distinct x the missing Σ_f factors
    // dominate: the code's GP kernel lacks the final Σ_f entirely.
    expect(relDiff(p2.gp, e2.gp)).toBeGreaterThan(10 * relDiff(p1.gp, e1.gp) + 0.1);
    expect(relDiff(p2.hyperkernel, e2.hyperkernel)).toBeGreaterThan(2 * relDiff(p1.hyperkernel, e1.hyperkernel));
  });
});
