// The attestation repository as the services read it: evidence about one digest, narrowed by
// predicate type and environment in the query, and pages in log order, newest first.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVENANCE_V1 } from '../../src/intoto/provenance.ts';
import { TEST_RESULT_V01 } from '../../src/intoto/test-result.ts';
import { statementV1 } from '../../src/services/attest.ts';
import { AttestationRepo } from '../../src/storage/attestation-repo.ts';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { provenanceStatement, sha256 } from '../helpers/statements.ts';

const CI = 'https://ci.example.com/pipelines/api';

function testResult(digest: string, environment: string) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
    predicateType: TEST_RESULT_V01,
    predicate: {
      result: 'PASSED',
      configuration: [{ name: 'environment', uri: `https://waybill.test/environments/${environment}` }],
    },
  };
}

describe.each(backends)('attestation repository on $name', (backend) => {
  let database: Database;
  let repo: AttestationRepo;
  const digest = sha256(randomBytes(16));
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    database = await backend.open();
    const t = await testApp(database);
    repo = new AttestationRepo(database);
    const sign = async (name: string, statement: unknown, environment?: string) =>
      (ids[name] = (
        await t.deps.attest.sign(statementV1(statement), CI, { environment: environment ?? null })
      ).record.id);
    await sign('provenance', provenanceStatement({ digest }));
    await sign('dev', testResult(digest, 'dev'), 'dev');
    await sign('staging', testResult(digest, 'staging'), 'staging');
    await sign('other', provenanceStatement());
  });
  afterAll(async () => database.close());

  it('reads every attestation of the kinds asked about a digest, newest first, and nothing about another', async () => {
    const all = await repo.about(`sha256:${digest}`, { predicateTypes: [TEST_RESULT_V01, PROVENANCE_V1] });
    expect(all.map((a) => a.id)).toEqual([ids.staging, ids.dev, ids.provenance]);
    expect(all[0]!.subjects).toEqual([{ digest: `sha256:${digest}`, name: 'ghcr.io/example/app' }]);
  });

  it('narrows the evidence by predicate types and environment', async () => {
    const about = (filter: Parameters<AttestationRepo['about']>[1]) =>
      repo.about(`sha256:${digest}`, filter).then((rs) => rs.map((r) => r.id));
    expect(await about({ predicateTypes: [TEST_RESULT_V01] })).toEqual([ids.staging, ids.dev]);
    expect(await about({ predicateTypes: [TEST_RESULT_V01], environment: 'dev' })).toEqual([ids.dev]);
    expect(await about({ predicateTypes: ['https://slsa.dev/provenance/v1'] })).toEqual([ids.provenance]);
    expect(await about({ predicateTypes: [] })).toEqual([]);
  });

  it('pages in log order with a cursor', async () => {
    const first = await repo.page({ digest: `sha256:${digest}` }, { limit: 2 });
    expect(first.items.map((a) => a.id)).toEqual([ids.staging, ids.dev]);
    expect(first.next).toBe(first.items[1]!.logIndex);
    const second = await repo.page({ digest: `sha256:${digest}` }, { before: first.next!, limit: 2 });
    expect(second.items.map((a) => a.id)).toEqual([ids.provenance]);
    expect(second.next).toBeNull();
  });
});
