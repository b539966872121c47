import type { Command } from 'commander';
import { collect, dbOption, sweepOption } from './_shared.js';

/** Flags shared by every query subcommand. */
function selection(cmd: Command): Command {
  return cmd
    .addOption(dbOption())
    .addOption(sweepOption())
    .option('--format <format>', 'table | csv | json', 'table')
    .option('--where <key=value>', 'filter on a config key, repeatable (f.depth=3, task=sphere; values compared as JSON)', collect, [])
    .option('--by <keys>', 'group by these config keys, comma-separated (default: every key that varies, seed excluded)');
}

export default function define(program: Command): Command {
  const query = program.command('query').description('Aggregates of a sweep: kernel agreement, convergence, NTK movement');
  selection(query.command('agreement').description('Empirical vs analytic kernel: relative Frobenius distance and alignment per group, with the log-log width slope and its 95% interval'))
    .option('--phase <phase>', 'init | final', 'init')
    .option('--kind <kind>', 'ntk | gp', 'ntk')
    .option('--mode <mode>', 'exact | paper-code', 'exact')
    .action(async (opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('agreement', opts);
    });
  selection(query.command('convergence').description('Final training loss, fraction of seeds reaching loss < eps and median steps to it, per group'))
    .option('--eps <eps>', 'loss threshold', '1e-3')
    .action(async (opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('convergence', opts);
    });
  selection(query.command('movement').description('NTK movement ‖Θ_T − Θ_0‖/‖Θ_0‖ per group, with its log-log width slope'))
    .action(async (opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('movement', opts);
    });
  query
    .command('outputs')
    .description('h(u) at init across init seeds (data fixed): variance and excess kurtosis per probe point and pooled, beside K_GP(u,u) and 15/m')
    .addOption(dbOption())
    .addOption(sweepOption())
    .option('--format <format>', 'table | csv | json', 'table')
    .option('--where <key=value>', 'filter on a config key, repeatable', collect, [])
    .option('--pooled-only', 'one row per group (the mean over probe points)')
    .action(async (opts: Record<string, unknown>) => {
      const { runOutputsQuery } = await import('../../../schema/queries-cli.js');
      runOutputsQuery(opts);
    });
  query
    .command('views')
    .description('Create or update the SQL views (v_trials_flat, v_agreement, v_convergence, v_movement) for sqlite3 users')
    .addOption(dbOption())
    .action(async (opts: Record<string, unknown>) => {
      const { runViews } = await import('../../../schema/queries-cli.js');
      runViews(opts);
    });
  return query;
}
