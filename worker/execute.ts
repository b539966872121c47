import type { BackendName } from '../core/backend.js';
import { trialResultSchema, type TrialResult } from '../core/result.js';
import type { TrialConfig } from '../core/config.js';

/**
 * The one entry point both runners (local worker threads, BullMQ sandboxes) call to run a trial, with the config
 * they parsed when the job arrived. `noop` is handled here without loading TensorFlow.js; every other task goes
 * to runTrial (worker/trial.ts), imported lazily.
 */

export interface ExecuteOptions {
  /** Called with progress reports (`{step, steps, ...}`) as the trial runs; must be cheap. */
  onProgress?: (progress: unknown) => void;
  /** Aborting stops the trial as soon as it can; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Compute backend; undefined: runTrial's default. */
  backend?: BackendName;
}

/** Run a trial: fail before loading anything when it can never fit, then run it. */
export async function executeTrial(cfg: TrialConfig, opts: ExecuteOptions = {}): Promise<TrialResult> {
  opts.signal?.throwIfAborted();
  if (cfg.task === 'noop') return runNoop(cfg, opts);
  // Fail before loading TensorFlow.js when the trial can never fit (MemoryCapError: not retryable): the cap, the
  // machine's available memory, and the wasm heap when wasm is asked for by name (native moves a trial that does
  // not fit the heap to host memory).
  const { assertWithinMemoryCap, machineMemory } = await import('./model/cost.js');
  const named = opts.backend === 'wasm' || opts.backend === 'native' ? { name: opts.backend } : undefined;
  assertWithinMemoryCap(cfg, named, machineMemory());
  // Imported lazily: noop trials never load TensorFlow.js.
  const { runTrial } = await import('./trial.js');
  const result = await runTrial(cfg, { onProgress: opts.onProgress, signal: opts.signal, backend: opts.backend });
  return trialResultSchema.parse(result);
}

/** The `noop` task: sleep `noop.sleepMs` (abortable), report progress, return a well-formed completed result. */
async function runNoop(cfg: TrialConfig, opts: ExecuteOptions): Promise<TrialResult> {
  const t0 = performance.now();
  const total = cfg.noop.sleepMs;
  const steps = 4;
  for (let i = 1; i <= steps; i++) {
    if (total > 0) await sleep(total / steps, opts.signal);
    else opts.signal?.throwIfAborted();
    opts.onProgress?.({ step: i, steps });
  }
  return {
    status: 'completed',
    metrics: { trainLoss: null, testLoss: null, testAccuracy: null, stepsRun: 0, kernel: null },
    curve: [],
    backend: 'none',
    timings: { totalMs: performance.now() - t0 },
    versions: { node: process.version, hypersweep: '0.1.0' },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(): Error {
  const e = new Error('trial aborted');
  e.name = 'AbortError';
  return e;
}
