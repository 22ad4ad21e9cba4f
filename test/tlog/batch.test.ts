// A pending record is plain data (it crosses to the log's Durable Object on Workers); the row it
// becomes must be exactly what the protobuf bundle path wrote, byte for byte.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { TransparencyLogEntry } from '@sigstore/protobuf-specs';
import { describe, expect, it } from 'vitest';
import { entryJson, loggedRecord, type PendingRecord, type TlogEntryJson } from '../../src/tlog/batch.ts';
import { logId } from '../../src/tlog/checkpoint.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/service/bundle.json', import.meta.url), 'utf8'));
const stored = fixture.verificationMaterial.tlogEntries[0] as TlogEntryJson;

// An entry as the log makes it (tlog/batch.ts entryJson), with `hashes` proof hashes.
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const signer = { keyName: 'waybill.test', origin: 'waybill.test - 1', logId: logId(publicKey), privateKey };
const logEntry = (hashes: number): TlogEntryJson =>
  entryJson(
    signer,
    {
      body: Buffer.from(stored.canonicalizedBody, 'base64'),
      kind: stored.kindVersion,
      logIndex: 3,
      integratedTime: 1795689325,
    },
    {
      checkpoint: { treeSize: 4, rootHash: new Uint8Array(32), note: stored.inclusionProof.checkpoint.envelope },
      hashes: Array.from({ length: hashes }, (_, i) => new Uint8Array(32).fill(i)),
    },
  );
const fixtureEntry = logEntry(2);

/** The bundle as the signing path used to write it: the protobuf bundle with the entry set, then bundleToJSON. */
function viaProtobuf(bundleJson: unknown, entry: TlogEntryJson, timestamps: boolean): string {
  const bundle = bundleFromJSON(bundleJson);
  bundle.verificationMaterial.tlogEntries = [TransparencyLogEntry.fromJSON(entry) as never];
  if (timestamps) bundle.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
  return JSON.stringify(bundleToJSON(bundle));
}

function unlogged(timestamps: boolean): unknown {
  const bundle = bundleFromJSON(fixture);
  bundle.verificationMaterial.tlogEntries = [];
  bundle.verificationMaterial.timestampVerificationData = timestamps ? { rfc3161Timestamps: [] } : undefined;
  return bundleToJSON(bundle);
}

const pending = (bundle: unknown, bundleEntry: PendingRecord['bundleEntry']): PendingRecord => ({
  row: {
    id: 'a1',
    predicateType: 'https://slsa.dev/provenance/v1',
    statement: {},
    statementSha256: 'ab',
    bundle,
    signerSubject: 'https://ci.example.com/x',
    signerIssuer: 'https://waybill.test',
    environment: null,
    origin: 'signed',
  },
  subjects: [{ digest: `sha256:${'a'.repeat(64)}`, name: 'app' }],
  bundleEntry,
});

describe('a pending record, once logged', () => {
  it('survives structured cloning (what a Durable Object call does to it)', () => {
    const p = pending(unlogged(true), 'entry');
    expect(structuredClone(p)).toEqual(p);
  });

  it('takes its log index and time from the entry', () => {
    const { row } = loggedRecord(pending(unlogged(true), 'entry'), fixtureEntry);
    expect(row.logIndex).toBe(Number(fixtureEntry.logIndex));
    expect(row.createdAt).toEqual(new Date(Number(fixtureEntry.integratedTime) * 1000));
  });

  it.each([
    ['with proof hashes', fixtureEntry, true],
    ['alone in its tree (no hashes: protobuf leaves the list out)', logEntry(0), true],
    ['without timestamp data (the Rekor-compatible path)', fixtureEntry, false],
  ])('carries the entry in its bundle exactly as bundleToJSON wrote it: %s', (_name, entry, timestamps) => {
    const { row } = loggedRecord(pending(unlogged(timestamps), 'entry'), entry);
    expect(JSON.stringify(row.bundle)).toBe(viaProtobuf(unlogged(timestamps), entry, timestamps));
  });

  it('keeps an ingested bundle as given, with its own log entries', () => {
    const { row } = loggedRecord(pending(fixture, 'none'), { ...fixtureEntry, logIndex: '99' });
    expect(row.bundle).toBe(fixture);
    expect(row.logIndex).toBe(99);
  });
});
