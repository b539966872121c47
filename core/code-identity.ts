import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The identity of the code that produces trial results (docs/sweeps.md, "Which code produced a result"):
 * - version: package.json's version;
 * - hash: sha256 over the compiled code that computes results: every `.js` file under dist/core and dist/worker,
 *   sorted by path relative to dist/ ('/'-separated), each hashed as `path NUL byteLength NUL bytes`. Paths are
 *   relative and mtimes are not read, so two copies of the same build anywhere hash alike. A bundle (esbuild, no
 *   dist/ tree beside it) hashes its own file;
 * - commit: `git rev-parse HEAD` when the package root is a git checkout, with `-dirty` when a tracked file under
 *   core/ or worker/ differs from HEAD; null otherwise (an installed package).
 */

export const codeIdentitySchema = z.strictObject({
  version: z.string().min(1).max(64),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256 hex digest'),
  commit: z.string().regex(/^[0-9a-f]{40}(-dirty)?$/, 'not a git commit').nullable(),
});
export type CodeIdentity = z.infer<typeof codeIdentitySchema>;

/** The folders of dist/ whose .js files make up the hash. */
export const hashedDirs = ['core', 'worker'] as const;

function jsFiles(dir: string, rel: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) return jsFiles(join(dir, e.name), r);
    return e.isFile() && e.name.endsWith('.js') ? [r] : [];
  });
}

/** sha256 of the named files under `base` (relative '/' paths), in byte order of their paths. */
export function hashFiles(base: string, relPaths: readonly string[]): string {
  const h = createHash('sha256');
  for (const rel of [...relPaths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const bytes = readFileSync(join(base, ...rel.split('/')));
    h.update(`${rel}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return h.digest('hex');
}

/** The hashed files of a build: dist/core/**.js and dist/worker/**.js, relative to dist/. */
export function compiledFiles(distDir: string): string[] {
  return hashedDirs.flatMap((d) => jsFiles(join(distDir, d), d));
}

function packageVersion(root: string | null): string {
  if (root === null) return 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === 'hypersweep' && typeof pkg.version === 'string' && pkg.version.length > 0 ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function gitCommit(root: string | null): string | null {
  if (root === null || !existsSync(join(root, '.git'))) return null;
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  try {
    const sha = git(['rev-parse', 'HEAD']);
    if (!/^[0-9a-f]{40}$/.test(sha)) return null;
    let dirty = false;
    try {
      dirty = git(['status', '--porcelain', '--untracked-files=no', '--', ...hashedDirs]).length > 0;
    } catch {
      // status unavailable: report the commit alone
    }
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return null;
  }
}

/** The nearest folder at or above `dir` holding hypersweep's package.json, or null. */
function packageRoot(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (packageVersion(d) !== 'unknown') return d;
    if (dirname(d) === d) return null;
  }
}

/**
 * The identity of the code around `moduleFile` (this module's compiled or source file): from dist/core/X.js the
 * build is that dist/; from core/X.ts (source, tests) the build is the package's dist/ if there is one (the local
 * pool and the sandboxes run it), else the sources' .ts files; from a bundle, the bundle file.
 */
export function computeCodeIdentity(moduleFile: string): CodeIdentity {
  const here = dirname(moduleFile);
  let hash: string;
  let root: string | null;
  if (basename(here) === 'core' && basename(dirname(here)) === 'dist') {
    const dist = dirname(here);
    root = dirname(dist);
    hash = hashFiles(dist, compiledFiles(dist));
  } else if (basename(here) === 'core' && existsSync(join(dirname(here), 'package.json'))) {
    root = dirname(here);
    const dist = join(root, 'dist');
    const built = compiledFiles(dist);
    if (built.length > 0) hash = hashFiles(dist, built);
    else {
      const sources = hashedDirs.flatMap((d) => jsOrTs(join(root!, d), d));
      hash = hashFiles(root, sources);
    }
  } else {
    root = packageRoot(here);
    hash = hashFiles(here, [basename(moduleFile)]);
  }
  return { version: packageVersion(root), hash, commit: gitCommit(root) };
}

function jsOrTs(dir: string, rel: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const r = `${rel}/${e.name}`;
    if (e.isDirectory()) return jsOrTs(join(dir, e.name), r);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [r] : [];
  });
}

let cached: CodeIdentity | undefined;

/** This process's code identity, computed on first use (hashing ~1 MB and one or two git calls), then cached. */
export function codeIdentity(): CodeIdentity {
  cached ??= computeCodeIdentity(fileURLToPath(import.meta.url));
  return cached;
}

/** A hash prefix for messages (12 hex digits). */
export const shortHash = (hash: string): string => hash.slice(0, 12);

/** `hypersweep 0.1.0, code 3f2a9c01b2d4, commit abc1234` (or `unknown code` for a result without provenance). */
export function describeCode(c: { version: string | null; hash: string | null; commit: string | null } | null): string {
  if (c === null || c.hash === null) return 'unknown code';
  const commit = c.commit === null ? 'not a git checkout' : `commit ${c.commit.slice(0, 7)}${c.commit.endsWith('-dirty') ? '-dirty' : ''}`;
  return `hypersweep ${c.version ?? '?'}, code ${shortHash(c.hash)}, ${commit}`;
}
