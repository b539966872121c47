import { realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { HypersweepError } from './errors.js';

/**
 * `--out` may never replace a file the command reads. Two names are the same file when their real paths match
 * (symlinks resolved, `..` removed) or when both exist with the same device and inode (hard links, bind mounts,
 * case-insensitive file systems).
 */

/** A SQLite database and the side files SQLite keeps beside it (write-ahead log, shared memory, rollback journal). */
export function databaseFiles(db: string): string[] {
  return [db, `${db}-wal`, `${db}-shm`, `${db}-journal`];
}

interface Identity {
  real: string;
  stat: Stats | null;
}

/** Real path and stat of a file; for a file that does not exist yet, its real folder joined with its name. */
function identify(file: string): Identity | null {
  const abs = resolve(file);
  try {
    return { real: realpathSync(abs), stat: statSync(abs) };
  } catch {
    try {
      return { real: join(realpathSync(dirname(abs)), basename(abs)), stat: null };
    } catch {
      return null; // the folder does not exist either: the write fails later with its own message
    }
  }
}

/** Throw a one-line user error when `out` names one of `inputs` (`flag` is how the user spelled it). */
export function assertOutNotInput(out: string, inputs: readonly string[], flag = '--out'): void {
  const o = identify(out);
  if (!o) return;
  for (const input of inputs) {
    const i = identify(input);
    if (!i) continue;
    const sameInode = o.stat !== null && i.stat !== null && o.stat.dev === i.stat.dev && o.stat.ino === i.stat.ino;
    if (o.real === i.real || sameInode) {
      throw new HypersweepError(`${flag} ${out}: is ${input}, which this command reads; write somewhere else`);
    }
  }
}
