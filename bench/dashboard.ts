import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openForDashboard } from '../dashboards/cli.js';
import { seedSweep } from '../dashboards/seed.js';
import { createDashboardServer, listen } from '../dashboards/server.js';
import { closeDb, openDb } from '../schema/db.js';
import type { TrialStatus } from '../schema/tables.js';

/**
 * `npm run bench:dashboard`: seed 100,000 trials (21-point loss curves, 8 kernel rows each) and time every API
 * route the dashboard page calls, p50/p99 over 30 requests: uncached (every request recomputes), cached
 * (the server's answer cache, valid until the database changes) and written (cache on, but another connection
 * writes a result before every request, so every answer is cold). Goal: < 200 ms each.
 */

const N_REQ = Number(process.env.BENCH_REQUESTS ?? 30);
const fWidths = [16, 32, 64, 128, 256, 512, 1024, 2048];
const gWidths = [8, 16, 32, 64, 128];
const seeds = Number(process.env.BENCH_SEEDS ?? 2500); // 8 × 5 × 2500 = 100,000 trials

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  // BENCH_DB=FILE keeps the seeded database there (and reuses it when it exists) for repeated runs.
  const keep = process.env.BENCH_DB;
  const dir = keep ? undefined : mkdtempSync(join(tmpdir(), 'hs-bench-dash-'));
  const file = keep ?? join(dir as string, 'bench.db');
  const reuse = keep !== undefined && existsSync(keep);
  try {
    let t = performance.now();
    const w = openDb(file);
    const statusOf = (i: number, n: number): TrialStatus => (i >= n - 200 ? 'queued' : i >= n - 216 ? 'running' : i % 97 === 5 ? 'failed' : 'completed');
    const trials = reuse
      ? (w.$client.prepare("SELECT trial_id AS id FROM sweep_trials WHERE sweep = 'bench' ORDER BY rowid").all() as Array<{ id: string }>)
      : seedSweep(w, { sweep: 'bench', fWidths, gWidths, seeds, statusOf });
    const seedMs = performance.now() - t;
    t = performance.now();
    w.$client.exec('ANALYZE trials; ANALYZE kernel_metrics; ANALYZE sweep_trials'); // planner statistics for the seeded rows
    const indexMs = performance.now() - t;
    closeDb(w);
    console.log(`${reuse ? 'reused' : 'seeded'} ${trials.length} trials (21-point curves, 8 kernel rows each) in ${(seedMs / 1000).toFixed(1)} s; ANALYZE in ${(indexMs / 1000).toFixed(1)} s`);

    const db = openForDashboard(file);
    const detailId = trials[12345].id;
    const routes = [
      '/api/sweeps',
      '/api/sweeps/bench/curves?limit=40&points=60',
      '/api/sweeps/bench/agreement?phase=init&kind=ntk&mode=exact',
      '/api/sweeps/bench/movement',
      '/api/sweeps/bench/heatmap?metric=init_distance',
      '/api/sweeps/bench/heatmap?metric=final_loss',
      '/api/sweeps/bench/trials?offset=0&limit=25',
      '/api/sweeps/bench/trials?offset=50000&limit=25',
      `/api/trials/${detailId}?points=200`,
      // The table sorted by a kernel column and by a loss (server-side, over all 100,000), and filtered by a key.
      '/api/sweeps/bench/trials?offset=0&limit=25&sort=initNtk&dir=desc',
      // The next page of the same order: a slice of the kept order when the cache is on.
      '/api/sweeps/bench/trials?offset=25&limit=25&sort=initNtk&dir=desc',
      '/api/sweeps/bench/trials?offset=50000&limit=25&sort=trainLoss&dir=asc',
      '/api/sweeps/bench/trials?offset=0&limit=25&sort=f.width&dir=desc',
      '/api/sweeps/bench/trials?offset=0&limit=25&where=f.width%3D256',
      '/api/sweeps/bench/keys',
      '/api/sweeps/bench/parallel',
      '/api/sweeps/bench/running?limit=20&points=200',
      '/api/sweeps/bench/claims',
    ];
    const rows: string[] = [];
    // A second connection that writes between requests in the 'written' pass, as a running sweep does: it moves
    // one finished trial's loss (×2, then back), which fires the cube triggers and changes the database version.
    const writer = openDb(file);
    const finishedId = (writer.$client.prepare("SELECT id FROM trials WHERE status = 'completed' AND train_loss IS NOT NULL LIMIT 1").pluck().get()) as string;
    const bump = writer.$client.prepare('UPDATE trials SET train_loss = train_loss * ? WHERE id = ?');
    const writes: number[] = [];
    for (const mode of ['uncached', 'cached', 'written'] as const) {
      // written: the answer cache on, but the database changed before every request (a cold answer each time).
      const server = createDashboardServer(() => db.current(), mode === 'written' ? { minRefreshMs: 0 } : { cache: mode === 'cached' });
      const { port } = await listen(server, 0, '127.0.0.1');
      for (const route of routes) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < N_REQ; i++) {
          if (mode === 'written') {
            const w0 = performance.now();
            bump.run(writes.length % 2 === 0 ? 2 : 0.5, finishedId);
            writes.push(performance.now() - w0);
          }
          const t0 = performance.now();
          const res = await fetch(`http://127.0.0.1:${port}${route}`);
          const body = await res.arrayBuffer();
          times.push(performance.now() - t0);
          if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}`);
          bytes = body.byteLength;
        }
        const p50 = pct(times, 50);
        const p99 = pct(times, 99);
        rows.push(
          `${mode.padEnd(8)}  ${route.padEnd(58)} first ${times[0].toFixed(1).padStart(7)} ms  p50 ${p50.toFixed(1).padStart(7)} ms  p99 ${p99.toFixed(1).padStart(7)} ms  ${(bytes / 1024).toFixed(1).padStart(6)} KiB  ${p99 < 200 ? 'ok' : 'OVER 200 ms'}`,
        );
        console.log(rows.at(-1));
      }
      await new Promise((r) => server.close(r));
    }
    if (writes.length % 2 === 1) bump.run(0.5, finishedId); // back to the seeded loss (×2 and ×0.5 are exact)
    closeDb(writer);
    console.log(`writes in the 'written' pass (one UPDATE of a trial's loss, cube triggers included): p50 ${pct(writes, 50).toFixed(2)} ms, p99 ${pct(writes, 99).toFixed(2)} ms`);
    // A cold page load: a fresh server (empty answer cache and cube, as after the database changed) and the
    // requests the page makes on opening, in order.
    const pageRoutes = routes.slice(0, 5).concat(routes[6]);
    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const server = createDashboardServer(() => db.current());
      const { port } = await listen(server, 0, '127.0.0.1');
      const t0 = performance.now();
      for (const route of pageRoutes) await (await fetch(`http://127.0.0.1:${port}${route}`)).arrayBuffer();
      loads.push(performance.now() - t0);
      await new Promise((r) => server.close(r));
    }
    console.log(`cold page load (${pageRoutes.length} requests, fresh cache): ${loads.map((x) => x.toFixed(0)).join(', ')} ms; median ${pct(loads, 50).toFixed(0)} ms`);
    db.close();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
