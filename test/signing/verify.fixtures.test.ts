/**
 * What an offline auditor has: a saved bundle and the trusted root it was made under
 * (test/fixtures/signing, written by test/fixtures/make-signing-fixtures.ts). No keys, no network.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { VerifyError, verifyBundle } from '../../src/signing/verify.ts';
import { FIXTURE_ARTIFACT, FIXTURE_DIR, ISSUER, SUBJECT_URI } from '../fixtures/make-signing-fixtures.ts';

const bundleText = readFileSync(join(FIXTURE_DIR, 'bundle.json'), 'utf8');
const rootText = readFileSync(join(FIXTURE_DIR, 'trusted_root.json'), 'utf8');

describe('saved signing fixtures', () => {
  it('verify offline with verifyBundle, the identity and the artifact', async () => {
    const r = await verifyBundle(bundleText, {
      trustedRoot: rootText,
      identity: { subjectAlternativeName: SUBJECT_URI, issuer: ISSUER },
      artifact: FIXTURE_ARTIFACT,
    });
    expect(r.signer).toEqual({ subject: SUBJECT_URI, issuer: ISSUER });
    expect(r.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    if (r.bundle.content.$case !== 'dsseEnvelope') throw new Error('expected DSSE');
    expect(r.bundle.content.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
  });

  it('verify offline with stock @sigstore/verify', () => {
    const trust = toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(rootText)));
    const signer = new Verifier(trust, { ctlogThreshold: 0 }).verify(
      toSignedEntity(bundleFromJSON(JSON.parse(bundleText))),
      {
        subjectAlternativeName: /^https:\/\/ci\.example\.com\/pipelines\/api$/,
        extensions: { issuer: ISSUER },
      },
    );
    expect(signer.identity?.subjectAlternativeName).toBe(SUBJECT_URI);
  });

  it('fail when tampered with or checked against another identity', async () => {
    const root = JSON.parse(rootText);
    const b = JSON.parse(bundleText);
    const payload = Buffer.from(b.dsseEnvelope.payload, 'base64');
    payload[10] = payload[10]! ^ 0x20;
    b.dsseEnvelope.payload = payload.toString('base64');
    await expect(verifyBundle(b, { trustedRoot: root })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    await expect(
      verifyBundle(bundleText, {
        trustedRoot: root,
        identity: { subjectAlternativeName: 'https://ci.example.com/pipelines/other' },
      }),
    ).rejects.toBeInstanceOf(VerifyError);
  });
});
