/**
 * Target expressions of `value` claims: `15 / g.width`, `2 * sqrt(f.width) ^ -1`. A tiny arithmetic language,
 * parsed here and evaluated by walking the tree (no eval): numbers, dotted config keys, + − * / ^ (right
 * associative, binding tighter than a leading minus: -2^2 = −4), parentheses, and sqrt, log (natural), exp, abs.
 */

export type Expr =
  | { kind: 'num'; value: number }
  | { kind: 'key'; key: string }
  | { kind: 'neg'; arg: Expr }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^'; left: Expr; right: Expr }
  | { kind: 'call'; fn: FunctionName; arg: Expr };

export const functionNames = ['sqrt', 'log', 'exp', 'abs'] as const;
type FunctionName = (typeof functionNames)[number];
const functions: Record<FunctionName, (x: number) => number> = { sqrt: Math.sqrt, log: Math.log, exp: Math.exp, abs: Math.abs };

/** A syntax error at a 1-based column of the expression. */
export class ExprError extends Error {
  constructor(message: string, readonly column: number) {
    super(`${message} at column ${column}`);
  }
}

type Token = { t: 'num'; v: number; at: number } | { t: 'name'; v: string; at: number } | { t: 'op'; v: string; at: number } | { t: 'end'; at: number };

const NUM = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const num = NUM.exec(rest);
    if (num) {
      out.push({ t: 'num', v: Number(num[0]), at: i + 1 });
      i += num[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      out.push({ t: 'name', v: name[0], at: i + 1 });
      i += name[0].length;
      continue;
    }
    if ('+-*/^()'.includes(c)) {
      out.push({ t: 'op', v: c, at: i + 1 });
      i++;
      continue;
    }
    throw new ExprError(`unexpected ${JSON.stringify(c)}`, i + 1);
  }
  out.push({ t: 'end', at: src.length + 1 });
  return out;
}

/** Parse an expression; throws ExprError (with the column) on a syntax error or an unknown function. */
export function parseExpr(src: string): Expr {
  const toks = tokenize(src);
  let p = 0;
  const peek = () => toks[p]!;
  const isOp = (v: string) => {
    const t = peek();
    return t.t === 'op' && t.v === v;
  };
  const describe = (t: Token) => (t.t === 'end' ? 'end of expression' : JSON.stringify(String(t.v)));
  const expect = (v: string) => {
    if (!isOp(v)) throw new ExprError(`expected "${v}", got ${describe(peek())}`, peek().at);
    p++;
  };

  function sum(): Expr {
    let left = product();
    while (isOp('+') || isOp('-')) {
      const op = (toks[p++] as { v: '+' | '-' }).v;
      left = { kind: 'bin', op, left, right: product() };
    }
    return left;
  }
  function product(): Expr {
    let left = unary();
    while (isOp('*') || isOp('/')) {
      const op = (toks[p++] as { v: '*' | '/' }).v;
      left = { kind: 'bin', op, left, right: unary() };
    }
    return left;
  }
  function unary(): Expr {
    if (isOp('-')) {
      p++;
      return { kind: 'neg', arg: unary() };
    }
    if (isOp('+')) {
      p++;
      return unary();
    }
    return power();
  }
  function power(): Expr {
    const base = primary();
    if (isOp('^')) {
      p++;
      return { kind: 'bin', op: '^', left: base, right: unary() };
    }
    return base;
  }
  function primary(): Expr {
    const t = peek();
    if (t.t === 'num') {
      p++;
      return { kind: 'num', value: t.v };
    }
    if (t.t === 'name') {
      p++;
      if (isOp('(')) {
        if (!(functionNames as readonly string[]).includes(t.v)) {
          throw new ExprError(`unknown function "${t.v}" (functions: ${functionNames.join(', ')})`, t.at);
        }
        p++;
        const arg = sum();
        expect(')');
        return { kind: 'call', fn: t.v as FunctionName, arg };
      }
      return { kind: 'key', key: t.v };
    }
    if (isOp('(')) {
      p++;
      const inner = sum();
      expect(')');
      return inner;
    }
    throw new ExprError(`expected a number, a config key or "(", got ${describe(t)}`, t.at);
  }

  if (peek().t === 'end') throw new ExprError('empty expression', 1);
  const e = sum();
  if (peek().t !== 'end') throw new ExprError(`unexpected ${describe(peek())}`, peek().at);
  return e;
}

/** The config keys an expression reads, in order of first use. */
export function exprKeys(e: Expr): string[] {
  const out: string[] = [];
  const walk = (x: Expr): void => {
    if (x.kind === 'key') {
      if (!out.includes(x.key)) out.push(x.key);
    } else if (x.kind === 'neg' || x.kind === 'call') walk(x.arg);
    else if (x.kind === 'bin') {
      walk(x.left);
      walk(x.right);
    }
  };
  walk(e);
  return out;
}

/** Evaluate with config values; `value(key)` returns the key's number (or throws). May return NaN or ±Infinity. */
export function evalExpr(e: Expr, value: (key: string) => number): number {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'key':
      return value(e.key);
    case 'neg':
      return -evalExpr(e.arg, value);
    case 'call':
      return functions[e.fn](evalExpr(e.arg, value));
    case 'bin': {
      const a = evalExpr(e.left, value);
      const b = evalExpr(e.right, value);
      return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : e.op === '/' ? a / b : a ** b;
    }
  }
}
