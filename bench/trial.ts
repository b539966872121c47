/**
 * `npm run bench:trial [-- --backend B ...] [--iters N] [--repeats R] [--quick] [--ntk] [--check]`
 *
 * Full-batch GD step (MSE) of the sphere hypernetwork, H = 3, L = 2, dx = 16, dz = 4, k = 1, at (n, m, batch) =
 * (1024, 256, 256) and (4096, 1024, 128): ms per step for each --backend (default: native and wasm) and for
 * PyTorch (bench/torch_step.py with /usr/bin/python3, OPENBLAS_NUM_THREADS=1) when torch imports, side by side,
 * every run in its own process (peak RSS per run), repeated --repeats times (default 2) interleaved so that a
 * busy machine slows all columns alike. Also: the machine's measured fp32 GEMM rate (one thread, the best of
 * MLAS at 2048³ and torch's BLAS at 1024²) as the peak the achieved GFLOP/s are set against, and the BLAS torch
 * really uses (Debian's torch without OpenBLAS runs the ~20× slower reference BLAS: the ratio is then flagged).
 *
 * --ntk: also the structured vs naive empirical NTK timing (P = 64 probes at n = 1024, m = 256).
 * --check: instead of timing, compare a small net's structured NTK and training curve on --backend with wasm.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { backendNames, selectBackend, type BackendName } from '../worker/backend/index.js';
import { loadNative, nativeMatMul } from '../worker/native/ort.js';
import { empiricalNtkAsync, empiricalNtkNaive } from '../worker/model/empirical.js';
import { relFrob, type Gram } from '../worker/kernels/index.js';
import { createHyperNet, fParamCount, gaussianArray, train, type HyperNetSpec } from '../worker/model/index.js';

const SHAPES: [number, number, number][] = [[1024, 256, 256], [4096, 1024, 128]];
const DZ = 4;
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));

interface Args { backends: BackendName[]; iters: number; repeats: number; quick: boolean; check: boolean; ntk: boolean; child: number[] | null }

function parseArgs(argv: string[]): Args {
  const a: Args = { backends: [], iters: 0, repeats: 2, quick: false, check: false, ntk: false, child: null };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--backend') {
      const b = argv[++i];
      if (!(backendNames as readonly string[]).includes(b)) throw new Error(`--backend: use one of ${backendNames.join(', ')}`);
      a.backends.push(b as BackendName);
    } else if (v === '--iters') a.iters = Number(argv[++i]);
    else if (v === '--repeats') a.repeats = Number(argv[++i]);
    else if (v === '--quick') a.quick = true;
    else if (v === '--check') a.check = true;
    else if (v === '--ntk') a.ntk = true;
    else if (v === '--child') {
      // internal: one timing, run by the parent in a fresh process
      a.child = argv.slice(i + 1, i + 5).map(Number);
      i += 4;
    }
    else throw new Error(`unknown argument ${v}`);
  }
  if (a.backends.length === 0) a.backends = a.check ? ['native'] : ['native', 'wasm'];
  return a;
}

function data(spec: HyperNetSpec, N: number, seed: number) {
  return {
    x: tf.tensor2d(gaussianArray(N * spec.dx, seed), [N, spec.dx]),
    z: tf.tensor2d(gaussianArray(N * spec.dz, seed + 1), [N, spec.dz]),
    y: tf.tensor2d(gaussianArray(N * spec.k, seed + 2), [N, spec.k]),
  };
}

async function stepMs(n: number, m: number, batch: number, iters: number): Promise<number> {
  const spec = { dx: 16, dz: DZ, n, H: 3, m, L: 2, k: 1 };
  const net = createHyperNet(spec, 0);
  const d = data(spec, batch, 1);
  const opts = { optimizer: 'gd' as const, lr: 1e-3, batchSize: 0, loss: 'mse' as const, logEvery: 1000, seed: 0 };
  await train(net, d, { ...opts, steps: 2 }); // warm-up (sessions, kernel setup, allocations)
  const t0 = performance.now();
  const r = await train(net, d, { ...opts, steps: iters });
  const ms = (performance.now() - t0) / iters;
  if (r.status !== 'completed') throw new Error(`training ${r.status}`);
  net.dispose();
  tf.dispose([d.x, d.z, d.y]);
  return ms;
}

/** Forward 2, backward 4 flops per weight and sample (f's weights, and g's per-sample weights). */
function stepFlops(n: number, m: number, batch: number): number {
  const ng = m * DZ + m;
  return 6 * batch * (fParamCount({ dx: 16, dz: DZ, n, H: 3, m, L: 2, k: 1 }) + ng);
}

