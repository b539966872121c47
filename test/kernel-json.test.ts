/**
 * `kernel --json` streams its output: the bytes equal JSON.stringify of the row arrays, and a points file whose
 * JSON is larger than V8's largest string (about 2^29 characters) still prints in full.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_KERNELS, kernelGrams } from '../worker/kernels/engine.js';
import { toRows, zeroGram } from '../worker/kernels/gram.js';
import { writeJson } from '../worker/kernel-cli/json-out.js';
import { loadPointsFile } from '../worker/kernel-cli/points-file.js';
import { cliPath, repoRoot } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hs-kjson-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A writable that keeps every chunk, with a small high-water mark so 'drain' is exercised. */
function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ highWaterMark: 64, write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), setImmediate(cb)) });
  return { stream, text: () => chunks.join('') };
}

describe('writeJson', () => {
  it('writes exactly JSON.stringify of the same value with matrices as row arrays, in small chunks', async () => {
    const { points, net } = await loadPointsFile(join(repoRoot, 'test/fixtures/points-small.json'));
    const { grams } = kernelGrams(points, null, net, 'exact', ALL_KERNELS);
    const odd = zeroGram(2, 3);
    odd.data.set([1.5, -0, NaN, Infinity, 1e-300, 2 ** 60]);
    const value = { mode: 'exact', gp: grams.gp!, nested: { ntk: grams.mlpNtk!, odd }, flag: true, none: null };
    const c = collector();
    await writeJson(c.stream, value, 100);
    const expected = JSON.stringify({ ...value, gp: toRows(grams.gp!), nested: { ntk: toRows(grams.mlpNtk!), odd: toRows(odd) } });
    expect(c.text()).toBe(`${expected}\n`);
  });
});

describe('hypersweep kernel --json with many points', () => {
  it('prints more JSON than a V8 string can hold (2,300 points), ending cleanly', async () => {
    const n = 2300;
    let s = 7;
    const r = () => ((s = (s * 16807) % 2147483647) / 2147483647) - 0.5;
    const x = Array.from({ length: n }, () => [r(), r(), r()]);
    const z = Array.from({ length: n }, () => [r(), r()]);
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ x, z, f: { depth: 2 }, g: { depth: 2 }, zKernel: { type: 'linear' } }));
    const child = spawn(process.execPath, [cliPath, 'kernel', '--points', file, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let head = '';
    let tail = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      if (head.length < 4096) head += d.toString('latin1');
      tail = (tail + d.toString('latin1')).slice(-64);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(bytes).toBeGreaterThan(2 ** 29);
    expect(head).toMatch(/^\{"mode":"exact","sigmaF":\[\[/);
    const firstRow = JSON.parse(/^\{"mode":"exact","sigmaF":\[(\[[^\]]*\])/.exec(head)![1]!) as number[];
    expect(firstRow).toHaveLength(n);
    expect(firstRow[0]).toBeCloseTo(1, 12); // unit inputs: Σ_f(x, x) = 1
    expect(tail).toMatch(/\]\]\}\}\n$/);
  }, 180_000);
});
