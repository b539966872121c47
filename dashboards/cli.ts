import { z } from 'zod';
import { HypersweepError, parseOrThrow } from '../core/errors.js';
import { closeDb, liveReader, openDb, readWith, type LiveReader } from '../schema/db.js';
import { assertOutNotInput, databaseFiles } from '../core/out-file.js';
import { writeAtomic } from '../schema/queries-cli.js';
import { resolveSweep } from '../schema/queries-keys.js';
import { buildReport } from './report.js';
import { assets, createDashboardServer, listen } from './server.js';

/** CLI glue for `hypersweep dashboard` and `hypersweep report`. */

/** Open the database read-only for the dashboard (following writers that start later), with a large page cache. */
export function openForDashboard(file: string): LiveReader {
  return liveReader(file, (db) => {
    db.$client.pragma('cache_size = -131072'); // 128 MiB
    db.$client.pragma('mmap_size = 1073741824');
  });
}

const portMsg = 'expected a port number from 0 to 65535 in decimal digits';
/** Decimal only: Number('0x50') would be 80. */
const portSchema = z.string().regex(/^\d{1,5}$/, portMsg).transform(Number).pipe(z.number().max(65535, portMsg));
const dashboardFlags = z.object({
  db: z.string().min(1),
  port: portSchema,
  host: z.string().min(1),
  allowHost: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'expected a host name (letters, digits, "." and "-")')).default([]),
});

export async function runDashboard(raw: Record<string, unknown>): Promise<void> {
  const o = parseOrThrow(dashboardFlags, raw, 'dashboard');
  const db = openForDashboard(o.db);
  const server = createDashboardServer(() => db.current(), { allowedHosts: o.allowHost });
  let addr: { host: string; port: number };
  try {
    addr = await listen(server, o.port, o.host);
  } catch (err) {
    db.close();
    throw new HypersweepError(`dashboard: cannot listen on ${o.host}:${o.port}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const shown = addr.host.includes(':') ? `[${addr.host}]` : addr.host;
  process.stdout.write(`hypersweep dashboard: http://${shown}:${addr.port}/ (database ${o.db}; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  db.close();
}

const reportFlags = z.object({ db: z.string().min(1), sweep: z.string().min(1).optional(), out: z.string().min(1) });

export function runReport(raw: Record<string, unknown>): void {
  const o = parseOrThrow(reportFlags, raw, 'report');
  // The report reads the database and inlines the chart libraries.
  assertOutNotInput(o.out, [...databaseFiles(o.db), ...Object.values(assets).map((a) => a.file)]);
  const db = openDb(o.db, { readonly: true });
  let html: string;
  try {
    html = readWith(o.db, db, (d) => buildReport(d, resolveSweep(d, o.sweep)));
  } finally {
    closeDb(db);
  }
  writeAtomic(o.out, html);
  process.stdout.write(`wrote ${o.out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB, self-contained)\n`);
}
