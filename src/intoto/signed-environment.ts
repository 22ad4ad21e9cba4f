// The environment a signed statement is about, read from the statement itself: a verdict may
// count evidence for environment E only if what was signed says E (a database column saying so
// is not proof). Where each kind of statement says it:
// - a test result: a `configuration` entry `{"name": "environment", "uri": "<issuer>/environments/<E>"}`;
// - a VSA: `predicate.resourceUri`; waybill's deployment and rebuild-exception predicates:
//   `predicate.environmentUri`;
// - any statement: the extension field `waybillEnvironment` (in-toto v1 allows extension fields
//   on any object; ignoring it only ever removes evidence, so it keeps the monotonic principle).
// Only URIs under this waybill's issuer count: another system's environment is not ours.
import { isPlainObject } from './fields.ts';
import { TEST_RESULT_V01 } from './test-result.ts';
import { VSA_V1 } from './vsa.ts';

export const ENVIRONMENT_EXTENSION = 'waybillEnvironment';
const OWN_PREDICATES_WITH_ENVIRONMENT_URI = new Set([
  'https://waybill.dev/deployment/v1',
  'https://waybill.dev/rebuild-exception/v1',
  'https://waybill.dev/runtime-snapshot/v1',
]);

export function environmentUri(issuer: string, name: string): string {
  return `${issuer}/environments/${name}`;
}

/** The environment name a URI of this waybill names, or undefined for any other URI. */
export function environmentOfUri(issuer: string, uri: unknown): string | undefined {
  if (typeof uri !== 'string') return undefined;
  const prefix = `${issuer}/environments/`;
  if (!uri.startsWith(prefix)) return undefined;
  const name = uri.slice(prefix.length);
  return /^[a-z0-9-]{1,63}$/.test(name) ? name : undefined;
}

export type SignedEnvironment = { environment: string | null } | { conflict: string[] };

/** Every environment of this waybill the statement names; more than one is a conflict. */
export function signedEnvironment(statement: unknown, issuer: string): SignedEnvironment {
  if (!isPlainObject(statement)) return { environment: null };
  const uris: unknown[] = [statement[ENVIRONMENT_EXTENSION]];
  const predicate = isPlainObject(statement.predicate) ? statement.predicate : {};
  const type = statement.predicateType;
  if (type === TEST_RESULT_V01 && Array.isArray(predicate.configuration)) {
    for (const c of predicate.configuration) if (isPlainObject(c) && c.name === 'environment') uris.push(c.uri);
  }
  if (type === VSA_V1) uris.push(predicate.resourceUri);
  if (typeof type === 'string' && OWN_PREDICATES_WITH_ENVIRONMENT_URI.has(type)) uris.push(predicate.environmentUri);
  const names = [...new Set(uris.map((u) => environmentOfUri(issuer, u)).filter((n): n is string => n !== undefined))];
  if (names.length > 1) return { conflict: names.sort() };
  return { environment: names[0] ?? null };
}
