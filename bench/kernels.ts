/**
 * `npm run bench:kernels`: wall time and entries/s of the exact hyperkernel Gram in two shapes, against a vectorised
 * numpy float64 implementation of the same formulas (bench/kernels_numpy.py) when python3 + numpy are present.
 *
 * Then, on each shape's Gram, the kernel-regression solve (K + ε·diag K)⁻¹·y (ε = 1e−9): hypersweep's native
 * blocked Cholesky against numpy's np.linalg.cholesky (LAPACK dpotrf; the factorisation alone, so numpy's column
 * is a lower bound for a full numpy solve), and the JS factorisation when BENCH_REGRESSION_JS=1. numpy runs with
 * OPENBLAS_NUM_THREADS=1 (one thread, like hypersweep).
 *
 *   BENCH_REPEATS=n   timed repeats per engine, best reported (default 2)
 *   BENCH_SHAPES=a,b  which shapes to run (default both)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choleskyJittered, choleskySolveInPlace, kernelGrams, type NetSpec } from '../worker/kernels/index.js';
import { choleskySolveJittered } from '../worker/kernels/regression.js';
import { choleskySolveNative } from '../worker/native/linalg.js';
import { loadNative } from '../worker/native/ort.js';
import { mulberry32 as rng } from '../worker/model/rng.js';

interface Shape {
  key: string;
  title: string;
  distinct: number;
  perX: number;
  dx: number;
}

const SHAPES: Shape[] = [
  { key: 'a', title: 'N = 4096, all x distinct (x ∈ R^784, z = pixel (col, row), RBF γ = 1/4), H = 3, L = 3', distinct: 4096, perX: 1, dx: 784 },
  { key: 'b', title: 'N = 10,000 = 500 distinct x × 20 z (image completion: x ∈ R^784, z ∈ R^2, RBF γ = 1/4), H = 3, L = 3', distinct: 500, perX: 20, dx: 784 },
];

/** Image-like x (sparse, values in [0, 1], like MNIST with its bottom half zeroed) and integer pixel coordinates z. */
function problem(s: Shape): { x: Float64Array[]; z: Float64Array[]; xFlat: Float64Array; zFlat: Float64Array } {
  const u = rng(12345);
  const xs = Array.from({ length: s.distinct }, () => {
    const v = new Float64Array(s.dx);
    for (let k = 0; k < s.dx / 2; k++) v[k] = u() < 0.4 ? u() : 0;
    v[0] = 0.5 + u(); // never all zero
    return v;
  });
  const n = s.distinct * s.perX;
  const x: Float64Array[] = [], z: Float64Array[] = [];
  for (let r = 0; r < s.perX; r++) {
    for (let d = 0; d < s.distinct; d++) {
      x.push(xs[d]);
      z.push(Float64Array.of(Math.floor(28 * u()), Math.floor(28 * u())));
    }
  }
  const xFlat = new Float64Array(n * s.dx), zFlat = new Float64Array(n * 2);
  x.forEach((v, i) => xFlat.set(v, i * s.dx));
  z.forEach((v, i) => zFlat.set(v, i * 2));
  return { x, z, xFlat, zFlat };
}

