// waybill as a Cloudflare Worker, inside workerd: the app of wrangler.toml on real PostgreSQL
// (through its Hyperdrive binding), configured from Worker vars and secrets, with the log's
// appends going to its Durable Object. What it signs is checked in Node by stock @sigstore/verify.
import { createPublicKey } from 'node:crypto';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { verifyCheckpoint } from '../../src/tlog/checkpoint.ts';
import externalBundle from '../fixtures/external/dsse-v0.3-certificate.json' with { type: 'json' };
import { buildFacts, ISSUER, mint, worker } from '../helpers/workerd.ts';

interface Signed {
  id: string;
  bundle: unknown;
  logIndex: number;
  signer: { subject: string; issuer: string };
  origin: string;
}

/** Stock @sigstore/verify in Node (test/helpers/workerd-setup.ts): true, or the reason it refused. */
async function verifiedInNode(bundle: unknown, signer: Signed['signer']): Promise<true | string> {
  const trustedRoot = await (await worker('GET', '/v1/trust/root')).json();
  const res = await fetch(inject('verifierUrl'), {
    method: 'POST',
    body: JSON.stringify({ bundle, trustedRoot, subject: signer.subject, issuer: signer.issuer }),
  });
  const answer = (await res.json()) as { verified: boolean; error?: string };
  return answer.verified || (answer.error ?? 'refused');
}

describe('waybill on Workers', () => {
  afterEach(() => vi.restoreAllMocks());

  it('signs provenance; the bundle verifies in Node with stock @sigstore/verify, not once a byte changed', async () => {
    const builder = await mint(['builder'], 'https://ci.example.com/pipelines/api');
    const res = await worker('POST', '/v1/provenance', { token: builder, body: buildFacts() });
    expect(res.status).toBe(201);
    const signed = (await res.json()) as Signed;
    expect(signed.signer).toEqual({ subject: 'https://ci.example.com/pipelines/api', issuer: ISSUER });
    expect(await verifiedInNode(signed.bundle, signed.signer)).toBe(true);

    const tampered = structuredClone(signed.bundle) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(tampered.dsseEnvelope.payload, 'base64');
    const at = payload.length - 2;
    payload.writeUInt8(payload.readUInt8(at) ^ 1, at);
    tampered.dsseEnvelope.payload = payload.toString('base64');
    expect(await verifiedInNode(tampered, signed.signer)).not.toBe(true);

    // The stored record is the one answered, and the log entry names it.
    const entry = (await (await worker('GET', `/v1/log/entries/${signed.logIndex}`)).json()) as {
      attestationId: string;
    };
    expect(entry.attestationId).toBe(signed.id);
  });

  it('decides a verdict: allow with signed provenance (verified inside workerd), deny without', async () => {
    const builder = await mint(['builder']);
    const deployer = await mint(['deployer']);
    const facts = buildFacts();
    const digest = `sha256:${facts.subjects[0]!.digest.sha256}`;
    expect((await worker('POST', '/v1/provenance', { token: builder, body: facts })).status).toBe(201);

    const allow = await worker('POST', '/v1/verdicts', { token: deployer, body: { digest, environment: 'dev' } });
    expect(allow.status).toBe(200);
    const verdict = (await allow.json()) as { decision: string; attestationId: string };
    expect(verdict.decision).toBe('allow');
    // The VSA is a signed bundle like any other.
    const vsa = (await (
      await worker('GET', `/v1/attestations/${verdict.attestationId}`, { token: deployer })
    ).json()) as Signed;
    expect(await verifiedInNode(vsa.bundle, vsa.signer)).toBe(true);

    const unknown = `sha256:${buildFacts().subjects[0]!.digest.sha256}`;
    const deny = await worker('POST', '/v1/verdicts', {
      token: deployer,
      body: { digest: unknown, environment: 'dev' },
    });
    expect(((await deny.json()) as { decision: string }).decision).toBe('deny');
  });

  it('serves the trust root, and a checkpoint signed by the log key the root lists', async () => {
    const root = (await (await worker('GET', '/v1/trust/root')).json()) as {
      certificateAuthorities: Array<{ uri: string; certChain: { certificates: unknown[] } }>;
      tlogs: Array<{ baseUrl: string; publicKey: { rawBytes: string } }>;
    };
    expect(root.certificateAuthorities[0]!.uri).toBe(ISSUER);
    expect(root.certificateAuthorities[0]!.certChain.certificates).toHaveLength(2);
    const logKey = createPublicKey({
      key: Buffer.from(root.tlogs[0]!.publicKey.rawBytes, 'base64'),
      format: 'der',
      type: 'spki',
    });
    const note = await (await worker('GET', '/v1/log/checkpoint')).text();
    const checkpoint = verifyCheckpoint(note, { name: new URL(ISSUER).host, publicKey: logKey });
    expect(checkpoint.size).toBeGreaterThan(0);
  });

  it('ingests a bundle signed elsewhere, under the external trust root given as a var', async () => {
    const tester = await mint(['tester', 'builder'], 'https://ci.example.com/ingest');
    const res = await worker('POST', '/v1/bundles', { token: tester, body: { bundle: externalBundle } });
    expect(res.status).toBe(201);
    const record = (await res.json()) as Signed;
    expect(record.origin).toBe('ingested');
    expect(record.signer.issuer).toBe('https://token.actions.example.com');
    const again = await worker('POST', '/v1/bundles', { token: tester, body: { bundle: externalBundle } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Signed).id).toBe(record.id);
  });

  it('stops honouring a revoked token on the next request', async () => {
    const builder = await mint(['builder'], 'https://ci.example.com/revoked');
    const list = (await (await worker('GET', '/v1/tokens', { token: inject('adminToken') })).json()) as {
      items: Array<{ id: string; subject: string }>;
    };
    const id = list.items.find((t) => t.subject === 'https://ci.example.com/revoked')!.id;
    expect((await worker('DELETE', `/v1/tokens/${id}`, { token: inject('adminToken') })).status).toBe(204);
    expect((await worker('POST', '/v1/provenance', { token: builder, body: buildFacts() })).status).toBe(401);
  });

  it('logs one JSON line per event, with secrets redacted (pino runs its browser build here)', () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    createLogger('info').info({ token: 'wb_secret', headers: { authorization: 'Bearer wb_secret' } }, 'hello');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'hello', level: 30, service: 'waybill', token: '[redacted]' });
    expect(lines[0]).not.toContain('wb_secret');
  });
});
