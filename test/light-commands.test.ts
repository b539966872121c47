import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { spawnSync } from 'node:child_process';

/**
 * Light commands start fast and run anywhere: they must never load TensorFlow.js. Each runs as the real CLI with
 * a loader hook (node --import) that logs every @tensorflow module requested, through import or require.
 */
const dir = mkdtempSync(join(tmpdir(), 'hs-light-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = join(dir, 'tfjs.log');
const hooks = join(dir, 'hooks.mjs');
const preload = join(dir, 'preload.mjs');
writeFileSync(hooks, `
  import { appendFileSync } from 'node:fs';
  export async function resolve(specifier, context, next) {
    if (specifier.startsWith('@tensorflow/')) appendFileSync(${JSON.stringify(log)}, 'import ' + specifier + '\\n');
    return next(specifier, context);
  }
`);
writeFileSync(preload, `
  import Module, { register } from 'node:module';
  import { appendFileSync } from 'node:fs';
  register(${JSON.stringify(new URL(`file://${hooks}`).href)});
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request.startsWith('@tensorflow/')) appendFileSync(${JSON.stringify(log)}, 'require ' + request + '\\n');
    return load.call(this, request, ...rest);
  };
`);
const env = { NODE_OPTIONS: `--import ${preload}` };
const loaded = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

const db = join(dir, 'r.db');
beforeAll(async () => {
  const sweep = join(dir, 'noop.yaml');
  writeFileSync(sweep, 'name: light\ntask: noop\ngrid: {seed: [0, 1]}\n');
  const r = await runCli(['run', sweep, '--db', db, '--concurrency', '1']);
  expect(r.code).toBe(0);
});

describe('light commands never load TensorFlow.js', () => {
  it('the hook sees @tensorflow loaded through import and through require', () => {
    rmSync(log, { force: true });
    const code = "await import('@tensorflow/tfjs-core'); (await import('node:module')).createRequire(import.meta.url)('@tensorflow/tfjs-backend-cpu');";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(loaded()).toContain('import @tensorflow/tfjs-core');
    expect(loaded()).toContain('require @tensorflow/tfjs-backend-cpu');
  });

  it.each([
    ['--help', ['--help']],
    ['plan', ['plan', 'sweeps/quickstart.yaml']],
    ['status', ['status', '--db', db]],
    ['query', ['query', 'views', '--db', db]],
    ['export', ['export', '--db', db]],
    ['kernel', ['kernel', '--points', 'test/fixtures/points-small.json']],
  ])('%s', async (_name, args) => {
    rmSync(log, { force: true });
    const r = await runCli(args, { env });
    expect(r.code, r.stderr).toBe(0);
    expect(loaded()).toEqual([]);
  });
});
