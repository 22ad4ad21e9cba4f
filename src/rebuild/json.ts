// Small JSON helpers for the rebuild analysis: type guards for untrusted statement JSON,
// RFC 6901 JSON pointers, deep equality and flattening an object into its leaves.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return isObject(value) ? value : undefined;
}

export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** One reference token of a JSON pointer (RFC 6901 section 3: `~` -> `~0`, `/` -> `~1`). */
export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

/** `base` followed by the escaped `tokens`, e.g. pointer('/predicate', 'materials', 3). */
export function pointer(base: string, ...tokens: Array<string | number>): string {
  return base + tokens.map((t) => `/${escapeToken(t)}`).join('');
}

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A JSON value as it may be put in a report: undefined becomes null. */
export function json(value: unknown): JsonValue {
  return value === undefined ? null : (value as JsonValue);
}

/**
 * The leaves of `value` keyed by their pointer relative to it (`''` for a scalar root). Objects
 * and arrays are descended into; nested empty ones are leaves themselves, an empty root has no
 * leaves (set-but-empty is the same as unset). `undefined` and `null` members are skipped: the
 * in-toto parsing rules treat null as unset.
 */
export function leaves(value: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (v: unknown, at: string): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) {
      if (v.length === 0 && at !== prefix) out.set(at, v);
      for (const [i, item] of v.entries()) walk(item, pointer(at, i));
      return;
    }
    if (isObject(v)) {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined && v[k] !== null);
      if (keys.length === 0 && at !== prefix) out.set(at, {});
      for (const k of keys) walk(v[k], pointer(at, k));
      return;
    }
    out.set(at, v);
  };
  walk(value, prefix);
  return out;
}
