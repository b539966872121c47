import type { Command } from 'commander';
import { HypersweepError } from '../../errors.js';

// Placeholder: replaced by the real command.
export default function define(program: Command): Command {
  return program
    .command('cancel')
    .description('(not built yet)')
    .action(() => {
      throw new HypersweepError('cancel: not built yet');
    });
}
