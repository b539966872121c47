import type { Command } from 'commander';
import type { CancelFlags } from '../../distributed/commands.js';
import { dbOption, examples, prefixOption, redisOption, requireSweep, SWEEP_ARG, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('cancel')
    .description('Remove a sweep\'s waiting trials from the queue and mark them cancelled; --kill also aborts running ones')
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(sweepOption('sweep name, as stored in the database (required)'))
    .addOption(redisOption())
    .addOption(prefixOption())
    .addOption(dbOption())
    .option('--kill', 'also abort the sweep\'s running trials')
    .action(async (sweep: string | undefined, flags: CancelFlags & { sweep?: string }) => {
      const name = requireSweep('cancel', sweep, flags.sweep);
      const { runCancelCommand } = await import('../../distributed/commands.js');
      await runCancelCommand(name, flags);
    });
  return examples(cmd, 'hypersweep cancel --sweep quickstart --kill');
}
