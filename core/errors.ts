/**
 * What a runner does with a trial that failed with an error:
 * - `user`: the trial can never succeed as configured (bad config, memory cap, unreadable input file): it fails
 *   at once, no retry is spent on it;
 * - `fatal`: this machine cannot run trials at all (a backend missing here): the local runner stops the run, a
 *   distributed worker hands the trial back for another machine to retry;
 * - `retryable`: anything else (a crash, out of memory, a bug that may not repeat): retried up to `retries`.
 */
export const errorKinds = ['user', 'fatal', 'retryable'] as const;
export type ErrorKind = (typeof errorKinds)[number];

/**
 * A user error: bad input, a missing file, an unreachable service. Its message is one line that says what
 * is wrong and where; the CLI prints it without a stack and exits with code 2. Anything else is a bug.
 * Subclasses set `kind` when a failed trial should be handled other than as a user error.
 */
export class HypersweepError extends Error {
  override name = 'HypersweepError';
  readonly kind: ErrorKind = 'user';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** An error as it crosses a thread, process or queue boundary: plain JSON that keeps its classification. */
export interface SerializedError {
  name: string;
  message: string;
  kind: ErrorKind;
  stack?: string;
}

/**
 * The one classification of a trial's error, used by both runners. Works on live errors (HypersweepError and its
 * subclasses carry their kind; zod validation errors are user errors) and on serialised ones (their `kind`).
 */
export function classify(err: unknown): ErrorKind {
  if (err instanceof HypersweepError) return err.kind;
  if (err instanceof Error) return err.name === 'ZodError' ? 'user' : 'retryable';
  if (err !== null && typeof err === 'object' && 'kind' in err) {
    const kind = (err as { kind: unknown }).kind;
    if ((errorKinds as readonly unknown[]).includes(kind)) return kind as ErrorKind;
  }
  return 'retryable';
}

/** The plain form of any thrown value, its kind included (see classify). */
export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message, kind: classify(err), ...(e.stack !== undefined ? { stack: e.stack } : {}) };
}

/** An input file or payload failed validation. `where` names the file and field, e.g. `points.json: x[3]`. */
export class InputError extends HypersweepError {
  override name = 'InputError';
  constructor(where: string, problem: string) {
    super(`${where}: ${problem}`);
  }
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
}

/** `a.b[3].c`: a zod issue path the way a user would write it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** One line for the first zod issue: `where: field: message`. */
export function zodErrorLine(where: string, error: { issues: ZodLikeIssue[] }): string {
  const issue = error.issues[0];
  if (!issue) return `${where}: invalid`;
  const field = formatPath(issue.path);
  return `${where}: ${field ? `${field}: ` : ''}${issue.message}`;
}

/** Parse with a zod schema or throw an InputError naming `where` and the first bad field. */
export function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ZodLikeIssue[] } } },
  value: unknown,
  where: string,
): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new HypersweepError(zodErrorLine(where, r.error));
}
