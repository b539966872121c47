import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildProgram } from '../orchestrator/cli/main.js';
import { repoRoot, runCli } from './helpers/cli.js';

/**
 * docker-compose.yml and the Dockerfiles cannot be run here (no Docker engine): check them against the CLI
 * instead. Every hypersweep command in the compose file must name a real subcommand with flags it declares.
 */

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
const serviceSchema = z.object({
  image: z.string(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  command: z.array(z.string()).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  depends_on: z.union([z.array(z.string()), z.record(z.string(), z.object({ condition: z.string() }))]).optional(),
  volumes: z.array(z.string()).optional(),
  deploy: z.object({ replicas: z.number().int().positive().optional() }).passthrough().optional(),
  profiles: z.array(z.string()).optional(),
  ports: z.array(z.string()).optional(),
  init: z.boolean().optional(),
  stop_grace_period: z.string().optional(),
}).passthrough();
const compose = z
  .object({ services: z.record(z.string(), serviceSchema), volumes: z.record(z.string(), z.unknown().nullable()).optional() })
  .parse(parse(read('docker-compose.yml'), { merge: true }));
const services = compose.services;
const program = buildProgram();

/** Resolve `${VAR:-default}` the way compose does when VAR is unset. */
const interpolate = (s: string) => s.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

function checkCommand(argv: string[]): { sub: Command; flags: Map<string, string | true>; positional: string[] } {
  const [name, ...rest] = argv.map(interpolate);
  const sub = program.commands.find((c) => c.name() === name);
  if (!sub) throw new Error(`unknown subcommand ${name}`);
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const opt = sub.options.find((o) => o.long === a);
    if (!opt) throw new Error(`${name}: unknown flag ${a} (has ${sub.options.map((o) => o.long).join(' ')})`);
    if (opt.required || opt.optional) flags.set(a, rest[++i] ?? '');
    else flags.set(a, true);
  }
  const required = sub.registeredArguments.filter((r) => r.required).length;
  if (positional.length < required || positional.length > sub.registeredArguments.length) {
    throw new Error(`${name}: ${positional.length} arguments, expected ${required}..${sub.registeredArguments.length}`);
  }
  return { sub, flags, positional };
}

/** `SRC:DST[:MODE]` bind mounts of a service (named volumes have no '/' in SRC). */
function binds(service: string): Array<{ src: string; dst: string; mode: string }> {
  return (services[service]!.volumes ?? [])
    .map((v) => interpolate(v).split(':'))
    .filter(([src]) => src!.startsWith('.') || src!.startsWith('/'))
    .map(([src, dst, mode]) => ({ src: src!, dst: dst!, mode: mode ?? 'rw' }));
}

/** The host file a container path of `service` comes from, through its bind mounts. */
function hostPath(service: string, containerPath: string): string {
  const b = binds(service).find((m) => containerPath.startsWith(`${m.dst}/`));
  if (!b) throw new Error(`${service}: ${containerPath} is not on a bind mount`);
  return join(repoRoot, b.src, containerPath.slice(b.dst.length));
}

