/**
 * `export --out` / `report --out` never replace a file the command reads: the database under any name (relative
 * path, symlink, hard link), SQLite's side files, or a chart library the report inlines. Real files, the built CLI.
 */
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSweep } from '../dashboards/seed.js';
import { assets } from '../dashboards/server.js';
import { closeDb, openDb } from '../schema/db.js';
import { runCli } from './helpers/cli.js';

let dir: string;
let db: string;
const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hs-out-'));
  db = join(dir, 'r.db');
  const w = openDb(db);
  seedSweep(w, { sweep: 's', fWidths: [16, 32], gWidths: [8], seeds: 2 });
  closeDb(w);
  mkdirSync(join(dir, 'sub'));
  symlinkSync(db, join(dir, 'link.db'));
  linkSync(db, join(dir, 'hard.db'));
  writeFileSync(`${db}-wal`, ''); // a side file SQLite would read
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sameDb: Array<[string, () => string]> = [
  ['the database', () => db],
  ['the database by a relative path with ..', () => join('sub', '..', 'r.db')],
  ['a symlink to the database', () => join(dir, 'link.db')],
  ['a hard link to the database', () => join(dir, 'hard.db')],
  ['its write-ahead log', () => `${db}-wal`],
];

describe('--out that is an input', () => {
  for (const command of ['export', 'report'] as const) {
    it.each(sameDb)(`${command} --out refuses %s with one line, exit 2, nothing written`, async (_what, out) => {
      const before = hash(db);
      const files = readdirSync(dir).sort();
      const r = await runCli([command, '--db', db, '--out', out()], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^hypersweep: --out .*: is .*r\.db.*, which this command reads/);
      expect(hash(db)).toBe(before);
      expect(readdirSync(dir).sort()).toEqual(files);
    });
  }

  it('report --out refuses a chart library it inlines (through a symlink too)', async () => {
    const vega = assets['/vendor/vega.min.js']!.file;
    const before = hash(vega);
    symlinkSync(vega, join(dir, 'vega-link.js'));
    for (const out of [vega, join(dir, 'vega-link.js')]) {
      const r = await runCli(['report', '--db', db, '--out', out]);
      expect(r.code, out).toBe(2);
      expect(r.stderr).toMatch(/vega\.min\.js, which this command reads/);
    }
    expect(hash(vega)).toBe(before);
  });

  it('still writes to a new file beside the database', async () => {
    const r = await runCli(['export', '--db', db, '--out', join(dir, 'r.csv')]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'r.csv'), 'utf8')).toMatch(/^id,/);
  });
});
