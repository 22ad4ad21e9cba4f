// Input that storage cannot hold or that recursive code cannot walk is refused at the door, as a
// 400 problem naming where it is: PostgreSQL text and jsonb reject NUL characters and lone UTF-16
// surrogates (the database would answer with an error, which became a 500), and JSON nested
// deeper than any attestation needs would overflow recursive validators and canonicalizers.
import type { MiddlewareHandler } from 'hono';
import { AppError, type FieldError } from '../errors.ts';

/** Deeper than any in-toto statement, Sigstore bundle or SBOM we have seen needs (they stay under 20). */
export const MAX_JSON_DEPTH = 64;

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Why a string cannot be stored, or undefined when it can. */
export function unstorable(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000)';
  if (!s.isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

const pointer = (parent: string, key: string | number) =>
  `${parent}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;

/** The first place in a parsed JSON value that cannot be accepted, as a field error. */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): FieldError | undefined {
  // Iterative, so that the check itself cannot overflow the stack on hostile nesting.
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const why = unstorable(v);
      if (why) return { path: path || '/', message: `the string ${why}` };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { path: path || '/', message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: pointer(path, i), depth: depth + 1 });
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      const why = unstorable(key);
      if (why) return { path: pointer(path, key.replaceAll('\u0000', '\\u0000')), message: `the key ${why}` };
      stack.push({ value: child, path: pointer(path, key), depth: depth + 1 });
    }
  }
  return undefined;
}

function refuse(part: 'path' | 'query' | 'body', path: string, message: string): never {
  const where = part === 'body' ? `the body at ${path}` : part === 'query' ? `the query parameter ${path}` : 'the path';
  throw new AppError('VALIDATION_FAILED', `${where}: ${message}`, { errors: [{ path, message }] });
}

/** Refuse NUL, lone surrogates and hostile nesting in the path, the query and a JSON body. */
export function inputGuard(maxDepth = MAX_JSON_DEPTH): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      refuse('path', '/path', 'it is not valid percent-encoded UTF-8');
    }
    const inPath = unstorable(path);
    if (inPath) refuse('path', '/path', inPath);
    for (const [name, value] of url.searchParams) {
      const why = unstorable(name) ?? unstorable(value);
      if (why) refuse('query', `/query/${name.replaceAll('\u0000', '\\u0000')}`, why);
    }
    const type = c.req.header('content-type');
    if (WITH_BODY.has(c.req.method) && type && JSON_TYPE.test(type)) {
      // Read once here; the route's validator parses the same cached text.
      const text = await c.req.text();
      if (text.length > 0) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new AppError('MALFORMED_JSON', 'the request body is not valid JSON');
        }
        const problem = jsonProblem(parsed, maxDepth);
        if (problem) refuse('body', problem.path, problem.message);
      }
    }
    await next();
  };
}
