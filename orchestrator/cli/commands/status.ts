import type { Command } from 'commander';
import type { StatusFlags } from '../../sweep-status.js';
import { dbOption, examples, formatOption, SWEEP_ARG, sweepName, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('status')
    .description('Trial counts per status for every sweep in the database, or one sweep in detail (one row per combination of the keys that vary)')
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(sweepOption('sweep name (the `name` in its file); default: every sweep'))
    .addOption(dbOption())
    .addOption(formatOption(['table', 'json'], 'table'))
    .option('--json', 'alias of --format json')
    .action(async (sweep: string | undefined, flags: StatusFlags & { sweep?: string; format: string }) => {
      const { runStatusCommand } = await import('../../sweep-status.js');
      await runStatusCommand(sweepName(sweep, flags.sweep), { db: flags.db, json: flags.json === true });
    });
  return examples(cmd, 'hypersweep status --sweep quickstart --db hypersweep.db');
}
