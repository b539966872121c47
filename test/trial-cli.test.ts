import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HypersweepError } from '../core/errors.js';
import { createProgressReporter, progressBar } from '../worker/progress.js';
import { trialResultSchema } from '../core/result.js';
import { applySets } from '../worker/trial/cli.js';
import { cliPath, repoRoot, runCli } from './helpers/cli.js';

const sphere = 'test/fixtures/trial-sphere.json';
const dir = mkdtempSync(path.join(tmpdir(), 'hs-trial-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--set overrides', () => {
  it('sets dotted keys, parsing values as JSON when possible, else strings; repeated flags apply in order', () => {
    const base = { task: 'sphere', f: { width: 8 } };
    const out = applySets(base, ['f.width=512', 'train.lr=0.05', 'kernels.mode=paper-code', 'data.target="gaussian"', 'f.width=16', 'g.input=rff']);
    expect(out).toEqual({
      task: 'sphere',
      f: { width: 16 },
      train: { lr: 0.05 },
      kernels: { mode: 'paper-code' },
      data: { target: 'gaussian' },
      g: { input: 'rff' },
    });
    expect(base.f.width).toBe(8); // the input is not modified
  });

  it('rejects malformed overrides with a one-line error', () => {
    expect(() => applySets({}, ['f.width'])).toThrow(HypersweepError);
    expect(() => applySets({}, ['f.width'])).toThrow(/expected key=value/);
    expect(() => applySets({}, ['f.widht=8'])).toThrow(/--set: 'f.widht': unknown config key "widht"; did you mean "width"\?/);
    expect(() => applySets({}, ['trian.lr=0.1'])).toThrow(/did you mean "train"\?/);
    expect(() => applySets({}, ['.a=1'])).toThrow(/not a dotted key/);
    expect(() => applySets({ f: 3 }, ['f.width=1'])).toThrow(/f is not an object/);
  });
});

describe('progress reporter', () => {
  it('draws a bar with \\r on a TTY and sparse plain lines otherwise', () => {
    expect(progressBar(0.5, 10)).toBe('[#####.....]  50%');
    let tty = '';
    let t = 0;
    const bar = createProgressReporter({ write: (s: string) => (tty += s) }, { tty: true, now: () => (t += 200) });
    bar.report({ phase: 'train', step: 5, steps: 10, loss: 0.5 });
    bar.finish();
    expect(tty).toMatch(/^\r\[#+\.+\]  50% train step 5\/10 loss 0\.5000/);
    expect(tty.endsWith('\r')).toBe(true);

    let plain = '';
    const lines = createProgressReporter({ write: (s: string) => (plain += s) }, { tty: false, plainEveryMs: 0, now: () => 0 });
    lines.report({ phase: 'setup' });
    for (let s = 0; s <= 1000; s++) lines.report({ phase: 'train', step: s, steps: 1000, loss: 1 });
    lines.report({ phase: 'done' });
    const out = plain.trim().split('\n');
    expect(out.length).toBeLessThanOrEqual(14); // a line per phase plus one per 10 % of training
    expect(plain).not.toMatch(/\r/);
  });
});

describe('hypersweep trial (real CLI)', () => {
  it('--json prints exactly one JSON object, the result; progress goes to stderr', async () => {
    const r = await runCli(['trial', '--config', sphere, '--backend', 'wasm', '--json', '--set', 'train.steps=7']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = trialResultSchema.parse(JSON.parse(lines[0]));
    expect(result.metrics.stepsRun).toBe(7);
    expect(r.stderr).toMatch(/trial: train/);
  });

  it('prints a human summary without --json', async () => {
    const r = await runCli(['trial', '--config', sphere, '--backend', 'wasm', '--set', 'train.steps=3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/status\s+completed \(3 steps, backend wasm\)/);
    expect(r.stdout).toMatch(/NTK vs Θ_h/);
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown key', ['--set', 'f.zzzzzz=3'], /trial-sphere\.json with --set: f: Unrecognized key: "zzzzzz"/],
    ['a misspelled key', ['--set', 'f.widht=3'], /--set: 'f\.widht': unknown config key "widht"; did you mean "width"\?/],
    ['a wrong type', ['--set', 'f.width=wide'], /trial-sphere\.json with --set: f\.width: .*expected number/],
    ['a bad enum value', ['--set', 'train.optimizer=lbfgs'], /train\.optimizer/],
    ['the memory cap', ['--set', 'f.width=200000', '--set', 'g.width=2048'], /limits\.memoryMb is 4096/],
    ['a task/key clash', ['--set', 'task=mnist-completion'], /g\.input: mnist-completion .* 'rff'/],
    ['a bad backend', ['--backend', 'gpu'], /backend: must be one of auto, native, wasm, cpu, tensorflow, webgpu/],
  ];
  for (const [what, args, pattern] of bad) {
    it(`exits 2 with one line naming the problem: ${what}`, async () => {
      const r = await runCli(['trial', '--config', sphere, ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    });
  }

  it('exits 2 on a missing or malformed config file', async () => {
    const missing = await runCli(['trial', '--config', path.join(dir, 'none.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/none\.json: no such file/);
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"task": "sphere",');
    const broken = await runCli(['trial', '--config', file]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json: not valid JSON/);
  });

  it('reads YAML configs', async () => {
    const file = path.join(dir, 'c.yaml');
    writeFileSync(file, 'task: sphere\nf: {width: 16}\ng: {width: 4}\ndata: {nTrain: 8, nTest: 4}\ntrain: {steps: 2}\nkernels: {probe: 4}\n');
    const r = await runCli(['trial', '--config', file, '--backend', 'wasm', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).metrics.stepsRun).toBe(2);
  });

  it('stops cleanly on SIGINT (exit 130, one message)', async () => {
    const child = spawn(process.execPath, [cliPath, 'trial', '--config', sphere, '--backend', 'wasm', '--set', 'train.steps=1000000', '--set', 'train.logEvery=1'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '', stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/trial: train/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', (c) => resolve(c));
      setTimeout(() => child.kill('SIGKILL'), 60_000);
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/hypersweep: trial interrupted/);
    expect(stdout).toBe('');
  });
});
