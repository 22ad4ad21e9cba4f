import { createHash, generateKeyPairSync } from 'node:crypto';
import type { TransparencyLogEntry as TLogEntry } from '@sigstore/bundle';
import { envelopeFromJSON, envelopeToJSON } from '@sigstore/bundle';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { DSSESignatureContent } from '@sigstore/verify/dist/bundle/dsse.js';
import { verifyTLogBody, verifyTLogInclusion } from '@sigstore/verify/dist/tlog/index.js';
import { describe, expect, it } from 'vitest';
import { checkpointBody, logId, signCheckpoint } from '../../src/tlog/checkpoint.ts';
import {
  dsseEntryBody,
  dsseEnvelopeJson,
  inclusionPromise,
  inclusionPromisePayload,
  verifyInclusionPromise,
} from '../../src/tlog/entry.ts';
import { appendNodes, hashRanges, inclusionPlan, leafHash, nodeKey } from '../../src/tlog/merkle.ts';

const logKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const verifierPem = signerKey.publicKey.export({ type: 'spki', format: 'pem' }) as string;
const LOG_ID = logId(logKey.publicKey);

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const sha256Hex = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');
// Parse the wire JSON form, as a bundle reader would; logId and kindVersion are always present here.
const tlogEntry = (json: unknown) => TransparencyLogEntry.fromJSON(json) as TLogEntry;

