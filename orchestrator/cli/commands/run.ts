import type { Command } from 'commander';
import type { RunFlags } from '../../local/command.js';
import { backendOption, dbOption, examples, prefixOption, redisOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('run')
    .description('Run a sweep: locally in a pool of worker threads (default), or through Redis with --redis / $REDIS_URL')
    .argument('<sweep>', 'sweep file (YAML), e.g. sweeps/quickstart.yaml')
    .addOption(dbOption())
    .option('--concurrency <n>', 'local mode: trials at once (default: one per core)')
    .addOption(backendOption('local mode: compute backend for training'))
    .option('--order <order>', 'listed | small-first (overrides the sweep file)')
    .option('--processes', 'local mode: run trials in child processes instead of worker threads')
    .option('--progress-ms <ms>', 'interval of the plain progress lines when not on a TTY', '5000')
    .addOption(redisOption('distributed mode: enqueue on this Redis and collect results'))
    .addOption(prefixOption('distributed mode: BullMQ key prefix'))
    .option('--local', 'run locally even if $REDIS_URL is set')
    .option('--replace', 'rebind a sweep name stored with a different spec to this file (stored trials are kept)')
    .option('--rerun-stale', 're-run the finished trials whose stored result other code produced (another build, or unknown)')
    .option('--verbose', 'show what the native GPU probe printed (Dawn, the Vulkan loader); quiet by default')
    .action(async (file: string, flags: RunFlags & { verbose?: boolean }) => {
      if (flags.verbose) process.env.HYPERSWEEP_VERBOSE = '1';
      const { runRunCommand } = await import('../../local/command.js');
      await runRunCommand(file, flags);
    });
  return examples(cmd, 'hypersweep run sweeps/quickstart.yaml --db hypersweep.db', 'hypersweep run sweeps/quickstart.yaml --redis redis://127.0.0.1:6379');
}
