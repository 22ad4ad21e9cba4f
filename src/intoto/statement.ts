// The Statement entry point the services import: Statement v1 (what waybill signs), v0.1
// (read only), their field types, and whole-statement validation. The definitions live in
// statement-layer.ts, digest.ts, resource-descriptor.ts and validate.ts.
export {
  STATEMENT_V1,
  STATEMENT_V01,
  INTOTO_PAYLOAD_TYPE,
  StatementV1,
  StatementV01,
  subjectDigests,
  parseStatement,
  type Statement,
  type ParsedStatement,
} from './statement-layer.ts';
export { DigestSet, isMatchableAlgorithm, normalizeDigest } from './digest.ts';
export { ResourceDescriptor } from './resource-descriptor.ts';
export { InTotoValidationError, type FieldError } from './issues.ts';
export { PREDICATE_SCHEMAS } from './predicates.ts';
export { validateStatement, type ValidateOptions, type ValidationResult } from './validate.ts';
