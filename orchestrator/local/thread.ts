/**
 * One trial slot of the local runner: a worker thread (default) or a forked child process. Runs one trial at a
 * time through executeTrial and posts progress and the result back; never touches the database.
 */
import { parentPort } from 'node:worker_threads';
import { executeTrial } from '../../worker/execute.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** Minimum milliseconds between two progress messages. */
const progressEveryMs = 200;

type Post = (m: FromWorker) => void;
let post: Post;
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

/** Progress objects cross a thread/process boundary: keep them plain JSON. */
function plain(p: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(p ?? null)) as unknown;
  } catch {
    return null;
  }
}

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  const controller = new AbortController();
  current = { trialId: m.trialId, controller };
  let last = 0;
  try {
    const result = await executeTrial(m.config, {
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
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'failed', trialId: m.trialId, error: { name: e.name, message: e.message, stack: e.stack } });
  } finally {
    current = null;
  }
}

onMessage((m) => {
  if (m.type === 'abort') {
    if (current?.trialId === m.trialId) current.controller.abort();
  } else if (m.type === 'run') {
    void run(m);
  }
});
post({ type: 'ready', pid: process.pid });
