/**
 * Fault injection against real processes: a private redis-server, `hypersweep worker` processes, and the
 * orchestrator (`run --redis`, then `resume` after each kill), all through the CLI (dist/). Each round runs one
 * noop sweep while faults are injected at random moments, finishes it (resuming if needed) and checks the
 * database and Redis. Shared by the CI suite (test/fault-injection.test.ts, a few rounds) and the soak
 * (`npm run bench:faults`).
 *
 * What is checked per round: every trial of the sweep is `completed` (else it counts as lost); no result was
 * stored twice (metric_points rows repeated for a trial/step) and no trial exists outside the sweeps
 * (duplicated); no job of the round is left in Redis once it is done (leftover); a second writer started on the
 * database was refused with exit 2 (else secondWriterAccepted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
// The project's one seeded generator, so a failing schedule can be replayed with the same seed.
import { mulberry32 as rng } from '../worker/model/rng.js';

export const faultKinds = [
  'kill-worker', 'kill-sandbox', 'kill-orchestrator', 'redis-restart', 'lose-wait-list', 'lose-job-hash', 'second-writer',
] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface FaultRunOptions {
  /** Folder for the database, sweep files and Redis' working directory. */
  dir: string;
  rounds: number;
  trialsPerRound: number;
  /** Faults injected per round at most (fewer if the sweep finishes first). */
  faultsPerRound: number;
  /** Each noop trial sleeps this long. */
  sleepMs: number;
  workers: number;
  /** Seed of the fault schedule (kinds and gaps). */
  seed: number;
  /** Fault kinds to draw from. @defaultValue every kind */
  kinds?: readonly FaultKind[];
  /** Take the kinds in turn instead of at random (so a short run covers each). @defaultValue false */
  cycle?: boolean;
  log?: (line: string) => void;
}

export interface FaultReport {
  rounds: number;
  trials: number;
  completed: number;
  faults: Record<FaultKind, number>;
  totalFaults: number;
  lost: number;
  duplicated: number;
  leftover: number;
  secondWriterAccepted: number;
  elapsedMs: number;
}

// The CLI entry, from dist/bench (compiled) or bench/ (run by vitest from source).
const cli = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../bin/hypersweep.js' : '../bin/hypersweep.js', import.meta.url));
const PREFIX = 'faults';
const workerFlags = ['--lock-duration-ms', '1000', '--stalled-interval-ms', '500', '--heartbeat-ms', '200', '--concurrency', '2'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise's value, or 'timeout' after `ms` (the timer never keeps the process alive). */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  done: () => boolean;
}

function start(command: string, args: string[]): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let finished = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((finished = true), resolve(code))));
  return { child, out: () => out, exited, done: () => finished };
}

