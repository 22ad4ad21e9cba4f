// The Statement entry point the services import: Statement v1 (what waybill signs), v0.1
// (read only), their field types, and whole-statement validation. The definitions live in
// statement-layer.ts, digest.ts, resource-descriptor.ts and validate.ts.

export { DigestSet, isMatchableAlgorithm, normalizeDigest } from './digest.ts';
export { type FieldError, InTotoValidationError } from './issues.ts';
export { PREDICATE_SCHEMAS } from './predicates.ts';
export { ResourceDescriptor } from './resource-descriptor.ts';
export {
  INTOTO_PAYLOAD_TYPE,
  type ParsedStatement,
  parseStatement,
  STATEMENT_V1,
  STATEMENT_V01,
  type Statement,
  StatementV1,
  StatementV01,
  subjectDigests,
} from './statement-layer.ts';
export { type ValidateOptions, type ValidationResult, validateStatement } from './validate.ts';