function envelope(n: number) {
  const payload = new TextEncoder().encode(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', n }));
  return { payload, payloadType: 'application/vnd.in-toto+json', signature: new Uint8Array(Buffer.from(`sig-${n}`)) };
}

describe('dsse v0.0.1 body', () => {
  const env = envelope(1);
  const body = dsseEntryBody({ envelope: env, verifierPem });
  const parsed = JSON.parse(Buffer.from(body).toString('utf8'));

  it('is JCS canonical JSON with the Rekor fields', () => {
    const expected =
      `{"apiVersion":"0.0.1","kind":"dsse","spec":{` +
      `"envelopeHash":{"algorithm":"sha256","value":"${sha256Hex(dsseEnvelopeJson(env))}"},` +
      `"payloadHash":{"algorithm":"sha256","value":"${sha256Hex(env.payload)}"},` +
      `"signatures":[{"signature":"${b64(env.signature)}",` +
      `"verifier":"${Buffer.from(verifierPem).toString('base64')}"}]}}`;
    expect(Buffer.from(body).toString('utf8')).toBe(expected);
    expect(Buffer.from(parsed.spec.signatures[0].verifier, 'base64').toString('utf8')).toBe(verifierPem);
  });

  it('hashes the envelope exactly as @sigstore/bundle serialises it', () => {
    const json = dsseEnvelopeJson(env);
    const proto = envelopeFromJSON(JSON.parse(json));
    expect(JSON.stringify(envelopeToJSON(proto))).toBe(json);
    expect(json).toBe(
      `{"payload":"${b64(env.payload)}","payloadType":"application/vnd.in-toto+json",` +
        `"signatures":[{"sig":"${b64(env.signature)}"}]}`,
    );
  });

  it('passes @sigstore/verify body checks, and fails them for another envelope', () => {
    const entry = tlogEntry({
      logIndex: '0',
      logId: { keyId: b64(LOG_ID) },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime: '1700000000',
      canonicalizedBody: b64(body),
    });
    const content = (e: ReturnType<typeof envelope>) =>
      new DSSESignatureContent(envelopeFromJSON(JSON.parse(dsseEnvelopeJson(e))));
    expect(() => verifyTLogBody(entry, content(env))).not.toThrow();
    expect(() => verifyTLogBody(entry, content({ ...env, signature: new Uint8Array([9]) }))).toThrow(
      /signature mismatch/,
    );
    expect(() => verifyTLogBody(entry, content({ ...env, payload: new Uint8Array([9]) }))).toThrow(/payload hash/);
  });

  it('refuses empty fields and non-PEM verifiers', () => {
    expect(() => dsseEntryBody({ envelope: { ...env, payload: new Uint8Array() }, verifierPem })).toThrow(/payload/);
    expect(() => dsseEntryBody({ envelope: { ...env, payloadType: '' }, verifierPem })).toThrow(/payloadType/);
    expect(() => dsseEntryBody({ envelope: { ...env, signature: new Uint8Array() }, verifierPem })).toThrow(
      /signature/,
    );
    expect(() => dsseEntryBody({ envelope: env, verifierPem: 'MFkwEw...' })).toThrow(/PEM/);
  });
});

describe('inclusion promise', () => {
  const fields = {
    body: dsseEntryBody({ envelope: envelope(2), verifierPem }),
    integratedTime: 1700000000,
    logId: LOG_ID,
    logIndex: 7,
  };
  const set = inclusionPromise(fields, logKey.privateKey);

  it('signs the JCS of body, integratedTime, logID (hex), logIndex', () => {
    expect(Buffer.from(inclusionPromisePayload(fields)).toString('utf8')).toBe(
      `{"body":"${b64(fields.body)}","integratedTime":1700000000,` +
        `"logID":"${Buffer.from(LOG_ID).toString('hex')}","logIndex":7}`,
    );
    expect(set[0]).toBe(0x30); // DER
    expect(verifyInclusionPromise(fields, set, logKey.publicKey)).toBe(true);
  });

  it('fails for any changed field, signature byte or key', () => {
    const flip = (u: Uint8Array, i: number) => {
      const c = u.slice();
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    expect(verifyInclusionPromise({ ...fields, body: flip(fields.body, 10) }, set, logKey.publicKey)).toBe(false);
    expect(verifyInclusionPromise({ ...fields, integratedTime: 1700000001 }, set, logKey.publicKey)).toBe(false);
    expect(verifyInclusionPromise({ ...fields, logIndex: 8 }, set, logKey.publicKey)).toBe(false);
    expect(verifyInclusionPromise({ ...fields, logId: flip(LOG_ID, 0) }, set, logKey.publicKey)).toBe(false);
    expect(verifyInclusionPromise(fields, set, otherKey.publicKey)).toBe(false);
    for (let i = 0; i < set.length; i++)
      expect(verifyInclusionPromise(fields, flip(set, i), logKey.publicKey)).toBe(false);
  });

  it('guards its numbers', () => {
    expect(() => inclusionPromise({ ...fields, logIndex: -1 }, logKey.privateKey)).toThrow(RangeError);
    expect(() => inclusionPromise({ ...fields, integratedTime: 1.5 }, logKey.privateKey)).toThrow(RangeError);
    expect(() => inclusionPromise({ ...fields, logId: LOG_ID.subarray(1) }, logKey.privateKey)).toThrow(/32 bytes/);
    expect(() => inclusionPromise(fields, logKey.publicKey)).toThrow(/private key/);
  });
});

describe('interop: entries, proofs and checkpoints verify with @sigstore/verify', () => {
  // A five-entry log, built the way the sequencer does: appendNodes, checkpoint, SET, proof.
  const NAME = 'waybill.example.com';
  const bodies = [0, 1, 2, 3, 4].map((n) => dsseEntryBody({ envelope: envelope(n), verifierPem }));
  const store = new Map<string, Uint8Array>();
  const { nodes, root, size } = appendNodes(0, store, bodies.map(leafHash));
  for (const n of nodes) store.set(nodeKey(n), n.hash);
  const note = signCheckpoint(checkpointBody({ origin: `${NAME} - 42`, size, rootHash: root }), {
    name: NAME,
    privateKey: logKey.privateKey,
  });
  const integratedTime = 1700000000;
  const authority = {
    logID: Buffer.from(LOG_ID),
    baseURL: `https://${NAME}`,
    publicKey: logKey.publicKey,
    validFor: { start: new Date(0), end: new Date(8.64e15) },
  };

  const entryJson = (i: number, over: { body?: Uint8Array; note?: string; set?: Uint8Array } = {}) => {
    const body = bodies[i] as Uint8Array;
    return tlogEntry({
      logIndex: String(i),
      logId: { keyId: b64(LOG_ID) },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime: String(integratedTime),
      inclusionPromise: {
        signedEntryTimestamp: b64(
          over.set ?? inclusionPromise({ body, integratedTime, logId: LOG_ID, logIndex: i }, logKey.privateKey),
        ),
      },
      inclusionProof: {
        logIndex: String(i),
        rootHash: b64(root),
        treeSize: String(size),
        hashes: hashRanges(inclusionPlan(i, size), store).map(b64),
        checkpoint: { envelope: over.note ?? note },
      },
      canonicalizedBody: b64(over.body ?? body),
    });
  };

  it('every entry passes SET, checkpoint and Merkle inclusion checks', () => {
    for (let i = 0; i < size; i++) expect(() => verifyTLogInclusion(entryJson(i), [authority])).not.toThrow();
  });

  it('a changed body, a bad SET, a foreign checkpoint or a key outside its window fails', () => {
    const body = (bodies[1] as Uint8Array).slice();
    body[body.length - 3] = (body[body.length - 3] as number) ^ 1;
    expect(() => verifyTLogInclusion(entryJson(1, { body }), [authority])).toThrow(/inclusion promise/);
    const foreignSet = inclusionPromise(
      { body: bodies[1] as Uint8Array, integratedTime, logId: LOG_ID, logIndex: 1 },
      otherKey.privateKey,
    );
    expect(() => verifyTLogInclusion(entryJson(1, { set: foreignSet }), [authority])).toThrow(/inclusion promise/);
    const foreignNote = signCheckpoint(checkpointBody({ origin: `${NAME} - 42`, size, rootHash: root }), {
      name: NAME,
      privateKey: otherKey.privateKey,
    });
    expect(() => verifyTLogInclusion(entryJson(1, { note: foreignNote }), [authority])).toThrow(/checkpoint signature/);
    const expired = { ...authority, validFor: { start: new Date(0), end: new Date((integratedTime - 1) * 1000) } };
    expect(() => verifyTLogInclusion(entryJson(1), [expired])).toThrow(/inclusion promise/);
  });
});
