import { describe, expect, it } from 'vitest';
import { buildProgram } from '../orchestrator/cli/main.js';
import { runCli } from './helpers/cli.js';

const program = buildProgram();
const names = program.commands.map((c) => c.name());

describe('hypersweep CLI', () => {
  it('lists every command with its description in --help', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    expect(names).toEqual(expect.arrayContaining(['kernel', 'trial', 'plan', 'run', 'status', 'worker', 'query', 'export', 'dashboard']));
    for (const c of program.commands) {
      expect(r.stdout).toMatch(new RegExp(`^  ${c.name()}\\b.*${c.description().slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    }
  });

  it('prints help for no arguments and its version for --version', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/^Usage: hypersweep/);
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe('0.1.0');
  });

  it.each(names)('%s --help shows its usage and every flag it declares', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: hypersweep ${name}\\b`));
    const cmd = program.commands.find((c) => c.name() === name)!;
    for (const o of cmd.options) expect(r.stdout).toContain(o.long!);
    // An example, and every required option marked (the help wraps long lines: compare without breaks).
    expect(r.stdout).toMatch(/\nExamples?:\n {2}\$ hypersweep /);
    const flat = r.stdout.replace(/\n\s+/g, ' ');
    for (const o of cmd.options.filter((x) => x.mandatory)) expect(flat).toMatch(new RegExp(`${o.long} <[a-z]+> .*\\(required\\)`));
  });

  it('query subcommands have examples too', async () => {
    for (const sub of ['agreement', 'convergence', 'movement', 'views']) {
      const r = await runCli(['query', sub, '--help']);
      expect(r.stdout, sub).toMatch(/\nExamples?:\n {2}\$ hypersweep query /);
    }
  });

  it('states a user error in one line with exit code 2 and no stack', async () => {
    const r = await runCli(['plan', 'no-such-sweep.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('hypersweep: no-such-sweep.yaml: no such sweep file\n');
    expect(r.stdout).toBe('');
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
