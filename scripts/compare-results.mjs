#!/usr/bin/env node
// Compare every stored metric of two results databases (a quickstart run before and after a change).
//   node scripts/compare-results.mjs BEFORE.db AFTER.db [--rel 1e-6]
// Without --rel every number must be identical to the last digit; with it, |a − b| ≤ rel·max(|a|, |b|, 1e-12)
// (use ~1e-5 for a new float32 compute path). Timings, hosts, versions and timestamps are not results.
import Database from 'better-sqlite3';

const args = process.argv.slice(2);
const relAt = args.indexOf('--rel');
const rel = relAt >= 0 ? Number(args[relAt + 1]) : 0;
const files = args.filter((a, i) => !a.startsWith('--') && (relAt < 0 || i !== relAt + 1));
if (files.length !== 2 || !Number.isFinite(rel)) {
  console.error('usage: node scripts/compare-results.mjs BEFORE.db AFTER.db [--rel TOLERANCE]');
  process.exit(2);
}
const [a, b] = files.map((f) => new Database(f, { readonly: true, fileMustExist: true }));

const notResults = new Set([
  'worker', 'host', 'versions', 'git_commit', 'timings', 'queued_at', 'started_at', 'finished_at', 'attempts',
  'backend', 'provenance', 'code_hash', 'code_version',
]);

function columns(db, table) {
  return db.prepare(`select name from pragma_table_info('${table}')`).all().map((r) => r.name);
}

let compared = 0;
let worst = 0;
const diffs = [];

function compareValue(where, x, y) {
  compared++;
  if (typeof x === 'string' && typeof y === 'string' && (x.startsWith('{') || x.startsWith('['))) {
    try {
      return compareJson(where, JSON.parse(x), JSON.parse(y));
    } catch {
      /* not JSON: compare as text */
    }
  }
  if (typeof x === 'number' && typeof y === 'number') {
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return;
    const d = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-12);
    worst = Math.max(worst, d);
    if (d > rel) diffs.push(`${where}: ${x} vs ${y} (rel ${d.toExponential(2)})`);
    return;
  }
  if (x !== y) diffs.push(`${where}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
}

const jsonNotResults = new Set(['timings', 'seconds', 'ms', 'elapsedMs', 'durationMs', 'wallMs', 'backend']);

function compareJson(where, x, y) {
  if (x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) {
      if (jsonNotResults.has(k) || /Ms$|Seconds$/.test(k)) continue;
      if (!(k in x) || !(k in y)) {
        diffs.push(`${where}.${k}: only in ${k in x ? 'before' : 'after'}`);
        continue;
      }
      compareJson(`${where}.${k}`, x[k], y[k]);
    }
    return;
  }
  compareValue(where, x, y);
}

const keyed = {
  trials: ['id'],
  metric_points: ['trial_id', 'series', 'step'],
  kernel_metrics: ['trial_id', 'phase', 'kind', 'mode'],
};

for (const [table, key] of Object.entries(keyed)) {
  const cols = columns(a, table).filter((c) => !notResults.has(c) && columns(b, table).includes(c));
  const order = key.join(', ');
  const rowsA = a.prepare(`select ${cols.join(', ')} from ${table} order by ${order}`).all();
  const rowsB = b.prepare(`select ${cols.join(', ')} from ${table} order by ${order}`).all();
  const index = new Map(rowsB.map((r) => [key.map((k) => r[k]).join('|'), r]));
  if (rowsA.length !== rowsB.length) diffs.push(`${table}: ${rowsA.length} rows before, ${rowsB.length} after`);
  for (const ra of rowsA) {
    const id = key.map((k) => ra[k]).join('|');
    const rb = index.get(id);
    if (!rb) {
      diffs.push(`${table} ${id}: missing after`);
      continue;
    }
    for (const c of cols) compareValue(`${table} ${id} ${c}`, ra[c], rb[c]);
  }
}

console.log(`${compared} values compared; largest relative difference ${worst.toExponential(3)}; tolerance ${rel}`);
if (diffs.length) {
  console.log(`${diffs.length} differences:`);
  for (const d of diffs.slice(0, 40)) console.log(`  ${d}`);
  process.exit(1);
}
console.log(rel === 0 ? 'identical to the last digit' : 'equal within tolerance');
