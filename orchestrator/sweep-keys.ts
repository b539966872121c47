import type { Document } from 'yaml';
import { InputError } from '../core/errors.js';

/**
 * The sweep file's YAML document as plain data, refusing what the parser must never see: alias bombs ("billion
 * laughs": yaml stops resolving after `maxAliasCount` expansions) and keys that would reach Object.prototype
 * when a dotted path is assigned (`__proto__`, `constructor`, `prototype`, alone or as a dotted segment).
 */
const forbidden = new Set(['__proto__', 'constructor', 'prototype']);

/** Alias expansions allowed per document (yaml's default, stated here so the limit is ours). */
export const maxAliasCount = 100;

export function sweepYamlToJs(doc: Document, where: string): unknown {
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new InputError(where, `bad YAML: aliases expand too much (more than ${maxAliasCount} alias expansions)`);
    }
    throw err;
  }
  checkKeys(raw, where, '');
  return raw;
}

function checkKeys(v: unknown, where: string, path: string): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkKeys(x, where, `${path}[${i}]`));
    return;
  }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    const at = path ? `${path}.${k}` : k;
    if (k.split('.').some((p) => forbidden.has(p))) {
      throw new InputError(`${where}: ${at}`, `"${k}" is not allowed as a key (__proto__, constructor and prototype are reserved)`);
    }
    checkKeys(x, where, at);
  }
}
