import { Option } from 'commander';

/** Flags several commands share, declared once (commander Options are single-use: these are factories). */
export const DEFAULT_DB = './hypersweep.db';

export const dbOption = () => new Option('--db <file>', 'results database (SQLite)').default(DEFAULT_DB);
export const sweepOption = () => new Option('--sweep <name>', 'sweep name (default: the only sweep in the database)');
export const redisOption = (what = 'Redis URL') => new Option('--redis <url>', `${what} (default: $REDIS_URL)`);
export const prefixOption = (what = 'BullMQ key prefix') =>
  new Option('--prefix <prefix>', `${what} (default: $HYPERSWEEP_PREFIX or "hypersweep")`);

/** Argument parser of a repeatable flag (`--where a=1 --where b=2`): collects every value. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];
