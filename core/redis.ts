import { Redis, type RedisOptions } from 'ioredis';
import { HypersweepError } from './errors.js';

/** Where the queue lives: a Redis URL and the BullMQ key prefix. */
export interface RedisTarget {
  /** `redis://[user:pass@]host[:port][/db]` or `rediss://…`. */
  url: string;
  /** BullMQ `prefix` (never ioredis `keyPrefix`). @defaultValue 'hypersweep' */
  prefix: string;
}

const prefixPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Resolve `--redis` / REDIS_URL and `--prefix` / HYPERSWEEP_PREFIX, checking both; a bad value is a one-line
 * user error. Returns undefined when no Redis URL is given at all (local mode).
 */
export function resolveRedisTarget(
  flags: { redis?: string; prefix?: string },
  env: NodeJS.ProcessEnv = process.env,
): RedisTarget | undefined {
  const raw = flags.redis ?? (env.REDIS_URL || undefined);
  if (raw === undefined) return undefined;
  const where = flags.redis !== undefined ? '--redis' : 'REDIS_URL';
  const url = checkRedisUrl(raw, where);
  const prefix = flags.prefix ?? (env.HYPERSWEEP_PREFIX || 'hypersweep');
  if (!prefixPattern.test(prefix)) {
    const pw = flags.prefix !== undefined ? '--prefix' : 'HYPERSWEEP_PREFIX';
    throw new HypersweepError(`${pw} ${JSON.stringify(prefix)}: use letters, digits, ".", "_" and "-" (no ':' or spaces)`);
  }
  return { url, prefix };
}

/** Like resolveRedisTarget, but a Redis URL is required (worker, resume, cancel). */
export function requireRedisTarget(flags: { redis?: string; prefix?: string }, command: string): RedisTarget {
  const t = resolveRedisTarget(flags);
  if (!t) throw new HypersweepError(`${command}: needs a Redis URL: pass --redis redis://HOST:6379 or set REDIS_URL`);
  return t;
}

/** Redis's default `databases 16`; a larger index is accepted only when the server says it has that many. */
export const defaultRedisDatabases = 16;
/** No Redis configuration has more databases than this; a larger index is a typo. */
const maxDbIndex = 9999;

/**
 * Validate a Redis URL without connecting: scheme `redis://` or `rediss://`, a host, a decimal port 1–65535, an
 * optional database index (decimal, 0–9999; checked against the server by assertRedisReachable), credentials
 * as `user:password@` or `:password@` (a user without a password is ambiguous), percent-encoded, and nothing
 * else (no query, no fragment: an unencoded `#` or `?` in a password would cut the URL). Messages never show
 * the password.
 */
export function checkRedisUrl(raw: string, where = '--redis'): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new HypersweepError(`${where}: not a URL (expected redis://HOST:PORT[/DB])`);
  }
  const bad = (problem: string): never => {
    throw new HypersweepError(`${where} ${redactUrl(raw)}: ${problem}`);
  };
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') bad('scheme must be redis:// or rediss://');
  if (!u.hostname) bad('no host');
  if (u.port !== '' && !(Number(u.port) >= 1 && Number(u.port) <= 65535)) bad('bad port (1–65535)');
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !(/^(0|[1-9]\d{0,3})$/.test(db) && Number(db) <= maxDbIndex)) {
    bad(`the path must be a database number, e.g. /0 (0–${defaultRedisDatabases - 1} on a default server)`);
  }
  if (u.search || u.hash || raw.includes('#') || raw.includes('?')) {
    bad('no query or fragment allowed (percent-encode "?" as %3F and "#" as %23 in a password)');
  }
  if (u.username && !u.password) bad('a user without a password: write redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST');
  try {
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
  } catch {
    bad('bad percent-encoding in the user or password');
  }
  return raw;
}

/** The database index a URL selects (0 when none). */
export function redisDbIndex(url: string): number {
  const db = new URL(url).pathname.replace(/^\//, '');
  return db === '' ? 0 : Number(db);
}

export interface ConnectionOptions {
  /** BullMQ Workers and QueueEvents block on Redis: they need `maxRetriesPerRequest: null`. */
  blocking?: boolean;
  /** Give up reconnecting after this many tries (null: keep trying, for long-lived workers). @defaultValue null */
  maxReconnects?: number | null;
}

/**
 * A BullMQ-ready ioredis connection. Reconnects back off up to 2 s; a long-lived process keeps trying (Redis
 * restarts are survivable), a short-lived command gives up after a few tries instead of retrying forever.
 */
export function createConnection(url: string, opts: ConnectionOptions = {}): Redis {
  const maxReconnects = opts.maxReconnects ?? null;
  const options: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 3,
    connectTimeout: 3000,
    enableReadyCheck: true,
    // Batches the many small commands of a collection round (job reads and removals) into few round trips.
    enableAutoPipelining: !opts.blocking,
    retryStrategy: (times) => (maxReconnects !== null && times > maxReconnects ? null : Math.min(100 * 2 ** times, 2000)),
  };
  const conn = new Redis(url, options);
  // Without a listener ioredis prints every connection error; the caller sees failures through commands.
  conn.on('error', () => {});
  return conn;
}

/**
 * Fail fast with one line when Redis cannot be reached: one connection attempt, a PING, a deadline. Called
 * before anything is written, so an unreachable Redis leaves the database untouched.
 */
export async function assertRedisReachable(url: string, timeoutMs = 4000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // ioredis arms this timer on disconnect() and never clears it when the socket already failed.
    disconnectTimeout: 50,
  });
  let lastError = '';
  probe.on('error', (e: Error) => (lastError = e.message));
  const safe = redactUrl(url);
  try {
    const deadline = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    await Promise.race([probe.connect().then(() => probe.ping()), deadline]);
  } catch (err) {
    probe.disconnect();
    const msg = lastError || (err instanceof Error ? err.message : String(err));
    throw new HypersweepError(`--redis ${safe}: cannot reach Redis: ${msg.split('\n')[0]}`);
  }
  try {
    await checkDbIndex(probe, url);
  } finally {
    probe.disconnect();
  }
}

/**
 * ioredis answers an out-of-range SELECT with an error event and then carries on in database 0; select
 * explicitly and refuse instead, naming how many databases the server has when CONFIG is allowed.
 */
async function checkDbIndex(conn: Redis, url: string): Promise<void> {
  const db = redisDbIndex(url);
  try {
    await conn.select(db);
  } catch (err) {
    let count = '';
    try {
      const [, n] = (await conn.config('GET', 'databases')) as [string, string];
      count = ` (this server has databases 0–${Number(n) - 1})`;
    } catch {
      // CONFIG is often disabled on managed Redis: the server's own message has to do.
    }
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new HypersweepError(`--redis ${redactUrl(url)}: database ${db}: ${msg}${count}`);
  }
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
