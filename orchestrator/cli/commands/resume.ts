import type { Command } from 'commander';
import type { ResumeFlags } from '../../distributed/commands.js';
import { dbOption, examples, prefixOption, redisOption, requireSweep, SWEEP_ARG, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('resume')
    .description('Re-enqueue every unfinished trial of a sweep that is not queued or running in Redis, then collect results')
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(sweepOption('sweep name, as stored in the database (required)'))
    .addOption(redisOption())
    .addOption(prefixOption())
    .addOption(dbOption())
    .option('--progress-ms <ms>', 'interval of the plain progress lines when not on a TTY', '5000')
    .action(async (sweep: string | undefined, flags: ResumeFlags & { sweep?: string }) => {
      const name = requireSweep('resume', sweep, flags.sweep);
      const { runResumeCommand } = await import('../../distributed/commands.js');
      await runResumeCommand(name, flags);
    });
  return examples(cmd, 'hypersweep resume --sweep quickstart --redis redis://127.0.0.1:6379');
}
