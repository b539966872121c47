/**
 * One trial slot of the local runner: a worker thread (default) or a forked child process. Runs one trial at a
 * time and posts progress and the result back; never touches the database. `thread.ts` serves executeTrial;
 * tests serve a stand-in through the same message loop.
 */
import { parentPort } from 'node:worker_threads';
import { trialConfigSchema, type TrialConfig } from '../../core/config.js';
import { InputError, serializeError, zodErrorLine } from '../../core/errors.js';
import type { TrialResult } from '../../core/result.js';
import type { ExecuteOptions } from '../../worker/execute.js';
import type { FromWorker, ToWorker } from './protocol.js';

export type ExecuteFn = (config: TrialConfig, opts: ExecuteOptions) => Promise<TrialResult>;

/** Minimum milliseconds between two progress messages. */
const progressEveryMs = 200;

/** Progress objects cross a thread/process boundary: keep them plain JSON. */
function plain(p: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(p ?? null)) as unknown;
  } catch {
    return null;
  }
}

/** Answer the runner's messages in this thread or child process, running each trial with `execute`. */
export function serveTrials(execute: ExecuteFn): void {
  let post: (m: FromWorker) => void;
  let onMessage: (handler: (m: ToWorker) => void) => void;
  if (parentPort) {
    const port = parentPort;
    post = (m) => port.postMessage(m);
    onMessage = (h) => port.on('message', h);
  } else if (typeof process.send === 'function') {
    post = (m) => process.send!(m);
    onMessage = (h) => process.on('message', (m) => h(m as ToWorker));
    // The runner died (kill -9): stop, no one can receive our result.
    process.on('disconnect', () => process.exit(1));
    // Ctrl-C reaches the whole process group: the runner decides when we stop.
    process.on('SIGINT', () => {});
  } else {
    throw new Error('orchestrator/local/thread.js runs as a worker thread or a forked child of the local runner');
  }

  let current: { trialId: string; controller: AbortController } | null = null;

  const run = async (m: Extract<ToWorker, { type: 'run' }>): Promise<void> => {
    const controller = new AbortController();
    current = { trialId: m.trialId, controller };
    let last = 0;
    try {
      const parsed = trialConfigSchema.safeParse(m.config);
      if (!parsed.success) throw new InputError(`trial ${m.trialId}`, zodErrorLine('config', parsed.error));
      const result = await execute(parsed.data, {
        backend: m.backend,
        signal: controller.signal,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < progressEveryMs) return;
          last = now;
          post({ type: 'progress', trialId: m.trialId, progress: plain(p) });
        },
      });
      post({ type: 'done', trialId: m.trialId, result: plain(result) });
    } catch (err) {
      post({ type: 'failed', trialId: m.trialId, error: serializeError(err) });
    } finally {
      current = null;
    }
  };

  onMessage((m) => {
    if (m.type === 'abort') {
      if (current?.trialId === m.trialId) current.controller.abort();
    } else if (m.type === 'run') {
      void run(m);
    }
  });
  post({ type: 'ready', pid: process.pid });
}
