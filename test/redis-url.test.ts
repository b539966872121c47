/**
 * Redis URLs are checked before anything is written: shape (scheme, port, database number, credentials) without
 * a connection, and the database number against the real server (ioredis would otherwise carry on in db 0).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRedisReachable, checkRedisUrl, redisDbIndex } from '../core/redis.js';
import { runCli } from './helpers/cli.js';
import { noopSweep, REDIS_URL, removeTempDirs, tempDir, uniquePrefix } from './queue-helpers.js';

afterAll(removeTempDirs);

const server = new URL(REDIS_URL);
const at = (path: string) => `redis://${server.host}${path}`;

describe('Redis URL shape', () => {
  it.each([
    ['redis://h:6379/99999', /database number/],
    ['redis://h:6379/-1', /database number/],
    ['redis://h:6379/01', /database number/],
    ['redis://h:6379/1.5', /database number/],
    ['redis://h:6379/0x1', /database number/],
    ['redis://h:0x50', /not a URL/],
    ['unix:///tmp/redis.sock', /scheme/],
    ['redis://user@h:6379', /user without a password/],
    ['redis://:pa#ss@h:6379', /not a URL/],
    ['redis://h:6379/0#frag', /no query or fragment/],
    ['redis://h:6379/0?db=3', /no query or fragment/],
    ['redis://:%zz@h:6379', /percent-encoding/],
  ])('refuses %s', (url, re) => {
    expect(() => checkRedisUrl(url)).toThrow(re);
  });

  it('never shows the password in a message', () => {
    expect(() => checkRedisUrl('redis://:s3cret@h:6379/abc')).toThrow(/\*\*\*/);
    expect(() => checkRedisUrl('redis://:s3cret@h:6379/abc')).not.toThrow(/s3cret/);
    expect(() => checkRedisUrl('redis://:s3cret@h:6379/x?y')).not.toThrow(/s3cret/);
  });

  it.each(['redis://h', 'redis://h:6379/0', 'redis://h:6379/15', 'redis://h:6379/31', 'rediss://:p%40ss@h:6380/2', 'redis://u:p@[::1]:6379'])(
    'accepts %s',
    (url) => expect(checkRedisUrl(url)).toBe(url),
  );

  it('reads the database number', () => {
    expect(redisDbIndex('redis://h')).toBe(0);
    expect(redisDbIndex('redis://h:1/7')).toBe(7);
  });
});

describe('Redis database number on the real server', () => {
  it('refuses a database the server does not have, naming its range', async () => {
    const conn = new Redis(REDIS_URL);
    const n = Number(((await conn.config('GET', 'databases')) as string[])[1]);
    await conn.quit();
    await expect(assertRedisReachable(at(`/${n}`))).rejects.toThrow(new RegExp(`database ${n}: .*out of range.*0–${n - 1}`));
    await expect(assertRedisReachable(at(`/${n - 1}`))).resolves.toBeUndefined();
  });

  it('run --redis …/99 and worker --redis …/99: one line, exit 2, no database written, no key in db 0', async () => {
    const dir = tempDir();
    const db = join(dir, 'r.db');
    const prefix = uniquePrefix('db99');
    const url = at('/99');
    const run = await runCli(['run', noopSweep(dir, 'd99', [0, 1], 1), '--redis', url, '--prefix', prefix, '--db', db], { timeoutMs: 30_000 });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^hypersweep: --redis .*\/99: database 99: .*out of range/);
    expect(existsSync(db)).toBe(false);
    const worker = await runCli(['worker', '--redis', url, '--prefix', prefix], { timeoutMs: 30_000 });
    expect(worker.code).toBe(2);
    expect(worker.stderr.trim().split('\n')).toHaveLength(1);
    expect(worker.stderr).toMatch(/database 99: .*out of range/);
    expect(worker.stdout).not.toMatch(/ready/);
    const conn = new Redis(REDIS_URL);
    expect(await conn.keys(`${prefix}*`)).toEqual([]);
    await conn.quit();
  });
});
