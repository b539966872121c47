import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { HypersweepError, zodErrorLine } from '../core/errors.js';
import type { Db } from '../schema/db.js';
import { kinds, modes, phases } from '../schema/queries-aggregate.js';
import { sweepCube, type CubeRow } from '../schema/queries-cube.js';
import { heatmapMetrics } from '../schema/queries-heatmap.js';
import { trialStatuses } from '../schema/tables.js';
import { LruCache } from './lru.js';
import { configKeys, keyExpr, parseAxes, parseWhere } from '../schema/queries-keys.js';
import { didYouMean } from '../core/suggest.js';
import { sweepClaims } from './claims-section.js';
import {
  type CubeSource, type Memo, distanceChart, heatmapData, keyValuesOf, lossCurves, movementChart, parallelData, runningCurves, sortDirs, sweepExists,
  sweepKeys, sweepList, trialColumns, trialDetail, trialsPage,
} from './data.js';

/**
 * The dashboard's HTTP server (node:http). Static page + chart libraries from node_modules + a JSON API that
 * aggregates on the server. Query parameters are validated with zod (400 with a JSON message); unknown routes
 * are 404. API answers are cached until the database changes (PRAGMA data_version), recomputed at most once
 * per `minRefreshMs` while a sweep is writing; the cache is an LRU bounded in entries and bytes.
 *
 * Hardening: every answer carries a Content-Security-Policy (scripts only from this server, no inline script,
 * no eval: Vega runs with its expression interpreter), frame protection and nosniff; a request whose Host
 * header is not this server (DNS rebinding) gets 421 before any route runs.
 */

export interface DashboardOptions {
  /** Milliseconds a cached API answer is kept after the database changed. @defaultValue 1000 */
  minRefreshMs?: number;
  /** Cache API answers until the database changes (off: recompute every request, for benchmarks). @defaultValue true */
  cache?: boolean;
  /** Most API answers kept. @defaultValue 1000 */
  cacheEntries?: number;
  /** Most bytes of API answers kept (an answer larger than this is not cached). @defaultValue 64 MiB */
  cacheBytes?: number;
  /** Host names accepted besides localhost and IP literals (the Host check), lower case, without port. */
  allowedHosts?: readonly string[];
}

