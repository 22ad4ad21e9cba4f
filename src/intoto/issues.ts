// Zod issues -> `{ path, message }` with RFC 6901 JSON-pointer paths, the shape the HTTP layer
// puts in problem+json `errors[]`.
import type { z } from 'zod';

export interface FieldError {
  /** RFC 6901 JSON pointer into the document; "" is the document itself. */
  path: string;
  message: string;
}

/** A thrown validation failure that lists every bad field. */
export class InTotoValidationError extends Error {
  readonly errors: FieldError[];
  constructor(message: string, errors: FieldError[]) {
    super(message);
    this.name = 'InTotoValidationError';
    this.errors = errors;
  }
}

/** `value` JSON-quoted for a message, cut to a length that is safe to echo back. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}

/** RFC 6901: "/"-joined reference tokens with `~` -> `~0` and `/` -> `~1`. */
export function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key as PropertyKey)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key as PropertyKey];
  }
  return v;
}

/**
 * Each issue as a FieldError under `prefix`; a missing required field reads "required" rather
 * than zod's "expected X, received undefined".
 */
export function toFieldErrors(
  issues: ReadonlyArray<z.core.$ZodIssue>,
  input: unknown,
  prefix: ReadonlyArray<PropertyKey> = [],
): FieldError[] {
  return issues.map((issue) => {
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    // A bad map key (e.g. a dependencyLevels key that is not a SlsaResult): say why, not just "Invalid key".
    const keyProblem = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    const message = missing ? 'required' : keyProblem ? `invalid key: ${keyProblem}` : issue.message;
    return { path: jsonPointer([...prefix, ...issue.path]), message };
  });
}
