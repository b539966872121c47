import type { Command } from 'commander';
import { collect, dbOption, examples, formatOption, SWEEP_ARG, sweepName, sweepOption } from './_shared.js';

/** The sweep, database, output format and filters: every query subcommand takes these. */
function sweepSelection(cmd: Command): Command {
  return cmd
    .argument(SWEEP_ARG, 'the sweep, as --sweep NAME or positionally')
    .addOption(dbOption())
    .addOption(sweepOption())
    .addOption(formatOption(['table', 'csv', 'json'], 'table'))
    .option('--where <key=value>', 'filter on a config key, repeatable (f.depth=3, task=sphere; values compared as JSON)', collect, [])
    .option('--code <code>', 'only trials produced by this code: current | stale | unknown | HASH (a prefix is enough)');
}

/** sweepSelection plus the axes of the aggregate queries. */
function selection(cmd: Command): Command {
  return sweepSelection(cmd)
    .option('--by <keys>', 'group by these config keys, comma-separated (default: every key that varies, seed excluded)')
    .option('--x <key>', 'the x axis: slopes are fitted along it (default: the first varying key of widths, depths, the rest)')
    .option('--series <key>', 'the series key listed first (default: the other varying keys); one fit per series');
}

export default function define(program: Command): Command {
  const query = program.command('query').description('Aggregates of a sweep: kernel agreement, convergence, NTK movement');
  const agreement = selection(query.command('agreement').description('Empirical vs analytic kernel: relative Frobenius distance and alignment per group, with the slope along x (log-log for widths and lr) per series and its 95% interval'))
    .option('--phase <phase>', 'init | final', 'init')
    .option('--kind <kind>', 'ntk | gp', 'ntk')
    .option('--mode <mode>', 'exact | paper-code', 'exact')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('agreement', { ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  const convergence = selection(query.command('convergence').description('Final training loss, its ratio to the first logged loss, and how many seeds converged (and after how many steps), per group'))
    .option('--rel <ratio>', 'converged: train loss <= ratio x its first logged value (default 0.01)')
    .option('--eps <eps>', 'converged: train loss < eps (absolute; instead of --rel)')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('convergence', { ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  const movement = selection(query.command('movement').description('NTK movement ‖Θ_T − Θ_0‖/‖Θ_0‖ per group, with its slope along x per series'))
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runQuery } = await import('../../../schema/queries-cli.js');
      runQuery('movement', { ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  const outputs = sweepSelection(query.command('outputs').description('h(u) at init across init seeds (data fixed): variance and excess kurtosis per probe point and pooled, beside K_GP(u,u) and 15/m'))
    .option('--pooled-only', 'one row per group (the mean over probe points)')
    .action(async (sweep: string | undefined, opts: Record<string, unknown>) => {
      const { runOutputsQuery } = await import('../../../schema/queries-cli.js');
      runOutputsQuery({ ...opts, sweep: sweepName(sweep, opts.sweep) });
    });
  examples(agreement, 'hypersweep query agreement --sweep quickstart', 'hypersweep query agreement --sweep grid --x f.depth --series f.width --format json');
  examples(convergence, 'hypersweep query convergence --sweep quickstart --rel 0.01');
  examples(movement, 'hypersweep query movement --sweep lr --x train.lr --where f.width=512');
  examples(outputs, 'hypersweep query outputs --sweep paper-non-gaussian --pooled-only');
  const views = query
    .command('views')
    .description('Bring the database schema up to date (views v_trials_flat, v_agreement, v_convergence, v_movement for sqlite3 users)')
    .addOption(dbOption())
    .action(async (opts: Record<string, unknown>) => {
      const { runViews } = await import('../../../schema/queries-cli.js');
      runViews(opts);
    });
  examples(views, 'hypersweep query views --db old.db');
  examples(query, 'hypersweep query agreement --sweep quickstart');
  return query;
}