/**
 * The policy for the page: scripts and data only from this origin, no inline script and no eval (vega-embed
 * runs with `ast: true`, i.e. its interpreter instead of compiled expressions). Inline styles stay allowed:
 * Vega and the page set style attributes, and a style cannot run script.
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders = {
  'content-security-policy': contentSecurityPolicy,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

/** The repository root (has package.json and node_modules), from this file in source or in dist/. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('dashboard: cannot find the package root (package.json beside node_modules)');
}

export const root = findRoot();

/** Browser files: index.html from the source tree, app.js/charts.js compiled to dist/. */
export const assets: Record<string, { file: string; type: string }> = {
  '/': { file: join(root, 'dashboards', 'client', 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: join(root, 'dist', 'dashboards', 'client', 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: join(root, 'dist', 'dashboards', 'client', 'charts.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega.min.js': { file: join(root, 'node_modules', 'vega', 'build', 'vega.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega-lite.min.js': { file: join(root, 'node_modules', 'vega-lite', 'build', 'vega-lite.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/vega-embed.min.js': { file: join(root, 'node_modules', 'vega-embed', 'build', 'vega-embed.min.js'), type: 'text/javascript; charset=utf-8' },
};

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const int = (min: number, max: number, dflt: number) => z.coerce.number().int().min(min).max(max).default(dflt);

/** A config key (unknown: an error with a "did you mean"). */
const configKey = z.string().max(200).refine((k) => configKeys.includes(k), {
  error: (i) => `unknown config key '${String(i.input)}'${didYouMean(String(i.input), configKeys)}`,
});

const params = {
  none: z.strictObject({}),
  curves: z.strictObject({ limit: int(1, 200, 40), points: int(3, 2000, 100) }),
  agreement: z.strictObject({
    phase: z.enum(phases).default('init'), kind: z.enum(kinds).default('ntk'), mode: z.enum(modes).default('exact'),
    x: z.string().max(200).optional(), series: z.string().max(200).optional(), facet: configKey.optional(),
  }),
  movement: z.strictObject({ x: z.string().max(200).optional(), series: z.string().max(200).optional(), facet: configKey.optional() }),
  heatmap: z
    .strictObject({ metric: z.enum(heatmapMetrics).default('init_distance'), row: configKey.optional(), col: configKey.optional() })
    .refine((o) => o.row === undefined || o.row !== o.col, { message: 'row and col must be different keys', path: ['col'] }),
  trials: z.strictObject({
    offset: int(0, 1e9, 0), limit: int(1, 500, 50), status: z.enum(trialStatuses).optional(),
    sort: z.enum(trialColumns).optional(), dir: z.enum(sortDirs).default('asc'), where: z.string().max(2000).optional(),
  }),
  values: z.strictObject({ key: z.string().min(1).max(200) }),
  running: z.strictObject({ limit: int(1, 100, 20), points: int(3, 2000, 200) }),
  trial: z.strictObject({ points: int(3, 5000, 200) }),
};

function parse<T>(schema: z.ZodType<T>, query: URLSearchParams, where: string): T {
  const obj: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of query) {
    if (Object.hasOwn(obj, k)) throw new HttpError(400, `${where}: ${k}: given more than once`);
    obj[k] = v;
  }
  const r = schema.safeParse(obj);
  if (!r.success) throw new HttpError(400, zodErrorLine(where, r.error));
  return r.data;
}

/** A user error (a bad key in a filter) as a 400. */
function userInput<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof HypersweepError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** x and series name config keys (an unknown one is a 400 with a "did you mean"). */
function checkAxes<T extends { x?: string; series?: string }>(o: T): T {
  return { ...o, ...userInput(() => parseAxes(o)) };
}

type Handler = (db: Db, m: string[], q: URLSearchParams, cube: CubeSource, memo: Memo) => unknown;

function needSweep(db: Db, name: string): string {
  if (!sweepExists(db, name)) throw new HttpError(404, `no sweep named '${name}'`);
  return name;
}

/** API routes: pattern → handler (path segments are URI-decoded before matching). */
const routes: Array<[RegExp, Handler]> = [
  [/^\/api\/sweeps$/, (db, _m, q) => (parse(params.none, q, 'sweeps'), sweepList(db))],
  [/^\/api\/sweeps\/([^/]+)\/curves$/, (db, m, q) => lossCurves(db, needSweep(db, m[1]), parse(params.curves, q, 'curves'))],
  [
    /^\/api\/sweeps\/([^/]+)\/agreement$/,
    (db, m, q, cube) => distanceChart(db, needSweep(db, m[1]), checkAxes(parse(params.agreement, q, 'agreement')), cube),
  ],
  [/^\/api\/sweeps\/([^/]+)\/movement$/, (db, m, q, cube) => movementChart(db, needSweep(db, m[1]), cube, checkAxes(parse(params.movement, q, 'movement')))],
  [
    /^\/api\/sweeps\/([^/]+)\/heatmap$/,
    (db, m, q, cube) => {
      const { metric, ...ask } = parse(params.heatmap, q, 'heatmap');
      return heatmapData(db, needSweep(db, m[1]), metric, cube, ask);
    },
  ],
  [
    /^\/api\/sweeps\/([^/]+)\/trials$/,
    (db, m, q, _cube, memo) => {
      const { where, ...o } = parse(params.trials, q, 'trials');
      // where: `key=value` items separated by ';' (the value is read as JSON when it parses, as --where does).
      const filters = userInput(() => parseWhere(where ? where.split(';').filter((w) => w.length > 0) : []));
      return trialsPage(db, needSweep(db, m[1]), { ...o, where: filters }, memo);
    },
  ],
  [/^\/api\/sweeps\/([^/]+)\/keys$/, (db, m, q, cube) => (parse(params.none, q, 'keys'), sweepKeys(db, needSweep(db, m[1]), cube))],
  [
    /^\/api\/sweeps\/([^/]+)\/values$/,
    (db, m, q) => {
      const { key } = parse(params.values, q, 'values');
      userInput(() => keyExpr(key)); // an unknown key is a 400 with a "did you mean"
      return keyValuesOf(db, needSweep(db, m[1]), key);
    },
  ],
  [/^\/api\/sweeps\/([^/]+)\/parallel$/, (db, m, q, cube) => (parse(params.none, q, 'parallel'), parallelData(needSweep(db, m[1]), cube))],
  [/^\/api\/sweeps\/([^/]+)\/running$/, (db, m, q) => runningCurves(db, needSweep(db, m[1]), parse(params.running, q, 'running'))],
  [/^\/api\/sweeps\/([^/]+)\/claims$/, (db, m, q) => (parse(params.none, q, 'claims'), sweepClaims(db, needSweep(db, m[1])))],
  [
    /^\/api\/trials\/([^/]+)$/,
    (db, m, q) => {
      const t = trialDetail(db, m[1], parse(params.trial, q, 'trial').points);
      if (!t) throw new HttpError(404, `no trial '${m[1]}'`);
      return t;
    },
  ],
];

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...securityHeaders,
  });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));

/**
 * Null when the Host header names this server: `localhost` or an IP literal (neither can be rebound by an
 * attacker's DNS) or one of `allowed`, with an optional numeric port. The port is not compared with the bound
 * one: a published container port may differ, and a rebinding attack is stopped by the name alone.
 */
export function hostProblem(host: string | undefined, allowed: ReadonlySet<string>): string | null {
  if (!host) return 'no Host header';
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(host);
  if (!m) return `bad Host header ${JSON.stringify(host)}`;
  const name = m[1]!.toLowerCase();
  const ip = name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4;
  if (ip || name === 'localhost' || allowed.has(name)) return null;
  return `Host ${JSON.stringify(host)} is not this server (allow a name with --allow-host)`;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
}

const statsOf = new WeakMap<Server, () => CacheStats>();

/** The response cache's size and hit count of a server made by createDashboardServer. */
export function dashboardCacheStats(server: Server): CacheStats {
  const f = statsOf.get(server);
  if (!f) throw new Error('dashboardCacheStats: not a dashboard server');
  return f();
}

/** Sweeps whose aggregate cube is kept (each is a few rows per width cell). */
const maxCubes = 32;
/** Filtered-table counts kept. */
const maxOrders = 64;

/** Serve `db`, or the connection `source` gives at each request (a LiveReader's, which may be replaced). */
export function createDashboardServer(source: Db | (() => Db), opts: DashboardOptions = {}): Server {
  const current = typeof source === 'function' ? source : () => source;
  let db = current();
  const minRefreshMs = opts.minRefreshMs ?? 1000;
  const useCache = opts.cache ?? true;
  const cache = new LruCache(opts.cacheEntries ?? 1000, opts.cacheBytes ?? 64 * 1024 * 1024);
  const allowedHosts = new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));
  // One aggregate pass per sweep serves the heatmaps, NTK-exact agreement and movement (see sweepCube).
  const cubes = new Map<string, CubeRow[]>();
  const cube: CubeSource = (sweep) => {
    let c = cubes.get(sweep);
    if (!c) {
      c = sweepCube(db, { sweep });
      if (useCache) {
        if (cubes.size >= maxCubes) cubes.delete(cubes.keys().next().value!);
        cubes.set(sweep, c);
      }
    }
    return c;
  };
  // Counts of filtered trial tables, kept while the database is unchanged.
  const memoed = new Map<string, unknown>();
  const memo: Memo = <T>(key: string, compute: () => T): T => {
    if (memoed.has(key)) return memoed.get(key) as T;
    const v = compute();
    if (useCache) {
      if (memoed.size >= maxOrders) memoed.delete(memoed.keys().next().value!);
      memoed.set(key, v);
    }
    return v;
  };
  let version = -1;
  let versionAt = 0;
  const dataVersion = () => Number(db.$client.pragma('data_version', { simple: true }));

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const bad = hostProblem(req.headers.host, allowedHosts);
    if (bad) return sendJson(res, 421, { error: bad });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const asset = assets[path];
    if (asset) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `${req.method} not allowed` });
      if (!existsSync(asset.file)) return sendJson(res, 500, { error: `${path}: ${asset.file} is missing (run npm run build)` });
      return send(res, 200, asset.type, readFileSync(asset.file));
    }
    if (!path.startsWith('/api/')) return sendJson(res, 404, { error: `no route ${path}` });
    let segs: string;
    try {
      segs = path.split('/').map((s) => decodeURIComponent(s)).join('/');
    } catch {
      return sendJson(res, 400, { error: `bad URL encoding in ${path}` });
    }
    for (const [re, handler] of routes) {
      const m = re.exec(path);
      if (!m) continue;
      if (req.method !== 'GET') return sendJson(res, 405, { error: `${req.method} not allowed` });
      const args = m.map((s) => decodeURIComponent(s));
      const key = `${segs}?${[...url.searchParams].sort().map(([k, v]) => `${k}=${v}`).join('&')}`;
      const now = Date.now();
      const next = current();
      if (next !== db) {
        // A new connection (a writer started): its data_version counts afresh, and the cached answers are stale.
        db = next;
        version = -1;
        versionAt = 0;
      }
      const v = dataVersion();
      if (v !== version && now - versionAt >= minRefreshMs) {
        cache.clear();
        cubes.clear();
        memoed.clear();
        version = v;
        versionAt = now;
      }
      let body = cache.get(key);
      if (body === undefined) {
        body = JSON.stringify(handler(db, args, url.searchParams, cube, memo));
        if (useCache) cache.set(key, body);
      }
      return send(res, 200, 'application/json; charset=utf-8', body);
    }
    return sendJson(res, 404, { error: `no route ${path}` });
  }

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      console.error(err);
      sendJson(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  });
  statsOf.set(server, () => ({ entries: cache.entries, bytes: cache.bytes, hits: cache.hits }));
  return server;
}

/** Listen and resolve with the bound address (port 0 picks a free port). */
export function listen(server: Server, port: number, host: string): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      if (a === null || typeof a === 'string') return reject(new Error('dashboard: no address'));
      resolve({ host: a.address, port: a.port });
    });
  });
}
