import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

/** Malformed sweep files and flags through the real CLI: one line on stderr, exit 2, the database untouched. */

const dir = mkdtempSync(join(tmpdir(), 'hs-sweep-cli-'));
const db = join(dir, 'results.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const fingerprint = (file: string) => {
  const files = [file, `${file}-wal`, `${file}-shm`].filter(existsSync);
  return files.map((f) => `${f}:${statSync(f).mtimeMs}:${createHash('sha256').update(readFileSync(f)).digest('hex')}`).join('|');
};

const good = write('good.yaml', 'name: good\ntask: noop\ngrid: {seed: [0, 1]}\n');

beforeAll(async () => {
  const r = await runCli(['run', good, '--db', db, '--concurrency', '2']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

const bad: Array<[string, string, RegExp]> = [
  ['unknown top-level key', 'name: a\ntask: noop\ngrids: {seed: [1]}\n', /grids: unknown key/],
  ['unknown config key', 'name: a\ntask: noop\ngrid: {noop.sleep: [1]}\n', /grid\.noop\.sleep: unknown config key/],
  ['empty axis', 'name: a\ntask: noop\ngrid: {seed: []}\n', /grid\.seed: an axis needs at least one value/],
  ['grid that is a list', 'name: a\ntask: noop\ngrid: [seed, 1]\n', /grid: /],
  ['wrong value type', 'name: a\ntask: noop\ngrid: {noop.sleepMs: [10, slow]}\n', /grid\.noop\.sleepMs: .*expected number/],
  ['wrong top-level type', 'name: a\ntask: noop\nretries: many\n', /retries: /],
  ['same axis in grid and zip', 'name: a\ntask: noop\ngrid: {seed: [1]}\nzip: [{seed: [1, 2]}]\n', /zip\[0\]\.seed: duplicate axis/],
  ['same axis in fixed and grid', 'name: a\ntask: noop\nfixed: {seed: 3}\ngrid: {seed: [1]}\n', /grid\.seed: duplicate axis: fixed\.seed/],
  ['zip lists of unequal length', 'name: a\ntask: noop\nzip: [{seed: [1, 2, 3], noop.sleepMs: [1, 2]}]\n', /zip\[0\]\.noop\.sleepMs: has 2 values but seed has 3/],
  ['bad YAML', 'name: a\ntask: noop\ngrid: {seed: [1, 2}\n', /bad YAML/],
  ['duplicate YAML key', 'name: a\ntask: noop\ngrid:\n  seed: [1]\n  seed: [2]\n', /bad YAML: Map keys must be unique/],
  ['unknown task', 'name: a\ntask: spheres\n', /task: /],
  ['missing name', 'task: noop\n', /name: /],
];

describe('run and plan refuse malformed sweep files', () => {
  it.each(bad)('%s', async (_what, yaml, re) => {
    const file = write(`bad-${Math.random().toString(36).slice(2)}.yaml`, yaml);
    const before = fingerprint(db);
    for (const args of [['run', file, '--db', db], ['plan', file]]) {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(file);
      expect(lines[0]).toMatch(re);
    }
    expect(fingerprint(db)).toBe(before);
  });
});

describe('run refuses bad paths and flags', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing sweep file', ['run', join(dir, 'nope.yaml'), '--db', db], /nope\.yaml: no such sweep file/],
    ['a directory as sweep file', ['run', dir, '--db', db], /is a directory/],
    ['--concurrency 0', ['run', good, '--db', db, '--concurrency', '0'], /--concurrency: expected a whole number from 1 to 256, got "0"/],
    ['--concurrency abc', ['run', good, '--db', db, '--concurrency', 'abc'], /--concurrency: .*"abc"/],
    ['--concurrency 1.5', ['run', good, '--db', db, '--concurrency', '1.5'], /--concurrency: .*"1\.5"/],
    ['an unknown backend', ['run', good, '--db', db, '--backend', 'cuda'], /--backend: unknown backend "cuda"/],
    ['an unknown order', ['run', good, '--db', db, '--order', 'big-first'], /--order: expected listed or small-first/],
    ['--local with --redis', ['run', good, '--db', db, '--local', '--redis', 'redis://127.0.0.1:1'], /--local and --redis/],
    ['--concurrency with --redis', ['run', good, '--db', db, '--redis', 'redis://127.0.0.1:1', '--concurrency', '2'], /--concurrency: local mode only/],
    ['an unknown flag', ['run', good, '--db', db, '--bogus'], /unknown option/],
  ];
  it.each(cases)('%s', async (_what, args, re) => {
    const before = fingerprint(db);
    const r = await runCli(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('(run `hypersweep --help`'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(fingerprint(db)).toBe(before);
  });

  it('refuses a database path it cannot create, creating nothing', async () => {
    const blocker = write('not-a-dir', 'x');
    for (const target of [join(blocker, 'x.db'), '/proc/hypersweep-test.db', dir]) {
      const r = await runCli(['run', good, '--db', target]);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^hypersweep: --db /);
    }
    expect(readFileSync(blocker, 'utf8')).toBe('x');
    expect(existsSync('/proc/hypersweep-test.db')).toBe(false);
  });

  it('status: a missing database or unknown sweep is one line, exit 2', async () => {
    const before = fingerprint(db);
    const missing = await runCli(['status', '--db', join(dir, 'none.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no database there/);
    expect(existsSync(join(dir, 'none.db'))).toBe(false);
    const unknown = await runCli(['status', 'nosuch', '--db', db]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('hypersweep: no sweep "nosuch" in this database (it has: good)');
    expect(fingerprint(db)).toBe(before);
  });
});

describe('plan', () => {
  it('prints the count, a preview of the varying axes and cost estimates, and writes nothing', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'hs-plan-'));
    try {
      const r = await runCli(['plan', join(repoRoot, 'sweeps', 'width-joint.yaml'), '--limit', '3'], { cwd });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^sweep width-joint: task sphere, 20 trials, order small-first, retries 2$/m);
      expect(r.stdout).toMatch(/^varying: seed, f\.width, g\.width$/m);
      expect(r.stdout).toMatch(/^#\s+trial\s+seed\s+f\.width\s+g\.width\s+params\s+memory\s+compute$/m);
      expect(r.stdout.match(/^\d+\s+t[0-9a-f]{20}\s/gm)).toHaveLength(3);
      expect(r.stdout).toMatch(/… 17 more/);
      expect(r.stdout).toMatch(/^total: [\d.]+ [TGM]FLOP/m);
      expect(readdirSync(cwd)).toEqual([]);
      const json = await runCli(['plan', join(repoRoot, 'sweeps', 'width-joint.yaml'), '--json'], { cwd });
      const plan = JSON.parse(json.stdout) as { trials: Array<{ id: string; flops: number }> };
      expect(plan.trials).toHaveLength(20);
      // small-first: the estimated cost never decreases along the plan
      const flops = plan.trials.map((t) => t.flops);
      expect([...flops].sort((a, b) => a - b)).toEqual(flops);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('refuses a bad --limit', async () => {
    const r = await runCli(['plan', good, '--limit', '-1']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('hypersweep: --limit: expected a whole number ≥ 0, got "-1"');
  });
});
