import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../schema/db.js';
import { getSweep } from '../schema/store.js';
import { sweepTrials } from '../schema/tables.js';
import { HypersweepError } from '../core/errors.js';

/**
 * A sweep name stays bound to one spec. Running a sweep file whose name is stored with a different spec (other
 * task, grid, fixed values, …; `order` and `retries` are run policy and may change) that drops any of the sweep's
 * stored trials is refused, unless `replace` (a spec that only adds trials, e.g. a new axis value, extends it):
 * then the name is rebound to this spec and the sweep's membership becomes exactly this spec's trials. Trials
 * are never deleted: they are content-addressed (id = hash of the config), keep their results, and stay in any
 * other sweep that lists them (`query --sweep OLD` needs the old sweep name to see them again).
 */
export function bindSweepName(
  db: Db,
  spec: { name: string; [key: string]: unknown },
  trials: Array<{ id: string }>,
  opts: { replace: boolean; file: string },
): void {
  const stored = getSweep(db, spec.name);
  if (!stored) return;
  const differing = differingKeys(stored.spec, spec);
  if (differing.length === 0) return;
  const keep = new Set(trials.map((t) => t.id));
  const members = db.select({ id: sweepTrials.trialId }).from(sweepTrials).where(eq(sweepTrials.sweep, spec.name)).all();
  // Extending a sweep (a new value on an axis) keeps every stored trial: allowed, only the new trials are added.
  if (members.every((m) => keep.has(m.id))) return;
  if (!opts.replace) {
    throw new HypersweepError(
      `sweep "${spec.name}" is stored in ${opts.file} with a different spec (${differing.join(', ')} differ): ` +
        'rename the sweep, or add --replace to bind the name to this spec (stored trials are kept)',
    );
  }
  db.transaction(
    (tx) => {
      const members = tx.select({ id: sweepTrials.trialId }).from(sweepTrials).where(eq(sweepTrials.sweep, spec.name)).all();
      const drop = members.map((m) => m.id).filter((id) => !keep.has(id));
      for (let i = 0; i < drop.length; i += 500) {
        tx.delete(sweepTrials).where(and(eq(sweepTrials.sweep, spec.name), inArray(sweepTrials.trialId, drop.slice(i, i + 500)))).run();
      }
    },
    { behavior: 'immediate' },
  );
}

const policyKeys = new Set(['order', 'retries']);

/** Top-level keys whose values differ (ignoring run policy), compared as canonical JSON. */
function differingKeys(a: unknown, b: Record<string, unknown>): string[] {
  const left = a !== null && typeof a === 'object' ? (a as Record<string, unknown>) : {};
  const names = new Set([...Object.keys(left), ...Object.keys(b)]);
  return [...names].filter((k) => !policyKeys.has(k) && canonical(left[k]) !== canonical(b[k])).sort();
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)))
      : x,
  ) ?? 'undefined';
}
