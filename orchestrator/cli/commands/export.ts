import type { Command } from 'commander';
import { collect, dbOption, examples, formatOption, SWEEP_ARG, sweepName, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('export')
    .description('Every trial of a sweep with its config flattened into columns (f.width, ...) and its final metrics, or (--curves) every logged curve point')
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(dbOption())
    .addOption(sweepOption())
    .addOption(formatOption(['csv', 'json'], 'csv'))
    .option('--out <file>', 'write here (atomically: temp file + rename) instead of stdout')
    .option('--where <key=value>', 'filter on a config key, repeatable', collect, [])
    .option('--code <code>', 'only trials produced by this code: current | stale | unknown | HASH (a prefix is enough)')
    .option('--curves', 'the logged curves instead, long format: trial, step, metric, value')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runExport } = await import('../../../schema/queries-cli.js');
      runExport({ ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  return examples(cmd, 'hypersweep export --sweep quickstart --format csv --out trials.csv', 'hypersweep export --sweep quickstart --curves --format json --out curves.json');
}
