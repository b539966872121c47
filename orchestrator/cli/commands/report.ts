import type { Command } from 'commander';
import { dbOption, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('report')
    .description('Write one self-contained HTML report of a sweep (charts and tables, Vega inlined)')
    .addOption(dbOption())
    .addOption(sweepOption())
    .requiredOption('--out <file>', 'HTML file to write (atomically)')
    .action(async (opts: Record<string, unknown>) => {
      const { runReport } = await import('../../../dashboards/cli.js');
      runReport(opts);
    });
}
