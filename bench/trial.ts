/**
 * `npm run bench:trial [-- --backend wasm|cpu|tensorflow|webgpu|auto] [--iters N] [--quick]`
 *
 * 1. ms per training step (SGD, MSE, full batch = `batch` samples) of the hypernetwork, H = 3, L = 2,
 *    dx = dz = 16, k = 1, sphere-like data, for (n, m, batch) = (1024, 256, 256) and (4096, 1024, 128).
 *    PyTorch reference: bench/torch_step.py (same model, same shapes); torch is not installed on the development
 *    machine, so the comparison is run where it is (numbers in docs/model.md).
 * 2. Structured vs naive empirical NTK on P = 64 probe points at n = 1024, m = 256 (goal: structured ≥ 10× faster).
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendNames, selectBackend, type BackendName } from '../worker/backend/index.js';
import { empiricalNtkAsync, empiricalNtkNaive } from '../worker/kernels/empirical.js';
import { relFrob } from '../worker/kernels/index.js';
import { createHyperNet, fParamCount, gaussianArray, train, type HyperNetSpec } from '../worker/model/index.js';

function parseArgs(argv: string[]): { backend: BackendName; iters: number; quick: boolean } {
  let backend: BackendName = 'wasm';
  let iters = 0;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') {
      const v = argv[++i];
      if (!(backendNames as readonly string[]).includes(v)) throw new Error(`--backend: use one of ${backendNames.join(', ')}`);
      backend = v as BackendName;
    } else if (a === '--iters') iters = Number(argv[++i]);
    else if (a === '--quick') quick = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return { backend, iters, quick };
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await selectBackend(args.backend);
  console.log(`backend: ${info.name} (${info.device}; ${info.version}); node ${process.version}`);
  console.log('PyTorch is not installed on this machine: run python3 bench/torch_step.py cpu 1 where it is, for the reference.');
  for (const [n, m, batch, defIters] of [[1024, 256, 256, 10], [4096, 1024, 128, 3]]) {
    if (args.quick && n > 1024) continue;
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
  const nv = await timeIt(() => empiricalNtkNaive(net, probe));
  console.log(`empirical NTK P=${P} n=1024 m=256: structured ${s.ms.toFixed(0)} ms, naive ${nv.ms.toFixed(0)} ms, ` +
    `ratio ${(nv.ms / s.ms).toFixed(1)}× (relFrob between them ${relFrob(s.value, nv.value).toExponential(1)})`);
  net.dispose();
  tf.dispose([probe.x, probe.z, probe.y]);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
