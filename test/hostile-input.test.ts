/**
 * Hostile input through the built CLI: sweep files with an alias bomb or keys that reach Object.prototype, and
 * numeric flags in other notations, get one line and exit 2 (never a stack trace, never silently dropped).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hs-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const laughs = [
  'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
  ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`),
  'name: laughs',
  'task: sphere',
].join('\n');

const cases: Array<[string, string, RegExp]> = [
  ['a billion-laughs alias bomb', laughs, /bad YAML: aliases expand too much/],
  ['a grid key "__proto__.x"', 'name: p\ntask: sphere\ngrid:\n  "__proto__.x": [1, 2]\n', /grid\.__proto__\.x: .*not allowed/],
  ['a grid key constructor.prototype.x', 'name: p\ntask: sphere\ngrid:\n  constructor.prototype.x: [1, 2]\n', /grid\.constructor\.prototype\.x: .*not allowed/],
  ['fixed: {__proto__: …}', 'name: p\ntask: sphere\nfixed:\n  __proto__:\n    f: {width: 3}\n', /fixed\.__proto__: .*not allowed/],
  ['a nested fixed key f.__proto__', 'name: p\ntask: sphere\nfixed:\n  f:\n    __proto__: {width: 3}\n', /fixed\.f\.__proto__: .*not allowed/],
  ['a zip key prototype', 'name: p\ntask: sphere\nzip:\n  - {prototype: [1], seed: [1]}\n', /zip\[0\]\.prototype: .*not allowed/],
];

describe('hostile sweep files', () => {
  it.each(cases)('%s: one line, exit 2', async (_what, yaml, pattern) => {
    const file = join(dir, `s${cases.findIndex((c) => c[1] === yaml)}.yaml`);
    writeFileSync(file, yaml);
    const r = await runCli(['plan', file], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hypersweep: /);
    expect(lines[0]).toMatch(pattern);
  });

  it('still accepts a file with a few aliases', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'name: ok\ntask: sphere\nfixed: {train.steps: 2}\ngrid:\n  seed: &s [0, 1]\nzip:\n  - {data.nTrain: [8, 16], data.nTest: [8, 16]}\n');
    const r = await runCli(['plan', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('hostile numeric flags', () => {
  const flagCases: Array<[string, string[], RegExp]> = [
    ['worker --concurrency -1', ['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency=-1'], /concurrency: expected a whole number ≥ 1 in decimal digits/],
    ['worker --concurrency 0', ['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0'], /concurrency: expected a whole number ≥ 1/],
    ['worker --heartbeat-ms 0x50', ['worker', '--redis', 'redis://127.0.0.1:1', '--heartbeat-ms', '0x50'], /heartbeatMs: expected a whole number ≥ 50 in decimal digits/],
    ['dashboard --port 0x50', ['dashboard', '--port', '0x50'], /port: expected a port number from 0 to 65535 in decimal digits/],
    ['dashboard --port 1e3', ['dashboard', '--port', '1e3'], /port: expected a port number/],
    ['dashboard --port 65536', ['dashboard', '--port', '65536'], /port: expected a port number/],
    ['dashboard --allow-host with a port', ['dashboard', '--port', '0', '--allow-host', 'a.example:80'], /allowHost.*expected a host name/],
  ];
  it.each(flagCases)('%s: one line, exit 2', async (_what, args, pattern) => {
    const r = await runCli([...args, ...(args[0] === 'dashboard' ? ['--db', join(dir, 'none.db')] : [])], { timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  });
});
