import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { guardSandboxStart } from '../worker/bullmq.js';
import { REDIS_URL, removeTempDirs, tempDir, uniquePrefix, wipePrefix } from './queue-helpers.js';

afterAll(removeTempDirs);

/** Processes whose parent is `pid` (from /proc). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // ended while we looked
    }
  }
  return out;
}

describe('a sandbox that dies while starting', () => {
  it('guards the pinned BullMQ (the patch reaches into its private Child.initChild)', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    const installed = JSON.parse(readFileSync(new URL('../node_modules/bullmq/package.json', import.meta.url), 'utf8')) as { version: string };
    // On a BullMQ upgrade: check that a child's exit during start still hangs the job (test below), then re-pin.
    expect(pkg.dependencies.bullmq).toBe('6.7.0');
    expect(installed.version).toBe('6.7.0');
    expect(guardSandboxStart()).toBe(true);
  });

  it('fails its attempt (retried) instead of leaving the job active for good', async () => {
    expect(guardSandboxStart()).toBe(true);
    const dir = tempDir();
    // A processor that takes 4 s to load: the sandbox is killed inside that window.
    const proc = join(dir, 'slow-start.mjs');
    writeFileSync(proc, 'const t = Date.now(); while (Date.now() - t < 4000) {}\nexport default async function () { return "ok"; }\n');
    const prefix = uniquePrefix('start');
    const url = new URL(REDIS_URL);
    const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
    const queue = new Queue('q', { connection, prefix });
    const before = new Set(childPids(process.pid));
    const worker = new Worker('q', proc, { connection, prefix, lockDuration: 1000, stalledInterval: 500 });
    const failures: string[] = [];
    worker.on('failed', (_job, err) => failures.push(err.message));
    try {
      const done = new Promise<{ attempts: number; value: unknown }>((resolve) =>
        worker.on('completed', (job, value) => resolve({ attempts: job.attemptsStarted, value })),
      );
      await queue.add('j', {}, { attempts: 3 });
      let killed = 0;
      for (let i = 0; i < 200 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        for (const pid of childPids(process.pid).filter((p) => !before.has(p))) {
          process.kill(pid, 'SIGKILL');
          killed++;
        }
      }
      expect(killed).toBeGreaterThan(0);
      const r = await Promise.race([done, new Promise<null>((resolve) => setTimeout(() => resolve(null), 40_000))]);
      expect(r).toEqual({ attempts: 2, value: 'ok' });
      expect(failures).toEqual([expect.stringMatching(/sandbox exited while starting \(code null, signal SIGKILL\)/)]);
    } finally {
      await worker.close(true);
      await queue.close();
      await wipePrefix(prefix);
    }
  }, 60_000);
});
