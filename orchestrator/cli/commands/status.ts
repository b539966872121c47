import type { Command } from 'commander';
import type { StatusFlags } from '../../sweep-status.js';
import { dbOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('status')
    .description('Trial counts per status for every sweep in the database, or one sweep in detail')
    .argument('[sweep]', 'sweep name (the `name` in its file)')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (sweep: string | undefined, flags: StatusFlags) => {
      const { runStatusCommand } = await import('../../sweep-status.js');
      await runStatusCommand(sweep, flags);
    });
}
