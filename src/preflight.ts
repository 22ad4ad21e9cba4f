// What start-up reads besides the keys, checked before anything is created: the policies, the
// external trust roots, the OIDC, admission and webhooks configuration. It needs no database and no keys
// and loads only the parsers, so a typo stops `npm start` in a fraction of a second, with
// file:line:column for a policy, before a data directory, keys or a database exist.
import type { Config } from './config.ts';
import { loadOidcConfig, type OidcConfig } from './identity/config.ts';
import { loadPolicies } from './policy/load.ts';
import type { PolicySet } from './policy/types.ts';
import { type AdmissionConfig, loadAdmissionConfig } from './services/admission-config.ts';
import { ROLES } from './services/tokens.ts';
import { loadWebhooksConfig, type WebhooksConfig } from './services/webhooks-config.ts';
import { type ExternalTrust, loadExternalTrust } from './signing/external.ts';

export interface Preflight {
  policies: PolicySet;
  external: ExternalTrust;
  oidc: OidcConfig | undefined;
  /** WAYBILL_ADMISSION_CONFIG's namespaces and enforcement; undefined: admission denies every review. */
  admission: AdmissionConfig | undefined;
  /** WAYBILL_WEBHOOKS's receivers; undefined: no webhooks. */
  webhooks: WebhooksConfig | undefined;
}

/** Throws PolicyLoadError (every problem, file:line:column) or the configuration file's error. */
export function preflight(config: Config): Preflight {
  const policies = loadPolicies(config.policiesDir, { issuer: config.issuer });
  return {
    policies,
    external: loadExternalTrust(config.external),
    oidc: config.oidcConfigFile
      ? loadOidcConfig(config.oidcConfigFile, { roles: ROLES, environments: policies.order })
      : undefined,
    admission: config.admissionConfigFile
      ? loadAdmissionConfig(config.admissionConfigFile, { environments: policies.order })
      : undefined,
    webhooks: config.webhooksFile
      ? loadWebhooksConfig(config.webhooksFile, { secrets: config.webhookSecrets })
      : undefined,
  };
}