async function waitOutput(p: Proc, re: RegExp, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!re.test(p.out())) {
    if (p.done() || Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

function killHard(p: Proc | undefined): Promise<unknown> {
  if (!p || p.done()) return Promise.resolve();
  p.child.kill('SIGKILL');
  return p.exited;
}

/** Direct children of a process (Linux /proc): a worker's sandboxes. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

export function redisServerPath(): string | undefined {
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((f) => existsSync(f));
}

/** A private redis-server without persistence: a restart loses every key. */
class PrivateRedis {
  readonly port = 20000 + Math.floor(Math.random() * 20000);
  readonly url = `redis://127.0.0.1:${this.port}`;
  private proc: Proc | undefined;
  constructor(private readonly server: string, private readonly dir: string) {}

  async start(): Promise<void> {
    this.proc = start(this.server, ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.dir]);
    if (!(await waitOutput(this.proc, /Ready to accept connections/, 10_000))) throw new Error(`redis-server did not start:\n${this.proc.out()}`);
  }

  async restart(): Promise<void> {
    await killHard(this.proc);
    await this.start();
  }

  stop(): Promise<unknown> {
    return killHard(this.proc);
  }
}

export async function runFaultInjection(o: FaultRunOptions): Promise<FaultReport> {
  const server = redisServerPath();
  if (!server) throw new Error('fault injection needs redis-server (apt-get install redis-server)');
  const log = o.log ?? (() => {});
  const random = rng(o.seed);
  const kinds = o.kinds ?? faultKinds;
  const redis = new PrivateRedis(server, o.dir);
  await redis.start();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null, lazyConnect: false });
  conn.on('error', () => {});
  const db = join(o.dir, 'faults.db');
  const faults = Object.fromEntries(faultKinds.map((k) => [k, 0])) as Record<FaultKind, number>;
  const report: FaultReport = {
    rounds: 0, trials: 0, completed: 0, faults, totalFaults: 0, lost: 0, duplicated: 0, leftover: 0, secondWriterAccepted: 0, elapsedMs: 0,
  };
  const t0 = Date.now();
  const workers: Proc[] = [];
  const startWorker = async (): Promise<void> => {
    const w = start(process.execPath, [cli, 'worker', '--redis', redis.url, '--prefix', PREFIX, ...workerFlags]);
    workers.push(w);
    await waitOutput(w, /ready on/, 20_000);
  };
  let orch: Proc | undefined;
  let drawn = 0;
  const secondWriters: Array<Promise<void>> = [];
  try {
    for (let i = 0; i < o.workers; i++) await startWorker();
    for (let round = 0; round < o.rounds; round++) {
      const name = `r${round}`;
      const sweep = join(o.dir, `${name}.yaml`);
      const seeds = Array.from({ length: o.trialsPerRound }, (_, k) => round * 10_000 + k);
      writeFileSync(sweep, `name: ${name}\ntask: noop\nfixed: {noop.sleepMs: ${o.sleepMs}}\ngrid: {seed: [${seeds.join(', ')}]}\nretries: 5\n`);
      const orchestrate = (cmd: 'run' | 'resume') =>
        start(process.execPath, [cli, cmd, cmd === 'run' ? sweep : name, '--redis', redis.url, '--prefix', PREFIX, '--db', db, '--progress-ms', '60000']);
      orch = orchestrate('run');
      await waitOutput(orch, /enqueued/, 20_000);
      // A fault that cannot apply now (no sandbox running, no job to delete) is tried again later (in turn: the same kind).
      for (let applied = 0, tries = 0; applied < o.faultsPerRound && tries < 4 * o.faultsPerRound && !orch.done(); tries++) {
        await sleep(50 + random() * 300);
        if (orch.done()) break;
        const kind = kinds[o.cycle ? drawn % kinds.length : Math.floor(random() * kinds.length)]!;
        const t = Date.now();
        if (await inject(kind)) {
          log(`  ${name}: ${kind} (${Date.now() - t} ms)`);
          faults[kind] += 1;
          report.totalFaults += 1;
          applied += 1;
          drawn += 1;
        }
      }
      // Finish the round: the current orchestrator, or resumes until it is done.
      for (let attempt = 0; ; attempt++) {
        const code = await within(orch.exited, 90_000);
        if (code === 0) break;
        log(`  ${name}: orchestrator ended with ${String(code)}; resuming. Its last output:\n${orch.out().slice(-1500)}`);
        await killHard(orch);
        if (attempt >= 3) {
          log(`round ${name}: orchestrator did not finish (last exit ${String(code)}):\n${orch.out().slice(-2000)}`);
          break;
        }
        while (workers.filter((w) => !w.done()).length < o.workers) await startWorker();
        orch = orchestrate('resume');
      }
      await Promise.all(secondWriters.splice(0));
      const check = await checkRound(db, name, conn, log);
      report.rounds += 1;
      report.trials += o.trialsPerRound;
      report.completed += check.completed;
      report.lost += o.trialsPerRound - check.completed;
      report.duplicated += check.duplicated;
      report.leftover += check.leftover;
      log(`round ${name}: ${check.completed}/${o.trialsPerRound} completed, ${report.totalFaults} faults so far, ` +
        `lost ${o.trialsPerRound - check.completed}, duplicated ${check.duplicated}, leftover ${check.leftover}`);
    }
  } finally {
    await killHard(orch);
    await Promise.all(workers.map((w) => killHard(w)));
    conn.disconnect();
    await redis.stop();
  }
  report.elapsedMs = Date.now() - t0;
  return report;

  /** Inject one fault; false when it could not be applied now (e.g. no sandbox running). */
  async function inject(kind: FaultKind): Promise<boolean> {
    const alive = workers.filter((w) => !w.done());
    switch (kind) {
      case 'kill-worker': {
        const w = alive[Math.floor(random() * alive.length)];
        if (!w) return false;
        await killHard(w);
        void startWorker(); // its replacement joins when ready
        return true;
      }
      case 'kill-sandbox': {
        const pids = alive.flatMap((w) => childPids(w.child.pid!));
        const pid = pids[Math.floor(random() * pids.length)];
        if (pid === undefined) return false;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          return false;
        }
        return true;
      }
      case 'kill-orchestrator': {
        await killHard(orch);
        orch = start(process.execPath, [cli, 'resume', orchName(), '--redis', redis.url, '--prefix', PREFIX, '--db', db, '--progress-ms', '60000']);
        return true;
      }
      case 'redis-restart':
        await redis.restart();
        return true;
      case 'lose-wait-list':
        await conn.del(`${PREFIX}:trials:wait`, `${PREFIX}:trials:prioritized`);
        return true;
      case 'lose-job-hash': {
        const all = [
          ...(await conn.lrange(`${PREFIX}:trials:active`, 0, -1)),
          ...(await conn.lrange(`${PREFIX}:trials:wait`, 0, -1)),
          ...(await conn.zrange(`${PREFIX}:trials:prioritized`, 0, -1)),
          ...(await conn.zrange(`${PREFIX}:trials:delayed`, 0, -1)),
        ];
        const id = all[Math.floor(random() * all.length)];
        if (id === undefined) return false;
        await conn.del(`${PREFIX}:trials:${id}`);
        return true;
      }
      case 'second-writer': {
        // Judged without waiting (starting a process is slow on a loaded machine): it must exit 2, or at least
        // never start a session while the orchestrator it was started next to holds the database.
        const primary = orch;
        const second = start(process.execPath, [cli, 'resume', orchName(), '--redis', redis.url, '--prefix', PREFIX, '--db', db]);
        secondWriters.push(
          (async () => {
            const started = await waitOutput(second, /enqueued on/, 60_000);
            if (started && primary && !primary.done() && /enqueued on/.test(primary.out())) {
              report.secondWriterAccepted += 1;
              log(`second writer started next to a live orchestrator:\n${second.out().slice(-1000)}`);
            }
            await killHard(second);
          })(),
        );
        return true;
      }
    }
  }

  function orchName(): string {
    return `r${report.rounds}`;
  }
}

