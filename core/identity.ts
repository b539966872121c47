import { createHash } from 'node:crypto';
import { parseOrThrow } from './errors.js';
import { trialConfigSchema, type TrialConfig } from './config.js';

export type { TrialConfig };

/** Validate a trial config and apply every default: the one form that is hashed, queued and stored. */
export function canonicalConfig(input: unknown, where = 'trial config'): TrialConfig {
  return parseOrThrow(trialConfigSchema, input, where);
}

/** JSON with object keys sorted at every level, so key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Trial ids: `t` + 20 hex digits; valid BullMQ job ids (no ':', never all digits) and the SQLite key. */
export const trialIdPattern = /^t[0-9a-f]{20}$/;

/** The trial id of a parsed config (defaults applied): sha256 of its canonical JSON. */
export function trialIdOf(config: TrialConfig): string {
  return 't' + createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 20);
}

/**
 * The trial id of any config input: it is canonicalised first, so `{task: 'sphere'}` and its fully spelled-out
 * default config share one id.
 */
export function trialId(config: unknown): string {
  return trialIdOf(canonicalConfig(config));
}
