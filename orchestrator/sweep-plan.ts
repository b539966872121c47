import { totalmem } from 'node:os';
import { estimateTrialCost, WASM_HEAP_MAX_BYTES } from '../worker/model/cost.js';
import { HypersweepError } from '../core/errors.js';
import { trialFlops } from './trial-cost.js';
import { canonicalJson } from '../core/identity.js';
import { combinationCount, loadSweep, varyingAxes, type SweepSpec } from './sweep.js';
import { expandSweep, type ExpandedTrial } from './expand.js';

/** `hypersweep plan SWEEP.yaml`: validate and expand a sweep, estimate its cost, write nothing. */

/** Sustained training throughput assumed for time estimates: wasm on one core reaches ~44 GFLOP/s on matmul. */
export const assumedFlopsPerCore = 20e9;

export interface PlannedTrial {
  id: string;
  axes: Record<string, unknown>;
  params: number;
  memoryMb: number;
  /** Training FLOPs of the whole trial (per-step estimate × steps). */
  flops: number;
  /** The estimate exceeds limits.memoryMb: the trial will fail with MemoryCapError. */
  overCap: boolean;
  /** The estimate exceeds this machine's total memory: it cannot run here on any backend. */
  overMachine: boolean;
  /** Its tensors exceed the wasm heap (4 GiB): refused on the wasm and native backends. */
  overWasmHeap: boolean;
}

export interface SweepPlan {
  name: string;
  task: string;
  order: SweepSpec['order'];
  retries: number;
  combinations: number;
  trials: PlannedTrial[];
  axes: string[];
  totals: { flops: number; maxMemoryMb: number; overCap: number; overMachine: number; overWasmHeap: number; sleepMs: number; coreSeconds: number };
  /** This machine's total memory, the bound of overMachine. */
  machineMb: number;
}

export function planTrials(spec: SweepSpec, list: ExpandedTrial[], machineBytes = totalmem()): SweepPlan {
  const trials = list.map(({ id, axes, config }): PlannedTrial => {
    if (config.task === 'noop') return { id, axes, params: 0, memoryMb: 0, flops: 0, overCap: false, overMachine: false, overWasmHeap: false };
    const cost = estimateTrialCost(config);
    const memoryMb = cost.bytes / 2 ** 20;
    return {
      id,
      axes,
      params: cost.params,
      memoryMb,
      flops: trialFlops(config),
      overCap: memoryMb > config.limits.memoryMb,
      overMachine: cost.bytes > machineBytes,
      overWasmHeap: estimateTrialCost(config, { name: 'wasm' }).tensorBytes > WASM_HEAP_MAX_BYTES,
    };
  });
  const flops = trials.reduce((s, t) => s + t.flops, 0);
  const sleepMs = list.reduce((s, t) => s + (t.config.task === 'noop' ? t.config.noop.sleepMs : 0), 0);
  return {
    name: spec.name,
    task: spec.task,
    order: spec.order,
    retries: spec.retries,
    combinations: combinationCount(spec),
    machineMb: machineBytes / 2 ** 20,
    trials,
    axes: varyingAxes(spec),
    totals: {
      flops,
      maxMemoryMb: trials.reduce((m, t) => Math.max(m, t.memoryMb), 0),
      overCap: trials.filter((t) => t.overCap).length,
      overMachine: trials.filter((t) => t.overMachine).length,
      overWasmHeap: trials.filter((t) => t.overWasmHeap).length,
      sleepMs,
      coreSeconds: flops / assumedFlopsPerCore + sleepMs / 1000,
    },
  };
}

const fmtFlops = (x: number) =>
  x >= 1e12 ? `${(x / 1e12).toFixed(2)} TFLOP` : x >= 1e9 ? `${(x / 1e9).toFixed(2)} GFLOP` : `${(x / 1e6).toFixed(1)} MFLOP`;
const fmtMb = (x: number) => (x >= 1024 ? `${(x / 1024).toFixed(1)} GB` : `${Math.ceil(x)} MB`);
const fmtCount = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : String(x));
function fmtSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Plain-text table: rows of cells, columns padded. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function formatPlan(p: SweepPlan, limit: number): string {
  const lines: string[] = [];
  const dedup = p.combinations - p.trials.length;
  lines.push(
    `sweep ${p.name}: task ${p.task}, ${p.trials.length} trial${p.trials.length === 1 ? '' : 's'}` +
      (dedup > 0 ? ` (${p.combinations} combinations, ${dedup} duplicate${dedup === 1 ? '' : 's'} once defaults apply)` : '') +
      `, order ${p.order}, retries ${p.retries}`,
  );
  lines.push(`varying: ${p.axes.length > 0 ? p.axes.join(', ') : '(nothing: one trial)'}`);
  lines.push('');
  const head = ['#', 'trial', ...p.axes, 'params', 'memory', 'compute'];
  const rows = p.trials.slice(0, limit).map((t, i) => [
    String(i + 1),
    t.id,
    ...p.axes.map((a) => (a in t.axes ? canonicalJson(t.axes[a]) : '')),
    fmtCount(t.params),
    fmtMb(t.memoryMb) + [t.overCap && ' (over cap!)', t.overMachine && ' (over machine!)', t.overWasmHeap && ' (over wasm heap)'].filter(Boolean).join(''),
    fmtFlops(t.flops),
  ]);
  lines.push(table([head, ...rows]));
  if (p.trials.length > limit) lines.push(`… ${p.trials.length - limit} more (--limit N to show more)`);
  lines.push('');
  const n = Math.max(p.trials.length, 1);
  const minMem = Math.min(...p.trials.map((t) => t.memoryMb));
  lines.push(
    `per trial: memory ${fmtMb(minMem)} – ${fmtMb(p.totals.maxMemoryMb)}, compute ${fmtFlops(p.totals.flops / n)} on average`,
  );
  lines.push(
    `total: ${fmtFlops(p.totals.flops)}` +
      (p.totals.sleepMs > 0 ? ` + ${fmtSeconds(p.totals.sleepMs / 1000)} of noop sleep` : '') +
      ` ≈ ${fmtSeconds(p.totals.coreSeconds)} of one core at ${assumedFlopsPerCore / 1e9} GFLOP/s (rough: training only)`,
  );
  if (p.totals.overCap > 0) {
    lines.push(`warning: ${p.totals.overCap} trial(s) exceed limits.memoryMb and will fail at once (MemoryCapError)`);
  }
  if (p.totals.overMachine > 0) {
    lines.push(`warning: ${p.totals.overMachine} trial(s) need more than this machine's ${fmtMb(p.machineMb)} of memory and will fail at once here (MemoryCapError)`);
  }
  if (p.totals.overWasmHeap > 0) {
    lines.push(`warning: ${p.totals.overWasmHeap} trial(s) hold more tensors than the wasm heap's 4 GB: refused on backends wasm and native (use tensorflow or webgpu)`);
  }
  lines.push('nothing written; run it with `hypersweep run <file>`');
  return lines.join('\n');
}

export interface PlanFlags {
  limit?: string;
  json?: boolean;
}

export async function runPlanCommand(file: string, flags: PlanFlags): Promise<void> {
  const limit = flags.limit === undefined ? 10 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new HypersweepError(`--limit: expected a whole number ≥ 0, got "${flags.limit}"`);
  const spec = loadSweep(file);
  const plan = planTrials(spec, expandSweep(spec, file));
  if (flags.json) process.stdout.write(`${JSON.stringify(plan)}\n`);
  else process.stdout.write(`${formatPlan(plan, limit)}\n`);
}
