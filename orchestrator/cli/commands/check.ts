import type { Command } from 'commander';
import type { CheckFlags } from '../../claims/check.js';
import { dbOption, examples, formatOption, requireSweep, SWEEP_ARG, sweepOption } from './_shared.js';

export default function define(program: Command): Command {
  const check = program
    .command('check')
    .description("Evaluate a sweep's claims (its `expect:` list) on the stored results: holds / fails / inconclusive with the numbers behind each; exit 0 all hold, 1 any fails, 3 some inconclusive")
    .argument(SWEEP_ARG, 'sweep name (claims as stored when it ran) or sweep file (its current claims), as --sweep or positionally')
    .addOption(dbOption())
    .addOption(sweepOption())
    .addOption(formatOption(['table', 'json'], 'table'))
    .action(async (sweep: string | undefined, flags: CheckFlags & { sweep?: string }) => {
      const { runCheckCommand } = await import('../../claims/check.js');
      await runCheckCommand(requireSweep('check', sweep, flags.sweep), flags);
    });
  return examples(check, 'hypersweep check --sweep paper-width-joint', 'hypersweep check sweeps/paper/width-joint.yaml --format json');
}
