import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { faultKinds, redisServerPath, runFaultInjection } from '../bench/fault-injection.js';

// The CI fault-injection suite: one short round through a private redis-server, every fault kind at least once
// (kinds taken in turn), then the counts checked. `npm run bench:faults` is the long soak of the same harness.

describe.skipIf(!redisServerPath())('fault injection (kill -9 of worker, sandbox and orchestrator; Redis restart; lost keys; second writers)', () => {
  it('loses and duplicates nothing, and refuses every second writer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hypersweep-faults-'));
    try {
      const r = await runFaultInjection({
        dir, rounds: 1, trialsPerRound: 20, faultsPerRound: faultKinds.length, sleepMs: 1200, workers: 2, seed: 7, cycle: true,
        log: (line) => console.log(line),
      });
      console.log(`faults ${r.totalFaults} ${JSON.stringify(r.faults)}; trials ${r.trials}, lost ${r.lost}, duplicated ${r.duplicated}, leftover ${r.leftover}`);
      expect(r.trials).toBe(20);
      expect(r.totalFaults).toBeGreaterThanOrEqual(faultKinds.length);
      expect(r.lost).toBe(0);
      expect(r.duplicated).toBe(0);
      expect(r.leftover).toBe(0);
      expect(r.secondWriterAccepted).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
