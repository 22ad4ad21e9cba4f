// Grants: which verified tokens get which roles, and for which environments. A grant matches
// when its issuer is the token's and every claim it names matches (exact value, or an anchored
// regular expression); a token may match several grants, and then holds all their roles.
import { AppError } from '../errors.ts';
import type { ClaimMatcher, Grant } from './config.ts';
import { claimText } from './fulcio.ts';
import type { CallerScope } from './types.ts';

export interface Granted {
  roles: string[];
  /** null: some matching grant does not limit environments. */
  environments: string[] | null;
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
  grants.forEach((g, i) => {
    if (g.issuer !== issuer) return;
    if (!Object.entries(g.claims).every(([name, m]) => claimMatches(m, claims[name]))) return;
    matched.push(i);
    for (const r of g.roles) roles.add(r);
    // One unrestricted grant makes the caller unrestricted: grants only ever add.
    if (!g.environments) environments = null;
    else if (environments) for (const e of g.environments) environments.add(e);
  });
  if (matched.length === 0) return undefined;
  const envs = environments as Set<string> | null;
  return { roles: [...roles].sort(), environments: envs ? [...envs].sort() : null, grants: matched };
}

/** Whether the caller may act for `environment` (null environments: any). */
export function mayActFor(caller: Pick<CallerScope, 'environments'>, environment: string): boolean {
  return caller.environments === null || caller.environments === undefined || caller.environments.includes(environment);
}

/**
 * The one check "may this caller act for environment E": test results and other evidence for E,
 * bundles ingested for E, verdicts and deployments for E. FORBIDDEN, naming what the caller
 * may act for, when not.
 */
export function assertMayActFor(caller: Pick<CallerScope, 'environments' | 'subject'>, environment: string): void {
  if (mayActFor(caller, environment)) return;
  const allowed = caller.environments?.length ? caller.environments.join(', ') : 'none';
  throw new AppError(
    'FORBIDDEN',
    `${caller.subject} may not act for environment "${environment}" (its grants allow: ${allowed})`,
  );
}
