// CEL for policy `where` clauses, on @bufbuild/cel (chosen for conformance; see docs/policies.md).
// An expression is parsed, checked for unknown names and planned once, at load; evaluating it
// yields a boolean or throws. A runtime error or a non-boolean result is never a pass.

import { type CelEnv, celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { messageOf } from '../errors.ts';

/** The variables a policy `where` may use (documented in docs/policies.md). */
export const POLICY_VARIABLES = ['statement', 'predicate', 'subject', 'signer', 'environment', 'attestation'] as const;

// Type names are identifiers too (`type(x) == double`).
const TYPE_IDENTIFIERS = new Set([
  'bool',
  'bytes',
  'double',
  'int',
  'list',
  'map',
  'null_type',
  'string',
  'type',
  'uint',
]);

/** The standard library plus the CEL strings extension (lowerAscii, split, join, ...). */
const ENV: CelEnv = celEnv({ funcs: strings });

type Expr = ReturnType<typeof parse>['expr'];

export type CelErrorKind = 'syntax' | 'unknown-variable' | 'unknown-function' | 'evaluation' | 'not-boolean';

/** Why an expression does not compile or did not evaluate to a boolean. */
export class CelExpressionError extends Error {
  override readonly name = 'CelExpressionError';
  readonly kind: CelErrorKind;
  readonly expression: string;

  constructor(kind: CelErrorKind, message: string, expression: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.expression = expression;
  }
}

export interface CompiledCel {
  readonly source: string;
  /** The expression's value for `vars`: true or false; throws CelExpressionError otherwise. */
  evaluate(vars: Readonly<Record<string, unknown>>): boolean;
}

/** Parse, check and plan `source` once; throws CelExpressionError naming what is wrong and where. */
export function compileCel(source: string, opts: { variables?: readonly string[] } = {}): CompiledCel {
  const variables = new Set(opts.variables ?? POLICY_VARIABLES);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (err) {
    throw new CelExpressionError('syntax', `CEL syntax error ${describeParseError(err)}`, source, { cause: err });
  }
  const offsets = parsed.sourceInfo?.positions ?? {};
  const at = (e: Expr) => {
    const offset = offsets[String(e.id)];
    return offset === undefined ? '' : ` at ${position(source, offset)}`;
  };
  walk(parsed.expr, new Set(), (e, scope) => {
    const kind = e.exprKind;
    if (kind.case === 'identExpr') {
      const name = kind.value.name;
      if (!scope.has(name) && !variables.has(name) && !TYPE_IDENTIFIERS.has(name)) {
        throw new CelExpressionError(
          'unknown-variable',
          `unknown variable "${name}"${at(e)}; the variables are ${[...variables].join(', ')}`,
          source,
        );
      }
    } else if (kind.case === 'callExpr') {
      // Operators (`_==_`, `!_`, `@in`, ...) are handled by the planner; named functions must exist.
      const fn = kind.value.function;
      if (/^[A-Za-z]/.test(fn) && ENV.funcs.find(fn) === undefined) {
        throw new CelExpressionError('unknown-function', `unknown function "${fn}"${at(e)}`, source);
      }
    }
  });
  const run = plan(ENV, parsed);
  return {
    source,
    evaluate(vars) {
      let value: unknown;
      try {
        value = run(vars as Parameters<typeof run>[0]);
      } catch (err) {
        throw new CelExpressionError('evaluation', `CEL evaluation error: ${messageOf(err)}`, source, { cause: err });
      }
      if (isCelError(value))
        throw new CelExpressionError('evaluation', `CEL evaluation error: ${value.message}`, source, { cause: value });
      if (typeof value !== 'boolean') {
        throw new CelExpressionError(
          'not-boolean',
          `expression must evaluate to a bool, got ${describeValue(value)}`,
          source,
        );
      }
      return value;
    },
  };
}

/** Visit every node; `scope` holds the comprehension variables bound at that node. */
function walk(
  e: Expr | undefined,
  scope: ReadonlySet<string>,
  visit: (e: Expr, scope: ReadonlySet<string>) => void,
): void {
  if (!e) return;
  visit(e, scope);
  const kind = e.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      walk(kind.value.operand, scope, visit);
      break;
    case 'callExpr':
      walk(kind.value.target, scope, visit);
      for (const arg of kind.value.args) walk(arg, scope, visit);
      break;
    case 'listExpr':
      for (const el of kind.value.elements) walk(el, scope, visit);
      break;
    case 'structExpr':
      for (const entry of kind.value.entries) {
        if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value, scope, visit);
        walk(entry.value, scope, visit);
      }
      break;
    case 'comprehensionExpr': {
      const c = kind.value;
      walk(c.iterRange, scope, visit);
      walk(c.accuInit, scope, visit);
      const inner = new Set([...scope, c.iterVar, c.iterVar2, c.accuVar].filter((v) => v !== ''));
      walk(c.loopCondition, inner, visit);
      walk(c.loopStep, inner, visit);
      walk(c.result, new Set([...scope, c.accuVar]), visit);
      break;
    }
    default:
      break;
  }
}

/** "line 1, column 5" (1-based) of a character offset in the expression. */
function position(source: string, offset: number): string {
  const before = source.slice(0, offset).split('\n');
  return `line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

// The parser reports "<input>:LINE:COL: message".
function describeParseError(err: unknown): string {
  const message = messageOf(err);
  const m = /^<input>:(\d+):(\d+): ([\s\S]*)$/.exec(message);
  return m ? `at line ${m[1]}, column ${m[2]}: ${m[3]}` : `: ${message}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `int ${value}`;
  if (typeof value === 'number') return `double ${value}`;
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value) || (typeof value === 'object' && Symbol.iterator in value)) return 'a list or map';
  return typeof value;
}
