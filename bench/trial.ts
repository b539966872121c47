/**
 * `npm run bench:trial [-- --backend wasm|cpu|tensorflow|webgpu|auto] [--iters N] [--quick] [--check]`
 *
 * --check: instead of timing, compare a small net's structured NTK and training curve on --backend with wasm.
 *
 * 1. ms per training step (SGD, MSE, full batch = `batch` samples) of the hypernetwork, H = 3, L = 2,
 *    dx = dz = 16, k = 1, sphere-like data, for (n, m, batch) = (1024, 256, 256) and (4096, 1024, 128).
 *    PyTorch reference: bench/torch_step.py (same model, same shapes); torch is not installed on the development
 *    machine, so the comparison is run where it is (numbers in docs/model.md).
 * 2. Structured vs naive empirical NTK on P = 64 probe points at n = 1024, m = 256 (goal: structured ≥ 10× faster).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendNames, selectBackend, type BackendName } from '../worker/backend/index.js';
import { empiricalNtkAsync, empiricalNtkNaive } from '../worker/model/empirical.js';
import { relFrob, type Gram } from '../worker/kernels/index.js';
import { createHyperNet, fParamCount, gaussianArray, train, type HyperNetSpec } from '../worker/model/index.js';

function parseArgs(argv: string[]): { backend: BackendName; iters: number; quick: boolean; check: boolean; skipTrain: boolean } {
  let skipTrain = false;
  let backend: BackendName = 'wasm';
  let iters = 0;
  let quick = false;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') {
      const v = argv[++i];
      if (!(backendNames as readonly string[]).includes(v)) throw new Error(`--backend: use one of ${backendNames.join(', ')}`);
      backend = v as BackendName;
    } else if (a === '--iters') iters = Number(argv[++i]);
    else if (a === '--quick') quick = true;
    else if (a === '--check') check = true;
    else if (a === '--skip-train') skipTrain = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return { backend, iters, quick, check, skipTrain };
}

function data(spec: HyperNetSpec, N: number, seed: number) {
  return {
    x: tf.tensor2d(gaussianArray(N * spec.dx, seed), [N, spec.dx]),
    z: tf.tensor2d(gaussianArray(N * spec.dz, seed + 1), [N, spec.dz]),
    y: tf.tensor2d(gaussianArray(N * spec.k, seed + 2), [N, spec.k]),
  };
}

async function stepMs(n: number, m: number, batch: number, iters: number): Promise<number> {
  const spec = { dx: 16, dz: 16, n, H: 3, m, L: 2, k: 1 };
  const net = createHyperNet(spec, 0);
  const d = data(spec, batch, 1);
  const opts = { optimizer: 'sgd' as const, lr: 1e-3, batchSize: 0, loss: 'mse' as const, logEvery: 1000, seed: 0 };
  await train(net, d, { ...opts, steps: 2 }); // warm-up (kernel setup, allocations)
  const t0 = performance.now();
  const r = await train(net, d, { ...opts, steps: iters });
  const ms = (performance.now() - t0) / iters;
  if (r.status !== 'completed') throw new Error(`training ${r.status}`);
  net.dispose();
  tf.dispose([d.x, d.z, d.y]);
  return ms;
}

async function timeIt<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Structured NTK and a short training curve of one small net: the numbers --check compares across backends. */
async function fingerprint(): Promise<{ ntk: Gram; curve: [number, number][] }> {
  const spec = { dx: 16, dz: 16, n: 256, H: 3, m: 64, L: 2, k: 2 };
  const net = createHyperNet(spec, 3);
  const probe = data(spec, 12, 11);
  const ntk = await empiricalNtkAsync(net, probe);
  const d = data(spec, 64, 21);
  const r = await train(net, d, { optimizer: 'adam', lr: 1e-3, steps: 20, batchSize: 16, loss: 'mse', logEvery: 5, seed: 0 });
  net.dispose();
  tf.dispose([probe.x, probe.z, probe.y, d.x, d.z, d.y]);
  return { ntk, curve: r.curve };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.check) {
    // Same seeds, same ops on the chosen backend and on wasm: the results must agree to float32 accuracy.
    const other = await selectBackend(args.backend);
    const a = await fingerprint();
    await selectBackend('wasm');
    const b = await fingerprint();
    const curveRel = Math.max(...a.curve.map(([, l], i) => Math.abs(l - b.curve[i][1]) / Math.abs(b.curve[i][1])));
    console.log(`check ${other.name} (${other.device}) vs wasm: NTK relFrob ${relFrob(a.ntk, b.ntk).toExponential(2)}, ` +
      `training curve max rel diff ${curveRel.toExponential(2)} (${a.curve.length} points; last ${a.curve.at(-1)?.[1]} vs ${b.curve.at(-1)?.[1]})`);
    return;
  }
  const info = await selectBackend(args.backend);
  console.log(`backend: ${info.name} (${info.device}; ${info.version}); node ${process.version}`);
  console.log('PyTorch is not installed on this machine: run python3 bench/torch_step.py cpu 1 where it is, for the reference.');
  for (const [n, m, batch, defIters] of [[1024, 256, 256, 10], [4096, 1024, 128, 3]]) {
    if (args.quick && n > 1024) continue;
    if (args.skipTrain) break;
    const iters = args.iters > 0 ? args.iters : defIters;
    const ms = await stepMs(n, m, batch, iters);
    const ng = m * 16 + m;
    const flops = 6 * batch * (fParamCount({ dx: 16, dz: 16, n, H: 3, m, L: 2, k: 1 }) + ng);
    console.log(`train step  n=${n} m=${m} batch=${batch} H=3 L=2: ${ms.toFixed(1)} ms/step  (≈${(flops / ms / 1e6).toFixed(1)} GFLOP/s, ${iters} steps)`);
  }
  const spec = { dx: 16, dz: 16, n: 1024, H: 3, m: 256, L: 2, k: 1 };
  const P = args.quick ? 16 : 64;
  const net = createHyperNet(spec, 0);
  const probe = data(spec, P, 7);
  await empiricalNtkAsync(net, probe); // warm-up
  const s = await timeIt(() => empiricalNtkAsync(net, probe));
  console.log(`empirical NTK P=${P} n=1024 m=256: structured ${s.ms.toFixed(0)} ms`);
  try {
    const nv = await timeIt(() => empiricalNtkNaive(net, probe));
    console.log(`empirical NTK P=${P} n=1024 m=256: naive ${nv.ms.toFixed(0)} ms, ratio ${(nv.ms / s.ms).toFixed(1)}× ` +
      `(relFrob between them ${relFrob(s.value, nv.value).toExponential(1)})`);
  } catch (e) {
    console.log(`empirical NTK naive failed on ${info.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
  net.dispose();
  tf.dispose([probe.x, probe.z, probe.y]);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
