/**
 * `hypersweep trial`: read a config file, apply --set overrides, validate (before TensorFlow.js loads), run the
 * trial with progress on stderr, print the result. SIGINT aborts the trial cleanly (exit 130); a second one exits.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HypersweepError, InputError, parseOrThrow } from '../../core/errors.js';
import { trialConfigSchema, type TrialConfig } from '../../core/config.js';
import { didYouMean } from '../../core/suggest.js';
import { assertWithinMemoryCap } from '../model/cost.js';
import { createProgressReporter } from '../progress.js';
import { backendNames } from '../../core/backend.js';
import type { TrialProgress } from '../../core/progress.js';
import type { TrialResult } from '../../core/result.js';
import { checkTaskConfig } from '../tasks/index.js';

const optionsSchema = z.object({
  config: z.string().min(1),
  set: z.array(z.string()).default([]),
  backend: z.enum(backendNames, { error: () => `must be one of ${backendNames.join(', ')}` }).default('auto'),
  json: z.boolean().default(false),
});

/** Read a config file: JSON, or YAML for .yaml/.yml. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(e)})`);
  }
  try {
    return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message.split('\n')[0]}`);
  }
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** The part of zod's internal definition the key walk reads (zod 4 `_zod.def`). */
interface ZodNode {
  _zod: { def: { type: string; shape?: Record<string, ZodNode>; innerType?: ZodNode; in?: ZodNode } };
}

/**
 * A misspelled key close to a real one is an error with the suggestion; any other key is left to the schema. The
 * keys are the schema's own (optional ones too), read through its wrappers and transforms.
 */
function suggestKey(key: string): void {
  let node = trialConfigSchema as unknown as ZodNode;
  for (const part of key.split('.')) {
    for (let d = node._zod.def; d.type !== 'object' && (d.innerType || (d.type === 'pipe' && d.in)); d = node._zod.def) {
      node = (d.innerType ?? d.in)!;
    }
    const shape = node._zod.def.shape;
    if (!shape) return;
    const next = shape[part];
    if (!next) {
      const hint = didYouMean(part, Object.keys(shape));
      if (hint) throw new InputError('--set', `'${key}': unknown config key "${part}"${hint}`);
      return;
    }
    node = next;
  }
}

/** `f.width=512` → config.f.width = 512. Values are JSON when they parse as JSON, otherwise strings. Returns a copy. */
export function applySets(config: unknown, sets: readonly string[]): unknown {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    if (sets.length === 0) return config;
    throw new InputError('--set', 'the config file is not an object');
  }
  const out = structuredClone(config) as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 0) throw new InputError('--set', `'${s}': expected key=value`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1);
    if (!keyPattern.test(key)) throw new InputError('--set', `'${key}': not a dotted key like f.width`);
    suggestKey(key);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const parts = key.split('.');
    let obj = out;
    for (const p of parts.slice(0, -1)) {
      const next = obj[p];
      if (next === undefined) obj[p] = {};
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new InputError('--set', `'${key}': ${p} is not an object in the config`);
      }
      obj = obj[p] as Record<string, unknown>;
    }
    obj[parts[parts.length - 1]] = value;
  }
  return out;
}

/** The config the command will run: file + overrides, validated, task-checked, within the memory cap. */
export function resolveTrialConfig(file: string, sets: readonly string[]): TrialConfig {
  const where = sets.length > 0 ? `${file} with --set` : file; // a bad key may come from either
  const config = parseOrThrow(trialConfigSchema, applySets(readConfigFile(file), sets), where);
  checkTaskConfig(config, where);
  assertWithinMemoryCap(config);
  return config;
}

function fmt(v: unknown): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v === null || v === undefined ? '-' : String(v);
}

/** A short human summary of a result. */
export function summarize(r: TrialResult): string {
  const m = r.metrics as Record<string, unknown> & TrialResult['metrics'];
  const lines = [
    `status      ${r.status} (${m.stepsRun} steps, backend ${r.backend})`,
    `train loss  ${fmt(m.trainLoss)}`,
    `test loss   ${fmt(m.testLoss)}`,
  ];
  if (m.testAccuracy !== undefined && m.testAccuracy !== null) lines.push(`test acc    ${fmt(m.testAccuracy)}`);
  if ('testMseAll' in m) lines.push(`test mse    all pixels ${fmt(m.testMseAll)}, hidden half ${fmt(m.testMseHidden)}`);
  const kr = m.kernelRegression as Record<string, Record<string, unknown>> | undefined | null;
  if (kr) {
    for (const name of ['hyperkernel', 'gp']) {
      const k = kr[name];
      if (k) lines.push(`kernel reg. ${name.padEnd(11)} mse all ${fmt(k.mseAll)}, hidden ${fmt(k.mseHidden)}`);
    }
  }
  if (m.kernel) {
    const { init, final, movement } = m.kernel;
    lines.push(
      `NTK vs Θ_h  rel. Frobenius init ${fmt(init.ntkRelFrob)} → final ${fmt(final.ntkRelFrob)}, alignment ${fmt(init.ntkAlignment)} → ${fmt(final.ntkAlignment)}`,
      `GP vs K_GP  rel. Frobenius init ${fmt(init.gpRelFrob)} → final ${fmt(final.gpRelFrob)}`,
      `NTK moved   ${fmt(movement)} (relative Frobenius)`,
    );
  }
  const total = r.timings.totalMs;
  if (total !== undefined) lines.push(`time        ${(total / 1000).toFixed(2)} s`);
  return lines.join('\n');
}

export async function runTrialCommand(rawOpts: Record<string, unknown>): Promise<void> {
  const opts = parseOrThrow(optionsSchema, rawOpts, 'hypersweep trial');
  const config = resolveTrialConfig(opts.config, opts.set);

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nhypersweep: interrupted, stopping the trial (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const reporter = createProgressReporter(process.stderr, { tty: process.stderr.isTTY === true, columns: process.stderr.columns });
  // With --json, stdout carries only the result: anything a library logs goes to stderr.
  const log = console.log;
  if (opts.json) console.log = (...args: unknown[]) => console.error(...args);
  let result: TrialResult;
  try {
    const { runTrial } = await import('../trial.js');
    result = await runTrial(config, {
      backend: opts.backend,
      signal: controller.signal,
      onProgress: (p: TrialProgress) => reporter.report(p),
    });
  } catch (e) {
    if (controller.signal.aborted) throw new HypersweepError('trial interrupted', 130);
    throw e;
  } finally {
    reporter.finish();
    console.log = log;
    process.off('SIGINT', onSigint);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${summarize(result)}\n`);
}
