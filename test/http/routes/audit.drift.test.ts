// Reconciliation: rows changed behind waybill's back are noticed by the drift report and by
// the next verdict (both re-verify the signed bundles instead of trusting the rows).
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/storage/database.ts';
import { deployments } from '../../../src/storage/schema.ts';
import { testApp } from '../../helpers/app.ts';
import { backends } from '../../helpers/db.ts';
import type { Json } from '../../helpers/json.ts';
import { sha256 } from '../../helpers/statements.ts';

describe.each(backends)('drift report on $name', (backend) => {
  let database: Database;
  let t: Awaited<ReturnType<typeof testApp>>;
  let builder: string, deployer: string, auditor: string;
  beforeAll(async () => {
    database = await backend.open();
    t = await testApp(database);
    builder = await t.mint(['builder'], 'https://ci.example.com/build');
    deployer = await t.mint(['deployer'], 'https://cd.example.com/deploy');
    auditor = await t.mint(['auditor'], 'https://audit.example.com/');
  });
  afterAll(async () => database.close());

  const post = async (route: string, token: string, body: unknown) => {
    const res = await t.call('POST', route, { token, body });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const drift = async () => (await (await t.call('GET', '/v1/reports/drift', { token: auditor })).json()) as Json;
  const facts = (digest: string) => ({
    subjects: [{ name: 'app', digest: { sha256: digest } }],
    buildType: 'https://example.com/build/v1',
    externalParameters: {},
    builder: { id: 'https://ci.example.com/builder/v1' },
  });

  it('is clean for a digest deployed under an allow verdict', async () => {
    const A = sha256(randomBytes(16));
    await post('/v1/provenance', builder, facts(A));
    const v = await post('/v1/verdicts', deployer, { digest: `sha256:${A}`, environment: 'dev' });
    expect(
      (await post('/v1/deployments', deployer, { digest: `sha256:${A}`, environment: 'dev', verdictId: v.body.id }))
        .status,
    ).toBe(201);
    const report = await drift();
    expect(report.ok).toBe(true);
    expect(report.environments.find((e: Json) => e.name === 'dev').current.digest).toBe(`sha256:${A}`);
    expect((await t.call('GET', '/v1/reports/drift', { token: deployer })).status).toBe(403);
  });

  it('flags an attestation edited in the database, and the next verdict denies', async () => {
    const A = sha256(randomBytes(16));
    const prov = await post('/v1/provenance', builder, facts(A));
    const v = await post('/v1/verdicts', deployer, { digest: `sha256:${A}`, environment: 'dev' });
    await post('/v1/deployments', deployer, { digest: `sha256:${A}`, environment: 'dev', verdictId: v.body.id });
    // someone with database access rewrites the stored provenance's builder
    await database.execute(
      sql`update attestations
          set statement = jsonb_set(statement, '{predicate,runDetails,builder,id}', '"https://evil.example.com/"')
          where id = ${prov.body.id}`,
    );
    const report = await drift();
    expect(report.ok).toBe(false);
    const finding = report.environments
      .find((e: Json) => e.name === 'dev')
      .findings.find((f: Json) => f.kind === 'evidence-unverifiable');
    expect(finding.attestationId).toBe(prov.body.id);
    expect(finding.detail).toMatch(/not the one in the signed envelope/);
    const again = await post('/v1/verdicts', deployer, { digest: `sha256:${A}`, environment: 'dev' });
    expect(again.body.decision).toBe('deny');
    expect(again.body.reasons.join(' ')).toMatch(/could not be verified/);
  });

  it('flags a deployment row inserted without an allow verdict', async () => {
    const B = sha256(randomBytes(16));
    await post('/v1/provenance', builder, facts(B));
    const deny = await post('/v1/verdicts', deployer, { digest: `sha256:${B}`, environment: 'staging' });
    expect(deny.body.decision).toBe('deny');
    await database.db.insert(deployments).values({
      id: 'dp_forged',
      digest: `sha256:${B}`,
      environment: 'staging',
      verdictId: deny.body.id,
      attestationId: deny.body.attestationId,
      deployer: 'https://mallory.example/',
    });
    const report = await drift();
    const staging = report.environments.find((e: Json) => e.name === 'staging');
    expect(staging.ok).toBe(false);
    // The row points at the deny's VSA: no signed deployment, let alone one under an allow.
    expect(staging.findings.find((f: Json) => f.kind === 'deployed-without-allow').detail).toMatch(
      /not a verified deployment/,
    );
    expect(report.integrity.findings).toContainEqual(
      expect.objectContaining({ kind: 'deployment-row', detail: expect.stringMatching(/^deployment dp_forged/) }),
    );
  });
});
