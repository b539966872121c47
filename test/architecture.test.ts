import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

/**
 * The layering, checked on the import graph of the sources (static, dynamic and type-only imports alike):
 * cli (orchestrator/cli) → orchestrator, dashboards → schema, worker → core. An area may import its own files and
 * any lower layer, never one above or beside it; core imports nothing of ours; worker/kernels (pure math)
 * imports only core.
 */
type Area = 'cli' | 'orchestrator' | 'dashboards' | 'schema' | 'worker' | 'worker/kernels' | 'core';
const layer: Record<Area, number> = { cli: 3, orchestrator: 2, dashboards: 2, schema: 1, worker: 1, 'worker/kernels': 1, core: 0 };
const roots = ['core', 'schema', 'worker', 'orchestrator', 'dashboards'];

function areaOf(file: string): Area | null {
  if (file.startsWith('orchestrator/cli/')) return 'cli';
  if (file.startsWith('worker/kernels/')) return 'worker/kernels';
  const top = file.split('/')[0]!;
  return roots.includes(top) ? (top as Area) : null;
}

function sources(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface Edge { from: string; to: string }

/** Every relative import of our .ts sources, resolved to a repository path (`./x.js` → `dir/x.ts`). */
function importGraph(): Edge[] {
  return roots.flatMap(sources).flatMap((from) => {
    const info = ts.preProcessFile(readFileSync(join(repoRoot, from), 'utf8'), true, true);
    return info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({ from, to: normalize(join(dirname(from), spec)).replace(/\.js$/, '.ts') }));
  });
}

/** Why an import breaks the layering, or null when it is allowed. */
function violation({ from, to }: Edge): string | null {
  const a = areaOf(from), b = areaOf(to);
  if (a === null) return null;
  if (b === null) return `${from} imports ${to}, outside the layered areas`;
  if (a === b) return null;
  if (a === 'worker/kernels' && b !== 'core') return `${from} (worker/kernels: pure math) imports ${to} (${b}); it may import only core`;
  if (a === 'worker' && b === 'worker/kernels') return null; // worker/kernels is the worker's own math
  if (layer[b] >= layer[a]) return `${from} (${a}) imports ${to} (${b}): imports point down, cli → orchestrator/dashboards → schema/worker → core`;
  return null;
}

describe('architecture: the import graph', () => {
  const edges = importGraph();

  it('sees the imports (the parser works)', () => {
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'orchestrator/local/thread.ts', to: 'worker/execute.ts' });
    // a dynamic import
    expect(edges).toContainEqual({ from: 'orchestrator/cli/commands/kernel.ts', to: 'worker/kernel-cli/cli.ts' });
  });

  it('has every import pointing down the layers: cli → orchestrator/dashboards → schema/worker → core', () => {
    const bad = edges
      .map(violation)
      .filter((v): v is string => v !== null);
    expect(bad).toEqual([]);
  });

  it('flags an upward import, a sideways import and a kernel module reaching into the model', () => {
    expect(violation({ from: 'core/config.ts', to: 'worker/model/cost.ts' })).toMatch(/imports point down/);
    expect(violation({ from: 'worker/execute.ts', to: 'orchestrator/sweep.ts' })).toMatch(/imports point down/);
    expect(violation({ from: 'orchestrator/sweep.ts', to: 'orchestrator/cli/commands/run.ts' })).toMatch(/imports point down/);
    expect(violation({ from: 'schema/store.ts', to: 'worker/trial.ts' })).toMatch(/imports point down/);
    expect(violation({ from: 'worker/kernels/maps.ts', to: 'worker/model/hypernet.ts' })).toMatch(/only core/);
    expect(violation({ from: 'orchestrator/cli/commands/run.ts', to: 'core/errors.ts' })).toBeNull();
  });
});
