// The saved external fixtures (test/fixtures/external, written by
// test/fixtures/make-external-fixtures.ts) and the trust that accepts them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExternalTrust } from '../../src/signing/external.ts';
import { loadExternalTrust } from '../../src/signing/external.ts';
import { FIXTURE_DIR } from '../fixtures/make-external-fixtures.ts';
import type { Json } from './json.ts';

export { FIXTURE_DIR };
export const fixturePath = (name: string) => join(FIXTURE_DIR, name);

export const manifest = JSON.parse(readFileSync(fixturePath('manifest.json'), 'utf8')) as {
  issuer: string;
  subject: string;
  otherSubject: string;
  keyHint: string;
  artifactSha256: string;
  digests: { provenance: string; testResult: string; legacy: string };
  integratedTime: number;
};

export type BundleName =
  | 'dsse-v0.3-certificate'
  | 'dsse-v0.2-chain-intoto'
  | 'dsse-v0.1-promise-only'
  | 'dsse-v0.3-public-key'
  | 'message-v0.3-hashedrekord'
  | 'dsse-v0.3-statement-v0.1'
  | 'message-v0.3-sha512'
  | 'message-v0.3-p384-sha384'
  | 'dsse-v0.3-other-identity'
  | 'dsse-v0.3-not-intoto'
  | 'dsse-v0.3-untrusted';

/** A fresh copy of a saved bundle's JSON (tests may mutate it). */
export function bundle(name: BundleName): Record<string, Json> {
  return JSON.parse(readFileSync(fixturePath(`${name}.json`), 'utf8'));
}

/** The external trusted root, the identity rules and the key, as a deployment would configure them. */
export function externalTrust(opts: { identities?: boolean; publicGood?: boolean } = {}): ExternalTrust {
  return loadExternalTrust({
    trustRootFiles: [...(opts.publicGood ? ['public-good'] : []), fixturePath('trusted_root.json')],
    ...(opts.identities === false ? {} : { identitiesFile: fixturePath('identities.json') }),
    keyFiles: [fixturePath('signing-key.pub.pem')],
  });
}

/** Flip one bit of a base64 field's decoded bytes. */
export function flipBase64(value: string, at = 10): string {
  const bytes = Buffer.from(value, 'base64');
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64');
}
