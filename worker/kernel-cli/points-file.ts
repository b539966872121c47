/**
 * The points file of `hypersweep kernel`: JSON {x, z, f: {depth}, g: {depth}, zKernel}. Validated strictly with
 * zod; every problem is one line naming the file and the field.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { InputError, zodErrorLine } from '../../core/errors.js';
import { safeNorm, type NetSpec, type PointSet } from '../kernels/index.js';

const vector = z.array(z.number()).min(1, 'must have at least one entry');
const depth = z.number().int().min(1);

export const PointsFileSchema = z
  .strictObject({
    x: z.array(vector).min(1, 'must have at least one point'),
    z: z.array(vector).min(1, 'must have at least one point'),
    f: z.strictObject({ depth }),
    g: z.strictObject({ depth }),
    zKernel: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('linear') }),
      z.strictObject({ type: z.literal('rbf'), gamma: z.number().positive() }),
    ]),
  })
  .superRefine((v, ctx) => {
    for (const key of ['x', 'z'] as const) {
      const rows = v[key];
      if (rows.length === 0) return; // reported by .min(1)
      const dim = rows[0].length;
      rows.forEach((r, i) => {
        if (r.length !== dim) {
          ctx.addIssue({ code: 'custom', path: [key, i], message: `ragged: length ${r.length}, but ${key}[0] has ${dim}` });
        }
      });
    }
    if (v.x.length !== v.z.length) {
      ctx.addIssue({ code: 'custom', path: ['z'], message: `has ${v.z.length} rows but x has ${v.x.length}` });
    }
    const zeroCheck = (key: 'x' | 'z') =>
      v[key].forEach((r, i) => {
        const n = safeNorm(r, 0, r.length);
        if (n === 0) ctx.addIssue({ code: 'custom', path: [key, i], message: 'all zeros: cannot be normalised' });
      });
    zeroCheck('x');
    if (v.zKernel.type === 'linear') zeroCheck('z');
  });

export type PointsFile = z.infer<typeof PointsFileSchema>;

/** Read and validate a points file; throws InputError naming `file` and the field. */
export async function loadPointsFile(file: string): Promise<{ points: PointSet; net: NetSpec }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError(file, `cannot read the points file (${code})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(file, `invalid JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return parsePoints(raw, file);
}

/** Validate an already-parsed points object. */
export function parsePoints(raw: unknown, where: string): { points: PointSet; net: NetSpec } {
  const r = PointsFileSchema.safeParse(raw);
  if (!r.success) throw new InputError(where, zodErrorLine('', r.error).replace(/^: /, ''));
  const v = r.data;
  return {
    points: { x: v.x, z: v.z },
    net: { fDepth: v.f.depth, gDepth: v.g.depth, zKernel: v.zKernel },
  };
}
