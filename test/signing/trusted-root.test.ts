import { createHash, generateKeyPairSync } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CaMaterial } from '../../src/signing/ca.ts';
import { generateCa } from '../../src/signing/ca.ts';
import { buildTrustedRoot, TRUSTED_ROOT_MEDIA_TYPE, tlogKeyId } from '../../src/signing/trusted-root.ts';
import { logId } from '../../src/tlog/checkpoint.ts';

describe('buildTrustedRoot', () => {
  let ca: CaMaterial;
  let ca2: CaMaterial;
  const logKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-06-01T00:00:00Z');

  beforeAll(async () => {
    ca = await generateCa({ commonName: 'waybill', organization: 'Acme', now: from });
    ca2 = await generateCa({ commonName: 'waybill-2', organization: 'Acme', now: to });
  });

  it('writes the protobuf-specs JSON form, intermediate then root, log id = SHA-256(SPKI DER)', () => {
    const root = buildTrustedRoot({
      cas: [{ chainPem: ca.chainPem, validFrom: from, validTo: to, uri: 'https://waybill.example.com' }],
      tlogs: [
        {
          baseUrl: 'https://waybill.example.com',
          publicKey: logKey.publicKey,
          validFrom: from,
          checkpointKeyName: 'waybill.example.com',
        },
      ],
    });
    const spki = logKey.publicKey.export({ type: 'spki', format: 'der' });
    expect(root).toEqual({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://waybill.example.com',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: spki.toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: { start: '2026-01-01T00:00:00.000Z' },
          },
          logId: { keyId: createHash('sha256').update(spki).digest('base64') },
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'Acme', commonName: 'waybill' },
          uri: 'https://waybill.example.com',
          certChain: {
            certificates: [
              { rawBytes: Buffer.from(ca.intermediate.der).toString('base64') },
              { rawBytes: Buffer.from(ca.root.der).toString('base64') },
            ],
          },
          validFor: { start: '2026-01-01T00:00:00.000Z', end: '2026-06-01T00:00:00.000Z' },
        },
      ],
      ctlogs: [],
      timestampAuthorities: [],
    });
    expect(root.mediaType).toBe(TRUSTED_ROOT_MEDIA_TYPE);
    expect(JSON.stringify(root)).not.toContain('checkpointKeyId');
    // agrees with the log's own id
    expect(root.tlogs[0]!.logId.keyId).toBe(Buffer.from(logId(logKey.publicKey)).toString('base64'));
    expect(tlogKeyId(logKey.privateKey).toString('base64')).toBe(root.tlogs[0]!.logId.keyId);
  });

  it('round-trips through protobuf-specs and loads as sigstore-js trust material', () => {
    const root = buildTrustedRoot({
      cas: [
        { chainPem: ca.chainPem, validFrom: from, validTo: to },
        { chainPem: ca2.chainPem, validFrom: to },
      ],
      tlogs: [{ baseUrl: 'http://localhost', publicKey: logKey.privateKey, validFrom: from }],
    });
    const parsed = TrustedRoot.fromJSON(root);
    const { ctlogs: _c, timestampAuthorities: _t, ...rest } = root;
    expect(TrustedRoot.toJSON(parsed)).toEqual(rest);
    expect(parsed.tlogs[0]!.checkpointKeyId).toBeUndefined();
    const tm = toTrustMaterial(parsed);
    expect(tm.certificateAuthorities).toHaveLength(2);
    expect(tm.certificateAuthorities[0]!.certChain.map((c) => c.isCA)).toEqual([true, true]);
    expect(tm.certificateAuthorities[0]!.validFor).toEqual({ start: from, end: to });
    expect(tm.certificateAuthorities[1]!.validFor.start).toEqual(to);
    expect(tm.tlogs[0]!.logID.equals(Buffer.from(logId(logKey.publicKey)))).toBe(true);
    expect(tm.tlogs[0]!.baseURL).toBe('http://localhost');
  });

  it('refuses what would silently never verify', () => {
    expect(() =>
      buildTrustedRoot({
        cas: [],
        tlogs: [
          {
            baseUrl: 'http://localhost',
            publicKey: logKey.publicKey,
            validFrom: from,
            checkpointKeyName: 'waybill.example.com',
          },
        ],
      }),
    ).toThrow(/substring of baseUrl/);
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(() =>
      buildTrustedRoot({ cas: [], tlogs: [{ baseUrl: 'http://localhost', publicKey: ed, validFrom: from }] }),
    ).toThrow(/P-256/);
    expect(() => buildTrustedRoot({ cas: [{ chainPem: 'no pem', validFrom: from }], tlogs: [] })).toThrow(
      /no certificate/,
    );
    expect(() =>
      buildTrustedRoot({ cas: [{ chainPem: ca.chainPem, validFrom: to, validTo: from }], tlogs: [] }),
    ).toThrow(/before/);
  });
});
