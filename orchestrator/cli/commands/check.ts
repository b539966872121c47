import type { Command } from 'commander';
import type { CheckFlags } from '../../claims/check.js';
import { dbOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('check')
    .description("Evaluate a sweep's claims (its `expect:` list) on the stored results: holds / fails / inconclusive with the numbers behind each; exit 0 all hold, 1 any fails, 3 some inconclusive")
    .argument('<sweep>', 'sweep name (claims as stored when it ran) or sweep file (its current claims)')
    .addOption(dbOption())
    .option('--format <format>', 'table | json', 'table')
    .action(async (sweep: string, flags: CheckFlags) => {
      const { runCheckCommand } = await import('../../claims/check.js');
      await runCheckCommand(sweep, flags);
    });
}
