// Grants: which verified tokens get which roles, and for which environments. A grant matches
// when its issuer is the token's and every claim it names matches (exact value, or an anchored
// regular expression); a token may match several grants, and then holds all their roles.
import { AppError } from '../errors.ts';
import { TEST_RESULT_V01 } from '../intoto/predicates.ts';
import type { ClaimMatcher, Grant } from './config.ts';
import { claimText } from './fulcio.ts';
import type { CallerScope, RoleScope } from './types.ts';

export interface Granted {
  roles: string[];
  /** Where any of the roles holds; null: some matching grant does not limit environments. */
  environments: string[] | null;
  /** Each matching grant's roles and environments: an environment limit binds its own roles only. */
  scopes: RoleScope[];
  /** The indices (in the configuration) of the grants that matched. */
  grants: number[];
}

function claimMatches(m: ClaimMatcher, value: unknown): boolean {
  const text = claimText(value);
  if (text === undefined) return false;
  return 'exact' in m ? text === m.exact : m.pattern.test(text);
}

/** The union of every grant the claims satisfy; undefined when none does. */
export function matchGrants(
  grants: readonly Grant[],
  issuer: string,
  claims: Readonly<Record<string, unknown>>,
): Granted | undefined {
  const roles = new Set<string>();
  let environments: Set<string> | null = new Set();
  const matched: number[] = [];
  const scopes: RoleScope[] = [];
  grants.forEach((g, i) => {
    if (g.issuer !== issuer) return;
    if (!Object.entries(g.claims).every(([name, m]) => claimMatches(m, claims[name]))) return;
    matched.push(i);
    scopes.push({ roles: g.roles, environments: g.environments ?? null });
    for (const r of g.roles) roles.add(r);
    if (!g.environments) environments = null;
    else if (environments) for (const e of g.environments) environments.add(e);
  });
  if (matched.length === 0) return undefined;
  const envs = environments as Set<string> | null;
  return { roles: [...roles].sort(), environments: envs ? [...envs].sort() : null, scopes, grants: matched };
}

type Scoped = Pick<CallerScope, 'environments' | 'scopes'>;

/**
 * The environments the caller may act for in one of `roles` (null: any). Without `roles`, or
 * without per-grant scopes, the caller's overall `environments`.
 */
export function environmentsFor(caller: Scoped, roles?: readonly string[]): readonly string[] | null {
  if (!roles || !caller.scopes) return caller.environments ?? null;
  const out = new Set<string>();
  for (const s of caller.scopes) {
    if (!s.roles.some((r) => roles.includes(r))) continue;
    if (s.environments === null) return null;
    for (const e of s.environments) out.add(e);
  }
  return [...out].sort();
}

/** Whether the caller may act for `environment`, in one of `roles` when given. */
export function mayActFor(caller: Scoped, environment: string, roles?: readonly string[]): boolean {
  const allowed = environmentsFor(caller, roles);
  return allowed === null || allowed.includes(environment);
}

/**
 * The one check "may this caller act for environment E": test results and other evidence for E,
 * bundles ingested for E, verdicts and deployments for E. `roles` are the roles the action
 * needs: a grant's environment limit binds the roles that grant gives, so a tester grant for
 * any environment does not widen a deployer grant limited to dev. FORBIDDEN, naming what the
 * caller may act for, when not.
 */
export function assertMayActFor(
  caller: Scoped & Pick<CallerScope, 'subject'>,
  environment: string,
  roles?: readonly string[],
): void {
  if (mayActFor(caller, environment, roles)) return;
  const allowed = environmentsFor(caller, roles);
  const what = roles ? ` as ${roles.join(' or ')}` : '';
  throw new AppError(
    'FORBIDDEN',
    `${caller.subject} may not act for environment "${environment}"${what} ` +
      `(its grants allow: ${allowed?.length ? allowed.join(', ') : 'none'})`,
  );
}

/** The roles that may submit a statement as evidence for an environment (POST /v1/attestations). */
export function evidenceRoles(statement: unknown): string[] {
  const type = (statement as { predicateType?: unknown } | null)?.predicateType;
  return type === TEST_RESULT_V01 ? ['tester'] : ['tester', 'builder'];
}
