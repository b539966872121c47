import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

describe('hypersweep CLI', () => {
  it('lists its commands in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kernel/);
  });

  it('rejects an unknown command with exit code 2', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/i);
  });

  it('rejects an unknown flag with exit code 2', async () => {
    const r = await runCli(['kernel', '--points', 'x.json', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option/i);
  });
});
