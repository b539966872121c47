import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { HypersweepError } from '../core/errors.js';
import * as tables from './tables.js';

// Let SQLite read `file:` URIs (readers open with `?immutable=1`, see openReader). better-sqlite3 reads this once,
// when the first connection of the process loads its addon; openReader falls back if that happened earlier.
process.env.SQLITE_USE_URI ??= '1';

export type Db = BetterSQLite3Database<typeof tables> & { $client: Database.Database };

/**
 * Opening a results database. The whole schema (tables, views, indexes, the sweep cube and its triggers) is in
 * the drizzle migrations (schema/migrations); writers (`run`, the orchestrator, `cancel`, `query views`) apply
 * the missing ones when they open the file. Readers (`status`, `query`, `export`, `report`, `dashboard`) open it
 * read-only and never change a byte of it, nor create its -wal/-shm files; they refuse, with one line:
 * - a file that is not a hypersweep database (empty, not SQLite, truncated, another program's SQLite file);
 * - a database from a newer hypersweep (a migration this version does not know): upgrade hypersweep;
 * - a database from an older hypersweep (migrations missing): run a writer on it first, e.g.
 *   `hypersweep query views --db FILE`, which only upgrades the schema.
 * Writers refuse the same files, except an older database, which they upgrade (in one transaction).
 */

export interface OpenDbOptions {
  /** Apply the missing migrations. Only the single writing process does this. @defaultValue true unless readonly */
  migrate?: boolean;
  /** Open read-only (status, queries, dashboards): the file must exist and is never changed. @defaultValue false */
  readonly?: boolean;
  /** Fail with a user error if the file does not exist yet (instead of creating it). @defaultValue false */
  mustExist?: boolean;
  /** Milliseconds a statement waits for another connection's write lock. @defaultValue 10000 */
  busyTimeoutMs?: number;
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

const sqliteMagic = 'SQLite format 3\0';

/**
 * The checks before SQLite sees an existing file (a writer's new database may be an empty file): it starts like a SQLite database and, when no writer holds it
 * (no FILE-wal), is as long as its header says (SQLite would only fail on the first missing page, mid-query).
 */
function checkReadable(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new HypersweepError(`--db ${file}: cannot read it: ${sqliteMessage(err)}`);
  }
  try {
    const head = Buffer.alloc(100);
    const n = readSync(fd, head, 0, 100, 0);
    if (n === 0) throw new HypersweepError(`--db ${file}: the file is empty, not a hypersweep database`);
    if (n < 100 || head.toString('latin1', 0, 16) !== sqliteMagic) throw new HypersweepError(`--db ${file}: not a SQLite database, so not a hypersweep database`);
    // Bytes 28..31: the size in pages, valid when bytes 92..95 equal the change counter (24..27).
    const pageSize = head.readUInt16BE(16) === 1 ? 65536 : head.readUInt16BE(16);
    const pages = head.readUInt32BE(28);
    if (!existsSync(`${file}-wal`) && head.readUInt32BE(92) === head.readUInt32BE(24) && fstatSync(fd).size < pages * pageSize) {
      throw new HypersweepError(`--db ${file}: the database is truncated (${fstatSync(fd).size} bytes, its header says ${pages * pageSize})`);
    }
  } finally {
    closeSync(fd);
  }
}

export type SchemaState = 'current' | 'older' | 'newer' | 'foreign' | 'empty';

