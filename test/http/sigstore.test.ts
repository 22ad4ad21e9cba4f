// Stock Sigstore clients sign against waybill: the `sigstore` npm package, pointed at a waybill
// under test (served over HTTP on loopback) as its Fulcio and its Rekor, with a CI job's ID
// token. What it logs is stored as that job's attestation and counts in policies.
import 'reflect-metadata';
import { sign as cryptoSign, generateKeyPairSync, type KeyObject, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import * as x509 from '@peculiar/x509';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import fc from 'fast-check';
import * as sigstore from 'sigstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceVerifier } from '../../src/services/evidence.ts';
import { createExternalTrust } from '../../src/signing/external.ts';
import { verifyBundle } from '../../src/signing/verify.ts';
import { AttestationRepo } from '../../src/storage/attestation-repo.ts';
import type { Database } from '../../src/storage/database.ts';
import { sha256hex } from '../../src/util/encoding.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import { CLAIMED_SHA, githubClaims, gitlabClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';
import { workloadFixture } from '../helpers/workload.ts';

const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';

function provenance(digest: string, repository = 'https://github.com/acme/app') {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'ghcr.io/acme/app', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: { workflow: { ref: 'refs/heads/main', repository, path: '.github/workflows/release.yml' } },
        resolvedDependencies: [{ uri: `git+${repository}@refs/heads/main`, digest: { gitCommit: CLAIMED_SHA } }],
      },
      runDetails: { builder: { id: WORKFLOW } },
    },
  };
}

const payloadOf = (statement: unknown) => Buffer.from(JSON.stringify(statement));

