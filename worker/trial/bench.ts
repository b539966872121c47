/**
 * `npm run bench:runtrial [-- --backend wasm]`: wall time of a few representative trials, per phase and per training
 * step. Prints numbers; asserts nothing.
 */
import { runTrial } from '../trial.js';
import type { TrialConfigInput } from '../../core/config.js';
import type { BackendName } from '../backend/index.js';

const cases: [string, TrialConfigInput][] = [
  ['sphere defaults (n 256, m 64, 64 pts, 200 gd steps, probe 32)', { task: 'sphere' }],
  [
    'sphere wide (n 1024, m 256, 256 pts, 50 gd steps, probe 64)',
    { task: 'sphere', f: { width: 1024 }, g: { width: 256 }, data: { nTrain: 256 }, train: { steps: 50 }, kernels: { probe: 64 } },
  ],
  [
    'mnist-completion (100 img × 20 px, n 256, m 64, RFF 64, 20 adam steps, 8 test img, kernel regression)',
    {
      task: 'mnist-completion',
      g: { input: 'rff' },
      data: { nTrain: 100, nTest: 8 },
      train: { optimizer: 'adam', lr: 0.001, steps: 20 },
    },
  ],
  [
    'mnist-rotation (512 pairs, n 256, m 20, L 3, 100 sgd steps of 100, xent)',
    {
      task: 'mnist-rotation',
      g: { width: 20, depth: 3 },
      data: { nTrain: 512, nTest: 256 },
      train: { optimizer: 'sgd', lr: 0.01, steps: 100, batchSize: 100, loss: 'xent' },
      kernels: { probe: 16 },
    },
  ],
];

const arg = process.argv.indexOf('--backend');
const backend = (arg > 0 ? process.argv[arg + 1] : 'wasm') as BackendName;
for (const [name, config] of cases) {
  const r = await runTrial(config, { backend });
  const t = r.timings;
  const steps = r.metrics.stepsRun;
  const phases = Object.entries(t)
    .filter(([k]) => k !== 'totalMs')
    .map(([k, v]) => `${k.replace(/Ms$/, '')} ${Math.round(v)}`)
    .join(', ');
  console.log(`${name} [${r.backend}: ${r.versions.device}]`);
  console.log(`  total ${(t.totalMs / 1000).toFixed(2)} s; ${steps ? (t.trainMs / steps).toFixed(2) : '-'} ms/step; phases (ms): ${phases}`);
}
