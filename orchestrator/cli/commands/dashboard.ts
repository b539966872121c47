import type { Command } from 'commander';
import { collect, dbOption, examples } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('dashboard')
    .description('Serve the results dashboard: sweep status, loss curves, kernel distance vs width, heatmaps, trials')
    .addOption(dbOption())
    .option('--port <port>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'address to bind (loopback unless told otherwise)', '127.0.0.1')
    .option('--allow-host <name>', 'accept this Host header besides localhost and IP addresses (DNS-rebinding check), repeatable', collect, [])
    .action(async (opts: Record<string, unknown>) => {
      const { runDashboard } = await import('../../../dashboards/cli.js');
      await runDashboard(opts);
    });
  return examples(cmd, 'hypersweep dashboard --db hypersweep.db --port 8080');
}
