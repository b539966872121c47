/**
 * The tasks of a trial: seeded, pure data generation (plus reading MNIST once per process), no tfjs.
 * `checkTaskConfig` rejects the combinations of config keys a task cannot run, before anything is allocated.
 */
import { InputError } from '../../orchestrator/errors.js';
import type { TrialConfig } from '../config.js';
import { completionTask } from './completion.js';
import { MNIST_PIXELS } from './mnist.js';
import { rotationTask } from './rotation.js';
import { sphereTask } from './sphere.js';
import type { TaskData } from './types.js';

export type { TaskData, TaskSplit } from './types.js';
export { sliceSplit, splitPoints } from './types.js';
export { rotationBin, rotateImage, wrapDegrees, ROTATION_BINS } from './rotate.js';
export { createRff, rffApply, type RffMap } from './rff.js';
export { createRng, type Rng } from './rng.js';

const MNIST_TRAIN = 60000;
const MNIST_TEST = 10000;

/** Throws an InputError naming the key when the config asks for something its task cannot do. */
export function checkTaskConfig(config: TrialConfig, where = 'trial config'): void {
  const bad = (key: string, problem: string): never => {
    throw new InputError(where, `${key}: ${problem}`);
  };
  const { task, data, g, train } = config;
  if (task === 'noop') bad('task', "'noop' is run by the orchestrator's processor, not by runTrial");
  if (task !== 'mnist-rotation' && train.loss === 'xent') bad('train.loss', `'xent' needs classes; task ${task} regresses real values, use 'mse'`);
  if (task === 'mnist-completion') {
    if (g.input !== 'rff') bad('g.input', "mnist-completion feeds pixel coordinates through random Fourier features: set g.input to 'rff'");
    if (g.outputs !== 1) bad('g.outputs', `mnist-completion predicts one pixel value, got ${g.outputs}`);
    if (data.pixelsPerImage > MNIST_PIXELS) bad('data.pixelsPerImage', `at most ${MNIST_PIXELS}, got ${data.pixelsPerImage}`);
    if (data.nTrain > MNIST_TRAIN) bad('data.nTrain', `at most ${MNIST_TRAIN} MNIST training images, got ${data.nTrain}`);
    if (data.nTest > MNIST_TEST) bad('data.nTest', `at most ${MNIST_TEST} MNIST test images, got ${data.nTest}`);
  }
  if (task === 'mnist-rotation') {
    if (g.outputs !== 1 && g.outputs !== 12) bad('g.outputs', `mnist-rotation has 12 classes (leave g.outputs at 1 or set 12), got ${g.outputs}`);
  }
}

/** Build the trial's data from its config (seeded by config.seed). */
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
