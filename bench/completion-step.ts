/**
 * `npm run build && node dist/bench/completion-step.js [--backend wasm] [--steps N]`
 *
 * ms per Adam step (full batch) of mnist-completion training: nTrain 100 images × 20 pixels, f width 256 (H 2),
 * g width 64, L 2, RFF 64. "plain": every row carries its image as x (f runs once per row); "dedup": f runs once
 * per distinct image and its output is gathered to the rows (TrainData.xIndex). Per-step time is
 * (time of 1 + N steps − time of 1 step) / N, so the final full-set loss evaluation cancels. Prints; asserts nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '../worker/backend/index.js';
import { trialConfigSchema } from '../core/config.js';
import { createHyperNet, specFromConfig, train, type TrainData } from '../worker/model/index.js';
import { buildTask, sliceSplit } from '../worker/tasks/index.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const backend = arg('--backend', 'wasm') as BackendName;
const steps = Number(arg('--steps', '10'));
const batchSize = Number(arg('--batch', '0'));

await selectBackend(backend);
const cfg = trialConfigSchema.parse({
  task: 'mnist-completion',
  f: { width: 256, depth: 2 },
  g: { width: 64, depth: 2, input: 'rff', rffFeatures: 64 },
  data: { nTrain: 100, nTest: 0, pixelsPerImage: 20 },
  train: { optimizer: 'adam', lr: 1e-3, steps, batchSize },
  kernels: { probe: 0 },
});
const task = buildTask(cfg);
const spec = specFromConfig(cfg);
const all = sliceSplit(task.train, task);
const plain: TrainData = {
  x: tf.tensor2d(all.x, [all.n, task.dx]),
  z: tf.tensor2d(all.z, [all.n, task.dz]),
  y: tf.tensor2d(all.y, [all.n, task.k]),
};
const D = task.train.xRows.length;
const xs = new Float32Array(D * task.dx);
task.train.xRows.forEach((r, i) => xs.set(r, i * task.dx));
const dedup = { x: tf.tensor2d(xs, [D, task.dx]), z: plain.z, y: plain.y, xIndex: task.train.xIndex } as TrainData;

async function time(data: TrainData, n: number): Promise<number> {
  const net = createHyperNet(spec, cfg.seed, { normalizeZ: false });
  const t0 = performance.now();
  await train(net, data, { ...cfg.train, steps: n, logEvery: 1_000_000, seed: 7 });
  const ms = performance.now() - t0;
  net.dispose();
  return ms;
}

const modes: [string, TrainData][] = [['plain', plain]];
if (!argv.includes('--plain-only')) modes.push(['dedup', dedup]);
console.log(`mnist-completion ${D} images × ${cfg.data.pixelsPerImage} px = ${all.n} rows; n 256, m 64, L 2, RFF 64; ` +
  `adam, batch ${batchSize || 'full'}; backend ${backend}`);
for (const [name, data] of modes) {
  await time(data, 1); // warm-up
  const one = await time(data, 1);
  const many = await time(data, 1 + steps);
  console.log(`  ${name}: ${((many - one) / steps).toFixed(1)} ms/step (${steps} steps)`);
}
