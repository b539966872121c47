import type { Command } from 'commander';

export default function define(program: Command): Command {
  return program
    .command('report')
    .description('Write one self-contained HTML report of a sweep (charts and tables, Vega inlined)')
    .option('--db <file>', 'results database', './hypersweep.db')
    .option('--sweep <name>', 'sweep name (default: the only sweep in the database)')
    .requiredOption('--out <file>', 'HTML file to write (atomically)')
    .action(async (opts: Record<string, unknown>) => {
      const { runReport } = await import('../../../dashboards/cli.js');
      runReport(opts);
    });
}
