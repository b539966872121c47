import type { Command } from 'commander';
import { HypersweepError } from '../../errors.js';

// Placeholder: replaced by the real command.
export default function define(program: Command): Command {
  return program
    .command('run')
    .description('(not built yet)')
    .action(() => {
      throw new HypersweepError('run: not built yet');
    });
}
