/**
 * `hypersweep kernel --points FILE [--mode exact|paper-code] [--json]`: parse, validate, call the engine, print.
 */
import { z } from 'zod';
import { parseOrThrow } from '../../core/errors.js';
import { ALL_KERNELS, at, type Gram, kernelGrams, toRows } from '../kernels/index.js';
import { writeJson } from './json-out.js';
import { loadPointsFile } from './points-file.js';

const OptionsSchema = z.object({
  points: z.string().min(1),
  mode: z
    .enum(['exact', 'paper-code'], { error: (iss) => `expected exact | paper-code, got ${JSON.stringify(iss.input)}` })
    .default('exact'),
  json: z.boolean().optional(),
});

export async function runKernelCommand(opts: Record<string, unknown>): Promise<void> {
  const o = parseOrThrow(OptionsSchema, opts, 'kernel');
  const { points, net } = await loadPointsFile(o.points);
  const t0 = performance.now();
  const { grams, stats } = kernelGrams(points, null, net, o.mode, ALL_KERNELS);
  const ms = performance.now() - t0;
  const g = (k: (typeof ALL_KERNELS)[number]): Gram => {
    const v = grams[k];
    if (!v) throw new Error(`kernel engine: ${k} missing`);
    return v;
  };
  if (o.json) {
    // Streamed: for a few thousand points the JSON is larger than any string V8 can hold.
    await writeJson(process.stdout, {
      mode: o.mode,
      sigmaF: g('sigmaF'),
      thetaF: g('thetaF'),
      gp: g('gp'),
      hyperkernel: g('hyperkernel'),
      mlp: { nngp: g('mlpNngp'), ntk: g('mlpNtk') },
    });
    return;
  }
  const n = stats.points[0];
  const H = net.fDepth, L = net.gDepth;
  const zk = net.zKernel.type === 'rbf' ? `rbf(γ=${net.zKernel.gamma})` : net.zKernel.type;
  const lines: string[] = [];
  lines.push(`mode ${o.mode}   N = ${n} points, ${stats.distinctX[0]} distinct x   H = ${H}, L = ${L}, K_z = ${zk}`);
  const diagDev = (gr: Gram, target: number): number => {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(at(gr, i, i) - target));
    return m;
  };
  lines.push(
    `diagonal checks (unit inputs): max|Θ_h(u,u) − H·L| = ${fmt(diagDev(g('hyperkernel'), H * L))}, ` +
      `max|Θ_f(x,x) − H| = ${fmt(diagDev(g('thetaF'), H))}, max|K_GP(u,u) − 1| = ${fmt(diagDev(g('gp'), 1))}` +
      (o.mode === 'paper-code' ? '  (paper-code: the 1e−4 shrink makes these drift)' : ''),
  );
  const k = Math.min(n, 4);
  for (const [name, gr] of [['hyperkernel Θ_h', g('hyperkernel')], ['GP kernel', g('gp')], ['MLP NTK', g('mlpNtk')]] as const) {
    lines.push(`${name} (first ${k}×${k}):`);
    for (let i = 0; i < k; i++) {
      const row: string[] = [];
      for (let j = 0; j < k; j++) row.push(at(gr, i, j).toFixed(6).padStart(11));
      lines.push(`  ${row.join(' ')}`);
    }
  }
  lines.push(`computed in ${ms.toFixed(1)} ms`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

const fmt = (v: number): string => (v === 0 ? '0' : v.toExponential(2));
