import { HypersweepError } from '../core/errors.js';
import type { Db } from '../schema/db.js';
import { loadClaimTrials } from '../schema/claims/data.js';
import { evaluateClaims, type ClaimResult, type TestPart } from '../schema/claims/evaluate.js';
import { parseClaims } from '../schema/claims/spec.js';
import { getSweep } from '../schema/store.js';

/**
 * The report's "Claims" section: the sweep's stored claims (its `expect:` list) with their verdicts, as
 * `hypersweep check` computes them (docs/claims.md). Empty when the sweep has no claims. Every text is escaped.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const num = (x: number | null) => (x === null ? '–' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3));
const colors = { holds: '#047857', fails: '#b91c1c', inconclusive: '#92400e' } as const;

function partRow(p: TestPart): string {
  const interval = p.low === null || p.high === null ? '–' : `[${num(p.low)}, ${num(p.high)}]`;
  const cells = [p.quantity, num(p.estimate), interval, p.region, String(p.n), p.df === null ? '–' : p.df.toFixed(1), p.p === null ? '–' : num(p.p), `${p.verdict}: ${p.reason}`];
  return `<tr><td></td><td></td>${cells.map((x) => `<td>${escapeHtml(x)}</td>`).join('')}</tr>`;
}

/** The sweep's claims with their verdicts (null: the sweep has no `expect:` list), or why they cannot be tested. */
export function sweepClaims(db: Db, sweep: string): { claims: ClaimResult[] | null; error: string | null } {
  const row = getSweep(db, sweep);
  const raw = (row?.spec as { expect?: unknown } | undefined)?.expect;
  if (!Array.isArray(raw) || raw.length === 0) return { claims: null, error: null };
  try {
    const where = `sweep ${sweep}`;
    return { claims: evaluateClaims(parseClaims(raw, where), loadClaimTrials(db, sweep), where), error: null };
  } catch (err) {
    if (!(err instanceof HypersweepError)) throw err;
    return { claims: [], error: err.message };
  }
}

export function claimsSection(db: Db, sweep: string): string {
  const { claims: results, error } = sweepClaims(db, sweep);
  if (results === null) return '';
  if (error !== null) return `<h2>Claims</h2><p class="muted">${escapeHtml(error)}</p>`;
  const head = ['#', 'claim', 'quantity', 'estimate', 'interval', 'claimed', 'N', 'df', 'p', 'verdict'].map((h) => `<th>${h}</th>`).join('');
  const body = results
    .map((c) => {
      const title = `<tr><td>${c.index}</td><td style="text-align:left"><b style="color:${colors[c.verdict]}">${c.verdict.toUpperCase()}</b> ${escapeHtml(c.name)}<br><span class="muted">${escapeHtml(c.statement)} · ${escapeHtml(c.test)}</span></td><td colspan="8" style="text-align:left">${escapeHtml(c.reason)}</td></tr>`;
      return title + c.parts.map(partRow).join('');
    })
    .join('\n');
  return `<h2>Claims</h2><p class="muted">The sweep's <code>expect:</code> list, tested on its finished trials (hypersweep check; rules in docs/claims.md).</p><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
