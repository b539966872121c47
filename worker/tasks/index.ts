/**
 * The tasks of a trial: seeded, pure data generation (plus reading MNIST once per process), no tfjs.
 * `checkTaskConfig` rejects the combinations of config keys a task cannot run, before anything is allocated.
 */
import { InputError } from '../../core/errors.js';
import type { TrialConfig } from '../../core/config.js';
import { completionTask } from './completion.js';
import { taskConfigIssues } from '../../core/task-check.js';
import { rotationTask } from './rotation.js';
import { sphereTask } from './sphere.js';
import type { TaskData } from './types.js';

export type { TaskData, TaskSplit } from './types.js';
export { taskConfigIssues, type TaskConfigIssue } from '../../core/task-check.js';
export { sliceSplit, sliceSplitShared, splitPoints } from './types.js';
export { rotationBin, rotateImage, wrapDegrees, standardizePixels, ROTATION_BINS, MNIST_MEAN, MNIST_SD, type Interpolation } from './rotate.js';
export { createRff, rffApply, type RffMap } from './rff.js';
export { createRng, type Rng } from './rng.js';

/** Throws an InputError naming the key when the config asks for something its task cannot do. */
export function checkTaskConfig(config: TrialConfig, where = 'trial config'): void {
  if (config.task === 'noop') throw new InputError(where, "task: 'noop' is run by the orchestrator's processor, not by runTrial");
  const issue = taskConfigIssues(config)[0];
  if (issue) throw new InputError(where, `${issue.path.join('.')}: ${issue.message}`);
}

/** Build the trial's data from its config (seeded by data.seed, or the trial's seed when unset). */
export function buildTask(config: TrialConfig): TaskData {
  checkTaskConfig(config);
  switch (config.task) {
    case 'sphere':
      return sphereTask(config);
    case 'mnist-completion':
      return completionTask(config);
    case 'mnist-rotation':
      return rotationTask(config);
    default:
      throw new InputError('trial config', `task: '${config.task}' has no data`);
  }
}
