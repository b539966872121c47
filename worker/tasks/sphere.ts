/**
 * Task `sphere`: x uniform on S^{dx−1}, z uniform on S^{dz−1} (or its random Fourier features); targets i.i.d.
 * N(0, 1) or the output of a fixed random teacher hypernetwork (f: dx → 32 → N_g, g: dz → 16 → k, NTK scaling,
 * unit-variance outputs), all seeded.
 */
import { dataSeedOf, type TrialConfig } from '../../core/config.js';
import { createRff, rffApply } from './rff.js';
import { createRng, type Rng } from './rng.js';
import type { TaskData, TaskSplit } from './types.js';

const TEACHER_F_WIDTH = 32;
const TEACHER_G_WIDTH = 16;

function unitVector(rng: Rng, d: number): Float32Array {
  const v = new Float64Array(d);
  let sq = 0;
  while (sq === 0) {
    sq = 0;
    for (let i = 0; i < d; i++) {
      v[i] = rng.normal();
      sq += v[i] * v[i];
    }
  }
  const inv = 1 / Math.sqrt(sq);
  return Float32Array.from(v, (t) => t * inv);
}

/** W·v for a rows × cols row-major block of `w` starting at `offset`, each output mapped by `act`. */
function matVec(w: Float64Array, offset: number, rows: number, cols: number, v: ArrayLike<number>, act: (s: number) => number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += w[offset + i * cols + j] * v[j];
    out[i] = act(s);
  }
  return out;
}

/** A fixed random hypernetwork in float64: h(x, z) ∈ R^k. */
function makeTeacher(seed: number, dx: number, dz: number, k: number): (x: Float32Array, z: Float32Array) => Float64Array {
  const rng = createRng(seed, 'sphere-teacher');
  const n = TEACHER_F_WIDTH, m = TEACHER_G_WIDTH, ng = m * dz + k * m;
  const w1 = Float64Array.from({ length: n * dx }, () => rng.normal());
  const w2 = Float64Array.from({ length: ng * n }, () => rng.normal());
  const reluF = (s: number) => Math.sqrt(2 / n) * Math.max(s, 0);
  const reluG = (s: number) => Math.sqrt(2 / m) * Math.max(s, 0);
  const linear = (s: number) => s;
  return (x, z) => {
    const a = matVec(w1, 0, n, dx, x, reluF); // f's hidden layer
    const o = matVec(w2, 0, ng, n, a, linear); // f's output: all of g's weights
    const b = matVec(o, 0, m, dz, z, reluG); // g's hidden layer
    return matVec(o, m * dz, k, m, b, linear); // g's output
  };
}

export function sphereTask(config: TrialConfig): TaskData {
  const dataSeed = dataSeedOf(config);
  const { dx, dz: dzRaw } = config.data;
  const k = config.g.outputs;
  const rff = config.g.input === 'rff' ? createRff(dzRaw, config.g.rffFeatures, config.g.rffGamma, dataSeed) : null;
  const dz = rff ? rff.features : dzRaw;
  const teacher = config.data.target === 'teacher' ? makeTeacher(dataSeed, dx, dzRaw, k) : null;
  const make = (n: number, stream: string): TaskSplit => {
    const rng = createRng(dataSeed, stream);
    const targets = createRng(dataSeed, `${stream}-targets`);
    const xRows: Float32Array[] = [];
    const z = new Float32Array(n * dz);
    const y = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      const x = unitVector(rng, dx);
      const zi = unitVector(rng, dzRaw);
      xRows.push(x);
      z.set(rff ? rffApply(rff, zi) : zi, i * dz);
      if (teacher) y.set(teacher(x, zi), i * k);
      else for (let q = 0; q < k; q++) y[i * k + q] = targets.normal();
    }
    return { n, xRows, xIndex: Int32Array.from({ length: n }, (_, i) => i), z, y };
  };
  return {
    task: 'sphere',
    dx,
    dz,
    k,
    train: make(config.data.nTrain, 'sphere-train'),
    test: make(config.data.nTest, 'sphere-test'),
    zInput: config.g.input,
  };
}
