import type { Command } from 'commander';
import { dbOption, examples, SWEEP_ARG, sweepName, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('report')
    .description('Write one self-contained HTML report of a sweep (charts and tables, Vega inlined)')
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(dbOption())
    .addOption(sweepOption())
    .requiredOption('--out <file>', 'HTML file to write (atomically)')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runReport } = await import('../../../dashboards/cli.js');
      runReport({ ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  return examples(cmd, 'hypersweep report --sweep quickstart --out report.html');
}
