import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSweep, parseSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import { trialFlops } from '../orchestrator/trial-cost.js';
import { planTrials } from '../orchestrator/sweep-plan.js';
import { repoRoot } from './helpers/cli.js';
import { canonicalConfig, trialId, trialIdPattern } from '../core/identity.js';
import { HypersweepError } from '../core/errors.js';

const expand = (yaml: string) => expandSweep(parseSweep(yaml, 'x.yaml'), 'x.yaml');

describe('sweep expansion', () => {
  it('crosses the grid with each zip group: counts multiply, zip axes move together', () => {
    const t = expand(`
name: w
task: sphere
fixed: {f.depth: 3, g.depth: 2, train.steps: 30}
grid: {seed: [0, 1, 2, 3], train.lr: [0.1, 0.2]}
zip:
  - f.width: [128, 512, 2048]
    g.width: [16, 32, 64]
`);
    expect(t).toHaveLength(4 * 2 * 3);
    expect(new Set(t.map((x) => x.id)).size).toBe(24);
    for (const { config } of t) {
      expect([128, 512, 2048].indexOf(config.f.width)).toBe([16, 32, 64].indexOf(config.g.width));
      expect(config.f.depth).toBe(3);
      expect(config.train.steps).toBe(30);
    }
    // first grid key slowest, zip fastest
    expect(t.slice(0, 3).map((x) => [x.config.seed, x.config.train.lr, x.config.f.width])).toEqual([
      [0, 0.1, 128], [0, 0.1, 512], [0, 0.1, 2048],
    ]);
    expect(t[0]!.axes).toEqual({ seed: 0, 'train.lr': 0.1, 'f.width': 128, 'g.width': 16 });
  });

  it('accepts dotted and nested keys in fixed alike', () => {
    const a = expand('name: a\ntask: sphere\nfixed: {f.width: 32, train.lr: 0.5, data.target: gaussian}\n');
    const b = expand('name: a\ntask: sphere\nfixed:\n  f: {width: 32}\n  train: {lr: 0.5}\n  data.target: gaussian\n');
    expect(a).toHaveLength(1);
    expect(b.map((x) => x.id)).toEqual(a.map((x) => x.id));
    expect(a[0]!.config).toMatchObject({ f: { width: 32, depth: 3 }, train: { lr: 0.5 }, data: { target: 'gaussian' } });
  });

  it('gives ids that are valid job ids and stable across runs and key order', () => {
    const a = expand('name: a\ntask: sphere\nfixed: {f.width: 32, g.width: 8}\ngrid: {seed: [1, 2]}\n');
    const b = expand('name: b\ntask: sphere\nfixed: {g: {width: 8}, f: {width: 32}}\ngrid: {seed: [1, 2]}\nretries: 5\n');
    expect(b.map((x) => x.id)).toEqual(a.map((x) => x.id));
    for (const { id } of a) {
      expect(id).toMatch(trialIdPattern);
      expect(id).not.toContain(':');
      expect(id).not.toMatch(/^\d+$/);
    }
    // The id hashes the config with defaults applied: spelling out a default changes nothing.
    expect(trialId({ task: 'sphere', seed: 1, f: { width: 32 }, g: { width: 8 } })).toBe(a[0]!.id);
    expect(trialId({ task: 'sphere', seed: 1, f: { width: 32, depth: 3 }, g: { width: 8 }, train: { lr: 0.1 } })).toBe(a[0]!.id);
    expect(trialId({ task: 'sphere', seed: 1, f: { width: 33 }, g: { width: 8 } })).not.toBe(a[0]!.id);
    // A hash of the canonical JSON, independent of how the object was built.
    const c = canonicalConfig({ g: { width: 8 }, seed: 1, task: 'sphere', f: { width: 32 } });
    expect(trialId(JSON.parse(JSON.stringify(c)))).toBe(a[0]!.id);
  });

  it('adds exactly the new trials when a grid value is added', () => {
    const before = expand('name: a\ntask: sphere\ngrid: {seed: [0, 1], f.width: [16, 32]}\n');
    const after = expand('name: a\ntask: sphere\ngrid: {seed: [0, 1], f.width: [16, 32, 64]}\n');
    const old = new Set(before.map((x) => x.id));
    const added = after.filter((x) => !old.has(x.id));
    expect(after.filter((x) => old.has(x.id))).toHaveLength(4);
    expect(added.map((x) => [x.config.seed, x.config.f.width])).toEqual([[0, 64], [1, 64]]);
  });

  it('orders small-first by estimated cost, keeping the listed order among equals', () => {
    const t = expand(`
name: a
task: sphere
grid: {seed: [0, 1]}
zip: [{f.width: [512, 16, 128], g.width: [64, 4, 16]}]
order: small-first
`);
    const costs = t.map((x) => trialFlops(x.config));
    expect([...costs].sort((x, y) => x - y)).toEqual(costs);
    expect(t.map((x) => [x.config.f.width, x.config.seed])).toEqual([[16, 0], [16, 1], [128, 0], [128, 1], [512, 0], [512, 1]]);
  });

  it('orders small-first by the worker\'s cost model, the one plan shows', () => {
    // Full-batch GD ignores train.batchSize (the worker trains on every row), so these two cost the same.
    const gd = expand('name: a\ntask: sphere\ngrid: {train.batchSize: [0, 8]}\norder: small-first\n');
    expect(gd.map((x) => x.config.train.batchSize)).toEqual([0, 8]);
    // MNIST's f reads 784 pixels whatever data.dx says; g's width sets the cost.
    const spec = parseSweep('name: m\ntask: mnist-rotation\nzip: [{data.dx: [1, 512], g.width: [64, 8]}]\norder: small-first\n', 'm.yaml');
    const mnist = expandSweep(spec);
    expect(mnist.map((x) => x.config.g.width)).toEqual([8, 64]);
    expect(planTrials(spec, mnist).trials.map((p) => p.flops)).toEqual(mnist.map((x) => trialFlops(x.config)));
  });

  it('keeps one trial when two combinations mean the same config', () => {
    // f.width 256 is the default: {width: 256} and {} are the same trial once defaults apply
    const t = expand('name: a\ntask: sphere\ngrid: {f: [{width: 256}, {}, {width: 8}]}\n');
    expect(t.map((x) => x.config.f.width)).toEqual([256, 8]);
  });

  it.each([
    ['unknown top-level key', 'name: a\ntask: sphere\ngird: {seed: [1]}\n', /x\.yaml: gird: unknown key/],
    ['unknown config key', 'name: a\ntask: sphere\ngrid: {f.widht: [1]}\n', /grid\.f\.widht: unknown config key "widht" in f; did you mean "width"\?/],
    ['far-off config key', 'name: a\ntask: sphere\ngrid: {f.zzzzzz: [1]}\n', /unknown config key "zzzzzz" in f \(known: width, depth/],
    ['misspelled top-level key', 'name: a\ntask: sphere\ngird: {seed: [1]}\n', /gird: unknown key; did you mean "grid"\?/],
    ['bad YAML at a line and column', 'name: a\ntask: sphere\ngrid:\n  seed: [1, 2\n', /x\.yaml:5:1: bad YAML/],
    ['empty axis', 'name: a\ntask: sphere\ngrid: {seed: []}\n', /grid\.seed: an axis needs at least one value/],
    ['wrong type', 'name: a\ntask: sphere\ngrid: {f.width: [8, wide]}\n', /grid\.f\.width: .*expected number/],
    ['axis in grid and zip', 'name: a\ntask: sphere\ngrid: {seed: [1]}\nzip: [{seed: [1, 2], f.width: [2, 3]}]\n', /zip\[0\]\.seed: duplicate axis: grid\.seed/],
    ['axis in fixed and grid', 'name: a\ntask: sphere\nfixed: {f: {width: 8}}\ngrid: {f.width: [1]}\n', /grid\.f\.width: duplicate axis: fixed\.f\.width/],
    ['prefix overlap', 'name: a\ntask: sphere\nfixed: {f: {width: 8}}\ngrid: {f: [{width: 2}]}\n', /duplicate axis/],
    ['unequal zip', 'name: a\ntask: sphere\nzip: [{f.width: [1, 2], g.width: [1]}]\n', /zip\[0\]\.g\.width: has 1 values but f\.width has 2/],
    ['bad task', 'name: a\ntask: spheer\n', /task: /],
    ['task as an axis', 'name: a\ntask: sphere\ngrid: {task: [noop]}\n', /grid\.task: set the task with the top-level/],
    ['bad name', 'name: "a b"\ntask: sphere\n', /name: use letters/],
    ['bad YAML', 'name: a\ntask: [sphere\n', /bad YAML/],
    ['not a map', '- 1\n- 2\n', /expected a YAML map/],
    ['value out of range', 'name: a\ntask: sphere\nfixed: {train.lr: -1}\n', /fixed\.train\.lr: Too small/],
    ['too many trials', `name: a\ntask: noop\ngrid: {seed: [${Array.from({ length: 400 }, (_, i) => i)}], noop.sleepMs: [${Array.from({ length: 400 }, (_, i) => i)}]}\n`, /expands to 160000 trials/],
  ])('rejects %s with one line naming the file and key', (_what, yaml, re) => {
    let err: unknown;
    try {
      expand(yaml);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HypersweepError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^x\.yaml/);
    expect(msg).toMatch(re);
    expect(msg).not.toContain('\n');
  });
});

describe('the example sweeps in sweeps/', () => {
  const files = readdirSync(join(repoRoot, 'sweeps')).filter((f) => f.endsWith('.yaml'));
  it('include the quickstart and one sweep per scaling claim', () => {
    for (const f of ['quickstart.yaml', 'width-joint.yaml', 'width-n-only.yaml', 'width-m-only.yaml', 'movement.yaml']) expect(files).toContain(f);
  });
  it.each(files)('%s expands, is named after its file and fits its memory cap', (f) => {
    const path = join(repoRoot, 'sweeps', f);
    const spec = loadSweep(path);
    expect(`${spec.name}.yaml`).toBe(f);
    const plan = planTrials(spec, expandSweep(spec, path));
    expect(plan.trials.length).toBeGreaterThan(1);
    expect(plan.totals.overCap).toBe(0);
  });
  it('vary what their claims are about', () => {
    const axes = (f: string) => {
      const list = expandSweep(loadSweep(join(repoRoot, 'sweeps', f)));
      return { n: new Set(list.map((t) => t.config.f.width)).size, m: new Set(list.map((t) => t.config.g.width)).size };
    };
    expect(axes('width-n-only.yaml')).toMatchObject({ m: 1 });
    expect(axes('width-n-only.yaml').n).toBeGreaterThan(3);
    expect(axes('width-m-only.yaml')).toMatchObject({ n: 1 });
    expect(axes('width-m-only.yaml').m).toBeGreaterThan(3);
    const joint = expandSweep(loadSweep(join(repoRoot, 'sweeps', 'width-joint.yaml')));
    expect(joint.every((t) => t.config.f.width / t.config.g.width === joint[0]!.config.f.width / joint[0]!.config.g.width)).toBe(true);
    expect(axes('movement.yaml').n * axes('movement.yaml').m).toBeGreaterThanOrEqual(9);
  });
});