/** Read what a finished round left in the database and in Redis (an independent check: plain SQL and key reads). */
async function checkRound(
  dbFile: string, sweep: string, conn: Redis, log: (line: string) => void,
): Promise<{ completed: number; duplicated: number; leftover: number }> {
  const d = new Database(dbFile, { readonly: true });
  let ids: string[];
  let completed: number;
  let duplicated: number;
  try {
    const rows = d.prepare('SELECT t.id, t.status, t.error FROM sweep_trials s JOIN trials t ON t.id = s.trial_id WHERE s.sweep = ?')
      .all(sweep) as Array<{ id: string; status: string; error: string | null }>;
    ids = rows.map((r) => r.id);
    completed = rows.filter((r) => r.status === 'completed').length;
    for (const r of rows) if (r.status !== 'completed') log(`  ${sweep}: trial ${r.id} is ${r.status}: ${r.error ?? ''}`);
    const repeated = d.prepare(
      'SELECT count(*) AS n FROM (SELECT trial_id, series, step FROM metric_points GROUP BY trial_id, series, step HAVING count(*) > 1)',
    ).get() as { n: number };
    const outside = d.prepare('SELECT count(*) AS n FROM trials WHERE id NOT IN (SELECT trial_id FROM sweep_trials)').get() as { n: number };
    duplicated = repeated.n + outside.n;
  } finally {
    d.close();
  }
  let leftover = 0;
  for (const id of ids) leftover += await conn.exists(`${PREFIX}:trials:${id}`);
  return { completed, duplicated, leftover };
}