/** Compose durations as used here: `45s`, `2m`, `1m30s`. */
function seconds(d: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
  if (!m || d === '') throw new Error(`unsupported duration ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

describe('docker-compose.yml under faults and exposure', () => {
  const hs = Object.entries(services).filter(([name]) => name !== 'redis');

  it('runs every hypersweep service under an init, with a stop grace longer than the worker drain', () => {
    for (const [name, s] of hs) {
      expect(s.init, name).toBe(true);
      const cmd = checkCommand(s.command!);
      const drainMs = Number(cmd.flags.get('--shutdown-timeout-ms') ?? cmd.sub.options.find((o) => o.long === '--shutdown-timeout-ms')?.defaultValue ?? 0);
      if (cmd.sub.name() === 'worker') expect(drainMs, name).toBe(30_000);
      expect(seconds(s.stop_grace_period ?? '10s'), name).toBeGreaterThanOrEqual(drainMs / 1000 + 10);
    }
  });

  it('mounts the sweep files read-only instead of using the copies baked into the image', () => {
    const orch = checkCommand(services.orchestrator!.command!);
    const sweep = interpolate(orch.positional[0]!);
    const mount = binds('orchestrator').find((m) => sweep.startsWith(`${m.dst}/`));
    expect(mount, 'the sweep is on a bind mount').toBeDefined();
    expect(mount!.mode).toBe('ro');
    expect(mount!.dst.startsWith('/app')).toBe(false); // not shadowing the image's own tree
    expect(existsSync(hostPath('orchestrator', sweep))).toBe(true);
  });

  it('does not publish Redis unless it has a password', () => {
    const r = services.redis!;
    const cmd = (r.command ?? []).map(interpolate);
    const pass = cmd[cmd.indexOf('--requirepass') + 1];
    const hasPassword = cmd.includes('--requirepass') && !!pass;
    if (!hasPassword) expect(r.ports ?? []).toEqual([]);
  });

  it('publishes the dashboard on loopback only by default', () => {
    const ports = (services.dashboard!.ports ?? []).map(interpolate);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p, 'HOST_IP:HOST_PORT:CONTAINER_PORT').toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []).map(interpolate)) expect(p, `${name} publishes on every interface`).toMatch(/^(127\.0\.0\.1|\[::1\]):/);
    }
  });
});

describe('docker-compose.yml', () => {
  it('has redis with AOF on and no eviction', () => {
    const cmd = services.redis?.command ?? [];
    expect(cmd[0]).toBe('redis-server');
    expect(cmd.join(' ')).toMatch(/--appendonly yes/);
    expect(cmd.join(' ')).toMatch(/--maxmemory-policy noeviction/);
  });

  it('runs the orchestrator, replicated workers and the dashboard with commands the CLI accepts', () => {
    for (const name of ['orchestrator', 'worker', 'dashboard']) expect(Object.keys(services)).toContain(name);
    const orch = checkCommand(services.orchestrator!.command!);
    expect(orch.sub.name()).toBe('run');
    expect(existsSync(hostPath('orchestrator', orch.positional[0]!))).toBe(true); // the default sweep, mounted
    expect(orch.flags.get('--redis')).toBe('redis://redis:6379');
    const worker = checkCommand(services.worker!.command!);
    expect(worker.sub.name()).toBe('worker');
    expect(services.worker!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    const dash = checkCommand(services.dashboard!.command!);
    expect(dash.sub.name()).toBe('dashboard');
    expect(dash.flags.get('--host')).toBe('0.0.0.0');
    // The orchestrator writes and the dashboard reads the same database file, on a shared volume.
    expect(dash.flags.get('--db')).toBe(orch.flags.get('--db'));
    const dbDir = String(orch.flags.get('--db')).replace(/\/[^/]+$/, '');
    for (const s of ['orchestrator', 'dashboard']) expect(services[s]!.volumes?.some((v) => v.endsWith(`:${dbDir}`))).toBe(true);
    for (const [name, s] of Object.entries(services)) {
      if (name === 'redis') continue;
      checkCommand(s.command!);
      // Every Redis URL (flag or environment) points at the compose redis service.
      const urls = [...(s.command ?? []).filter((a) => a.startsWith('redis://')), s.environment?.REDIS_URL].filter(Boolean);
      expect(urls.length).toBeGreaterThan(0);
      for (const u of urls) expect(new URL(u!).hostname).toBe('redis');
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(Object.keys(services)).toContain(d);
      if (s.build) expect(existsSync(join(repoRoot, s.build.context, s.build.dockerfile))).toBe(true);
    }
  });

  it('passes each worker --backend a backend the worker knows', async () => {
    const { backendNames } = await import('../core/backend.js');
    for (const s of Object.values(services)) {
      const cmd = s.command ?? [];
      const i = cmd.indexOf('--backend');
      if (i >= 0) expect(backendNames as readonly string[]).toContain(cmd[i + 1]);
    }
  });
});

describe('docker-compose.yml, run by the real CLI', () => {
  // With the compose host swapped for a closed local port, each long-running service gets through its flag and
  // input checks and stops at the first thing that needs the network: the proof that the CLI accepts the command.
  const dir = mkdtempSync(join(tmpdir(), 'hs-deploy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const local = (argv: string[]) =>
    argv.map(interpolate).map((a) => a.replace('redis://redis:6379', 'redis://127.0.0.1:1').replace(/^\/data\//, `${dir}/`).replace(/^\/sweeps\//, 'sweeps/')); // compose mounts ./sweeps at /sweeps

  it.each(['orchestrator', 'worker'])('%s: accepts its command and stops only at the unreachable Redis', async (name) => {
    const r = await runCli(local(services[name]!.command!));
    expect(r.stderr).toMatch(/^hypersweep: --redis redis:\/\/127\.0\.0\.1:1\/?: cannot reach Redis/);
    expect(r.code).toBe(2);
  });

  it('dashboard: accepts its command and stops only at the missing database', async () => {
    const r = await runCli(local(services.dashboard!.command!));
    expect(r.stderr).toContain(`${dir}/hypersweep.db`);
    expect(r.code).toBe(2);
  });
});

describe('Dockerfiles', () => {
  it('run the image\'s default command (ENTRYPOINT + CMD) and the example in its header', async () => {
    const d = read('Dockerfile');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(d)![1]!) as string[];
    const help = await runCli(cmd);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: hypersweep/);
    const example = /docker run --rm hypersweep (.+)$/m.exec(d)![1]!.split(' ');
    const plan = await runCli(example);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/quickstart/);
  });

  it('prune dev dependencies only: the shipped code imports only runtime dependencies', () => {
    // The image runs `npm prune --omit=dev --omit=optional`: a runtime import of a devDependency would break it,
    // and an optional one must be loaded lazily (import()), where its absence can be handled.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };
    const files = (d: string): string[] => readdirSync(join(repoRoot, d), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? (e.name === 'client' ? [] : files(`${d}/${e.name}`)) : e.name.endsWith('.ts') ? [`${d}/${e.name}`] : []);
    const bad: string[] = [];
    const seen = new Set<string>();
    for (const f of ['core', 'orchestrator', 'worker', 'schema', 'dashboards'].flatMap(files)) {
      const text = readFileSync(join(repoRoot, f), 'utf8');
      for (const { fileName } of ts.preProcessFile(text, true, true).importedFiles) {
        if (fileName.startsWith('.') || fileName.startsWith('node:') || builtinModules.includes(fileName)) continue;
        const name = fileName.startsWith('@') ? fileName.split('/').slice(0, 2).join('/') : fileName.split('/')[0]!;
        seen.add(name);
        if (name in pkg.dependencies) continue;
        const lazy = new RegExp(`import\\(\\s*['"]${fileName.replace(/[/.-]/g, '\\$&')}['"]`).test(text);
        if (pkg.optionalDependencies && name in pkg.optionalDependencies && lazy) continue;
        bad.push(`${f}: ${fileName}`);
      }
    }
    expect(bad).toEqual([]);
    for (const p of ['bullmq', 'drizzle-orm', 'zod', 'better-sqlite3']) expect(seen).toContain(p);
  });

  it('build the CPU image on Node 20 with the CLI as entry point', () => {
    const d = read('Dockerfile');
    expect(d).toMatch(/^FROM node:20/m);
    expect(d).toMatch(/npm run build/);
    expect(d).toMatch(/ENTRYPOINT \["node", "\/app\/bin\/hypersweep\.js"\]/);
  });

  it('build the GPU worker on WebGPU over Vulkan, with the libraries the GPU machine check needed', () => {
    const d = read('Dockerfile.gpu');
    expect(d).toMatch(/^FROM node:20-bookworm/m);
    expect(d).not.toMatch(/nvidia\/cuda|tfjs-node-gpu@/); // no CUDA toolkit, no libtensorflow in the image
    // The loader and GL dispatch libraries are the ones bench/device/bundle.sh carried to the H100 check.
    const installed = new Set(/apt-get install[^\n]*?((?:lib[\w-]+\s*)+)/.exec(d)![1]!.trim().split(/\s+/));
    const carried = new Set(/apt-get \$o download ([\w\s-]+)\)/.exec(read('bench/device/bundle.sh'))![1]!.trim().split(/\s+/));
    expect([...installed].sort()).toEqual([...carried].sort());
    expect(d).toMatch(/NVIDIA_DRIVER_CAPABILITIES=[\w,]*graphics/); // the toolkit mounts the Vulkan ICD only for it
    const cmd = checkCommand(JSON.parse(/^CMD (\[.*\])$/m.exec(d)![1]!) as string[]);
    expect(cmd.sub.name()).toBe('worker');
    expect(cmd.flags.get('--backend')).toBe('webgpu');
    const gpuWorker = services['worker-gpu']!;
    expect(gpuWorker.build?.dockerfile).toBe('Dockerfile.gpu');
    expect(checkCommand(gpuWorker.command!).flags.get('--backend')).toBe('webgpu');
  });

  it('run the GPU image\'s header examples against the CLI', () => {
    const d = read('Dockerfile.gpu');
    const runs = [...d.matchAll(/docker run [^\n]*?hypersweep-gpu (.+)$/gm)].map((m) => m[1]!.split(' '));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const argv of runs) {
      const { flags } = checkCommand(argv);
      const config = flags.get('--config');
      if (typeof config === 'string') expect(existsSync(join(repoRoot, config))).toBe(true); // in the image (COPY . .)
    }
  });

  it('give the runtime user a writable working directory (./hypersweep.db by default) and /data', () => {
    const d = read('Dockerfile');
    const final = d.slice(d.lastIndexOf('\nFROM '));
    const user = [...final.matchAll(/^USER (\S+)/gm)].at(-1)?.[1];
    expect(user).toBe('node');
    const workdir = [...final.matchAll(/^WORKDIR (\S+)/gm)].at(-1)?.[1];
    expect(workdir).toBeDefined();
    // A chown of the directory to the user, after the last COPY into it and before USER.
    const beforeUser = final.slice(0, final.lastIndexOf('\nUSER '));
    const afterCopy = beforeUser.slice(beforeUser.lastIndexOf('\nCOPY '));
    const chowned = [...afterCopy.matchAll(/^RUN .*chown (?:-\S+ )*node(?::node)? ([^&\n]+)/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    expect(chowned).toContain(workdir);
    expect(chowned).toContain('/data');
    expect(final).not.toMatch(/chown -R/); // the code stays root's
  });

  it('keep node_modules, builds and databases out of the build context', () => {
    const ignore = read('.dockerignore').split('\n');
    for (const p of ['node_modules', 'dist', '*.db']) expect(ignore).toContain(p);
  });
});
