import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { ensureViews } from './views.js';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { HypersweepError } from '../core/errors.js';
import * as tables from './tables.js';

export type Db = BetterSQLite3Database<typeof tables> & { $client: Database.Database };

export interface OpenDbOptions {
  /** Apply the committed migrations (schema/migrations). Only the single writing process does this. @defaultValue true */
  migrate?: boolean;
  /** Open read-only (status, queries, dashboards); the file must exist. @defaultValue false */
  readonly?: boolean;
  /** Fail with a user error if the file does not exist yet (instead of creating it). @defaultValue false */
  mustExist?: boolean;
  /** Milliseconds a statement waits for another connection's write lock. @defaultValue 10000 */
  busyTimeoutMs?: number;
  /** After migrating, create the SQL views and covering indexes (schema/views.ts). @defaultValue true */
  views?: boolean;
}

/**
 * The committed migrations folder. From source this is schema/migrations beside this file; from dist/schema/db.js
 * (tsc copies no .sql files) it is the source folder two levels up, which ships with the package.
 */
export function migrationsFolder(): string {
  const candidates = [new URL('./migrations/', import.meta.url), new URL('../../schema/migrations/', import.meta.url)];
  for (const c of candidates) {
    const dir = fileURLToPath(c);
    if (existsSync(resolve(dir, 'meta', '_journal.json'))) return dir;
  }
  throw new Error(`schema migrations not found (looked in ${candidates.map((c) => fileURLToPath(c)).join(', ')})`);
}

function sqliteMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Open (and by default create and migrate) a results database: WAL journal, busy timeout, foreign keys on.
 * A path that cannot be opened or written is a user error (HypersweepError, one line).
 */
export function openDb(file: string, opts: OpenDbOptions = {}): Db {
  const readonly = opts.readonly ?? false;
  const doMigrate = opts.migrate ?? !readonly;
  const where = file === ':memory:' ? ':memory:' : file;
  if (file !== ':memory:') {
    if ((readonly || opts.mustExist) && !existsSync(file)) {
      throw new HypersweepError(`--db ${where}: no database there (run \`hypersweep run SWEEP.yaml --db ${where}\` first)`);
    }
    if (existsSync(file) && statSync(file).isDirectory()) {
      throw new HypersweepError(`--db ${where}: is a directory, expected a database file`);
    }
    const dir = dirname(resolve(file));
    if (!existsSync(dir)) throw new HypersweepError(`--db ${where}: directory ${dir} does not exist`);
  }
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly, fileMustExist: readonly || opts.mustExist === true });
    sqlite.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
    if (!readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    throw new HypersweepError(`--db ${where}: cannot open the database: ${sqliteMessage(err)}`);
  }
  const db = drizzle(sqlite, { schema: tables });
  if (doMigrate) {
    try {
      applyMigrations(db);
      if (opts.views ?? true) ensureViews(db); // the SQL views and covering indexes for `sqlite3` users and the dashboard
    } catch (err) {
      sqlite.close();
      if (err instanceof HypersweepError) throw err;
      throw new HypersweepError(`--db ${where}: cannot migrate the database: ${sqliteMessage(err)}`);
    }
  }
  return db;
}

/** Whether every committed migration is recorded in the database. */
function migrationsApplied(db: Db, folder: string): boolean {
  const files = readMigrationFiles({ migrationsFolder: folder });
  const last = files.at(-1);
  if (!last) return true;
  const sqlite = db.$client;
  const has = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (!has) return false;
  const row = sqlite.prepare('SELECT max(created_at) AS m FROM __drizzle_migrations').get() as { m: number | null };
  return row.m !== null && Number(row.m) >= last.folderMillis;
}

/**
 * drizzle's migrate() reads the last applied migration outside its transaction, so two processes starting at
 * once can race; one writer per file is the rule, and if another process won anyway its work is accepted.
 */
function applyMigrations(db: Db): void {
  const folder = migrationsFolder();
  if (migrationsApplied(db, folder)) return;
  try {
    migrate(db, { migrationsFolder: folder });
  } catch (err) {
    if (migrationsApplied(db, folder)) return;
    throw err;
  }
}

/** Close the underlying connection (checkpoints the WAL when it is the last one). */
export function closeDb(db: Db): void {
  const sqlite = db.$client;
  // Refresh the planner's statistics a writer has made stale (cheap: SQLite analyses only what changed a lot).
  if (!sqlite.readonly) {
    try {
      sqlite.pragma('optimize');
    } catch {
      // best effort: a busy or failing ANALYZE must not lose the close
    }
  }
  sqlite.close();
}

/**
 * Create the parent folder of a new --db path (like `mkdir -p`), before openDb. A path whose folder cannot be
 * created (a file in the way, no permission) is a one-line user error, and nothing is written.
 */
export function ensureDbDir(file: string): void {
  if (file === ':memory:') return;
  const dir = dirname(resolve(file));
  if (existsSync(dir)) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new HypersweepError(`--db ${file}: cannot create its folder ${dir}: ${sqliteMessage(err)}`);
  }
}
