import type { Command } from 'commander';
import type { WorkerFlags } from '../../distributed/commands.js';
import { backendOption, examples, prefixOption, redisOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('worker')
    .description('Run trials from the Redis queue, each in a sandboxed process, until SIGINT/SIGTERM')
    .addOption(redisOption())
    .addOption(prefixOption())
    .option('--concurrency <n>', 'trials at once, one sandbox each', '1')
    .addOption(backendOption('compute backend for training, default auto'))
    .option('--threads', 'run sandboxes as worker threads instead of child processes')
    .option('--lock-duration-ms <ms>', 'job lock duration; a dead worker\'s trial is retried after about this long', '30000')
    .option('--stalled-interval-ms <ms>', 'how often this worker checks for stalled trials', '30000')
    .option('--max-stalled-count <n>', 'stalls before BullMQ fails a trial (the orchestrator then re-enqueues it)', '1')
    .option('--heartbeat-ms <ms>', 'heartbeat and cancel-poll interval', '2000')
    .option('--shutdown-timeout-ms <ms>', 'on SIGINT/SIGTERM, wait this long for running trials', '30000')
    .option('--verbose', 'show what the native GPU probe printed (Dawn, the Vulkan loader); quiet by default')
    .action(async (flags: WorkerFlags & { verbose?: boolean }) => {
      if (flags.verbose) process.env.HYPERSWEEP_VERBOSE = '1';
      const { runWorkerCommand } = await import('../../distributed/commands.js');
      await runWorkerCommand(flags);
    });
  return examples(cmd, 'hypersweep worker --redis redis://127.0.0.1:6379 --concurrency 2');
}
