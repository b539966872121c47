import type { Command } from 'commander';
import type { PlanFlags } from '../../sweep-plan.js';
import { Option } from 'commander';
import { examples, formatOption } from './_shared.js';

export default function define(program: Command): Command {
  const cmd = program
    .command('plan')
    .description('Validate a sweep file and show its trials and estimated cost; writes nothing')
    .argument('<sweep>', 'sweep file (YAML), e.g. sweeps/quickstart.yaml')
    .option('--limit <n>', 'trials shown in the preview table', '10')
    .addOption(formatOption(['text', 'json'], 'text'))
    .option('--json', 'alias of --format json: the whole plan as one JSON object')
    .addOption(new Option('--db <file>', 'results database whose finished trials calibrate the time estimate (read only; none: the prior)').default('./hypersweep.db'))
    .option('--concurrency <n>', 'trials at once for the local wall time (default: this machine\'s available cores)')
    .option('--backend <name>', 'the backend the time estimate is for (default: the one this host used last)')
    .action(async (file: string, flags: PlanFlags) => {
      const { runPlanCommand } = await import('../../sweep-plan.js');
      await runPlanCommand(file, flags);
    });
  return examples(cmd, 'hypersweep plan sweeps/quickstart.yaml', 'hypersweep plan sweeps/width-joint.yaml --db results.db --concurrency 4', 'hypersweep plan sweeps/quickstart.yaml --format json');
}
