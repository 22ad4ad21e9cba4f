// What a Worker has in place of files: the policies/ directory, bundled as Text modules (the
// YAML rule in wrangler.toml), and the public-good Sigstore root from @sigstore/tuf's seeds.
// Every file of policies/ must be imported here (test/runtime/worker-material.test.ts).
import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };
import dev from '../../policies/dev.yaml';
import production from '../../policies/production.yaml';
import staging from '../../policies/staging.yaml';
import type { Config, WorkerSources } from '../config.ts';
import { assembleMaterial, type Material } from '../deps.ts';
import { parseOidcConfig } from '../identity/config.ts';
import type { Logger } from '../logger.ts';
import { parsePolicies } from '../policy/load.ts';
import { ROLES } from '../services/tokens.ts';
import { createExternalTrust, PUBLIC_GOOD } from '../signing/external.ts';
import { loadSigningKeys } from '../signing/keys.ts';

export const BUNDLED_POLICIES = [
  { file: 'policies/dev.yaml', content: dev },
  { file: 'policies/staging.yaml', content: staging },
  { file: 'policies/production.yaml', content: production },
];

/** The public-good TrustedRoot (as external.ts publicGoodTrustedRoot reads it on Node, from the bundle). */
function publicGoodRoot(): unknown {
  const b64 = (seeds as Record<string, { targets?: Record<string, string> }>)['https://tuf-repo-cdn.sigstore.dev']
    ?.targets?.['trusted_root.json'];
  if (!b64) throw new Error('@sigstore/tuf seeds hold no public-good trusted_root.json');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

/** The material of a Worker isolate: keys from secrets, bundled policies, trust from vars. */
export async function workerMaterial(config: Config, sources: WorkerSources, logger: Logger): Promise<Material> {
  // The keys are configured (parseWorkerConfig requires them), so nothing is read or generated.
  const keys = await loadSigningKeys(config, logger);
  const policies = parsePolicies(BUNDLED_POLICIES, { issuer: config.issuer });
  const external = createExternalTrust({
    roots: sources.externalRoots.map((r) =>
      r === PUBLIC_GOOD ? { name: PUBLIC_GOOD, trustedRoot: publicGoodRoot() } : r,
    ),
    keys: sources.externalKeys,
    ...(sources.externalIdentities !== undefined
      ? { identities: { name: 'WAYBILL_EXTERNAL_IDENTITIES', rules: sources.externalIdentities } }
      : {}),
  });
  const oidc = sources.oidcConfig
    ? parseOidcConfig(sources.oidcConfig, { source: 'WAYBILL_OIDC_CONFIG', roles: ROLES, environments: policies.order })
    : undefined;
  return assembleMaterial(config, logger, { keys, policies, external, oidc });
}