describe.each(backends)('the Sigstore-compatible API on $name', (backend) => {
  let database: Database;
  let github: TestIssuer;
  let gitlab: TestIssuer;
  let t: Awaited<ReturnType<typeof testApp>>;
  let server: ServerType;
  let url: string;
  let auditor: string;
  beforeAll(async () => {
    database = await backend.open();
    github = await startIssuer();
    gitlab = await startIssuer();
    t = await testApp(database, workloadFixture(github, gitlab));
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    auditor = await t.mint(['auditor']);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await database.close();
    await github.close();
    await gitlab.close();
  });

  const signOptions = async (claims = githubClaims()) => ({
    fulcioURL: url,
    rekorURL: url,
    identityToken: await github.mint(claims),
    retry: 0,
  });
  const verifier = () =>
    new Verifier(toTrustMaterial(TrustedRoot.fromJSON(t.deps.trustedRoot)), { ctlogThreshold: 0, tlogThreshold: 1 });
  const listed = async (digest: string) =>
    (
      (await (await t.call('GET', `/v1/attestations?digest=sha256:${digest}`, { token: auditor })).json()) as {
        items: Array<{
          id: string;
          predicateType: string;
          origin: string;
          logIndex: number;
          environment: string | null;
          signer: { subject: string; issuer: string };
          bundle: SerializedBundle;
        }>;
      }
    ).items;
  const treeSize = async () => (await t.deps.log.checkpoint()).treeSize;

  it('sigstore.attest with a GitHub ID token: a bundle verifying under waybill’s root, listed by digest', async () => {
    const digest = '1'.repeat(64);
    const bundle = await sigstore.attest(
      payloadOf(provenance(digest)),
      'application/vnd.in-toto+json',
      await signOptions(),
    );
    const signer = verifier().verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: WORKFLOW,
      extensions: { issuer: github.url },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(WORKFLOW);
    // ...and waybill's own verifier, which adds what cosign and sigstore-go check.
    await verifyBundle(bundle, { trustedRoot: t.deps.trustedRoot, identity: { subjectAlternativeName: WORKFLOW } });

    const [record] = await listed(digest);
    expect(record).toMatchObject({
      predicateType: 'https://slsa.dev/provenance/v1',
      origin: 'signed',
      signer: { subject: WORKFLOW, issuer: github.url },
      // protobuf JSON leaves a zero index out
      logIndex: Number(bundle.verificationMaterial.tlogEntries[0]!.logIndex ?? 0),
    });
    expect(record!.bundle.dsseEnvelope).toEqual(bundle.dsseEnvelope);
    await verifyBundle(record!.bundle, {
      trustedRoot: t.deps.trustedRoot,
      identity: { subjectAlternativeName: WORKFLOW, issuer: github.url },
    });

    // It counts in policies: dev's rule names this workflow and issuer.
    const verdict = await t.call('POST', '/v1/verdicts', {
      token: await t.mint(['deployer']),
      body: { digest: `sha256:${digest}`, environment: 'dev' },
    });
    const v = (await verdict.json()) as { decision: string; rules: Array<{ evidence: string[] }> };
    expect(v.decision).toBe('allow');
    expect(v.rules[0]!.evidence).toEqual([record!.id]);
  });

  it('sigstore.sign (hashedrekord) and the legacy intoto 0.0.2 entry are logged, stored and verify too', async () => {
    const artifact = Buffer.from('the release tarball');
    const signed = await sigstore.sign(artifact, await signOptions());
    verifier().verify(toSignedEntity(bundleFromJSON(signed), artifact), { subjectAlternativeName: WORKFLOW });
    const [message] = await listed(sha256hex(artifact));
    expect(message).toMatchObject({ predicateType: 'https://waybill.dev/signature/v1', origin: 'signed' });
    // A policy can use it: the stored message signature verifies from its digest alone.
    const evidence = new EvidenceVerifier({
      trustedRoot: t.deps.trustedRoot,
      external: createExternalTrust({ roots: [] }),
      issuer: t.config.issuer,
      logKeys: t.deps.log.indexKeys.values(),
    });
    const stored = async (id: string) => (await new AttestationRepo(t.deps.database).stored([id]))[0]!;
    expect(await evidence.check(await stored(message!.id))).toEqual({ verified: true });

    const digest = '2'.repeat(64);
    const legacy = await sigstore.attest(payloadOf(provenance(digest)), 'application/vnd.in-toto+json', {
      ...(await signOptions()),
      legacyCompatibility: true,
    });
    expect(legacy.verificationMaterial.tlogEntries[0]!.kindVersion).toEqual({ kind: 'intoto', version: '0.0.2' });
    verifier().verify(toSignedEntity(bundleFromJSON(legacy)), { subjectAlternativeName: WORKFLOW });
    const [intoto] = await listed(digest);
    const entry = await fetch(`${url}/api/v1/log/entries?logIndex=${intoto!.logIndex}`);
    const logged = Object.values((await entry.json()) as Record<string, { body: string }>)[0];
    const body = JSON.parse(Buffer.from(logged!.body, 'base64').toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ apiVersion: '0.0.2', kind: 'intoto' });
    // The payload is left out of the entry.
    expect(JSON.stringify(body)).not.toContain(Buffer.from(payloadOf(provenance(digest))).toString('base64'));
    expect(await evidence.check(await stored(intoto!.id))).toEqual({ verified: true });
  });

  it('provenance contradicting the ID token is refused before it is logged; the client says why', async () => {
    const before = await treeSize();
    const err = (await sigstore
      .attest(
        payloadOf(provenance('3'.repeat(64), 'https://github.com/evil/app')),
        'application/vnd.in-toto+json',
        await signOptions(),
      )
      .catch((e: unknown) => e)) as { code: string; cause: { statusCode: number; message: string } };
    expect(err.code).toBe('TLOG_CREATE_ENTRY_ERROR');
    expect(err.cause.statusCode).toBe(422);
    expect(err.cause.message).toMatch(
      /the provenance contradicts the caller's verified ID token: \/payload\/predicate/,
    );
    expect(await treeSize()).toBe(before);
  });

  it('a token no grant covers gets no certificate (403 in Fulcio’s error shape)', async () => {
    const err = (await sigstore
      .attest(
        payloadOf(provenance('4'.repeat(64))),
        'application/vnd.in-toto+json',
        await signOptions(githubClaims({ ref: 'refs/heads/wip' })),
      )
      .catch((e: unknown) => e)) as { code: string; cause: { statusCode: number; message: string } };
    expect(err.code).toBe('CA_CREATE_SIGNING_CERTIFICATE_ERROR');
    expect(err.cause.statusCode).toBe(403);
    expect(err.cause.message).toMatch(/^\(403\) no grant covers https:\/\/github\.com\/acme\/app/);
  });

  describe('by hand, as cosign and other clients call it', () => {
    const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicPem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const certificate = async (pair: { publicKey: KeyObject; privateKey: KeyObject }, token: string) => {
      const sub = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string;
      const res = await post('/api/v2/signingCert', {
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: {
          publicKey: { algorithm: 'ECDSA', content: publicPem(pair.publicKey) },
          proofOfPossession: cryptoSign('sha256', Buffer.from(sub), pair.privateKey).toString('base64'),
        },
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { signedCertificateEmbeddedSct: { chain: { certificates: string[] } } })
        .signedCertificateEmbeddedSct.chain.certificates;
    };
    const dsseEntry = (statement: unknown, privateKey: KeyObject, certPem: string) => {
      const payload = payloadOf(statement);
      const sig = cryptoSign('sha256', dsse.preAuthEncoding('application/vnd.in-toto+json', payload), privateKey);
      return {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          proposedContent: {
            envelope: JSON.stringify({
              payload: payload.toString('base64'),
              payloadType: 'application/vnd.in-toto+json',
              signatures: [{ sig: sig.toString('base64') }],
            }),
            verifiers: [Buffer.from(certPem).toString('base64')],
          },
        },
      };
    };

    it('Fulcio v2 issues the leaf then waybill’s chain; the legacy v1 API answers a PEM chain', async () => {
      const pair = key();
      const token = await github.mint(githubClaims());
      const chain = await certificate(pair, token);
      expect(chain.slice(1)).toEqual(
        ((await (await fetch(`${url}/api/v2/trustBundle`)).json()) as { chains: Array<{ certificates: string[] }> })
          .chains[0]!.certificates,
      );
      const leaf = new x509.X509Certificate(chain[0]!);
      expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON()).toEqual([
        { type: 'url', value: WORKFLOW },
      ]);
      expect(
        await leaf.verify({ publicKey: new x509.X509Certificate(chain[1]!).publicKey, signatureOnly: true }, webcrypto),
      ).toBe(true);

      const legacy = await post(
        '/api/v1/signingCert',
        {
          publicKey: {
            algorithm: 'ecdsa',
            content: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
          },
          signedEmailAddress: cryptoSign(
            'sha256',
            Buffer.from('repo:acme/app:ref:refs/heads/main'),
            pair.privateKey,
          ).toString('base64'),
        },
        { authorization: `Bearer ${token}` },
      );
      expect(legacy.status).toBe(201);
      expect(legacy.headers.get('content-type')).toBe('application/pem-certificate-chain');
      expect((await legacy.text()).match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
      const config = (await (await fetch(`${url}/api/v2/configuration`)).json()) as { issuers: unknown[] };
      expect(config.issuers).toContainEqual({ issuerUrl: github.url, audience: 'waybill', challengeClaim: 'sub' });
    });

    it('Fulcio v2 takes a CSR instead of a key and proof', async () => {
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const csr = await x509.Pkcs10CertificateRequestGenerator.create(
        { keys: keys as webcrypto.CryptoKeyPair, signingAlgorithm: alg },
        webcrypto,
      );
      const res = await post('/api/v2/signingCert', {
        credentials: { oidcIdentityToken: await gitlab.mint(gitlabClaims()) },
        certificateSigningRequest: Buffer.from(csr.toString('pem')).toString('base64'),
      });
      expect(res.status).toBe(201);
    });

    it('refuses a wrong proof of possession (400) and a waybill token (401), in Fulcio’s error shape', async () => {
      const pair = key();
      const bad = await post('/api/v2/signingCert', {
        credentials: { oidcIdentityToken: await github.mint(githubClaims()) },
        publicKeyRequest: {
          publicKey: { content: publicPem(pair.publicKey) },
          proofOfPossession: cryptoSign('sha256', Buffer.from('someone else'), pair.privateKey).toString('base64'),
        },
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({
        code: 3,
        message: expect.stringMatching(/proof of possession/),
        details: [],
      });
      const bearer = await post('/api/v2/signingCert', {
        credentials: { oidcIdentityToken: await t.mint(['builder']) },
        publicKeyRequest: { publicKey: { content: publicPem(pair.publicKey) }, proofOfPossession: 'AAAA' },
      });
      expect(bearer.status).toBe(401);
      expect(((await bearer.json()) as { code: number }).code).toBe(16);
    });

    it('Rekor: an entry, its repeat (409 with Location), reads by index and UUID, and the log info', async () => {
      const pair = key();
      const [cert] = await certificate(pair, await github.mint(githubClaims()));
      const entry = dsseEntry(provenance('5'.repeat(64)), pair.privateKey, cert!);
      const created = await post('/api/v1/log/entries', entry);
      expect(created.status).toBe(201);
      const location = created.headers.get('location')!;
      const [uuid, value] = Object.entries((await created.json()) as Record<string, { logIndex: number }>)[0]!;
      expect(location).toBe(`/api/v1/log/entries/${uuid}`);
      expect(uuid).toMatch(/^[0-9a-f]{80}$/);

      const again = await post('/api/v1/log/entries', entry);
      expect(again.status).toBe(409);
      expect(again.headers.get('location')).toBe(location);
      expect(((await again.json()) as { code: number }).code).toBe(409);

      const byUuid = (await (await fetch(`${url}${location}`)).json()) as Record<string, unknown>;
      const byIndex = (await (await fetch(`${url}/api/v1/log/entries?logIndex=${value!.logIndex}`)).json()) as Record<
        string,
        unknown
      >;
      // The same entry either way; each answer signs its inclusion promise afresh (ECDSA is randomized).
      const withoutSet = (e: Record<string, unknown>) =>
        JSON.parse(JSON.stringify(e), (k, v) => (k === 'signedEntryTimestamp' ? undefined : v)) as unknown;
      expect(withoutSet(byUuid)).toEqual(withoutSet(byIndex));
      expect(Object.keys(byUuid)).toEqual([uuid]);
      expect((await fetch(`${url}/api/v1/log/entries/${'0'.repeat(64)}`)).status).toBe(404);

      const info = (await (await fetch(`${url}/api/v1/log`)).json()) as {
        treeSize: number;
        signedTreeHead: string;
        treeID: string;
      };
      expect(info.treeSize).toBe(await treeSize());
      expect(info.signedTreeHead).toBe((await t.deps.log.checkpoint()).note);
      expect(info.signedTreeHead.split('\n')[0]).toBe(`waybill.test - ${info.treeID}`);
    });

    it('Rekor refuses entries not under a certificate waybill issued to a workload, or not by its key', async () => {
      const before = await treeSize();
      const pair = key();
      // A certificate from one of waybill's own bundles: waybill's CA, but issued to no workload.
      const own = await t.call('POST', '/v1/provenance', {
        token: await t.mint(['builder']),
        body: {
          subjects: [{ name: 'x', digest: { sha256: '6'.repeat(64) } }],
          buildType: 'https://example.com/b',
          externalParameters: {},
          builder: { id: 'https://ci.example.com/b' },
        },
      });
      type Own = { bundle: { verificationMaterial: { certificate: { rawBytes: string } } } };
      const raw = ((await own.json()) as Own).bundle.verificationMaterial.certificate.rawBytes;
      const ownCert = `-----BEGIN CERTIFICATE-----\n${raw}\n-----END CERTIFICATE-----\n`;
      const notIssued = await post(
        '/api/v1/log/entries',
        dsseEntry(provenance('7'.repeat(64)), pair.privateKey, ownCert),
      );
      expect(notIssued.status).toBe(422);
      expect(((await notIssued.json()) as { message: string }).message).toMatch(
        /not a certificate this waybill issued/,
      );

      const [cert] = await certificate(key(), await github.mint(githubClaims()));
      const wrongKey = await post('/api/v1/log/entries', dsseEntry(provenance('7'.repeat(64)), pair.privateKey, cert!));
      expect(wrongKey.status).toBe(422);
      expect(((await wrongKey.json()) as { message: string }).message).toMatch(/signature does not verify/);

      const malformed = await post('/api/v1/log/entries', { apiVersion: '0.0.1', kind: 'rekord', spec: {} });
      expect(malformed.status).toBe(400);
      expect(await treeSize()).toBe(before + 1); // only waybill's own provenance above
    });

    it('never answers random JSON with a 5xx (property)', async () => {
      const token = await github.mint(githubClaims());
      const b64 = fc.oneof(
        fc.base64String(),
        fc.constant(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64')),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.record({
              route: fc.constantFrom('/api/v1/log/entries', '/api/v2/signingCert', '/api/v1/signingCert'),
              body: fc.jsonValue({ maxDepth: 4 }),
            }),
            fc.record({
              route: fc.constant('/api/v1/log/entries'),
              body: fc.record({
                apiVersion: fc.constantFrom('0.0.1', '0.0.2'),
                kind: fc.constantFrom('dsse', 'hashedrekord', 'intoto'),
                spec: fc.oneof(
                  fc.record({
                    proposedContent: fc.record({ envelope: fc.string(), verifiers: fc.array(b64, { maxLength: 2 }) }),
                  }),
                  fc.record({
                    data: fc.record({
                      hash: fc.record({
                        algorithm: fc.constant('sha256'),
                        value: fc.stringMatching(/^[0-9a-f]{0,64}$/),
                      }),
                    }),
                    signature: fc.record({ content: b64, publicKey: fc.record({ content: b64 }) }),
                  }),
                  fc.jsonValue({ maxDepth: 3 }),
                ),
              }),
            }),
            fc.record({
              route: fc.constant('/api/v2/signingCert'),
              body: fc.record({
                credentials: fc.record({ oidcIdentityToken: fc.constantFrom(token, 'a.b.c', 'x') }),
                publicKeyRequest: fc.record({ publicKey: fc.record({ content: b64 }), proofOfPossession: b64 }),
                certificateSigningRequest: fc.option(b64, { nil: undefined }),
              }),
            }),
          ),
          async ({ route, body }) => {
            const res = await t.call('POST', route, { body, headers: { authorization: `Bearer ${token}` } });
            expect(res.status).toBeGreaterThanOrEqual(400);
            expect(res.status).toBeLessThan(500);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('a test result logged through Rekor lands in the environment it names, within the grant', async () => {
      const pair = key();
      const token = await github.mint(githubClaims({ ref: 'refs/heads/feature', environment: 'staging' }));
      const [cert] = await certificate(pair, token);
      const testResult = (environment: string) => ({
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: 'ghcr.io/acme/app', digest: { sha256: '8'.repeat(64) } }],
        predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
        predicate: {
          result: 'PASSED',
          configuration: [{ name: 'environment', uri: `https://waybill.test/environments/${environment}` }],
        },
      });
      const staging = await post('/api/v1/log/entries', dsseEntry(testResult('staging'), pair.privateKey, cert!));
      expect(staging.status).toBe(201);
      expect((await listed('8'.repeat(64)))[0]).toMatchObject({
        environment: 'staging',
        signer: { issuer: github.url },
      });
      const production = await post('/api/v1/log/entries', dsseEntry(testResult('production'), pair.privateKey, cert!));
      expect(production.status).toBe(403);
      // This grant holds no builder role: provenance is not its to log.
      const prov = await post('/api/v1/log/entries', dsseEntry(provenance('9'.repeat(64)), pair.privateKey, cert!));
      expect(prov.status).toBe(403);
    });
  });
});
