import type { Command } from 'commander';
import type { ResumeFlags } from '../../distributed/commands.js';
import { dbOption, prefixOption, redisOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('resume')
    .description('Re-enqueue every unfinished trial of a sweep that is not queued or running in Redis, then collect results')
    .argument('<sweep>', 'sweep name (as stored in the database)')
    .addOption(redisOption())
    .addOption(prefixOption())
    .addOption(dbOption())
    .option('--progress-ms <ms>', 'interval of the plain progress lines when not on a TTY', '5000')
    .action(async (sweep: string, flags: ResumeFlags) => {
      const { runResumeCommand } = await import('../../distributed/commands.js');
      await runResumeCommand(sweep, flags);
    });
}
