import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { classify, HypersweepError, serializeError } from '../core/errors.js';
import { BackendUnavailableError } from '../core/backend.js';
import { trialId } from '../core/identity.js';
import { repoRoot } from './helpers/cli.js';
import { runLocal } from '../orchestrator/local/runner.js';
import { parseSweep } from '../orchestrator/sweep.js';

/**
 * One classification of a trial's errors for both runners: the same error makes the local runner and the BullMQ
 * sandbox take the same decision (fail at once, retry, or — for a machine that cannot run trials — stop locally).
 */

/** How the stand-in trial fails: a missing MNIST file (the real readMnist), no backend here, an unexpected error. */
type Failure = 'mnist' | 'backend' | 'crash';

// The sandbox runs executeTrial: stand in for it with one that throws the failure the test names.
let sandboxFailure: Failure = 'mnist';
vi.mock('../worker/execute.js', async () => {
  const { readMnist } = await import('../worker/tasks/mnist.js');
  const { BackendUnavailableError: Unavailable } = await import('../core/backend.js');
  return {
    executeTrial: async () => {
      if (sandboxFailure === 'mnist') readMnist('train', '/nonexistent-mnist-dir');
      if (sandboxFailure === 'backend') throw new Unavailable('webgpu', 'no adapter');
      throw new Error('segfault-ish');
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'hs-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sink = () => {
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { out, text: () => text };
};

async function runLocally(failure: Failure) {
  // A trial slot serving the real message loop (dist/orchestrator/local/serve.js) with a trial that fails the way
  // `failure` says, through the real worker code.
  const entry = join(dir, `${failure}-runner.mjs`);
  writeFileSync(entry, `
    import { serveTrials } from ${JSON.stringify(join(repoRoot, 'dist/orchestrator/local/serve.js'))};
    import { readMnist } from ${JSON.stringify(join(repoRoot, 'dist/worker/tasks/mnist.js'))};
    import { BackendUnavailableError } from ${JSON.stringify(join(repoRoot, 'dist/core/backend.js'))};
    serveTrials(async () => {
      if (${JSON.stringify(failure)} === 'mnist') readMnist('train', '/nonexistent-mnist-dir');
      if (${JSON.stringify(failure)} === 'backend') throw new BackendUnavailableError('webgpu', 'no adapter');
      throw new Error('segfault-ish');
    });
  `);
  const db = join(dir, `${failure}.db`);
  const spec = parseSweep(`name: ${failure}\ntask: noop\nretries: 2\n`, `${failure}.yaml`);
  const { out } = sink();
  const run = runLocal({ spec, db, concurrency: 1, entry, out, tty: false, progressMs: 50, handleSignals: false });
  const outcome = await run.then(() => null, (e: unknown) => e);
  const c = new Database(db, { readonly: true });
  const row = c.prepare('select status, attempts, error from trials').get() as { status: string; attempts: number; error: string | null };
  c.close();
  return { outcome, row };
}

async function runInSandbox(failure: Failure): Promise<unknown> {
  sandboxFailure = failure;
  const { default: processTrial } = await import('../worker/sandbox.js');
  const config = { task: 'noop' as const };
  const job = {
    id: trialId(config),
    data: { v: 1, trialId: trialId(config), sweep: 's', config },
    updateProgress: async () => {},
  } as unknown as SandboxedJob<unknown, never>;
  return processTrial(job).then(() => null, (e: unknown) => e);
}

describe('error classification (core/errors.ts classify)', () => {
  it('keeps a subclass\'s kind through serialisation', () => {
    expect(classify(new HypersweepError('x'))).toBe('user');
    expect(classify(new BackendUnavailableError('wasm', 'x'))).toBe('fatal');
    expect(classify(new Error('x'))).toBe('retryable');
    const wire = JSON.parse(JSON.stringify(serializeError(new BackendUnavailableError('wasm', 'x')))) as unknown;
    expect(wire).toMatchObject({ name: 'BackendUnavailableError', kind: 'fatal' });
    expect(classify(wire)).toBe('fatal');
  });

  describe('a missing MNIST file (MnistFileError) is a user error', () => {
    it('fails the trial at once in local mode', async () => {
      const { outcome, row } = await runLocally('mnist');
      expect(outcome).toBeNull();
      expect(row).toMatchObject({ status: 'failed', attempts: 1 });
      expect(row.error).toMatch(/^MnistFileError: MNIST file \/nonexistent-mnist-dir\/train-images-idx3-ubyte: missing/);
    });

    it('fails the job at once in distributed mode (UnrecoverableError itself, no retry)', async () => {
      const e = await runInSandbox('mnist');
      expect(e).toBeInstanceOf(UnrecoverableError);
      expect((e as Error).name).toBe('UnrecoverableError');
      expect((e as Error).message).toMatch(/^MnistFileError: MNIST file .*missing/);
    });
  });

  describe('an unexpected error is retried', () => {
    it('up to `retries` times in local mode', async () => {
      const { row } = await runLocally('crash');
      expect(row).toMatchObject({ status: 'failed', attempts: 3, error: 'Error: segfault-ish' });
    });

    it('by BullMQ in distributed mode (thrown as is)', async () => {
      const e = await runInSandbox('crash');
      expect(e).not.toBeInstanceOf(UnrecoverableError);
      expect((e as Error).message).toBe('segfault-ish');
    });
  });

  describe('a backend missing on this machine is fatal here', () => {
    it('stops the local run, leaving the trial queued', async () => {
      const { outcome, row } = await runLocally('backend');
      expect(outcome).toBeInstanceOf(HypersweepError);
      expect((outcome as Error).message).toBe('backend webgpu is not available: no adapter');
      expect(row.status).toBe('queued');
    });

    it('hands the job back for another worker in distributed mode', async () => {
      const e = await runInSandbox('backend');
      expect(e).not.toBeInstanceOf(UnrecoverableError);
      expect((e as Error).name).toBe('BackendUnavailableError');
    });
  });
});
