import { readFileSync } from 'node:fs';
import { type ValidateOptions, validateStatement } from '../../src/intoto/statement.ts';
import type { Json } from '../helpers/json.ts';

/** A fixture from test/intoto/fixtures, parsed fresh each time (tests may mutate it). */
export function fixture<T = Record<string, Json>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** The sorted error paths validateStatement reports ([] when valid). */
export function errorPaths(json: unknown, opts?: ValidateOptions): string[] {
  const r = validateStatement(json, opts);
  return r.ok ? [] : r.errors.map((e) => e.path).sort();
}

/** The error messages validateStatement reports at `path`. */
export function messagesAt(json: unknown, path: string, opts?: ValidateOptions): string[] {
  const r = validateStatement(json, opts);
  return r.ok ? [] : r.errors.filter((e) => e.path === path).map((e) => e.message);
}

export const hex = (n: number, c = 'a') => c.repeat(n);
export const SHA256 = hex(64, 'b');

/** A minimal valid v1 statement with the given predicate type and predicate. */
export function statement(predicateType: string, predicate?: unknown): Record<string, Json> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: SHA256 } }],
    predicateType,
    ...(predicate === undefined ? {} : { predicate }),
  };
}
