/**
 * A user error: bad input, a missing file, an unreachable service. Its message is one line that says what
 * is wrong and where; the CLI prints it without a stack and exits with code 2. Anything else is a bug.
 */
export class HypersweepError extends Error {
  override name = 'HypersweepError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
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
