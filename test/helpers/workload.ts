// The configuration a workload-identity test runs with: an OIDC file naming a GitHub-type and a
// GitLab-type local issuer with their grants, and policies whose provenance rule names the
// GitHub workflow identity.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestIssuer } from './oidc-issuer.ts';

export function workloadFixture(github: TestIssuer, gitlab: TestIssuer) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-oidc-'));
  const config = path.join(dir, 'oidc.yaml');
  writeFileSync(
    config,
    `issuers:
  - issuer: ${github.url}
    type: github-actions
    audience: waybill
  - issuer: ${gitlab.url}
    type: gitlab
    audience: waybill
    serverUrl: https://gitlab.com
grants:
  - issuer: ${github.url}
    claims: { repository: acme/app, ref: refs/heads/main }
    roles: [builder, tester]
  - issuer: ${github.url}
    claims: { repository: acme/app, environment: "^(dev|staging)$" }
    roles: [tester, deployer]
    environments: [dev, staging]
  - issuer: ${gitlab.url}
    claims: { project_path: acme/app }
    roles: [builder]
`,
  );
  const policies = path.join(dir, 'policies');
  mkdirSync(policies);
  const provenanceRule = `  - name: built-by-acme-ci
    predicateType: https://slsa.dev/provenance/v1
    signer: { issuer: "${github.url}", subject: "^https://github\\\\.com/acme/app/\\\\.github/workflows/.*$" }
    where: predicate.runDetails.builder.id.startsWith("https://github.com/acme/")
`;
  writeFileSync(path.join(policies, 'dev.yaml'), `environment: dev\nverdictTtl: 15m\nrules:\n${provenanceRule}`);
  writeFileSync(
    path.join(policies, 'staging.yaml'),
    `environment: staging\nafter: dev\nverdictTtl: 15m\nrules:\n${provenanceRule}`,
  );
  writeFileSync(
    path.join(policies, 'production.yaml'),
    `environment: production\nafter: staging\nverdictTtl: 15m\nrules:\n${provenanceRule}`,
  );
  return { WAYBILL_OIDC_CONFIG: config, WAYBILL_POLICIES_DIR: policies };
}
