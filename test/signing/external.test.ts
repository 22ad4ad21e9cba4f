// External trust: loading roots, identity rules and keys from files, and verifying bundles signed
// elsewhere (saved fixtures under an independent CA and log) with them.
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createExternalTrust,
  keyHint,
  loadExternalTrust,
  PUBLIC_GOOD,
  parseIdentityRules,
  parseKeySpec,
  publicGoodTrustedRoot,
  sshFingerprint,
  verifyPrehashed,
} from '../../src/signing/external.ts';
import { VerifyError } from '../../src/signing/verify.ts';
import { exampleStatement, makeSigningSetup } from '../fixtures/make-signing-fixtures.ts';
import { bundle, externalTrust, fixturePath, flipBase64, manifest } from '../helpers/external.ts';
import { sha256 } from '../helpers/statements.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'waybill-external-'));
function file(dir: string, name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}
const root = fixturePath('trusted_root.json');
const keyFile = fixturePath('signing-key.pub.pem');

describe('loadExternalTrust', () => {
  it(
    "loads trusted roots, identity rules and keys; the default key hint is cosign's (base64 SHA-256 of the SPKI " +
      'DER)',
    () => {
      const trust = loadExternalTrust({
        trustRootFiles: [root],
        identitiesFile: fixturePath('identities.json'),
        keyFiles: [keyFile],
      });
      expect(trust.roots).toEqual([root]);
      expect(trust.keys).toEqual([{ hint: manifest.keyHint, name: keyFile }]);
      expect(trust.identities).toHaveLength(1);
    },
  );

  it('takes a key as <hint>=<path>, also when the hint ends in base64 padding', () => {
    expect(parseKeySpec(`my-key=${keyFile}`)).toEqual({ hint: 'my-key', path: keyFile });
    expect(parseKeySpec(`abc==${'='}${keyFile}`)).toEqual({ hint: 'abc==', path: keyFile });
    expect(parseKeySpec(keyFile)).toEqual({ path: keyFile });
    const dir = tmp();
    const odd = file(
      dir,
      'a=b.pem',
      createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey)
        .export({ type: 'spki', format: 'pem' })
        .toString(),
    );
    expect(parseKeySpec(odd)).toEqual({ path: odd }); // an existing file is a path even with "="
    const trust = loadExternalTrust({ trustRootFiles: [root], keyFiles: [`release=${keyFile}`] });
    expect(trust.keys).toEqual([{ hint: 'release', name: keyFile }]);
  });

  it('loads the public-good Sigstore trusted root from the @sigstore/tuf seeds', () => {
    const pg = publicGoodTrustedRoot() as {
      mediaType: string;
      tlogs: Array<{ baseUrl: string }>;
      certificateAuthorities: unknown[];
      ctlogs: unknown[];
    };
    expect(pg.mediaType).toMatch(/^application\/vnd\.dev\.sigstore\.trustedroot/);
    expect(pg.tlogs.map((t) => t.baseUrl)).toContain('https://rekor.sigstore.dev');
    expect(pg.certificateAuthorities.length).toBeGreaterThan(0);
    expect(pg.ctlogs.length).toBeGreaterThan(0);
    const trust = loadExternalTrust({ trustRootFiles: [PUBLIC_GOOD], keyFiles: [] });
    expect(trust.roots).toEqual(['public-good']);
  });

  it('names the file and the reason for every bad file', () => {
    const dir = tmp();
    const cases: Array<[Parameters<typeof loadExternalTrust>[0], RegExp]> = [
      [
        { trustRootFiles: [path.join(dir, 'missing.json')], keyFiles: [] },
        /cannot read trusted root file .*missing\.json/,
      ],
      [
        { trustRootFiles: [file(dir, 'bad.json', '{nope')], keyFiles: [] },
        /trusted root file .*bad\.json is not valid JSON/,
      ],
      [
        { trustRootFiles: [file(dir, 'bundle.json', JSON.stringify(bundle('dsse-v0.3-certificate')))], keyFiles: [] },
        /trusted root .*bundle\.json: not a Sigstore TrustedRoot/,
      ],
      [
        {
          trustRootFiles: [
            file(
              dir,
              'empty-root.json',
              JSON.stringify({
                mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
                tlogs: [],
                certificateAuthorities: [],
                ctlogs: [],
                timestampAuthorities: [],
              }),
            ),
          ],
          keyFiles: [],
        },
        /empty-root\.json: lists no certificate authority and no transparency log/,
      ],
      [
        { trustRootFiles: [root], identitiesFile: file(dir, 'ids1.json', '{"issuer":"x"}'), keyFiles: [] },
        /identity rules .*ids1\.json: must be a JSON array/,
      ],
      [
        { trustRootFiles: [root], identitiesFile: file(dir, 'ids2.json', '[]'), keyFiles: [] },
        /ids2\.json: lists no rule/,
      ],
      [
        {
          trustRootFiles: [root],
          identitiesFile: file(
            dir,
            'ids3.json',
            JSON.stringify([{ issuer: 'https://i', subject: 'https://github\\.com/acme/' }]),
          ),
          keyFiles: [],
        },
        /ids3\.json: \[0\]\.subject "https:\/\/github\\\\.com\/acme\/" must be anchored/,
      ],
      [
        {
          trustRootFiles: [root],
          identitiesFile: file(
            dir,
            'ids4.json',
            JSON.stringify([{ issuer: 'https://i', subject: '^https://(unclosed$' }]),
          ),
          keyFiles: [],
        },
        /ids4\.json: \[0\]\.subject .* is not a valid regular expression/,
      ],
      [
        {
          trustRootFiles: [root],
          identitiesFile: file(dir, 'ids5.json', JSON.stringify([{ issuer: 'https://i', subject: '^a\\$' }])),
          keyFiles: [],
        },
        /ids5\.json: \[0\]\.subject .* must be anchored/,
      ],
      [
        {
          trustRootFiles: [root],
          identitiesFile: file(dir, 'ids6.json', JSON.stringify([{ issuer: '', subject: '^a$' }])),
          keyFiles: [],
        },
        /ids6\.json: \[0\]\.issuer must be a non-empty string/,
      ],
      [
        {
          trustRootFiles: [root],
          identitiesFile: file(dir, 'ids7.json', JSON.stringify([{ issuer: 'https://i', subjet: '^a$' }])),
          keyFiles: [],
        },
        /ids7\.json: \[0\] has unknown field\(s\) subjet/,
      ],
      [{ trustRootFiles: [root], keyFiles: [path.join(dir, 'nokey.pem')] }, /cannot read public key file .*nokey\.pem/],
      [
        {
          trustRootFiles: [root],
          keyFiles: [
            file(
              dir,
              'private.pem',
              generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
                .privateKey.export({ type: 'pkcs8', format: 'pem' })
                .toString(),
            ),
          ],
        },
        /public key .*private\.pem: holds a private key/,
      ],
      [
        {
          trustRootFiles: [root],
          keyFiles: [file(dir, 'junk.pem', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')],
        },
        /public key .*junk\.pem: does not parse/,
      ],
      [
        {
          trustRootFiles: [root],
          keyFiles: [file(dir, 'cert.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')],
        },
        /cert\.pem: must hold exactly one PEM "PUBLIC KEY" block/,
      ],
      [{ trustRootFiles: [root], keyFiles: [keyFile, `${manifest.keyHint}=${keyFile}`] }, /hint ".*" is also used by/],
    ];
    for (const [opts, message] of cases) expect(() => loadExternalTrust(opts), String(message)).toThrow(message);
  });

  it('keeps a top-level alternation anchored: ^a|b$ does not accept "...b"', async () => {
    // Starts with ^ and ends with $, but as a bare JS regexp the second branch is a suffix match.
    const suffix = 'github\\.example\\.com/mallory/api/\\.github/workflows/release\\.yml@refs/heads/main$';
    const trust = createExternalTrust({
      roots: [{ name: 'external', trustedRoot: readFileSync(root, 'utf8') }],
      identities: { name: 'rules', rules: [{ issuer: manifest.issuer, subject: `^nobody|${suffix}` }] },
    });
    expect(new RegExp(`^nobody|${suffix}`).test(manifest.otherSubject)).toBe(true);
    await expect(trust.verify(bundle('dsse-v0.3-other-identity'))).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
    const exact = createExternalTrust({
      roots: [{ name: 'external', trustedRoot: readFileSync(root, 'utf8') }],
      identities: { name: 'rules', rules: [{ issuer: manifest.issuer, subject: `^nobody$|^https://${suffix}` }] },
    });
    await expect(exact.verify(bundle('dsse-v0.3-other-identity'))).resolves.toMatchObject({
      signer: { subject: manifest.otherSubject },
    });
    expect(() => parseIdentityRules([{ issuer: 'https://i', subject: '^a|b' }])).toThrow(/must be anchored/);
  });

  it('matches the issuer exactly', async () => {
    const trust = createExternalTrust({
      roots: [{ name: 'external', trustedRoot: readFileSync(root, 'utf8') }],
      identities: { name: 'rules', rules: [{ issuer: `${manifest.issuer}/`, subject: '^.*$' }] },
    });
    await expect(trust.verify(bundle('dsse-v0.3-certificate'))).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
  });
});

describe('ExternalTrust.verify on bundles signed elsewhere', () => {
  const trust = externalTrust({ publicGood: true });
  const acme = { subject: manifest.subject, issuer: manifest.issuer };

  it.each([
    ['dsse-v0.3-certificate', 'certificate'],
    ['dsse-v0.2-chain-intoto', 'certificate'],
    ['dsse-v0.1-promise-only', 'certificate'],
    ['dsse-v0.3-statement-v0.1', 'certificate'],
    ['message-v0.3-hashedrekord', 'certificate'],
    ['message-v0.3-sha512', 'certificate'],
    ['message-v0.3-p384-sha384', 'certificate'],
  ] as const)('%s verifies under the external root (not public-good)', async (name, via) => {
    const r = await trust.verify(bundle(name));
    expect(r.via).toBe(via);
    expect(r.signer).toEqual(acme);
    expect(r.trustRoot).toBe(fixturePath('trusted_root.json'));
    expect(r.verifierPem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
  });

  it('verifies a key bundle with the configured key; the signer is key:<hint>', async () => {
    const r = await trust.verify(JSON.stringify(bundle('dsse-v0.3-public-key')));
    expect(r.via).toBe('key');
    expect(r.signer).toEqual({ subject: `key:${manifest.keyHint}`, issuer: 'key' });
    expect(r.verifierPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it("matches a key given as a plain path by npm's SHA256:<base64> key id too", async () => {
    const b = bundle('dsse-v0.3-public-key');
    b.verificationMaterial.publicKey.hint = sshFingerprint(createPublicKey(readFileSync(keyFile, 'utf8')));
    expect(b.verificationMaterial.publicKey.hint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const r = await trust.verify(b);
    expect(r.signer).toEqual({ subject: `key:${manifest.keyHint}`, issuer: 'key' });
  });

  it('refuses a key bundle whose hint names no configured key', async () => {
    const b = bundle('dsse-v0.3-public-key');
    b.verificationMaterial.publicKey.hint = 'someone-else';
    await expect(trust.verify(b)).rejects.toMatchObject({
      code: 'UNTRUSTED_SIGNER',
      message: expect.stringContaining('someone-else'),
    });
    const noKeys = loadExternalTrust({ trustRootFiles: [fixturePath('trusted_root.json')], keyFiles: [] });
    await expect(noKeys.verify(bundle('dsse-v0.3-public-key'))).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
  });

  it('refuses a SAN that no identity rule accepts, naming the SAN and the issuer', async () => {
    const err = (await trust.verify(bundle('dsse-v0.3-other-identity')).catch((e: unknown) => e)) as VerifyError;
    expect(err).toBeInstanceOf(VerifyError);
    expect(err.code).toBe('UNTRUSTED_SIGNER');
    expect(err.message).toContain(manifest.otherSubject);
    expect(err.message).toContain(manifest.issuer);
    // without identity rules, any signer under the root is accepted (and recorded)
    const r = await externalTrust({ identities: false }).verify(bundle('dsse-v0.3-other-identity'));
    expect(r.signer.subject).toBe(manifest.otherSubject);
  });

  it('refuses a bundle from a CA and log no configured root trusts', async () => {
    const err = (await trust.verify(bundle('dsse-v0.3-untrusted')).catch((e: unknown) => e)) as VerifyError;
    expect(err.code).toBe('CERTIFICATE_INVALID');
    expect(err.message).toContain('public-good');
    expect(err.message).toContain('trusted_root.json');
    // waybill-style bundles under another private CA are not trusted either
    const other = await makeSigningSetup();
    const b = await other.sign(exampleStatement(sha256('x')));
    await expect(trust.verify(b)).rejects.toMatchObject({ code: 'CERTIFICATE_INVALID' });
  });

  it(
    'reports the most specific failure: a bad signature under the right root, not "unknown CA" from ' + 'public-good',
    async () => {
      const dsse = bundle('dsse-v0.3-certificate');
      dsse.dsseEnvelope.signatures[0].sig = flipBase64(dsse.dsseEnvelope.signatures[0].sig);
      await expect(trust.verify(dsse)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      const message = bundle('message-v0.3-hashedrekord');
      message.messageSignature.signature = flipBase64(message.messageSignature.signature);
      await expect(trust.verify(message)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      const key = bundle('dsse-v0.3-public-key');
      key.dsseEnvelope.signatures[0].sig = flipBase64(key.dsseEnvelope.signatures[0].sig);
      await expect(trust.verify(key)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    },
  );

  it('checks a message signature against its digest: another digest or a changed log entry fails', async () => {
    const b = bundle('message-v0.3-hashedrekord');
    b.messageSignature.messageDigest.digest = Buffer.from(sha256('something else'), 'hex').toString('base64');
    await expect(trust.verify(b)).rejects.toMatchObject({
      code: expect.stringMatching(/SIGNATURE_INVALID|TLOG_INVALID/),
    });
    const c = bundle('message-v0.3-hashedrekord');
    c.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = flipBase64(
      c.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp,
    );
    await expect(trust.verify(c)).rejects.toMatchObject({ code: 'TLOG_INVALID' });
    const d = bundle('message-v0.3-hashedrekord');
    d.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = '99';
    await expect(trust.verify(d)).rejects.toMatchObject({ code: 'TLOG_INVALID' });
  });

  it('refuses what is not a bundle', async () => {
    await expect(trust.verify('{not json')).rejects.toMatchObject({ code: 'INVALID_BUNDLE' });
    await expect(trust.verify([])).rejects.toMatchObject({ code: 'INVALID_BUNDLE' });
    await expect(trust.verify({ mediaType: 'application/json' })).rejects.toMatchObject({ code: 'INVALID_BUNDLE' });
  });

  it('refuses everything when no trusted root is configured', async () => {
    const none = loadExternalTrust({ trustRootFiles: [], keyFiles: [keyFile] });
    await expect(none.verify(bundle('dsse-v0.3-public-key'))).rejects.toMatchObject({ code: 'UNTRUSTED_SIGNER' });
  });
});

describe('verifyPrehashed (signature over a digest, without the message)', () => {
  const message = Buffer.from('hello, prehashed world');
  const hash = (alg: string, data: Uint8Array) => createHash(alg).update(data).digest();
  const digestOf = (alg: string) => hash(alg, message);

  it.each([
    ['prime256v1', 'sha256'],
    ['prime256v1', 'sha384'],
    ['prime256v1', 'sha512'],
    ['secp384r1', 'sha384'],
    ['secp384r1', 'sha256'],
    ['secp384r1', 'sha512'],
  ] as const)('ECDSA %s with %s agrees with node:crypto', (curve, alg) => {
    for (let i = 0; i < 5; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const sig = sign(alg, message, privateKey);
      expect(verifyPrehashed(publicKey, alg, digestOf(alg), sig)).toBe(true);
      const bad = Buffer.from(sig);
      bad[bad.length - 3] = bad[bad.length - 3]! ^ 0x01;
      expect(verifyPrehashed(publicKey, alg, digestOf(alg), bad)).toBe(false);
      expect(verifyPrehashed(publicKey, alg, hash(alg, Buffer.from('other')), sig)).toBe(false);
      const other = generateKeyPairSync('ec', { namedCurve: curve }).publicKey;
      expect(verifyPrehashed(other, alg, digestOf(alg), sig)).toBe(false);
    }
  });

  it('rejects malformed DER, out-of-range r/s and the wrong digest length', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sig = sign('sha256', message, privateKey);
    const d = digestOf('sha256');
    expect(verifyPrehashed(publicKey, 'sha256', d, Buffer.concat([sig, Buffer.from([0])]))).toBe(false);
    expect(verifyPrehashed(publicKey, 'sha256', d, sig.subarray(0, sig.length - 1))).toBe(false);
    expect(verifyPrehashed(publicKey, 'sha256', d, Buffer.from('300602010002010', 'hex'))).toBe(false);
    expect(verifyPrehashed(publicKey, 'sha256', d, Buffer.from('3006020100020101', 'hex'))).toBe(false); // r = 0
    expect(verifyPrehashed(publicKey, 'sha256', d.subarray(0, 31), sig)).toBe(false);
  });

  it('RSA PKCS#1 v1.5 agrees with node:crypto; Ed25519 cannot be checked from a digest', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sig = sign('sha256', message, privateKey);
    expect(verifyPrehashed(publicKey, 'sha256', digestOf('sha256'), sig)).toBe(true);
    expect(verifyPrehashed(publicKey, 'sha384', digestOf('sha384'), sig)).toBe(false);
    expect(
      verifyPrehashed(
        publicKey,
        'sha256',
        digestOf('sha256'),
        Buffer.from(flipBase64(sig.toString('base64'), 40), 'base64'),
      ),
    ).toBe(false);
    const ed = generateKeyPairSync('ed25519');
    expect(verifyPrehashed(ed.publicKey, 'sha256', digestOf('sha256'), sign(null, message, ed.privateKey))).toBe(false);
  });

  it('accepts a high-S signature, as node:crypto and FIPS 186 do (only Bitcoin-style verifiers refuse it)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const der = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
    const raw = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
    const flipped = n - s; // the other valid s: one of the two is high
    const int = (v: bigint) => {
      let hex = v.toString(16);
      if (hex.length % 2) hex = `0${hex}`;
      if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
      return Buffer.concat([Buffer.from([0x02, hex.length / 2]), Buffer.from(hex, 'hex')]);
    };
    const body = Buffer.concat([int(r), int(flipped)]);
    const other = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(verifyPrehashed(publicKey, 'sha256', digestOf('sha256'), der)).toBe(true);
    expect(verifyPrehashed(publicKey, 'sha256', digestOf('sha256'), other)).toBe(true);
    expect(verify('sha256', message, publicKey, other)).toBe(true);
  });

  it("gives a key the hints its signers use: cosign's SPKI SHA-256 and npm's SHA256: key id", () => {
    const key = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    expect(keyHint(key)).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(keyHint(key)).toBe(
      createHash('sha256')
        .update(key.export({ type: 'spki', format: 'der' }))
        .digest('base64'),
    );
    // npm's registry key (registry.npmjs.org/-/npm/v1/keys) and the key id npm publish attestations name it by
    const npm = createPublicKey({
      key: Buffer.from(
        'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0' +
          'EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==',
        'base64',
      ),
      format: 'der',
      type: 'spki',
    });
    expect(sshFingerprint(npm)).toBe('SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA');
  });
});
