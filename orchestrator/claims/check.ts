import { existsSync, statSync } from 'node:fs';
import { HypersweepError } from '../../core/errors.js';
import { closeDb, openDb } from '../../schema/db.js';
import { getSweep, listSweeps } from '../../schema/store.js';
import { loadSweep } from '../sweep.js';
import { loadClaimTrials } from '../../schema/claims/data.js';
import { evaluateClaims, type ClaimResult, type TestPart, type Verdict } from '../../schema/claims/evaluate.js';
import { parseClaims, type Claim } from '../../schema/claims/spec.js';

/**
 * `hypersweep check SWEEP [--db FILE] [--format table|json]`: evaluate a sweep's claims on its stored results.
 * SWEEP is a sweep name (its claims as stored when it was run) or a sweep file (the file's current claims, on the
 * results of the sweep it names). Exit 0: every claim holds; 1: at least one fails; 3: none fails but at least
 * one is inconclusive; 2: bad input.
 */

export interface CheckFlags {
  db: string;
  format?: string;
}

export interface CheckReport {
  sweep: string;
  /** Where the claims came from: the sweep file, or "stored". */
  claimsFrom: string;
  verdict: Verdict;
  counts: Record<Verdict, number>;
  claims: ClaimResult[];
}

/** Exit status of a check: 0 all hold, 1 any fails, 3 otherwise (some inconclusive). */
export function checkExitCode(r: Pick<CheckReport, 'counts'>): number {
  return r.counts.fails > 0 ? 1 : r.counts.inconclusive > 0 ? 3 : 0;
}

const looksLikeFile = (arg: string) => /\.ya?ml$/i.test(arg) || (existsSync(arg) && statSync(arg).isFile());

export function runCheck(arg: string, dbFile: string): CheckReport {
  const fromFile = looksLikeFile(arg);
  const fileSpec = fromFile ? loadSweep(arg) : undefined;
  const name = fileSpec?.name ?? arg;
  const db = openDb(dbFile, { readonly: true });
  try {
    const row = getSweep(db, name);
    if (!row) {
      const names = listSweeps(db).map((s) => s.name);
      throw new HypersweepError(`${name}: no such sweep in ${dbFile}${names.length ? ` (sweeps: ${names.join(', ')})` : ''}; run it first: hypersweep run SWEEP.yaml --db ${dbFile}`);
    }
    const where = fromFile ? arg : `sweep ${name} (as stored in ${dbFile})`;
    const rawClaims = fromFile ? fileSpec!.expect : (row.spec as { expect?: unknown }).expect;
    const claims: Claim[] = parseClaims(rawClaims, where);
    if (claims.length === 0) {
      throw new HypersweepError(`${where}: no claims to check; add an \`expect:\` list to the sweep file (docs/claims.md) and run \`hypersweep check FILE\``);
    }
    const results = evaluateClaims(claims, loadClaimTrials(db, name), where);
    const counts: Record<Verdict, number> = { holds: 0, fails: 0, inconclusive: 0 };
    for (const r of results) counts[r.verdict]++;
    const verdict: Verdict = counts.fails > 0 ? 'fails' : counts.inconclusive > 0 ? 'inconclusive' : 'holds';
    return { sweep: name, claimsFrom: fromFile ? arg : 'stored', verdict, counts, claims: results };
  } finally {
    closeDb(db);
  }
}

const num = (x: number | null) => (x === null ? '–' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3));

function partLine(p: TestPart, confidence: number): string {
  const interval = p.low === null || p.high === null ? 'no interval' : `${+(confidence * 100).toFixed(2)}% interval [${num(p.low)}, ${num(p.high)}]`;
  const stats = [`N = ${p.n}`, ...(p.df !== null ? [`df = ${p.df.toFixed(p.df % 1 ? 1 : 0)}`] : []), ...(p.p !== null ? [`p = ${num(p.p)}`] : [])];
  return `${p.quantity} = ${num(p.estimate)}, ${interval}, claimed ${p.region}${p.target !== undefined ? ` (target ${num(p.target)})` : ''}: ${p.verdict} (${p.reason}); ${stats.join(', ')}`;
}

export function formatCheck(r: CheckReport, dbFile: string): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const lines = [
    `sweep ${r.sweep} (${dbFile}), claims ${r.claimsFrom === 'stored' ? 'as stored' : `from ${r.claimsFrom}`}: ` +
      `${plural(r.claims.length, 'claim')}: ${r.counts.holds} hold, ${r.counts.fails} fail, ${r.counts.inconclusive} inconclusive`,
  ];
  for (const c of r.claims) {
    lines.push('', `[${c.index}] ${c.verdict.toUpperCase()}: ${c.name}`);
    if (c.name !== c.statement) lines.push(`    claim: ${c.statement}`);
    lines.push(`    test:  ${c.test}`);
    for (const p of c.parts) lines.push(`    ${partLine(p, c.confidence)}`);
    lines.push(`    verdict: ${c.verdict}: ${c.reason} (${c.used} of ${c.selected} selected trials used)`);
    for (const n of c.notes) lines.push(`    note: ${n}`);
  }
  return lines.join('\n');
}

export async function runCheckCommand(arg: string, flags: CheckFlags): Promise<void> {
  const format = flags.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new HypersweepError(`--format ${format}: expected table or json`);
  const report = runCheck(arg, flags.db);
  process.stdout.write(format === 'json' ? `${JSON.stringify(report)}\n` : `${formatCheck(report, flags.db)}\n`);
  process.exitCode = checkExitCode(report);
}
