import { existsSync } from 'node:fs';
import { availableParallelism, hostname, totalmem } from 'node:os';
import { estimateTrialCost, WASM_HEAP_MAX_BYTES } from '../worker/model/cost.js';
import { HypersweepError } from '../core/errors.js';
import { backendNames, isBackendName } from '../core/backend.js';
import { closeDb, openDb } from '../schema/db.js';
import { timingRows } from '../schema/cost-samples.js';
import { trialFlops } from './trial-cost.js';
import { makespan, sweepTime, timeModelFor, trialSeconds, type SweepTime, type TimeModel } from './cost-model.js';
import { canonicalJson } from '../core/identity.js';
import { combinationCount, loadSweep, varyingAxes, type SweepSpec } from './sweep.js';
import { expandSweep, type ExpandedTrial } from './expand.js';

/** `hypersweep plan SWEEP.yaml`: validate and expand a sweep, estimate its cost, write nothing. */

export interface PlannedTrial {
  id: string;
  axes: Record<string, unknown>;
  params: number;
  memoryMb: number;
  /** Training FLOPs of the whole trial (per-step estimate × steps). */
  flops: number;
  /** Predicted wall seconds of its compute on one core (the time model). */
  seconds: number;
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
  /** Time on this machine's local pool (`run` without --redis), and where the model comes from. */
  time: SweepTime & {
    source: string; host: string | null; backend: string | null;
    /** The host/backend fit (intercept by the prior's shape) and the per-family fits that override it. */
    a: number; b: number; fitTrials: number; spread: number;
    families: Record<string, { a: number; b: number; n: number }>;
  };
  /** With --redis: wall seconds on 1, 2, 4, … worker slots of this machine's speed (one trial per slot). */
  distributed: Array<{ slots: number; wallSeconds: number }>;
}

/** The prior, for plans made without a database (tests, `planTrials` without a model). */
const priorModel = (): TimeModel => timeModelFor([], hostname());

export function planTrials(spec: SweepSpec, list: ExpandedTrial[], machineBytes = totalmem(), model: TimeModel = priorModel(), workers = availableParallelism()): SweepPlan {
  const trials = list.map(({ id, axes, config }): PlannedTrial => {
    const seconds = trialSeconds(model, config);
    if (config.task === 'noop') return { id, axes, params: 0, memoryMb: 0, flops: 0, seconds, overCap: false, overMachine: false, overWasmHeap: false };
    const cost = estimateTrialCost(config);
    const memoryMb = cost.bytes / 2 ** 20;
    return {
      id,
      axes,
      params: cost.params,
      memoryMb,
      flops: trialFlops(config),
      seconds,
      overCap: memoryMb > config.limits.memoryMb,
      overMachine: cost.bytes > machineBytes,
      overWasmHeap: estimateTrialCost(config, { name: 'wasm' }).tensorBytes > WASM_HEAP_MAX_BYTES,
    };
  });
  const flops = trials.reduce((s, t) => s + t.flops, 0);
  const sleepMs = list.reduce((s, t) => s + (t.config.task === 'noop' ? t.config.noop.sleepMs : 0), 0);
  const configs = list.map((t) => t.config);
  const time = sweepTime(model, configs, workers);
  const secs = trials.map((t) => t.seconds);
  const distributed = [1, 2, 4, 8, 16, 32].filter((n) => n <= Math.max(1, list.length)).map((slots) => ({ slots, wallSeconds: makespan(secs, slots) }));
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
      coreSeconds: time.coreSeconds,
    },
    time: {
      ...time, source: model.source, host: model.host, backend: model.backend, a: model.fit.a, b: model.fit.b, fitTrials: model.fit.n, spread: time.spread,
      families: Object.fromEntries(Object.entries(model.families).map(([k, f]) => [k, { a: f.a, b: f.b, n: f.n }])),
    },
    distributed,
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
  lines.push(`total: ${fmtFlops(p.totals.flops)} of training` + (p.totals.sleepMs > 0 ? ` + ${fmtSeconds(p.totals.sleepMs / 1000)} of noop sleep` : ''));
  const t = p.time;
  const pct = Math.round(t.spread * 100);
  lines.push(`time: ≈ ${fmtSeconds(t.coreSeconds)} of compute, one core per trial (${t.source})`);
  lines.push(
    `  local: ≈ ${fmtSeconds(t.wallSeconds)} wall on ${t.workers} worker${t.workers === 1 ? '' : 's'} × 1 compute thread ` +
      `(± ${pct} %: ${fmtSeconds(t.low)} – ${fmtSeconds(t.high)}; --concurrency N to change)`,
  );
  const many = p.distributed.filter((d) => d.slots > 1).map((d) => `${d.slots} ≈ ${fmtSeconds(d.wallSeconds)}`);
  lines.push(
    `  with --redis: ≈ ${fmtSeconds(p.distributed[0]?.wallSeconds ?? 0)} per worker slot of this machine's speed` + (many.length > 0 ? `; slots ${many.join(', ')}` : ''),
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
  db?: string;
  concurrency?: string;
  backend?: string;
}

export async function runPlanCommand(file: string, flags: PlanFlags): Promise<void> {
  const limit = flags.limit === undefined ? 10 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 0) throw new HypersweepError(`--limit: expected a whole number ≥ 0, got "${flags.limit}"`);
  const workers = flags.concurrency === undefined ? availableParallelism() : Number(flags.concurrency);
  if (flags.concurrency !== undefined && (!/^\s*\d+\s*$/.test(flags.concurrency) || workers < 1 || workers > 256)) {
    throw new HypersweepError(`--concurrency: expected a whole number from 1 to 256, got "${flags.concurrency}"`);
  }
  if (flags.backend !== undefined && !isBackendName(flags.backend)) {
    throw new HypersweepError(`--backend: unknown backend "${flags.backend}" (use ${backendNames.join(', ')})`);
  }
  const spec = loadSweep(file);
  const list = expandSweep(spec, file);
  const model = timeModelFor(readTimings(flags.db ?? './hypersweep.db'), hostname(), flags.backend);
  const plan = planTrials(spec, list, totalmem(), model, workers);
  if (flags.json) process.stdout.write(`${JSON.stringify(plan)}\n`);
  else process.stdout.write(`${formatPlan(plan, limit)}\n`);
}

/** The measurements in a results database, read-only; none when the file does not exist yet. */
function readTimings(file: string) {
  if (!existsSync(file)) return [];
  const db = openDb(file, { readonly: true });
  try {
    return timingRows(db);
  } finally {
    closeDb(db);
  }
}
