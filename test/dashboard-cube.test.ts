import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep } from '../dashboards/seed.js';
import { closeDb, openDb, type Db } from '../schema/db.js';
import { cubeDirect, cubeKeyOf, readStoredCube, storedStatusCounts, sweepCube, type CubeRow } from '../schema/queries-cube.js';
import { cubeFillSql, cubeTableDdl, derivedObjectsSql, storedCubeSums } from '../schema/ddl.js';
import { recordFailure, recordResult } from '../schema/store.js';
import type { TrialStatus } from '../schema/tables.js';
import type { TrialResult } from '../core/result.js';

/** The stored sweep cube (kept by triggers) must equal the one-pass aggregate over the tables, after any write. */

let db: Db;
let ids: string[] = [];

const keyOf = (r: CubeRow) => JSON.stringify(cubeKeyOf(r));

function expectCubeMatches(sweep: string): void {
  const stored = readStoredCube(db, sweep);
  const direct = cubeDirect(db, { sweep }).filter((r) => Number(r.trials) > 0);
  expect(stored.map(keyOf).sort()).toEqual(direct.map(keyOf).sort());
  const byKey = new Map(direct.map((r) => [keyOf(r), r]));
  for (const s of stored) {
    const d = byKey.get(keyOf(s))!;
    for (const f of storedCubeSums) {
      const a = s[f];
      const b = d[f];
      if (b === null || a === null) expect([f, a]).toEqual([f, b]);
      else expect(Math.abs(Number(a) - Number(b))).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(Number(b))));
    }
  }
}

function expectCountsMatch(): void {
  const direct = db.$client
    .prepare('SELECT st.sweep AS sweep, t.status AS status, count(*) AS n FROM sweep_trials st JOIN trials t ON t.id = st.trial_id GROUP BY 1, 2')
    .all() as Array<{ sweep: string; status: string; n: number }>;
  const stored = storedStatusCounts(db).filter((r) => r.n > 0);
  const norm = (xs: Array<{ sweep: string; status: string; n: number }>) => xs.map((r) => `${r.sweep}/${r.status}=${r.n}`).sort();
  expect(norm(stored)).toEqual(norm(direct));
}

function result(i: number, status: 'completed' | 'diverged' = 'completed'): TrialResult {
  const k = (d: number) => ({ ntkRelFrob: d, gpRelFrob: d / 2, ntkAlignment: 1 - d / 10, gpAlignment: 0.8, paperCodeNtkRelFrob: 2 * d, paperCodeGpRelFrob: d });
  return {
    status,
    backend: 'cpu',
    versions: {},
    timings: {},
    curve: [[0, 1], [10, 0.5 / (i + 1)]],
    metrics: {
      trainLoss: status === 'diverged' ? null : 0.01 * (i + 1),
      testLoss: 0.02 * (i + 1),
      stepsRun: 10,
      kernel: { init: k(0.3 / (i + 1)), final: k(0.4 / (i + 1)), movement: 0.05 * (i + 1) },
    },
  };
}

beforeAll(() => {
  db = openDb(':memory:');
  const statuses: TrialStatus[] = ['completed', 'completed', 'queued', 'running', 'failed', 'diverged', 'completed', 'cancelled'];
  ids = seedSweep(db, { sweep: 'S', fWidths: [16, 64, 256], gWidths: [8, 32], seeds: 8, statusOf: (i) => statuses[i % statuses.length] }).map((t) => t.id);
  // A second sweep holding some of the same trials (membership lives in sweep_trials).
  db.$client.prepare("INSERT INTO sweeps (name, task, spec, retries, created_at, updated_at) VALUES ('T', 'sphere', '{}', 0, 0, 0)").run();
  const add = db.$client.prepare("INSERT INTO sweep_trials (sweep, trial_id) VALUES ('T', ?)");
  for (const id of ids.filter((_, i) => i % 3 === 0)) add.run(id);
});

afterAll(() => closeDb(db));

describe('stored sweep cube', () => {
  it('is created by openDb (the derived-objects migration) and is what sweepCube reads', () => {
    expect(db.$client.prepare("SELECT sql FROM sqlite_master WHERE name = 'sweep_cube'").pluck().get()).toBe(cubeTableDdl);
    expect(readStoredCube(db, 'S')).toHaveLength(6);
    expect(readStoredCube(db, 'T')).toHaveLength(6);
    expect(sweepCube(db, { sweep: 'S' })).toEqual(readStoredCube(db, 'S'));
    expectCubeMatches('S');
    expectCubeMatches('T');
    expectCountsMatch();
  });

  it('follows recordResult (idempotent), recordFailure, status changes and membership changes', () => {
    const queued = db.$client.prepare("SELECT id FROM trials WHERE status = 'queued' ORDER BY id").pluck().all() as string[];
    expect(queued.length).toBeGreaterThan(3);
    recordResult(db, queued[0], result(0), { worker: 'w', host: 'h' });
    recordResult(db, queued[1], result(1, 'diverged'), { worker: 'w', host: 'h' });
    const before = readStoredCube(db, 'S');
    recordResult(db, queued[0], result(0), { worker: 'w', host: 'h' }); // the same result again
    // Counts unchanged; sums unchanged up to rounding (the old contribution is subtracted, the same one added).
    const after = readStoredCube(db, 'S');
    expect(after.map((r) => [r.fWidth, r.gWidth, r.trials, r.iN, r.fN, r.mN, r.lossN])).toEqual(before.map((r) => [r.fWidth, r.gWidth, r.trials, r.iN, r.fN, r.mN, r.lossN]));
    after.forEach((r, i) => {
      for (const f of storedCubeSums) {
        const b = before[i][f];
        if (b === null) expect(r[f]).toBeNull();
        else expect(Math.abs(Number(r[f]) - Number(b))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(Number(b))));
      }
    });
    recordResult(db, ids[0], result(5), { worker: 'w', host: 'h' }); // a different result replaces the old one
    recordFailure(db, queued[2], { error: 'boom', attempts: 3, status: 'failed' });
    db.$client.prepare("UPDATE trials SET status = 'running' WHERE id = ?").run(queued[3]);
    db.$client.prepare("UPDATE kernel_metrics SET rel_frob = rel_frob * 2 WHERE trial_id = ? AND kind = 'ntk' AND mode = 'exact'").run(ids[1]);
    db.$client.prepare("DELETE FROM kernel_metrics WHERE trial_id = ? AND phase = 'final'").run(ids[6]);
    db.$client.prepare("DELETE FROM sweep_trials WHERE sweep = 'T' AND trial_id = ?").run(ids[0]);
    for (const sweep of ['S', 'T']) expectCubeMatches(sweep);
    expectCountsMatch();
    // Every member of T's first cell removed: its row goes, as in the direct query.
    db.$client.prepare("DELETE FROM sweep_trials WHERE sweep = 'T'").run();
    expect(readStoredCube(db, 'T')).toEqual([]);
    expectCubeMatches('S');
    expectCountsMatch();
  });

  it('is rebuilt from the tables by the derived-objects statements (an upgrade), and by its fill alone', () => {
    db.$client.exec('DELETE FROM sweep_cube');
    db.$client.transaction(() => {
      for (const stmt of derivedObjectsSql()) db.$client.exec(stmt);
    })();
    expectCubeMatches('S');
    expectCountsMatch();
    db.$client.exec('DELETE FROM sweep_cube');
    db.$client.exec(cubeFillSql);
    expectCubeMatches('S');
    expectCountsMatch();
  });
});
