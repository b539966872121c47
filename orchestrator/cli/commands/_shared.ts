import { Option, type Command } from 'commander';
import { backendNames } from '../../../core/backend.js';
import { HypersweepError } from '../../../core/errors.js';

/** Flags several commands share, declared once (commander Options are single-use: these are factories). */
export const DEFAULT_DB = './hypersweep.db';

export const dbOption = () => new Option('--db <file>', 'results database (SQLite)').default(DEFAULT_DB);
export const sweepOption = (what = 'sweep name (default: the only sweep in the database)') => new Option('--sweep <name>', what);
/** The same sweep, positionally (`hypersweep status quickstart`); `--sweep` is the documented form. */
export const SWEEP_ARG = '[sweep]';
/** `--backend NAME`, its choices from the one list in core/backend.ts. */
export const backendOption = (what = 'compute backend for training') =>
  new Option('--backend <name>', `${what}: ${backendNames.join(' | ')}`);
export const redisOption = (what = 'Redis URL') => new Option('--redis <url>', `${what} (default: $REDIS_URL)`);
export const prefixOption = (what = 'BullMQ key prefix') =>
  new Option('--prefix <prefix>', `${what} (default: $HYPERSWEEP_PREFIX or "hypersweep")`);

/** Argument parser of a repeatable flag (`--where a=1 --where b=2`): collects every value. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `--format`: every command that prints results takes it; `--json` stays an alias where it existed. */
export function formatOption(choices: readonly string[], def: string): Option {
  const o = new Option('--format <format>', choices.join(' | ')).default(def);
  formatChoices.set(o, choices);
  return o;
}

/**
 * The values each --format takes, checked before the action runs (main.ts) as a one-line error; commands that
 * validate their flags with zod check them again.
 */
export const formatChoices = new WeakMap<Option, readonly string[]>();

/** The one place a command's help shows how it is used: `Example:` lines after the options. */
export function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/**
 * The sweep a command is about. Every command takes it both ways: `--sweep NAME` (what the docs use) or as
 * the positional argument; naming two different sweeps is an error.
 */
export function sweepName(positional: string | undefined, flag: unknown): string | undefined {
  const f = typeof flag === 'string' ? flag : undefined;
  if (positional !== undefined && f !== undefined && positional !== f) {
    throw new HypersweepError(`two sweeps named: '${positional}' and --sweep ${f}; name one`);
  }
  return f ?? positional;
}

/** sweepName for commands that need a sweep. */
export function requireSweep(command: string, positional: string | undefined, flag: unknown): string {
  const name = sweepName(positional, flag);
  if (name === undefined) throw new HypersweepError(`${command}: name the sweep: hypersweep ${command} --sweep NAME`);
  return name;
}
