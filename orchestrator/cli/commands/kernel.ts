import type { Command } from 'commander';

export default function define(program: Command): Command {
  return program
    .command('kernel')
    .description('Analytic GP kernel, hyperkernel and MLP baselines of a set of points (float64)')
    .requiredOption('--points <file>', 'points file (JSON): {x, z, f: {depth}, g: {depth}, zKernel}')
    .option('--mode <mode>', 'exact | paper-code', 'exact')
    .option('--json', 'print one JSON object on stdout')
    .action(async (opts: Record<string, unknown>) => {
      const { runKernelCommand } = await import('../../../worker/kernel-cli/cli.js');
      await runKernelCommand(opts);
    });
}
