// validateStatement: one pass over a statement and its predicate that reports every bad
// field with a JSON-pointer path.
import { isPlainObject } from './fields.ts';
import { type FieldError, quote, toFieldErrors } from './issues.ts';
import { PREDICATE_SCHEMAS } from './predicates.ts';
import { checkStatement, type ParsedStatement, readJson } from './statement-layer.ts';

export type ValidationResult = ({ ok: true } & ParsedStatement) | { ok: false; errors: FieldError[] };

export interface ValidateOptions {
  /** Predicate types accepted; any other is an error at /predicateType. Unset: any type. */
  allowedPredicates?: readonly string[];
}

/**
 * Validate a statement (JSON text, UTF-8 bytes or a parsed value) and, when its predicate type
 * has a schema, its predicate; a predicate of an unknown but allowed type is kept as an opaque
 * object. Never throws; on failure lists every bad field.
 */
export function validateStatement(json: unknown, opts: ValidateOptions = {}): ValidationResult {
  const read = readJson(json);
  if (read.errors.length) return { ok: false, errors: read.errors };
  const input = read.value;
  const { parsed, errors } = checkStatement(input);
  if (!isPlainObject(input)) return { ok: false, errors };

  const predicateType = input.predicateType;
  if (typeof predicateType === 'string') {
    if (opts.allowedPredicates && !opts.allowedPredicates.includes(predicateType)) {
      errors.push({ path: '/predicateType', message: `predicate type ${quote(predicateType)} is not allowed here` });
    }
    const schema = Object.hasOwn(PREDICATE_SCHEMAS, predicateType) ? PREDICATE_SCHEMAS[predicateType] : undefined;
    // An unset predicate is "the same as set-but-empty"; a non-object one is already reported.
    const predicate = input.predicate ?? {};
    if (schema && isPlainObject(predicate)) {
      const r = schema.safeParse(predicate);
      if (!r.success) errors.push(...toFieldErrors(r.error.issues, predicate, ['predicate']));
    }
  }

  if (!parsed || errors.length > 0) return { ok: false, errors: dedupe(errors) };
  return { ok: true, ...parsed };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
