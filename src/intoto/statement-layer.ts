// in-toto Statement v1, the payload every waybill bundle carries, and Statement v0.1, which
// waybill reads (ingested bundles) but never writes. See
// ../shared/specs/in-toto-attestation/v1/statement.md; v0.1 is in-toto/attestation spec/v0.1.0.
import { z } from 'zod';
import { DigestSet, digestValueProblem, isMatchableAlgorithm } from './digest.ts';
import { isPlainObject, JsonObject, TypeUri, whenObject } from './fields.ts';
import { type FieldError, InTotoValidationError, toFieldErrors } from './issues.ts';
import { resourceDescriptor } from './resource-descriptor.ts';

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** statement.md: a subject is a ResourceDescriptor that MUST have `digest` set. */
const SubjectV1 = resourceDescriptor('digest');

export const StatementV1 = z.looseObject({
  _type: z.literal(STATEMENT_V1),
  subject: z.array(SubjectV1).min(1, 'a statement needs at least one subject'),
  predicateType: TypeUri,
  // "Unset is treated the same as set-but-empty."
  predicate: JsonObject.nullish(),
});
export type Statement = z.infer<typeof StatementV1>;
export type StatementV1 = Statement;

/** v0.1.0: `subject[*].name` is required, "MUST be non-empty and unique within subject". */
const SubjectV01 = z.looseObject({
  name: z.string().min(1, 'a subject name must not be empty'),
  digest: DigestSet,
});

export const StatementV01 = z
  .looseObject({
    _type: z.literal(STATEMENT_V01),
    subject: z.array(SubjectV01).min(1, 'a statement needs at least one subject'),
    predicateType: TypeUri,
    predicate: JsonObject.nullish(),
  })
  .superRefine((statement, ctx) => {
    const subjects: unknown = statement.subject;
    if (!Array.isArray(subjects)) return;
    const seen = new Set<string>();
    subjects.forEach((s: unknown, i) => {
      if (!isPlainObject(s) || typeof s.name !== 'string') return;
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['subject', i, 'name'], message: 'subject names must be unique' });
      seen.add(s.name);
    });
  }, whenObject);
export type StatementV01 = z.infer<typeof StatementV01>;

export type ParsedStatement = { version: 'v1'; statement: StatementV1 } | { version: 'v0.1'; statement: StatementV01 };

/** Anything with subjects carrying digests: a v1 or v0.1 statement. */
interface HasSubjects {
  subject: ReadonlyArray<{ name?: string | null; digest?: Readonly<Record<string, string | undefined>> | null }>;
}

/** The subject digests of a statement, normalised as `alg:hex` (matchable algorithms only). */
export function subjectDigests(statement: HasSubjects): Array<{ digest: string; name: string | null }> {
  const out = new Map<string, string | null>();
  for (const s of statement.subject) {
    for (const [alg, value] of Object.entries(s.digest ?? {})) {
      if (typeof value !== 'string') continue;
      const hex = value.toLowerCase();
      if (isMatchableAlgorithm(alg) && digestValueProblem(alg, hex) === undefined)
        out.set(`${alg}:${hex}`, s.name ?? null);
    }
  }
  return [...out].map(([digest, name]) => ({ digest, name }));
}

/** JSON text, UTF-8 bytes or an already-parsed value -> the value; undefined with an error if not JSON. */
export function readJson(json: unknown): { value: unknown; errors: FieldError[] } {
  if (typeof json !== 'string' && !(json instanceof Uint8Array)) return { value: json, errors: [] };
  try {
    const text = typeof json === 'string' ? json : new TextDecoder('utf-8', { fatal: true }).decode(json);
    return { value: JSON.parse(text) as unknown, errors: [] };
  } catch {
    return { value: undefined, errors: [{ path: '', message: 'not valid UTF-8 JSON' }] };
  }
}

/**
 * Validate the statement layer (v1 or v0.1, chosen by `_type`), reporting every bad field.
 * An unknown `_type` is reported and the rest is still checked as v1.
 */
export function checkStatement(value: unknown): { parsed?: ParsedStatement; errors: FieldError[] } {
  if (!isPlainObject(value)) return { errors: [{ path: '', message: 'a statement must be a JSON object' }] };
  if (value._type === STATEMENT_V01) {
    const r = StatementV01.safeParse(value);
    return r.success
      ? { parsed: { version: 'v0.1', statement: r.data }, errors: [] }
      : { errors: toFieldErrors(r.error.issues, value) };
  }
  const r = StatementV1.safeParse(value);
  if (r.success) return { parsed: { version: 'v1', statement: r.data }, errors: [] };
  const errors = toFieldErrors(r.error.issues, value);
  if (value._type === STATEMENT_V1 || value._type === undefined) return { errors };
  return {
    errors: [
      { path: '/_type', message: `must be ${STATEMENT_V1} (or ${STATEMENT_V01}, read only)` },
      ...errors.filter((e) => e.path !== '/_type'),
    ],
  };
}

/**
 * Parse a Statement v1 or v0.1 (the statement layer only; see validateStatement for the
 * predicate too). Throws InTotoValidationError listing every bad field.
 */
export function parseStatement(json: unknown): ParsedStatement {
  const read = readJson(json);
  const { parsed, errors } = read.errors.length
    ? { parsed: undefined, errors: read.errors }
    : checkStatement(read.value);
  if (!parsed) throw new InTotoValidationError('invalid in-toto Statement', errors);
  return parsed;
}
