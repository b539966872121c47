import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { closeDb, migrationsFolder, openDb, type Db } from '../schema/db.js';
import {
  heartbeat,
  markQueued,
  markRunning,
  pendingTrials,
  recordFailure,
  recordResult,
  sweepCounts,
  upsertSweep,
  upsertWorker,
} from '../schema/store.js';
import { kernelMetrics, metricPoints, sweepTrials, trials, workers } from '../schema/tables.js';
import { parseSweep } from '../orchestrator/sweep.js';
import { expandSweep } from '../orchestrator/expand.js';
import type { TrialResult } from '../core/result.js';
import { HypersweepError } from '../core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hs-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = parseSweep('name: s1\ntask: sphere\ngrid: {seed: [0, 1, 2]}\n', 's1.yaml');
const list = expandSweep(spec);

const agreement = (x: number) => ({
  ntkRelFrob: x, gpRelFrob: x + 0.1, ntkAlignment: 0.9, gpAlignment: 0.8, paperCodeNtkRelFrob: x + 0.2, paperCodeGpRelFrob: x + 0.3,
});
const result: TrialResult = {
  status: 'completed',
  metrics: { trainLoss: 0.01, testLoss: 0.02, stepsRun: 30, kernel: { init: agreement(0.1), final: agreement(0.2), movement: 0.05 } },
  curve: [[0, 1], [10, 0.5], [20, 0.1], [30, 0.01]],
  backend: 'wasm',
  timings: { totalMs: 12 },
  versions: { node: process.version },
};
const rows = (db: Db, t: SQLiteTable) => db.select({ n: count() }).from(t).get()!.n;

describe('the SQLite store', () => {
  it('creates the schema from the committed migrations, in WAL mode with foreign keys', () => {
    const db = openDb(join(dir, 'a.db'));
    expect(db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.$client.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(Number(db.$client.pragma('busy_timeout', { simple: true }))).toBeGreaterThan(0);
    closeDb(db);
    // Opening again re-applies nothing and keeps the data.
    const again = openDb(join(dir, 'a.db'));
    const committed = readMigrationFiles({ migrationsFolder: migrationsFolder() }).length;
    expect(committed).toBeGreaterThanOrEqual(3);
    expect(again.$client.prepare('select count(*) as n from __drizzle_migrations').get()).toEqual({ n: committed });
    closeDb(again);
  });

  it('adds nothing when the same sweep is upserted twice, and keeps existing statuses', () => {
    const db = openDb(join(dir, 'b.db'));
    expect(upsertSweep(db, spec, list)).toEqual({ added: 3, existing: 0 });
    recordResult(db, list[0]!.id, result, { worker: 'w', host: 'h' });
    expect(upsertSweep(db, spec, list)).toEqual({ added: 0, existing: 3 });
    expect(rows(db, trials)).toBe(3);
    expect(rows(db, sweepTrials)).toBe(3);
    expect(db.select().from(trials).where(eq(trials.id, list[0]!.id)).get()!.status).toBe('completed');
    // A second sweep sharing a trial: one more membership row, no new trial for the shared config.
    const spec2 = parseSweep('name: s2\ntask: sphere\ngrid: {seed: [2, 3]}\n', 's2.yaml');
    expect(upsertSweep(db, spec2, expandSweep(spec2))).toEqual({ added: 1, existing: 1 });
    expect(rows(db, trials)).toBe(4);
    expect(rows(db, sweepTrials)).toBe(5);
    expect(sweepCounts(db, 's2')).toMatchObject({ total: 2, queued: 2 });
    closeDb(db);
  });

  it('leaves exactly one row of each kind when the same result is recorded twice', () => {
    const db = openDb(join(dir, 'c.db'));
    upsertSweep(db, spec, list);
    const id = list[1]!.id;
    markRunning(db, id, { worker: 'w1', host: 'h1', attempt: 1 });
    const code = { version: '0.1.0', hash: 'a'.repeat(64), commit: 'b'.repeat(40) };
    recordResult(db, id, result, { worker: 'w1', host: 'h1', code });
    recordResult(db, id, result, { worker: 'w1', host: 'h1', code });
    expect(rows(db, metricPoints)).toBe(result.curve.length);
    expect(rows(db, kernelMetrics)).toBe(8); // 2 phases × 2 kinds × 2 modes
    const t = db.select().from(trials).where(eq(trials.id, id)).get()!;
    expect(t).toMatchObject({ status: 'completed', trainLoss: 0.01, testLoss: 0.02, stepsRun: 30, backend: 'wasm', codeVersion: '0.1.0', codeHash: 'a'.repeat(64), gitCommit: 'b'.repeat(40), attempts: 1 });
    const movement = db.select().from(kernelMetrics).all().filter((k) => k.movement !== null);
    expect(movement).toEqual([expect.objectContaining({ phase: 'final', kind: 'ntk', mode: 'exact', movement: 0.05, relFrob: 0.2 })]);
    // A finished trial is not pulled back by a late duplicate start or failure.
    markRunning(db, id, { worker: 'w2', host: 'h2', attempt: 2 });
    recordFailure(db, id, { error: 'late', attempts: 2, status: 'failed' });
    expect(markQueued(db, [id])).toBe(0);
    expect(db.select().from(trials).where(eq(trials.id, id)).get()!.status).toBe('completed');
    closeDb(db);
  });

  it('lists pending trials (neither completed nor diverged) and counts per status', () => {
    const db = openDb(join(dir, 'd.db'));
    upsertSweep(db, spec, list);
    recordResult(db, list[0]!.id, { ...result, status: 'diverged', metrics: { ...result.metrics, trainLoss: null } }, { worker: 'w', host: 'h' });
    recordFailure(db, list[1]!.id, { error: 'boom', attempts: 3, status: 'failed' });
    expect(pendingTrials(db, 's1').map((t) => t.id)).toEqual([list[1]!.id, list[2]!.id]);
    expect(sweepCounts(db, 's1')).toMatchObject({ total: 3, diverged: 1, failed: 1, queued: 1, completed: 0 });
    closeDb(db);
  });

  it('rejects a result for an unknown trial and an invalid result, writing nothing', () => {
    const db = openDb(join(dir, 'e.db'));
    upsertSweep(db, spec, list);
    expect(() => recordResult(db, 'tnope', result, { worker: 'w', host: 'h' })).toThrow(/no trial/);
    expect(() => recordResult(db, list[0]!.id, { ...result, curve: [[0, 'x']] } as unknown as TrialResult, { worker: 'w', host: 'h' })).toThrow();
    expect(rows(db, metricPoints)).toBe(0);
    closeDb(db);
  });

  it('registers workers and their heartbeats', () => {
    const db = openDb(join(dir, 'f.db'));
    upsertWorker(db, { id: 'w1', host: 'h', backend: 'wasm', pid: 1 });
    heartbeat(db, 'w1', { currentTrial: 'tabc' });
    heartbeat(db, 'w2', { currentTrial: null, host: 'h2' });
    expect(db.select().from(workers).all().map((w) => [w.id, w.currentTrial, w.host])).toEqual([['w1', 'tabc', 'h'], ['w2', null, 'h2']]);
    closeDb(db);
  });

  it('reports a path it cannot open as a one-line user error', () => {
    expect(() => openDb(join(dir, 'missing-dir', 'x.db'))).toThrow(HypersweepError);
    expect(() => openDb(dir)).toThrow(/is a directory/);
    expect(() => openDb(join(dir, 'nothing.db'), { readonly: true })).toThrow(/no database there/);
  });
});
