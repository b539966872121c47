/**
 * Dotted trial-config paths (`f.width`, `train.lr`) as sweep files write them: checking one names a key of the
 * config schema (by walking the zod schema's definition), and turning `fixed` maps and assignments into a nested
 * config.
 */
import { InputError } from '../core/errors.js';
import { trialConfigSchema } from '../core/config.js';
import { didYouMean } from '../core/suggest.js';

/** The part of zod's internal definition a path walk needs (zod 4 `_zod.def`). */
interface ZodNode {
  _zod: { def: { type: string; shape?: Record<string, ZodNode>; innerType?: ZodNode; in?: ZodNode } };
}

/** Null if `path` names a key of the trial config schema, else a one-line problem. */
export function checkConfigPath(path: string): string | null {
  const parts = path.split('.');
  let node = trialConfigSchema as unknown as ZodNode;
  for (let i = 0; i < parts.length; i++) {
    // Through optional/default/prefault wrappers and the input side of transforms (f, model) to the object.
    for (let d = node._zod.def; d.type !== 'object' && (d.innerType || (d.type === 'pipe' && d.in)); d = node._zod.def) {
      node = (d.innerType ?? d.in)!;
    }
    const shape = node._zod.def.shape;
    const here = parts.slice(0, i).join('.');
    if (!shape) return `unknown config key: ${here} takes a value, not keys`;
    const next = shape[parts[i]!];
    if (!next || parts[i] === '') {
      const hint = didYouMean(parts[i]!, Object.keys(shape));
      return `unknown config key "${parts[i]}"${here ? ` in ${here}` : ''}${hint || ` (known: ${Object.keys(shape).join(', ')})`}`;
    }
    node = next;
  }
  return null;
}

/** Leaf paths of `fixed`: nested maps are walked, dotted keys kept as written. */
export function flattenFixed(fixed: Record<string, unknown>, where: string): string[] {
  const out: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (k === '' || k.split('.').some((p) => p === '')) throw new InputError(`${where}: fixed.${prefix}${k}`, 'empty key');
      const path = prefix + k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
        walk(v as Record<string, unknown>, `${path}.`); // no config leaf takes a map: nested maps are sub-keys
      } else {
        out.push(path);
      }
    }
  };
  walk(fixed, '');
  return out;
}

/** The nested trial config (without task) that `fixed` describes. */
export function nestedFromFixed(fixed: Record<string, unknown>, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (obj: Record<string, unknown>, prefix: string[]) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = [...prefix, ...k.split('.')];
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, path);
      else setPath(out, path, structuredClone(v), where);
    }
  };
  walk(fixed, []);
  return out;
}

export function setPath(obj: Record<string, unknown>, path: string[], value: unknown, where = 'sweep'): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined) cur = cur[p] = {} as Record<string, unknown>;
    else if (next !== null && typeof next === 'object' && !Array.isArray(next)) cur = next as Record<string, unknown>;
    else throw new InputError(where, `${path.join('.')}: ${p} is a value, not a map`);
  }
  cur[path.at(-1)!] = value;
}