function main(): void {
  const repeats = Math.max(1, Number(process.env.BENCH_REPEATS ?? 2));
  const only = (process.env.BENCH_SHAPES ?? 'a,b').split(',');
  const net: NetSpec = { fDepth: 3, gDepth: 3, zKernel: { type: 'rbf', gamma: 0.25 } };
  const script = fileURLToPath(new URL('../../bench/kernels_numpy.py', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'hypersweep-bench-kernels-'));
  console.log(`bench:kernels — exact hyperkernel Gram Θ_h, float64, best of ${repeats}; node ${process.version}`);
  try {
    for (const s of SHAPES.filter((sh) => only.includes(sh.key))) {
      const { x, z, xFlat, zFlat } = problem(s);
      const n = x.length;
      let best = Infinity;
      let gram: Float64Array | null = null;
      for (let r = 0; r < repeats; r++) {
        gram = null; // let the previous Gram go before allocating the next
        const t0 = performance.now();
        const { grams } = kernelGrams({ x, z }, null, net, 'exact', ['hyperkernel']);
        best = Math.min(best, (performance.now() - t0) / 1000);
        gram = grams.hyperkernel?.data ?? null;
      }
      console.log(`\n${s.title}`);
      console.log(`  hypersweep (JS, 1 thread): ${best.toFixed(2)} s   ${((n * n) / best / 1e6).toFixed(1)} M entries/s`);

      const sampleRows = [0, 1, Math.floor(n / 2), n - 1];
      let solveS = NaN;
      if (gram) {
        const g = { rows: n, cols: n, data: gram };
        const y = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
        const native = loadNative();
        const t0 = performance.now();
        const a = choleskySolveJittered(g, y, 1, 1e-9, choleskySolveNative);
        solveS = (performance.now() - t0) / 1000;
        console.log(`  regression solve, ${native ? `JS (native library: ${native})` : 'native blocked Cholesky'}: ${solveS.toFixed(2)} s`);
        if (process.env.BENCH_REGRESSION_JS === '1' && !native) {
          const t1 = performance.now();
          const l = choleskyJittered(g, 1e-9);
          const b = Float64Array.from(y);
          choleskySolveInPlace(l, n, b, 1);
          const js = (performance.now() - t1) / 1000;
          let d = 0, sc = 0;
          for (let i = 0; i < n; i++) (d = Math.max(d, Math.abs(a[i] - b[i]))), (sc = Math.max(sc, Math.abs(b[i])));
          console.log(`  regression solve, JS factorisation: ${js.toFixed(2)} s (native ${(js / solveS).toFixed(1)}× faster; max rel |Δα| ${(d / sc).toExponential(1)})`);
        }
      }
      const meta = {
        n, dx: s.dx, dz: 2, H: net.fDepth, L: net.gDepth, gamma: 0.25, repeats, jitter: 1e-9,
        x: join(dir, 'x.bin'), z: join(dir, 'z.bin'), sampleRows, sampleOut: join(dir, 'rows.bin'),
      };
      writeFileSync(meta.x, new Uint8Array(xFlat.buffer));
      writeFileSync(meta.z, new Uint8Array(zFlat.buffer));
      writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta));
      const py = spawnSync('python3', [script, join(dir, 'meta.json')], {
        encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
      });
      if (py.error || py.status !== 0) {
        const why = py.error ? py.error.message : (py.stderr.trim().split('\n').pop() ?? `exit ${py.status}`);
        console.log(`  numpy comparison skipped: ${why}`);
        continue;
      }
      const res = JSON.parse(py.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; numpy: string; cholSeconds: number };
      const rowsBuf = readFileSync(meta.sampleOut);
      const ref = new Float64Array(rowsBuf.buffer, rowsBuf.byteOffset, rowsBuf.byteLength / 8);
      let maxDiff = 0;
      if (gram) {
        sampleRows.forEach((row, k) => {
          for (let j = 0; j < n; j++) maxDiff = Math.max(maxDiff, Math.abs(gram[row * n + j] - ref[k * n + j]));
        });
      }
      console.log(`  numpy ${res.numpy} (vectorised, float64):  ${res.seconds.toFixed(2)} s   ${((n * n) / res.seconds / 1e6).toFixed(1)} M entries/s`);
      console.log(`  ratio numpy / hypersweep: ${(res.seconds / best).toFixed(2)}×   (max |Δ| on ${sampleRows.length} sampled rows: ${maxDiff.toExponential(1)})`);
      console.log(`  regression: numpy np.linalg.cholesky (1 thread) ${res.cholSeconds.toFixed(2)} s; hypersweep solve / numpy factorisation: ${(solveS / res.cholSeconds).toFixed(2)}×`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
