/**
 * Which config combinations a task can run: pure and dependency-free, so the config schema itself can apply it
 * (core/config.ts refines with it; sweep planning, the queue protocol and runTrial all see the same errors).
 */
import type { TrialConfig } from './config.js';

export interface TaskConfigIssue {
  /** Path of the offending key, e.g. ['g', 'input']. */
  path: string[];
  message: string;
}

const MNIST_PIXELS = 784;
const MNIST_TRAIN = 60000;
const MNIST_TEST = 10000;
/** data.split 'paper': the first training row (TensorFlow's input_data keeps rows 0–4999 for validation). */
const PAPER_TRAIN_OFFSET = 5000;

/** Every problem with a (defaults-applied) config's task settings; empty when the task can run it. */
export function taskConfigIssues(c: Pick<TrialConfig, 'task' | 'f' | 'g' | 'data' | 'train' | 'kernels' | 'model'>): TaskConfigIssue[] {
  const issues: TaskConfigIssue[] = [];
  const bad = (path: string, message: string): void => void issues.push({ path: path.split('.'), message });
  const { task, data, g, train, kernels } = c;
  if (g.variant === 'paper-code' && g.depth < 3) bad('g.variant', `'paper-code' drops the ReLU after g's second weight layer: needs g.depth ≥ 3, got ${g.depth}`);
  // The analytic kernels are those of the NTK parametrization without biases and with the model's g.
  const offModel = c.model?.parametrization === 'standard' ? "model.parametrization 'standard'" : c.f.biases ? 'f.biases' : g.variant === 'paper-code' ? "g.variant 'paper-code'" : null;
  if (offModel && kernels.probe > 0) bad('kernels.probe', `the analytic kernels are for the NTK parametrization without biases and g.variant 'model', not ${offModel}: set kernels.probe to 0`);
  if (task !== 'mnist-rotation') {
    for (const key of ['interpolation', 'pixels', 'augment'] as const) {
      if (data[key] !== undefined) bad(`data.${key}`, `only mnist-rotation has this setting, task is ${task}`);
    }
  }
  if (data.augment === 'per-epoch' && train.epochs === undefined) bad('data.augment', "'per-epoch' draws fresh angles on every pass: set train.epochs");
  if ((task === 'sphere' || task === 'mnist-completion') && train.loss === 'xent') {
    bad('train.loss', `'xent' needs classes; task ${task} regresses real values, use 'mse'`);
  }
  if (task === 'mnist-completion') {
    if (g.input !== 'rff') bad('g.input', "mnist-completion feeds pixel coordinates through random Fourier features: set g.input to 'rff'");
    if (g.outputs !== 1) bad('g.outputs', `mnist-completion predicts one pixel value: must be 1, got ${g.outputs}`);
    if (data.pixelsPerImage > MNIST_PIXELS) bad('data.pixelsPerImage', `at most ${MNIST_PIXELS}, got ${data.pixelsPerImage}`);
    if (data.split === 'paper' && data.nTrain > MNIST_TRAIN - PAPER_TRAIN_OFFSET) {
      bad('data.nTrain', `at most ${MNIST_TRAIN - PAPER_TRAIN_OFFSET} with data.split 'paper' (training rows start at ${PAPER_TRAIN_OFFSET}), got ${data.nTrain}`);
    }
  } else {
    if (data.split !== undefined) bad('data.split', `only mnist-completion chooses its images this way, task is ${task}`);
    if (kernels.regressionDraws !== undefined) bad('kernels.regressionDraws', `only mnist-completion runs the kernel regression, task is ${task}`);
  }
  if (task === 'mnist-completion' || task === 'mnist-rotation') {
    if (data.nTrain > MNIST_TRAIN) bad('data.nTrain', `at most ${MNIST_TRAIN} (the MNIST training set), got ${data.nTrain}`);
    if (data.nTest > MNIST_TEST) bad('data.nTest', `at most ${MNIST_TEST} (the MNIST test set), got ${data.nTest}`);
  }
  if (task === 'mnist-rotation' && g.outputs !== 1 && g.outputs !== 12) {
    bad('g.outputs', `mnist-rotation has 12 classes (leave g.outputs at 1 or set 12), got ${g.outputs}`);
  }
  return issues;
}
