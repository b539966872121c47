import { describe, expect, it } from 'vitest';
import { jobOptions } from '../orchestrator/distributed/enqueue.js';
import { isLostReason } from '../orchestrator/distributed/collector.js';
import { formatDuration, summaryLine } from '../orchestrator/distributed/progress.js';
import { trialJobDataSchema, trialJobReturnSchema } from '../core/protocol.js';
import { checkRedisUrl, resolveRedisTarget } from '../core/redis.js';
import { canonicalConfig, trialId } from '../core/identity.js';
import { sweepSpecSchema } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';

describe('job options', () => {
  it('use the trial id as job id, retries + 1 attempts with exponential backoff, and keep finished jobs for the collector', () => {
    const o = jobOptions('t0123456789abcdef0123', { retries: 2 });
    expect(o).toMatchObject({ jobId: 't0123456789abcdef0123', attempts: 3, backoff: { type: 'exponential' } });
    expect(o.removeOnComplete).toBe(false);
    expect(o.removeOnFail).toBe(false);
    expect(o.priority).toBeUndefined();
  });

  it('give small-first sweeps priorities that follow the cheapest-first order (lower runs first)', () => {
    const spec = sweepSpecSchema.parse({
      name: 'p', task: 'noop', order: 'small-first', grid: { 'noop.sleepMs': [400, 50, 200, 100] },
    });
    const trials = expandSweep(spec);
    const rank = new Map(trials.map((t, i) => [t.id, i]));
    const byPriority = [...trials].sort(
      (a, b) => jobOptions(a.id, { retries: 0, rank }).priority! - jobOptions(b.id, { retries: 0, rank }).priority!,
    );
    expect(byPriority.map((t) => t.config.noop.sleepMs)).toEqual([50, 100, 200, 400]);
  });
});

describe('wire formats', () => {
  const config = canonicalConfig({ task: 'noop' });
  const id = trialId(config);

  it('accept a version-1 job and reject unknown keys, other versions and ids that BullMQ would mangle', () => {
    expect(trialJobDataSchema.safeParse({ v: 1, trialId: id, sweep: 's', config }).success).toBe(true);
    expect(trialJobDataSchema.safeParse({ v: 2, trialId: id, sweep: 's', config }).success).toBe(false);
    expect(trialJobDataSchema.safeParse({ v: 1, trialId: id, sweep: 's', config, extra: 1 }).success).toBe(false);
    expect(trialJobDataSchema.safeParse({ v: 1, trialId: '12345', sweep: 's', config }).success).toBe(false);
    expect(trialJobDataSchema.safeParse({ v: 1, trialId: 'a:b', sweep: 's', config }).success).toBe(false);
  });

  it('reject a result payload whose result does not match the result schema', () => {
    const result = {
      status: 'completed', metrics: { trainLoss: 1, testLoss: 1, stepsRun: 1, kernel: null }, curve: [[0, 1]],
      backend: 'cpu', timings: {}, versions: {},
    };
    expect(trialJobReturnSchema.safeParse({ v: 1, trialId: id, worker: 'w', host: 'h', result }).success).toBe(true);
    expect(trialJobReturnSchema.safeParse({ v: 1, trialId: id, worker: 'w', host: 'h', result: { ...result, status: 'ok' } }).success).toBe(false);
  });

  it('recognise the failure reasons BullMQ gives a job whose worker was lost', () => {
    expect(isLostReason('job stalled more than allowable limit')).toBe(true);
    expect(isLostReason('job started more than allowable limit')).toBe(true);
    expect(isLostReason('MemoryCapError: too big')).toBe(false);
  });
});

describe('Redis URL and prefix', () => {
  it.each([
    ['http://x:6379', /scheme/], ['redis://', /not a URL|no host/], ['redis://h:99999', /not a URL|bad port/],
    ['redis://h:6379/abc', /database number/], ['not a url', /not a URL/],
  ])('refuses %s with one line', (url, re) => {
    expect(() => checkRedisUrl(url)).toThrow(re);
  });

  it('takes the flag over REDIS_URL, defaults the prefix, and refuses a prefix with ":"', () => {
    expect(resolveRedisTarget({}, {})).toBeUndefined();
    expect(resolveRedisTarget({}, { REDIS_URL: 'redis://a:1' })).toEqual({ url: 'redis://a:1', prefix: 'hypersweep' });
    expect(resolveRedisTarget({ redis: 'redis://b:2' }, { REDIS_URL: 'redis://a:1', HYPERSWEEP_PREFIX: 'p' })).toEqual({ url: 'redis://b:2', prefix: 'p' });
    expect(() => resolveRedisTarget({ redis: 'redis://b:2', prefix: 'a:b' }, {})).toThrow(/--prefix/);
  });
});

describe('progress lines', () => {
  const counts = { queued: 6, running: 2, completed: 10, failed: 1, diverged: 1, cancelled: 0, total: 20 };
  const snap = (finishedHere: number, elapsedMs: number) => ({
    sweep: 's', counts, finishedHere, elapsedMs, running: [], workers: [], progress: new Map(),
  });

  it('show done/total, every status, the rate and an ETA of remaining / rate', () => {
    const line = summaryLine(snap(12, 6000)); // 2 trials/s, 8 left → 4 s
    expect(line).toMatch(/^s: 12\/20 done/);
    expect(line).toMatch(/completed 10 .*diverged 1 .*failed 1 .*cancelled 0 .*running 2 .*queued 6/);
    expect(line).toMatch(/2\.00 trials\/s/);
    expect(line).toMatch(/ETA 4s/);
  });

  it('take the time model\'s ETA when the session has one, and say the parallelism', () => {
    const beat = (id: string, concurrency: number) => ({ v: 1 as const, id, host: 'h', pid: 1, backend: null, concurrency, current: [], startedAt: 0, heartbeatAt: 0 });
    const line = summaryLine({ ...snap(12, 6000), etaMs: 125_000, workers: [beat('a', 2), beat('b', 4)] });
    expect(line).toMatch(/ETA 2m05s/);
    expect(line).toMatch(/workers 2 \(6 slots × 1 compute thread\)$/);
  });

  it('give no ETA before anything finished', () => {
    expect(summaryLine(snap(0, 1000))).toMatch(/ETA \?/);
  });

  it('format durations as s, m s and h m', () => {
    expect([formatDuration(4_000), formatDuration(125_000), formatDuration(3_725_000)]).toEqual(['4s', '2m05s', '1h02m']);
  });
});
