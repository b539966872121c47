/**
 * `npm run bench:scale [-- --max-n N] [--backends native,wasm] [--no-torch]`
 *
 * The largest trial each backend completes: (n, m, L) = (f.width, g.width, g.depth) climbs the doubling ladder
 * (256, 64, 2), (512, 128, 2), … up to f.width --max-n (default 16384: 604 M parameters, about 6 GB per process
 * and 10 minutes on 2 cores; the wasm heap refuses n = 16384, native runs it in host-memory mode), each rung a
 * whole trial in its own process (sphere, f depth 3, dx 16, dz 4, 64 training rows, one full-batch GD step, kernel
 * metrics on 4 probe points): its peak RSS and step time, until the first refusal or failure ("host" marks native's
 * host-memory mode). Next to it, on the same rung, the two columns of memory per parameter: peak RSS of a
 * training-only native trial (no probes, no test set) and of PyTorch's training step (bench/torch_step.py --json,
 * /usr/bin/python3, OPENBLAS_NUM_THREADS=1, when torch imports) on the same shape, and their ratio.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../core/backend.js';
import { trialConfigSchema } from '../core/config.js';
import { estimateTrialCost } from '../worker/model/cost.js';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('../../bench/torch_step.py', import.meta.url));
const BATCH = 64;

const config = (n: number, m: number, L: number, probe: number) =>
  trialConfigSchema.parse({
    task: 'sphere', f: { width: n, depth: 3 }, g: { width: m, depth: L },
    data: { nTrain: BATCH, nTest: probe > 0 ? 8 : 0, dx: 16, dz: 4 },
    train: { steps: 1, optimizer: 'gd' }, kernels: { probe }, limits: { memoryMb: 1_000_000 },
  });

interface Run { ok: boolean; rssMb: number; stepMs: number | null; host?: boolean; error?: string }

/** One trial in a child process (this file with --child). */
function runTrialChild(backend: string, n: number, m: number, L: number, probe: number): Run {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', backend, String(n), String(m), String(L), String(probe)], { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Run;
  } catch {
    return { ok: false, rssMb: NaN, stepMs: null, error: `exit ${r.status} ${r.signal ?? ''} ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 120)}` };
  }
}

async function child(backend: BackendName, n: number, m: number, L: number, probe: number): Promise<void> {
  const { executeTrial } = await import('../worker/execute.js');
  let out: Run;
  try {
    const r = await executeTrial(config(n, m, L, probe), { backend });
    const t = r.timings as Record<string, number>;
    out = { ok: r.status === 'completed', rssMb: 0, stepMs: t.trainMs ?? null, host: /host memory/.test(String(r.versions.device)) };
  } catch (e) {
    out = { ok: false, rssMb: 0, stepMs: null, error: (e as Error).message.slice(0, 160) };
  }
  out.rssMb = (process.resourceUsage().maxRSS * 1024) / 2 ** 20;
  console.log(JSON.stringify(out));
}

function torch(n: number, m: number): Run | null {
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, '--json', String(n), String(m), String(BATCH), '1', '4', '2'], {
    encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
  });
  if (r.error || r.status !== 0) return r.stderr?.includes('No module named') ? null : { ok: false, rssMb: NaN, stepMs: null, error: `exit ${r.status}` };
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number; rssMb: number };
  return { ok: true, rssMb: j.rssMb, stepMs: j.ms };
}

const fmt = (r: Run | null) =>
  r === null ? 'no torch' : r.ok ? `${r.rssMb.toFixed(0)} MB, ${r.stepMs?.toFixed(0) ?? '?'} ms${r.host ? ' (host)' : ''}` : `refused/failed: ${r.error ?? ''}`;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1] as BackendName, Number(argv[2]), Number(argv[3]), Number(argv[4]), Number(argv[5]));
  const flag = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const maxN = Number(flag('--max-n') ?? 16384);
  const backends = (flag('--backends') ?? 'native,wasm').split(',');
  const withTorch = !argv.includes('--no-torch');
  const ladder: [number, number, number][] = [];
  for (let n = 256, m = 64; n <= maxN; n *= 2, m *= 2) ladder.push([n, m, 2]);
  console.log(`ladder (f.width, g.width, g.depth), f depth 3, batch ${BATCH}, up to f.width ${maxN}; one process per rung`);
  const largest: Record<string, string> = {};
  for (const [n, m, L] of ladder) {
    const est = estimateTrialCost(config(n, m, L, 4));
    const cells = [`n=${n} m=${m} L=${L} (${(est.params / 1e6).toFixed(1)} M params, est ${(est.bytes / 2 ** 20).toFixed(0)} MB)`];
    for (const b of backends) {
      if (largest[b]?.startsWith('stopped')) { cells.push(`${b}: -`); continue; }
      const r = runTrialChild(b, n, m, L, 4);
      cells.push(`${b}: ${fmt(r)}`);
      largest[b] = r.ok ? `(${n}, ${m}, ${L})` : `stopped; largest ${largest[b] ?? 'none'}`;
    }
    if (withTorch && !largest.torch?.startsWith('stopped')) {
      // the two columns: training step only, hypersweep native vs PyTorch, same shape
      const h = runTrialChild('native', n, m, L, 0);
      const t = torch(n, m);
      const ratio = h.ok && t?.ok ? (h.rssMb / t.rssMb).toFixed(2) : '-';
      cells.push(`step only: native ${fmt(h)}, torch ${fmt(t)}, RSS ratio ${ratio}`);
      largest.torch = t === null ? 'stopped; no torch' : t.ok ? `(${n}, ${m}, 2)` : `stopped; largest ${largest.torch ?? 'none'}`;
    }
    console.log(cells.join(' | '));
  }
  console.log(`largest completed: ${Object.entries(largest).map(([k, v]) => `${k} ${v}`).join('; ')}${ladder.length ? ` (ladder capped at f.width ${maxN}: --max-n)` : ''}`);
}

await main();
