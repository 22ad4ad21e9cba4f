// The hashedrekord v0.0.1 body waybill logs for an ingested message signature.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HASHEDREKORD_API_VERSION, HASHEDREKORD_KIND, hashedrekordEntryBody } from '../../src/tlog/entry.ts';

const pem = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n';

describe('hashedrekordEntryBody', () => {
  it('is the JCS form of a Rekor hashedrekord v0.0.1 body', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const data = Buffer.from('blob');
    const digestHex = createHash('sha256').update(data).digest('hex');
    const signature = sign('sha256', data, privateKey);
    const body = hashedrekordEntryBody({ digestHex, signature, publicKeyPem: pem });
    const text = Buffer.from(body).toString('utf8');
    expect(JSON.parse(text)).toEqual({
      apiVersion: HASHEDREKORD_API_VERSION,
      kind: HASHEDREKORD_KIND,
      spec: {
        data: { hash: { algorithm: 'sha256', value: digestHex } },
        signature: {
          content: signature.toString('base64'),
          publicKey: { content: Buffer.from(pem).toString('base64') },
        },
      },
    });
    // JCS: keys sorted, no whitespace
    expect(
      text.startsWith(
        '{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"sha256","value":"',
      ),
    ).toBe(true);
    expect(text).not.toMatch(/\s/);
  });

  it('takes sha384 and sha512 digests too', () => {
    const digestHex = createHash('sha512').update('x').digest('hex');
    const body = JSON.parse(
      Buffer.from(
        hashedrekordEntryBody({ digestHex, signature: new Uint8Array([1]), publicKeyPem: pem, algorithm: 'sha512' }),
      ).toString(),
    );
    expect(body.spec.data.hash).toEqual({ algorithm: 'sha512', value: digestHex });
  });

  it('refuses a digest of the wrong length or case, an empty signature and non-PEM keys', () => {
    const hex = createHash('sha256').update('x').digest('hex');
    const sig = new Uint8Array([1, 2, 3]);
    expect(() => hashedrekordEntryBody({ digestHex: hex.slice(2), signature: sig, publicKeyPem: pem })).toThrow(
      /64 lower-case hex/,
    );
    expect(() => hashedrekordEntryBody({ digestHex: hex.toUpperCase(), signature: sig, publicKeyPem: pem })).toThrow(
      /lower-case hex/,
    );
    expect(() =>
      hashedrekordEntryBody({ digestHex: hex, signature: sig, publicKeyPem: pem, algorithm: 'sha512' }),
    ).toThrow(/128 lower-case hex/);
    expect(() => hashedrekordEntryBody({ digestHex: hex, signature: new Uint8Array(), publicKeyPem: pem })).toThrow(
      /signature is empty/,
    );
    expect(() => hashedrekordEntryBody({ digestHex: hex, signature: sig, publicKeyPem: 'MFkw...' })).toThrow(/PEM/);
    expect(() =>
      hashedrekordEntryBody({ digestHex: hex, signature: sig, publicKeyPem: pem, algorithm: 'md5' as 'sha256' }),
    ).toThrow(/unsupported/);
  });
});
