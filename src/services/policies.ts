// The environments are the configured policies: one lookup, and one answer for a name that is
// not one of them.
import { AppError } from '../errors.ts';
import type { Policy, PolicySet } from '../policy/types.ts';

/** The policy of `environment`; a VALIDATION_FAILED naming the known environments otherwise. */
export function policyFor(policies: PolicySet, environment: string, path = '/environment'): Policy {
  const policy = policies.policies.get(environment);
  if (policy) return policy;
  const known = policies.order.join(', ') || 'none configured';
  throw new AppError('VALIDATION_FAILED', `unknown environment "${environment}"`, {
    errors: [{ path, message: `must be one of: ${known}` }],
  });
}
