import type { Command } from 'commander';
import type { CancelFlags } from '../../distributed/commands.js';
import { dbOption, prefixOption, redisOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('cancel')
    .description('Remove a sweep\'s waiting trials from the queue and mark them cancelled; --kill also aborts running ones')
    .argument('<sweep>', 'sweep name (as stored in the database)')
    .addOption(redisOption())
    .addOption(prefixOption())
    .addOption(dbOption())
    .option('--kill', 'also abort the sweep\'s running trials')
    .action(async (sweep: string, flags: CancelFlags) => {
      const { runCancelCommand } = await import('../../distributed/commands.js');
      await runCancelCommand(sweep, flags);
    });
}
