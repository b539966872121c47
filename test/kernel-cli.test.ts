/**
 * `hypersweep kernel` through the real built CLI (run `npm run build` first): bad input → exit 2 with one line naming
 * the field; --json round-trips against the library.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeKernels, type Gram, type KernelMode } from '../worker/kernels/index.js';
import { repoRoot, runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hypersweep-kernel-cli-'));
const fixture = join(repoRoot, 'test/fixtures/points-small.json');
const base = { x: [[1, 0], [0, 1]], z: [[1, 2], [3, 4]], f: { depth: 2 }, g: { depth: 2 }, zKernel: { type: 'linear' } };
let counter = 0;
function file(content: unknown): string {
  const p = join(dir, `points-${counter++}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const bad: [string, () => string[], RegExp][] = [
  ['a missing field', () => { const { g: _g, ...rest } = base; return ['--points', file(rest)]; }, /\bg\b.*expected object/],
  ['an extra top-level field', () => ['--points', file({ ...base, width: 3 })], /Unrecognized key.*width/],
  ['an extra nested field', () => ['--points', file({ ...base, f: { depth: 2, width: 8 } })], /\bf\b.*width/],
  ['ragged x', () => ['--points', file({ ...base, x: [[1, 0], [0, 1, 2]] })], /x\[1\].*ragged/],
  ['x and z of different lengths', () => ['--points', file({ ...base, z: [[1, 2]] })], /\bz\b.*1 rows but x has 2/],
  ['a number that overflows to Infinity', () => ['--points', file(JSON.stringify(base).replace('[[1,0]', '[[1e999,0]'))], /x\[0\]\[0\].*Infinity/],
  ['a string instead of a number', () => ['--points', file({ ...base, z: [['1', 2], [3, 4]] })], /z\[0\]\[0\].*string/],
  ['an all-zero x', () => ['--points', file({ ...base, x: [[1, 0], [0, 0]] })], /x\[1\].*all zeros/],
  ['an all-zero z under the linear kernel', () => ['--points', file({ ...base, z: [[0, 0], [3, 4]] })], /z\[0\].*all zeros/],
  ['depth 0', () => ['--points', file({ ...base, f: { depth: 0 } })], /f\.depth/],
  ['a non-integer depth', () => ['--points', file({ ...base, g: { depth: 1.5 } })], /g\.depth.*int/],
  ['an unknown kernel type', () => ['--points', file({ ...base, zKernel: { type: 'poly' } })], /zKernel\.type/],
  ['the library-only dot kernel', () => ['--points', file({ ...base, zKernel: { type: 'dot' } })], /zKernel\.type/],
  ['rbf without gamma', () => ['--points', file({ ...base, zKernel: { type: 'rbf' } })], /zKernel\.gamma/],
  ['an empty point list', () => ['--points', file({ ...base, x: [], z: [] })], /\bx\b.*at least one/],
  ['an unknown mode', () => ['--points', fixture, '--mode', 'paper'], /mode: expected exact \| paper-code, got "paper"/],
  ['an unreadable file', () => ['--points', join(dir, 'missing.json')], /missing\.json.*cannot read.*ENOENT/],
  ['invalid JSON', () => ['--points', file('{"x": [[1, 0],')], /invalid JSON/],
];

describe('hypersweep kernel', () => {
  it.each(bad)('rejects %s with exit code 2 and one line naming the field', async (_what, args, pattern) => {
    const r = await runCli(['kernel', ...args(), '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^hypersweep: /);
    expect(lines[0]).toMatch(pattern);
  });

  for (const mode of ['exact', 'paper-code'] as const satisfies readonly KernelMode[]) {
    it(`prints exactly the library's kernels with --json (${mode})`, async () => {
      const r = await runCli(['kernel', '--points', fixture, '--mode', mode, '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(Object.keys(out).sort()).toEqual(['gp', 'hyperkernel', 'mlp', 'mode', 'sigmaF', 'thetaF']);
      const spec = JSON.parse(readFileSync(fixture, 'utf8')) as {
        x: number[][]; z: number[][]; f: { depth: number }; g: { depth: number }; zKernel: { type: 'rbf'; gamma: number };
      };
      const lib = computeKernels({ x: spec.x, z: spec.z }, { fDepth: spec.f.depth, gDepth: spec.g.depth, zKernel: spec.zKernel }, mode);
      const asRows = (g: Gram) => Array.from({ length: g.rows }, (_, i) => Array.from(g.data.subarray(i * g.cols, (i + 1) * g.cols)));
      expect(out.mode).toBe(mode);
      expect(out.sigmaF).toEqual(asRows(lib.sigmaF));
      expect(out.thetaF).toEqual(asRows(lib.thetaF));
      expect(out.gp).toEqual(asRows(lib.gp));
      expect(out.hyperkernel).toEqual(asRows(lib.hyperkernel));
      expect(out.mlp).toEqual({ nngp: asRows(lib.mlp.nngp), ntk: asRows(lib.mlp.ntk) });
    });
  }

  it('prints a readable summary without --json', async () => {
    const r = await runCli(['kernel', '--points', fixture]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/N = 6 points, 4 distinct x/);
    expect(r.stdout).toMatch(/H = 3, L = 3/);
    expect(r.stdout).toMatch(/max\|Θ_h\(u,u\) − H·L\| = /);
    expect(r.stdout).toMatch(/computed in [\d.]+ ms/);
  });
});
