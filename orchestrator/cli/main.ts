import { Command, CommanderError } from 'commander';
import { HypersweepError } from '../../core/errors.js';
import { commands } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('hypersweep')
    .description('Sweeps of infinite-width hypernetworks: analytic kernels, training, queues and results')
    .version('0.1.0')
    .showHelpAfterError('(run `hypersweep --help` for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });
  for (const define of commands) {
    const cmd = define(program);
    cmd.exitOverride();
  }
  return program;
}

/** Entry point: user errors print one line and exit 2; bugs keep their stack. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof HypersweepError) {
      console.error(`hypersweep: ${err.message}`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