/** How the database's recorded migrations compare with this version's (no writes). */
export function schemaState(sqlite: Database.Database): SchemaState {
  const names = new Set(
    (sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map((r) => r.name),
  );
  if (!names.has('__drizzle_migrations')) return names.size === 0 ? 'empty' : 'foreign';
  const applied = (sqlite.prepare('SELECT created_at AS at FROM __drizzle_migrations').all() as Array<{ at: number | string | null }>).map((r) => Number(r.at));
  // drizzle creates its (empty) bookkeeping table before the first migration's transaction.
  if (applied.length === 0) return names.size === 1 ? 'empty' : 'foreign';
  if (!names.has('trials') || !names.has('sweeps')) return 'foreign';
  const known = readMigrationFiles({ migrationsFolder: migrationsFolder() }).map((m) => m.folderMillis);
  if (applied.some((at) => !known.includes(at))) return 'newer';
  return known.every((at) => applied.includes(at)) ? 'current' : 'older';
}

function refuse(where: string, state: SchemaState, readonly: boolean): void {
  if (state === 'foreign') throw new HypersweepError(`--db ${where}: not a hypersweep database (it has other tables and no hypersweep schema)`);
  if (state === 'newer') throw new HypersweepError(`--db ${where}: made by a newer hypersweep (its schema has migrations this version does not know); upgrade hypersweep`);
  if (!readonly) return;
  if (state === 'empty') throw new HypersweepError(`--db ${where}: not a hypersweep database (no tables)`);
  if (state === 'older') {
    throw new HypersweepError(`--db ${where}: made by an older hypersweep; upgrade its schema first with \`hypersweep query views --db ${where}\` (or any \`run\` on it)`);
  }
}

/** A path SQLite must not read as a URI (with URIs on, a name starting with `file:` would be one). */
const plainPath = (file: string) => (file.startsWith('file:') ? `./${file}` : file);

/**
 * The read-only connection. While no other connection has the file open (in WAL mode SQLite keeps FILE-wal
 * while any connection is open), it is opened `immutable`: the file alone is the database, no locks are taken
 * and no -wal/-shm files are created. Otherwise it shares the writer's -wal/-shm, as any reader must. A writer
 * that starts during a snapshot read is not seen by it (the dashboard moves to a shared connection at its next
 * request, see liveReader); one writer per file and short reads keep that window small.
 */
function openReader(file: string, busyTimeoutMs: number): Database.Database {
  let sqlite: Database.Database | undefined;
  if (!existsSync(`${file}-wal`)) {
    try {
      sqlite = new Database(`${pathToFileURL(resolve(file)).href}?immutable=1`, { readonly: true });
    } catch {
      // URIs are off in this process (its first connection was opened before this module set SQLITE_USE_URI)
    }
  }
  sqlite ??= new Database(plainPath(file), { readonly: true, fileMustExist: true });
  sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return sqlite;
}

/** Whether a reader opened without sharing (immutable): a writer that starts later is not seen by it. */
export function isSnapshot(db: Db): boolean {
  return db.$client.name.startsWith('file:');
}

/**
 * Open a results database: a writer (the default) creates and migrates it, in WAL mode with a busy timeout and
 * foreign keys on; a reader (`readonly`) opens it without changing it (see above). A path that cannot be
 * opened, or a file that is not a hypersweep database of this version, is a user error (HypersweepError, one line).
 */
export function openDb(file: string, opts: OpenDbOptions = {}): Db {
  const readonly = opts.readonly ?? false;
  const doMigrate = !readonly && (opts.migrate ?? true);
  const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000));
  const where = file;
  if (file !== ':memory:') {
    if ((readonly || opts.mustExist) && !existsSync(file)) {
      throw new HypersweepError(`--db ${where}: no database there (run \`hypersweep run SWEEP.yaml --db ${where}\` first)`);
    }
    if (existsSync(file) && statSync(file).isDirectory()) {
      throw new HypersweepError(`--db ${where}: is a directory, expected a database file`);
    }
    const dir = dirname(resolve(file));
    if (!existsSync(dir)) throw new HypersweepError(`--db ${where}: directory ${dir} does not exist`);
    if (readonly || (existsSync(file) && statSync(file).size > 0)) checkReadable(file);
  }
  let sqlite: Database.Database | undefined;
  try {
    if (readonly) sqlite = openReader(file, busy);
    else {
      if (file !== ':memory:' && statSync(file, { throwIfNoEntry: false })?.size) {
        // Refuse a file that is not ours before a read-write connection touches it (it would add -wal/-shm).
        const probe = openReader(file, busy);
        try {
          refuse(where, schemaState(probe), false);
        } finally {
          probe.close();
        }
      }
      sqlite = new Database(file === ':memory:' ? file : plainPath(file), { fileMustExist: opts.mustExist === true });
      sqlite.pragma(`busy_timeout = ${busy}`);
    }
    // Reads the schema: a file that is not SQLite fails here.
    refuse(where, schemaState(sqlite), readonly);
    if (!readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    sqlite?.close();
    if (err instanceof HypersweepError) throw err;
    throw new HypersweepError(`--db ${where}: cannot open the database: ${sqliteMessage(err)}`);
  }
  const db = drizzle(sqlite, { schema: tables });
  if (doMigrate) {
    try {
      applyMigrations(db);
    } catch (err) {
      sqlite.close();
      throw new HypersweepError(`--db ${where}: cannot migrate the database: ${sqliteMessage(err)}`);
    }
  }
  return db;
}

/** A long-lived reader (the dashboard) that follows writers: see liveReader. */
export interface LiveReader {
  /** The connection to read with now (a new one after a writer opened the file). */
  current(): Db;
  close(): void;
}

/**
 * A read-only connection for a long-lived reader. One opened while no other connection had the file (a snapshot,
 * see openReader) would not see a writer that starts later, so it is replaced by a shared read-only connection
 * as soon as FILE-wal appears. `setup` runs on each new connection (pragmas).
 */
export function liveReader(file: string, setup: (db: Db) => void = () => {}): LiveReader {
  let db = openDb(file, { readonly: true });
  setup(db);
  return {
    current() {
      if (isSnapshot(db) && existsSync(`${file}-wal`)) {
        const next = openDb(file, { readonly: true });
        setup(next);
        closeDb(db);
        db = next;
      }
      return db;
    },
    close: () => closeDb(db),
  };
}

/**
 * drizzle's migrate() reads the last applied migration outside its transaction, so two processes starting at
 * once can race; one writer per file is the rule, and if another process won anyway its work is accepted.
 * Returns how many migrations this call applied.
 */
function applyMigrations(db: Db): number {
  const before = schemaState(db.$client);
  if (before === 'current') return 0;
  const count = () => Number((db.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n);
  const had = before === 'empty' ? 0 : count();
  try {
    migrate(db, { migrationsFolder: migrationsFolder() });
  } catch (err) {
    if (schemaState(db.$client) === 'current') return 0;
    throw err;
  }
  return count() - had;
}

/**
 * Open as a writer only to bring the schema up to date (`hypersweep query views`); returns how many migrations
 * were applied (0: it was current).
 */
export function upgradeDb(file: string): number {
  const db = openDb(file, { mustExist: true, migrate: false });
  try {
    return applyMigrations(db);
  } catch (err) {
    throw new HypersweepError(`--db ${file}: cannot migrate the database: ${sqliteMessage(err)}`);
  } finally {
    closeDb(db);
  }
}

/**
 * Run a reader's work on `db`, turning an SQLite error (a damaged page found mid-query) into one line about the
 * file, as for the files openDb refuses.
 */
export function readWith<T>(file: string, db: Db, fn: (db: Db) => T): T {
  try {
    return fn(db);
  } catch (err) {
    if (err instanceof Database.SqliteError) throw new HypersweepError(`--db ${file}: cannot read the database: ${err.message}`);
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
