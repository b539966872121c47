import { Command, CommanderError } from 'commander';
import { HypersweepError } from '../../core/errors.js';
import { commands } from './commands/index.js';
import { formatChoices } from './commands/_shared.js';

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
  markRequired(program);
  program.hook('preAction', (_program, action) => {
    const fmt = action.options.find((o) => o.long === '--format');
    const choices = fmt && formatChoices.get(fmt);
    if (!choices) return;
    const value = String(action.opts().format);
    if (!choices.includes(value)) throw new HypersweepError(`--format ${value}: expected ${choices.join(', ')}`);
    // --json is an alias of --format json where a command had it.
    if (value === 'json' && action.options.some((o) => o.long === '--json')) action.setOptionValue('json', true);
  });
  return program;
}

/** Say "(required)" in the help of every mandatory option, at every level. */
function markRequired(cmd: Command): void {
  for (const o of cmd.options) if (o.mandatory && !o.description.endsWith('(required)')) o.description += ' (required)';
  for (const sub of cmd.commands) markRequired(sub);
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
