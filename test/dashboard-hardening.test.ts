/**
 * The dashboard against hostile clients: security headers on every answer, the Host check (DNS rebinding), a
 * bounded response cache under many distinct URLs, and query keys that collide with Object.prototype.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep } from '../dashboards/seed.js';
import { LruCache } from '../dashboards/lru.js';
import { createDashboardServer, dashboardCacheStats, hostProblem, listen } from '../dashboards/server.js';
import { closeDb, openDb, type Db } from '../schema/db.js';

let dir: string;
let db: Db;
let server: Server;
let port: number;

const cacheLimits = { entries: 300, bytes: 2 * 1024 * 1024 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hs-dash-hard-'));
  const file = join(dir, 'd.db');
  const w = openDb(file);
  seedSweep(w, { sweep: 's', fWidths: [16, 32], gWidths: [8], seeds: 3 });
  closeDb(w);
  db = openDb(file, { readonly: true });
  server = createDashboardServer(db, { cacheEntries: cacheLimits.entries, cacheBytes: cacheLimits.bytes });
  port = (await listen(server, 0, '127.0.0.1')).port;
});

afterAll(async () => {
  agent.destroy();
  await new Promise((r) => server?.close(r));
  if (db) closeDb(db);
  rmSync(dir, { recursive: true, force: true });
});

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** A raw request with a chosen Host header (fetch would not let us set it). */
function get(path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard headers', () => {
  it('sends a strict CSP, frame protection and nosniff on pages, assets, API answers and errors', async () => {
    for (const path of ['/', '/app.js', '/vendor/vega.min.js', '/api/sweeps', '/api/nope', '/api/sweeps?x=1']) {
      const r = await get(path);
      const csp = String(r.headers['content-security-policy']);
      expect(csp, path).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/); // no inline script, no eval
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(csp).not.toMatch(/unsafe-eval|https?:/);
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('the page has no inline script for the CSP to block', async () => {
    const page = (await get('/')).body;
    const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/[^/]/);
      expect(body.trim()).toBe('');
    }
    expect(page).not.toMatch(/\son[a-z]+\s*=/i); // no inline event handlers
  });
});

describe('dashboard Host check (DNS rebinding)', () => {
  it('answers 421 to a Host that is not the server', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `rebind.attacker.test:${port}`, `localhost.evil.example:${port}`]) {
      const r = await get('/api/sweeps', host);
      expect(r.status, host).toBe(421);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(r.body).error).toMatch(/Host/);
      expect(r.body).not.toMatch(/"name":"s"/);
    }
  });

  it('accepts the bound address, localhost and other IP literals on its port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const r = await get('/api/sweeps', host);
      expect(r.status, host).toBe(200);
    }
  });

  it('accepts a name given with --allow-host, and only that name', () => {
    const allowed = new Set(['dash.internal']);
    expect(hostProblem('dash.internal:8080', allowed)).toBeNull();
    expect(hostProblem('DASH.internal', allowed)).toBeNull();
    expect(hostProblem('dash.internal.evil.example:8080', allowed)).toMatch(/not this server/);
    expect(hostProblem('user@dash.internal', allowed)).toMatch(/not this server|bad Host/);
  });
});

describe('dashboard query keys', () => {
  it('names a key that Object.prototype also has as unknown, not as given twice', async () => {
    for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const r = await get(`/api/sweeps/s/trials?${key}=1`);
      expect(r.status, key).toBe(400);
      const msg = JSON.parse(r.body).error as string;
      expect(msg, key).not.toMatch(/more than once/);
      expect(msg, key).toMatch(new RegExp(`[Uu]nrecognized key.*${key.replace(/_/g, '_')}`));
    }
  });
});

describe('dashboard response cache', () => {
  it('LruCache: 20,000 distinct keys stay within the entry and byte bounds, least recently used evicted first', () => {
    const c = new LruCache(1000, 256 * 1024);
    let maxEntries = 0;
    let maxBytes = 0;
    for (let i = 0; i < 20_000; i++) {
      c.set(`/api/sweeps/s/trials?limit=50&offset=${i}`, 'x'.repeat(100 + (i % 700)));
      if (i === 10) expect(c.get('/api/sweeps/s/trials?limit=50&offset=0')).toBeDefined(); // touched: now recent
      maxEntries = Math.max(maxEntries, c.entries);
      maxBytes = Math.max(maxBytes, c.bytes);
    }
    expect(maxEntries).toBeLessThanOrEqual(1000);
    expect(maxBytes).toBeLessThanOrEqual(256 * 1024);
    expect(c.bytes).toBeGreaterThan(256 * 1024 - 800); // full: evicts only what it must
    expect(c.get('/api/sweeps/s/trials?limit=50&offset=19999')).toHaveLength(100 + (19_999 % 700));
    expect(c.get('/api/sweeps/s/trials?limit=50&offset=0')).toBeUndefined();
    c.set('big', 'x'.repeat(256 * 1024 + 1));
    expect(c.get('big')).toBeUndefined();
  });

  // The same bound through the server (fewer URLs: each miss is a real query, slow on a busy CI machine).
  it('the server stays within its entry and byte bounds over thousands of distinct valid URLs, keeping the most recent', async () => {
    const n = 3000;
    const paths = Array.from({ length: n }, (_, i) => `/api/sweeps/s/trials?offset=${i}&limit=${1 + (i % 5)}`);
    let maxEntries = 0;
    let maxBytes = 0;
    const hits0 = dashboardCacheStats(server).hits;
    const workers = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < n) {
          const r = await get(paths[next++]!);
          expect(r.status).toBe(200);
          const s = dashboardCacheStats(server);
          maxEntries = Math.max(maxEntries, s.entries);
          maxBytes = Math.max(maxBytes, s.bytes);
        }
      }),
    );
    const s = dashboardCacheStats(server);
    expect(maxEntries).toBeLessThanOrEqual(cacheLimits.entries);
    expect(maxBytes).toBeLessThanOrEqual(cacheLimits.bytes);
    expect(s.entries).toBe(cacheLimits.entries); // full, not cleared
    expect(s.hits).toBe(hits0);
    expect(n).toBeGreaterThan(5 * cacheLimits.entries);
    // The latest answer is still cached (a hit), the first long evicted (a miss).
    await get(paths[n - 1]!);
    expect(dashboardCacheStats(server).hits).toBe(hits0 + 1);
    await get(paths[0]!);
    expect(dashboardCacheStats(server).hits).toBe(hits0 + 1);
  }, 300_000);

  it('never caches one answer larger than the byte bound', async () => {
    const small = createDashboardServer(db, { cacheBytes: 64 });
    const p = (await listen(small, 0, '127.0.0.1')).port;
    const r = await fetch(`http://127.0.0.1:${p}/api/sweeps/s/trials?limit=5`);
    expect(r.status).toBe(200);
    expect((await r.text()).length).toBeGreaterThan(64);
    expect(dashboardCacheStats(small)).toMatchObject({ entries: 0, bytes: 0 });
    await new Promise((res) => small.close(res));
  });
});
