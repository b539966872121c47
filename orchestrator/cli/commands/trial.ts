import type { Command } from 'commander';
import { backendOption, collect, examples, formatOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('trial')
    .description('Run one trial (train a hypernetwork, measure its kernels) and print its result')
    .requiredOption('--config <file>', 'trial config (JSON, or YAML by extension)')
    .option('--set <key=value>', 'override a config key, dotted (f.width=512); value parsed as JSON, else a string; repeatable', collect, [])
    .addOption(backendOption().default('auto'))
    .addOption(formatOption(['text', 'json'], 'text'))
    .option('--json', 'alias of --format json')
    .option('--verbose', 'show what the native GPU probe printed (Dawn, the Vulkan loader); quiet by default')
    .action(async (opts: Record<string, unknown>) => {
      if (opts.verbose === true) process.env.HYPERSWEEP_VERBOSE = '1';
      const { runTrialCommand } = await import('../../../worker/trial/cli.js');
      await runTrialCommand(opts);
    });
  return examples(cmd, 'hypersweep trial --config test/fixtures/trial-sphere.json --set f.width=512 --format json');
}