/** One timing in its own process: {ms, rssMb}. */
function runChild(backend: BackendName, n: number, m: number, batch: number, iters: number): { ms: number; rssMb: number } {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--backend', backend, '--child', `${n}`, `${m}`, `${batch}`, `${iters}`], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`${backend} n=${n}: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`}`);
  return JSON.parse(line) as { ms: number; rssMb: number };
}

function python(args: string[]): { ok: true; out: string } | { ok: false; why: string } {
  if (!existsSync(PYTHON)) return { ok: false, why: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) return { ok: false, why: (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`) };
  return { ok: true, out: r.stdout.trim().split('\n').at(-1) ?? '' };
}

/** MLAS fp32 GEMM rate, one thread, s³ (best of 3). */
function mlasGflops(s: number): number | null {
  if (loadNative()) return null;
  const a = Float32Array.from(gaussianArray(s * s, 1));
  const b = Float32Array.from(gaussianArray(s * s, 2));
  const c = new Float32Array(s * s);
  nativeMatMul(a, b, c, 1, s, s, s, false, false, 2);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    nativeMatMul(a, b, c, 1, s, s, s, false, false, 2);
    best = Math.min(best, performance.now() - t0);
  }
  return (2 * s ** 3) / best / 1e6;
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

async function ntkBench(backend: BackendName, quick: boolean): Promise<void> {
  const info = await selectBackend(backend);
  const spec = { dx: 16, dz: 16, n: 1024, H: 3, m: 256, L: 2, k: 1 };
  const P = quick ? 16 : 64;
  const net = createHyperNet(spec, 0);
  const probe = data(spec, P, 7);
  await empiricalNtkAsync(net, probe); // warm-up
  const s = await timeIt(() => empiricalNtkAsync(net, probe));
  console.log(`${info.name}: empirical NTK P=${P} n=1024 m=256: structured ${s.ms.toFixed(0)} ms`);
  try {
    const nv = await timeIt(() => empiricalNtkNaive(net, probe));
    console.log(`${info.name}: empirical NTK naive ${nv.ms.toFixed(0)} ms, ratio ${(nv.ms / s.ms).toFixed(1)}× (relFrob ${relFrob(s.value, nv.value).toExponential(1)})`);
  } catch (e) {
    console.log(`${info.name}: empirical NTK naive failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  net.dispose();
  tf.dispose([probe.x, probe.z, probe.y]);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
const fmtRange = (v: number[]) => (v.length === 1 ? v[0].toFixed(1) : `${Math.min(...v).toFixed(1)}–${Math.max(...v).toFixed(1)}`);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    const [n, m, batch, iters] = args.child;
    await selectBackend(args.backends[0]);
    const ms = await stepMs(n, m, batch, iters);
    console.log(JSON.stringify({ ms, rssMb: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  if (args.check) {
    // Same seeds, same ops on the chosen backend and on wasm: the results must agree to float32 accuracy.
    const other = await selectBackend(args.backends[0]);
    const a = await fingerprint();
    await selectBackend('wasm');
    const b = await fingerprint();
    const curveRel = Math.max(...a.curve.map(([, l], i) => Math.abs(l - b.curve[i][1]) / Math.abs(b.curve[i][1])));
    console.log(`check ${other.name} (${other.device}) vs wasm: NTK relFrob ${relFrob(a.ntk, b.ntk).toExponential(2)}, ` +
      `training curve max rel diff ${curveRel.toExponential(2)} (${a.curve.length} points; last ${a.curve.at(-1)?.[1]} vs ${b.curve.at(-1)?.[1]})`);
    return;
  }
  console.log(`node ${process.version}; one compute thread per run, each run in its own process; ${args.repeats} interleaved repeats`);
  const blas = python(['--blas']);
  let torchOk = false;
  let torchGflops = 0;
  if (!blas.ok) console.log(`PyTorch: not available (${blas.why}); no reference column`);
  else {
    const b = JSON.parse(blas.out) as { gflops: number; blas: string; torch: string };
    torchGflops = b.gflops;
    // The reference BLAS is ~20× slower than an optimised one: compare with MLAS at the same size, same moment.
    const mlas1k = mlasGflops(1024);
    const slow = mlas1k !== null && b.gflops < mlas1k / 4;
    console.log(`PyTorch ${b.torch} (BLAS: ${b.blas}, OPENBLAS_NUM_THREADS=1): 1024² fp32 matmul ${b.gflops.toFixed(1)} GFLOP/s ` +
      `(MLAS, same size: ${mlas1k?.toFixed(1) ?? 'n/a'})` + (slow ? ' — under ¼ of MLAS: not an optimised BLAS (reference BLAS?); the ratios below flatter hypersweep' : ''));
    torchOk = true;
  }
  const mlas = mlasGflops(2048);
  const peak = Math.max(mlas ?? 0, torchGflops);
  console.log(`fp32 GEMM peak, 1 thread (best of MLAS 2048³ ${mlas ? mlas.toFixed(1) : 'n/a'}, torch 1024² ${torchOk ? torchGflops.toFixed(1) : 'n/a'}): ${peak.toFixed(1)} GFLOP/s`);
  const shapes = args.quick ? SHAPES.slice(0, 1) : SHAPES;
  const cols = [...args.backends.map(String), ...(torchOk ? ['torch'] : [])];
  const ms = new Map<string, number[]>();
  const rss = new Map<string, number>();
  for (let rep = 0; rep < args.repeats; rep++) {
    for (const [n, m, batch] of shapes) {
      const iters = args.iters > 0 ? args.iters : n > 1024 ? 3 : 10;
      for (const c of cols) {
        const key = `${c} ${n}`;
        let r: { ms: number; rssMb: number };
        if (c === 'torch') {
          const p = python(['--json', `${n}`, `${m}`, `${batch}`, `${iters}`, `${DZ}`]);
          if (!p.ok) throw new Error(`torch_step.py: ${p.why}`);
          r = JSON.parse(p.out) as { ms: number; rssMb: number };
        } else r = runChild(c as BackendName, n, m, batch, iters);
        ms.set(key, [...(ms.get(key) ?? []), r.ms]);
        rss.set(key, Math.max(rss.get(key) ?? 0, r.rssMb));
      }
    }
  }
  console.log('\n| (n, m, batch) | run | ms/step | vs PyTorch | GFLOP/s | % of peak | peak RSS |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [n, m, batch] of shapes) {
    const flops = stepFlops(n, m, batch);
    const torchMs = ms.get(`torch ${n}`);
    for (const c of cols) {
      const v = ms.get(`${c} ${n}`)!;
      const med = median(v);
      // Paired: each repeat's run against the torch run right after it (the machine's load moves both alike).
      const ratio = torchMs && c !== 'torch' ? `${median(v.map((x, r) => x / torchMs[r])).toFixed(2)}×` : c === 'torch' ? '1' : '—';
      const gf = flops / med / 1e6;
      console.log(`| (${n}, ${m}, ${batch}) | ${c} | ${fmtRange(v)} | ${ratio} | ${gf.toFixed(1)} | ${peak > 0 ? ((100 * gf) / peak).toFixed(0) : '—'} % | ${rss.get(`${c} ${n}`)!.toFixed(0)} MB |`);
    }
  }
  console.log('(ms/step: range over repeats; vs PyTorch: median over repeats of the paired ratio, < 1 is faster; GFLOP/s from the median ms)');
  if (args.ntk) for (const b of args.backends) await ntkBench(b, args.quick);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
