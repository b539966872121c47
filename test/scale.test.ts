/**
 * The memory estimate against reality: every config key's extreme (on cases small enough to run in seconds) is run
 * in a child process whose peak RSS must stay under the estimate; and the refusals of issue 11 (g.input rff with a
 * huge data.dz) and issue 12 (a trial bigger than the wasm heap) happen before anything is allocated.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { trialConfigSchema, type TrialConfigInput } from '../core/config.js';
import { classify } from '../core/errors.js';
import { formatPlan, planTrials } from '../orchestrator/sweep-plan.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { assertWithinMemoryCap, estimateTrialCost, MemoryCapError, WASM_HEAP_MAX_BYTES } from '../worker/model/cost.js';
import { HOST_MEMORY_FROM_BYTES } from '../core/backend.js';

const cfg = (c: TrialConfigInput) => trialConfigSchema.parse(c);
const MB = 2 ** 20;

interface ChildRun { status?: string; device?: string; error?: string; maxRss: number }

/**
 * Run the config in a fresh Node (dist/, backend native unless given): its status or error, the device it ran on,
 * and its peak RSS in bytes. `env` adds environment variables (HYPERSWEEP_NATIVE_MEMORY=host).
 */
function runChild(config: unknown, backend = 'native', env: Record<string, string> = {}): ChildRun {
  const script = `
    const { executeTrial } = await import(${JSON.stringify(new URL('../dist/worker/execute.js', import.meta.url).href)});
    const { trialConfigSchema } = await import(${JSON.stringify(new URL('../dist/core/config.js', import.meta.url).href)});
    let out;
    try {
      const r = await executeTrial(trialConfigSchema.parse(JSON.parse(process.argv[1])), { backend: process.argv[2] });
      out = { status: r.status, device: r.versions.device };
    }
    catch (e) { out = { error: e.name + ': ' + e.message }; }
    console.log(JSON.stringify({ ...out, maxRss: process.resourceUsage().maxRSS * 1024 }));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(config), backend],
    { encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(stdout.trim().split('\n').pop()!) as ChildRun;
}

const base: TrialConfigInput = {
  task: 'sphere',
  f: { width: 16, depth: 2 },
  g: { width: 8, depth: 2 },
  data: { nTrain: 16, nTest: 16, dx: 4, dz: 4 },
  train: { steps: 2 },
  kernels: { probe: 4 },
};

/** One key at a time at its extreme (each still small enough to run in a few seconds). */
const extremes: [string, TrialConfigInput][] = [
  ['f.width', { ...base, f: { width: 1024, depth: 2 } }],
  ['f.depth', { ...base, f: { width: 256, depth: 6 } }],
  ['g.width', { ...base, g: { width: 512, depth: 2 } }],
  ['g.depth', { ...base, g: { width: 64, depth: 5 } }],
  ['g.outputs', { ...base, g: { width: 8, depth: 2, outputs: 256 } }],
  ['data.dx', { ...base, data: { ...base.data, dx: 50_000 } }],
  ['data.dz', { ...base, data: { ...base.data, dz: 20_000 } }],
  ['data.dz with g.input rff', { ...base, g: { width: 8, input: 'rff' }, data: { ...base.data, dz: 30_000 } }],
  ['g.rffFeatures', { ...base, g: { width: 8, input: 'rff', rffFeatures: 8192 } }],
  ['data.nTrain', { ...base, data: { ...base.data, nTrain: 20_000 } }],
  ['data.nTest', { ...base, data: { ...base.data, nTest: 200_000 } }],
  ['kernels.probe', { ...base, f: { width: 256, depth: 2 }, data: { ...base.data, nTrain: 256 }, kernels: { probe: 256 } }],
  ['kernels.ensemble', { ...base, f: { width: 512, depth: 2 }, kernels: { probe: 8, ensemble: 16 } }],
  ['f.width and g.width together (38 M parameters)', { ...base, f: { width: 4096, depth: 3 }, g: { width: 1024 }, data: { ...base.data, nTrain: 64, nTest: 8, dx: 16 } }],
  ['train.optimizer adam', { ...base, f: { width: 1024, depth: 2 }, train: { steps: 2, optimizer: 'adam' } }],
];

describe('memory estimate from every input dimension', () => {
  it('refuses g.input rff with data.dz = 10⁶ under limits.memoryMb 200 before allocating (issue 11)', () => {
    const c = cfg({ task: 'sphere', f: { width: 32 }, g: { width: 8, input: 'rff' }, data: { nTrain: 16, nTest: 16, dz: 1_000_000 },
      train: { steps: 5 }, kernels: { probe: 4 }, limits: { memoryMb: 200 } });
    // Ω alone is 64 × 10⁶ float64 (512 MB); the teacher's float64 weights read the raw 10⁶-dimensional z (4 GB)
    expect(estimateTrialCost(c).bytes).toBeGreaterThan(4.3e9);
    expect(() => assertWithinMemoryCap(c)).toThrow(/^trial needs about \d+ MB .* limits\.memoryMb is 200: .*lower the data sizes/);
    const r = runChild(c);
    expect(r.error).toMatch(/^MemoryCapError: trial needs about/);
    expect(r.maxRss).toBeLessThan(200 * MB);
  });

  it.each(extremes)('%s: the estimate grows over the base case and covers the real peak RSS', (_key, input) => {
    const c = cfg(input);
    const est = estimateTrialCost(c);
    expect(est.bytes).toBeGreaterThan(estimateTrialCost(cfg(base)).bytes);
    const r = runChild(c);
    expect(r.status ?? r.error).toBe('completed');
    expect(r.maxRss).toBeLessThan(est.bytes);
  }, 120_000);

  // native's host-memory mode (forced here on trials that fit the heap, to stay small): its own, tighter estimate
  it.each(process.env.HOST_ALL ? extremes : [extremes[13], extremes[14], extremes[11]])('%s in host-memory mode: the host estimate covers the real peak RSS', (_key, input) => {
    const c = cfg(input);
    const est = estimateTrialCost(c, { name: 'native', hostMemory: true });
    const r = runChild(c, 'native', { HYPERSWEEP_NATIVE_MEMORY: 'host' });
    expect(r.status ?? r.error).toBe('completed');
    expect(r.device).toMatch(/host memory/);
    if (process.env.HOST_ALL) console.log(_key, (r.maxRss / MB).toFixed(0), (est.bytes / MB).toFixed(0), (estimateTrialCost(c, { name: 'wasm' }).bytes / MB).toFixed(0));
    expect(r.maxRss).toBeLessThan(est.bytes);
  }, 120_000);
});

describe('backend limits', () => {
  const big = cfg({ task: 'sphere', f: { width: 1024, depth: 3 }, g: { width: 1024, depth: 3 }, data: { nTrain: 64, nTest: 8, dx: 16, dz: 4 },
    train: { steps: 2 }, kernels: { probe: 4 }, limits: { memoryMb: 20000 } });

  it('refuses a trial bigger than the wasm heap on wasm, in one line with the widths that fit (issue 12)', () => {
    expect(estimateTrialCost(big, { name: 'wasm' }).tensorBytes).toBeGreaterThan(WASM_HEAP_MAX_BYTES);
    expect(() => assertWithinMemoryCap(big)).not.toThrow(); // within limits.memoryMb: only the heap refuses it
    for (const name of ['wasm']) {
      let err: unknown;
      try {
        assertWithinMemoryCap(big, { name });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MemoryCapError);
      expect(classify(err)).toBe('user'); // failed at once in a sweep, never retried
      const msg = (err as Error).message;
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(new RegExp(`^trial needs about \\d+ MB of tensors .* backend ${name} keeps every tensor in the wasm heap, at most 4095 MB`));
      // the widths it names do fit, and the next rung up does not
      const [, f, g] = /f\.width (\d+) \(at g\.width 1024\) or g\.width (\d+) \(at f\.width 1024\)/.exec(msg)!.map(Number);
      const heapOk = (c: typeof big) => estimateTrialCost(c, { name: 'wasm' }).tensorBytes <= WASM_HEAP_MAX_BYTES;
      expect(heapOk({ ...big, f: { ...big.f, width: f } })).toBe(true);
      expect(heapOk({ ...big, f: { ...big.f, width: 2 * f } })).toBe(false);
      expect(heapOk({ ...big, g: { ...big.g, width: g } })).toBe(true);
      expect(heapOk({ ...big, g: { ...big.g, width: 2 * g } })).toBe(false);
    }
  });

  it('native takes it in host-memory mode: no heap limit, the host estimate (weights and gradients, in-place updates)', () => {
    for (const backend of [{ name: 'native' }, { name: 'native', hostMemory: true }, undefined]) {
      const cost = assertWithinMemoryCap(big, backend);
      expect(cost).toEqual(estimateTrialCost(big, { name: 'native', hostMemory: true }));
    }
    const host = estimateTrialCost(big, { name: 'native', hostMemory: true });
    const heap = estimateTrialCost(big, { name: 'wasm' });
    // two float32 copies of the 1.08 G parameters instead of three
    expect(heap.tensorBytes - host.tensorBytes).toBe(4 * host.params);
    expect(host.bytes).toBeLessThan(big.limits.memoryMb * MB);
    // the machine still bounds it, with widths that fit in host-memory mode
    const machine = { totalBytes: 16 * 2 ** 30, availableBytes: 8 * 2 ** 30 };
    expect(() => assertWithinMemoryCap(big, { name: 'native' }, machine)).toThrow(/^trial needs about \d+ MB \(f width 1024.* this machine has 8192 MB available \(of 16384 MB\): the biggest that fit: f\.width 512 \(at g\.width 1024\) or g\.width 512/);
  });

  it('native picks host-memory mode from 1 GiB of tensors, and its heap mode keeps the heap limit', () => {
    // (8192, 2048, 2): 151 M parameters, about 1.7 GB of tensors in wasm-heap mode
    const mid = cfg({ task: 'sphere', f: { width: 8192, depth: 3 }, g: { width: 2048, depth: 2 }, data: { nTrain: 64, nTest: 0, dx: 16, dz: 4 },
      train: { steps: 1 }, kernels: { probe: 0 }, limits: { memoryMb: 100_000 } });
    const heap = estimateTrialCost(mid, { name: 'wasm' });
    const host = estimateTrialCost(mid, { name: 'native', hostMemory: true });
    expect(heap.tensorBytes).toBeGreaterThan(HOST_MEMORY_FROM_BYTES);
    expect(heap.tensorBytes).toBeLessThan(WASM_HEAP_MAX_BYTES);
    expect(estimateTrialCost(mid)).toEqual(host);
    expect(estimateTrialCost(mid, { name: 'native' })).toEqual(host);
    expect(estimateTrialCost(mid, { name: 'native', hostMemory: false })).toEqual(heap);
    expect(host.bytes).toBeLessThan(heap.bytes);
    // below 1 GiB native stays in the heap
    const small = cfg({ ...mid, f: { width: 4096, depth: 3 }, g: { width: 1024, depth: 2 } });
    expect(estimateTrialCost(small)).toEqual(estimateTrialCost(small, { name: 'wasm' }));
    // native in its heap mode is bounded by the heap like wasm
    expect(() => assertWithinMemoryCap(big, { name: 'native', hostMemory: false })).toThrow(/backend native keeps every tensor in the wasm heap/);
  });

  it('refuses it at once on wasm in a child process, before allocating', () => {
    const t0 = Date.now();
    const r = runChild(big, 'wasm');
    expect(r.error).toMatch(/^MemoryCapError: trial needs about \d+ MB of tensors .* wasm heap/);
    expect(r.maxRss).toBeLessThan(300 * MB);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it("checks the machine's available memory and the GPU's buffer limits", () => {
    const c = cfg({ ...base, f: { width: 4096, depth: 2 }, g: { width: 256 } });
    const est = estimateTrialCost(c);
    const machine = { totalBytes: 16 * 2 ** 30, availableBytes: est.bytes - 1 };
    expect(() => assertWithinMemoryCap(c, undefined, machine)).toThrow(/this machine has \d+ MB available \(of 16384 MB\): the biggest that fit: f\.width 2048/);
    expect(() => assertWithinMemoryCap(c, undefined, { ...machine, availableBytes: est.bytes })).not.toThrow();
    const gpu = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: est.largestTensorBytes - 1 };
    expect(() => assertWithinMemoryCap(c, { name: 'webgpu', gpu })).toThrow(/for its largest tensor .* maxStorageBufferBindingSize is \d+ MB/);
    expect(() => assertWithinMemoryCap(c, { name: 'webgpu', gpu: { ...gpu, maxStorageBufferBindingSize: est.largestTensorBytes } })).not.toThrow();
  });
});

describe('plan', () => {
  it('names, before anything runs, the trials over the machine and over the wasm heap', () => {
    const yaml = [
      'name: big', 'task: sphere', 'fixed: {data.nTrain: 64, data.nTest: 8, data.dx: 16, data.dz: 4, train.steps: 2, kernels.probe: 4, limits.memoryMb: 200000}',
      'grid: {f.width: [64, 1024, 4096], g.width: [1024], f.depth: [3], g.depth: [3]}', '',
    ].join('\n');
    const spec = parseSweep(yaml, 'big.yaml');
    const plan = planTrials(spec, expandSweep(spec, 'big.yaml'), 24 * 2 ** 30);
    // n = 64: 67 M parameters, fits; n = 1024: 1.1 G parameters (13 GB of float32 copies), over the heap only;
    // n = 4096: 4.3 G parameters, over a 24 GB machine too
    expect(plan.trials.map((t) => [t.overWasmHeap, t.overMachine])).toEqual([[false, false], [true, false], [true, true]]);
    const text = formatPlan(plan, 10);
    expect(text).toContain("warning: 1 trial(s) need more than this machine's 24.0 GB of memory");
    expect(text).toContain('warning: 2 trial(s) hold more tensors than the wasm heap');
    expect(text).toMatch(/\(over machine!\)\(over wasm heap\)|\(over machine!\) \(over wasm heap\)/);
  });
});
