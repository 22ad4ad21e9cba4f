// The environments waybill knows are the policy files in WAYBILL_POLICIES_DIR: one
// `<name>.yaml` per environment. (The policy engine validates their content; here only names.)
import { existsSync, readdirSync } from 'node:fs';

export const ENVIRONMENT_NAME = /^[a-z0-9-]{1,63}$/;

export function listEnvironments(policiesDir: string): string[] {
  if (!existsSync(policiesDir)) return [];
  return readdirSync(policiesDir)
    .map((f) => /^([a-z0-9-]{1,63})\.ya?ml$/.exec(f)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}
