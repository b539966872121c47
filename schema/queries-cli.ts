import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { HypersweepError, parseOrThrow } from '../core/errors.js';
import { assertOutNotInput, databaseFiles } from '../core/out-file.js';
import { closeDb, openDb, readWith, upgradeDb, type Db } from './db.js';
import { agreement, convergence, criterionText, kinds, modes, movement, phases } from './queries-aggregate.js';
import { exportCurves, exportTrials } from './queries-export.js';
import { agreementTable, convergenceTable, formats, movementTable, render, toCsv, type Rendered } from './queries-format.js';
import { parseAxes, parseBy, parseCode, parseWhere, resolveSweep } from './queries-keys.js';
import { codeIdentity } from '../core/code-identity.js';
import { outputs, outputsTable } from './queries-outputs.js';

/** CLI glue for `hypersweep query ...` and `hypersweep export`: validate flags, open read-only, print. */

const selectionFlags = z.object({
  db: z.string().min(1),
  sweep: z.string().min(1).optional(),
  format: z.enum(formats),
  where: z.array(z.string()).default([]),
  code: z.string().optional(),
  by: z.string().optional(),
  x: z.string().optional(),
  series: z.string().optional(),
});

const positive = (flag: string) => z.string().optional().transform((s, ctx) => {
  if (s === undefined) return undefined;
  const x = Number(s);
  if (!(Number.isFinite(x) && x > 0)) ctx.addIssue({ code: 'custom', message: `${flag} '${s}' is not a positive number` });
  return x;
});

const agreementFlags = selectionFlags.extend({ phase: z.enum(phases), kind: z.enum(kinds), mode: z.enum(modes) });
const convergenceFlags = selectionFlags.extend({ eps: positive('--eps'), rel: positive('--rel') });

const currentHash = (): string => codeIdentity().hash;

function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file, { readonly: true });
  try {
    return readWith(file, db, fn);
  } finally {
    closeDb(db);
  }
}

function emit(out: Rendered): void {
  process.stdout.write(out.stdout);
  if (out.stderr) process.stderr.write(out.stderr);
}

export function runQuery(which: 'agreement' | 'convergence' | 'movement', raw: Record<string, unknown>): void {
  const where = `query ${which}`;
  if (which === 'agreement') {
    const o = parseOrThrow(agreementFlags, raw, where);
    const filters = parseWhere(o.where);
    const code = parseCode(o.code, currentHash);
    const by = parseBy(o.by);
    const axes = parseAxes(o);
    emit(withDb(o.db, (db) => {
      const r = agreement(db, { sweep: resolveSweep(db, o.sweep), where: filters, code, by, ...axes, phase: o.phase, kind: o.kind, mode: o.mode });
      return render(o.format, agreementTable(r), { query: 'agreement', sweep: r.sweep, phase: r.phase, kind: r.kind, mode: r.mode, by: r.by }, { what: 'distance', r });
    }));
  } else if (which === 'convergence') {
    const o = parseOrThrow(convergenceFlags, raw, where);
    if (o.eps !== undefined && o.rel !== undefined) throw new HypersweepError('query convergence: give --rel (relative to the first logged loss) or --eps (absolute), not both');
    const filters = parseWhere(o.where);
    const code = parseCode(o.code, currentHash);
    const by = parseBy(o.by);
    const axes = parseAxes(o);
    emit(withDb(o.db, (db) => {
      const r = convergence(db, { sweep: resolveSweep(db, o.sweep), where: filters, code, by, ...axes, eps: o.eps, rel: o.rel });
      const c = r.criterion;
      const crit = c.kind === 'relative' ? { rel: c.rel, eps: null } : { rel: null, eps: c.eps };
      return render(o.format, convergenceTable(r), { query: 'convergence', sweep: r.sweep, criterion: criterionText(c), ...crit, by: r.by });
    }));
  } else {
    const o = parseOrThrow(selectionFlags, raw, where);
    const filters = parseWhere(o.where);
    const code = parseCode(o.code, currentHash);
    const by = parseBy(o.by);
    const axes = parseAxes(o);
    emit(withDb(o.db, (db) => {
      const r = movement(db, { sweep: resolveSweep(db, o.sweep), where: filters, code, by, ...axes });
      return render(o.format, movementTable(r), { query: 'movement', sweep: r.sweep, by: r.by }, { what: 'movement', r });
    }));
  }
}

const outputsFlags = selectionFlags.omit({ by: true }).extend({ pooledOnly: z.boolean().default(false) });

/** `hypersweep query outputs`: h(u) at init across seeds (variance, excess kurtosis) per group and probe point. */
export function runOutputsQuery(raw: Record<string, unknown>): void {
  const o = parseOrThrow(outputsFlags, raw, 'query outputs');
  const filters = parseWhere(o.where);
    const code = parseCode(o.code, currentHash);
  emit(withDb(o.db, (db) => {
    const r = outputs(db, { sweep: resolveSweep(db, o.sweep), where: filters, code });
    if (r.groups.length === 0) {
      throw new HypersweepError(`query outputs: no trial of sweep ${r.sweep} stored init outputs (run it with kernels.initOutputs: true and kernels.probe > 0)`);
    }
    const note = r.skipped ? { stderr: `# ${r.skipped} completed trial(s) without init outputs skipped\n` } : {};
    return { ...render(o.format, outputsTable(r, !o.pooledOnly), { query: 'outputs', sweep: r.sweep, by: r.by }), ...note };
  }));
}

/** Write a file atomically: a temp file beside it, then rename (readers never see half a file). */
export function writeAtomic(file: string, data: string): void {
  const target = resolve(file);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new HypersweepError(`--out ${file}: cannot write: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const exportFlags = z.object({
  db: z.string().min(1),
  sweep: z.string().min(1).optional(),
  format: z.enum(['csv', 'json']),
  out: z.string().min(1).optional(),
  where: z.array(z.string()).default([]),
  code: z.string().optional(),
  curves: z.boolean().default(false),
});

export function runExport(raw: Record<string, unknown>): void {
  const o = parseOrThrow(exportFlags, raw, 'export');
  if (o.out) assertOutNotInput(o.out, databaseFiles(o.db));
  const filters = parseWhere(o.where);
    const code = parseCode(o.code, currentHash);
  const text = withDb(o.db, (db) => {
    const sel = { sweep: resolveSweep(db, o.sweep), where: filters, code };
    const t = o.curves ? exportCurves(db, sel) : exportTrials(db, sel);
    return o.format === 'csv' ? toCsv(t) : JSON.stringify(t.rows, null, 1) + '\n';
  });
  if (o.out) writeAtomic(o.out, text);
  else process.stdout.write(text);
}

/**
 * `hypersweep query views`: bring the database's schema up to date (the views, indexes and sweep cube are part
 * of the migrations) — the upgrade a reader asks for when it finds a database made by an older version.
 */
export function runViews(raw: Record<string, unknown>): void {
  const o = parseOrThrow(z.object({ db: z.string().min(1) }), raw, 'query views');
  const applied = upgradeDb(o.db);
  process.stdout.write(applied > 0 ? `upgraded the schema (${applied} migration${applied === 1 ? '' : 's'}): views, indexes and sweep cube are current\n` : 'views are up to date\n');
}
