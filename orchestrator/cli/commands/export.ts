import type { Command } from 'commander';
import { collect, dbOption, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  return program
    .command('export')
    .description('Every trial of a sweep with its config flattened into columns (f.width, ...) and its final metrics, or (--curves) every logged curve point')
    .addOption(dbOption())
    .addOption(sweepOption())
    .option('--format <format>', 'csv | json', 'csv')
    .option('--out <file>', 'write here (atomically: temp file + rename) instead of stdout')
    .option('--where <key=value>', 'filter on a config key, repeatable', collect, [])
    .option('--curves', 'the logged curves instead, long format: trial, step, metric, value')
    .action(async (opts: Record<string, unknown>) => {
      const { runExport } = await import('../../../schema/queries-cli.js');
      runExport(opts);
    });
}
