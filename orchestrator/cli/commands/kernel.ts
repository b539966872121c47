import type { Command } from 'commander';
import { examples, formatOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('kernel')
    .description('Analytic GP kernel, hyperkernel and MLP baselines of a set of points (float64)')
    .requiredOption('--points <file>', 'points file (JSON): {x, z, f: {depth}, g: {depth}, zKernel}')
    .option('--mode <mode>', 'exact | paper-code', 'exact')
    .addOption(formatOption(['text', 'json'], 'text'))
    .option('--json', 'alias of --format json')
    .action(async (opts: Record<string, unknown>) => {
      const { runKernelCommand } = await import('../../../worker/kernel-cli/cli.js');
      await runKernelCommand(opts);
    });
  return examples(cmd, 'hypersweep kernel --points test/fixtures/points-small.json --format json');
}
