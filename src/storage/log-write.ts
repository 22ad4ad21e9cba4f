// The batch write's one parameter document: every attestation, subject, entry and node of a
// batch as JSON (storage/log-repo.ts sends it with the guarded write statement).
import { toBase64 as b64 } from '../util/encoding.ts';
import type { BatchRows } from './log-rows.ts';

// A string with a character beyond Latin-1 anywhere in it makes V8 build the whole JSON text as
// a two-byte string, and encoding that to UTF-8 for the wire is ~10x slower than a one-byte
// one (~0.1 ms per statement here). Every logged bundle carries such a character: the
// checkpoint note's signature line starts with an em dash. So the note goes into the batch's
// JSON pre-escaped (\u2014), as raw JSON text; the stored value is the same.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII, control characters included
const NON_ASCII = /[^\u0000-\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const NON_ASCII_ALL = /[^\u0000-\u007f]/g;
const rawJson = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const asciiJsonString = (s: string): unknown =>
  // latin1 round trip: the escaped text is ASCII, but still stored two-byte until copied.
  rawJson ? rawJson(Buffer.from(JSON.stringify(s).replace(NON_ASCII_ALL, escapeChar), 'latin1').toString('latin1')) : s;

type BundleJson = {
  verificationMaterial?: { tlogEntries?: Array<{ inclusionProof?: { checkpoint?: { envelope?: unknown } } }> };
};

function withAsciiNotes(bundle: unknown): unknown {
  const vm = (bundle as BundleJson | null)?.verificationMaterial;
  const entries = vm?.tlogEntries;
  if (!rawJson || !Array.isArray(entries)) return bundle;
  let changed = false;
  const escaped = entries.map((e) => {
    const envelope = e?.inclusionProof?.checkpoint?.envelope;
    if (typeof envelope !== 'string' || !NON_ASCII.test(envelope)) return e;
    changed = true;
    return {
      ...e,
      inclusionProof: {
        ...e.inclusionProof,
        checkpoint: { ...e.inclusionProof!.checkpoint, envelope: asciiJsonString(envelope) },
      },
    };
  });
  return changed ? { ...(bundle as object), verificationMaterial: { ...vm, tlogEntries: escaped } } : bundle;
}

/** The batch write statement's parameters: the batch as JSON, the checkpoint, the expected size, the heads. */
export function writeParams(batch: BatchRows): unknown[] {
  const doc = {
    a: batch.records.map(({ row }) => ({
      id: row.id,
      predicate_type: row.predicateType,
      statement: row.statement,
      statement_sha256: row.statementSha256,
      bundle: withAsciiNotes(row.bundle),
      signer_subject: row.signerSubject,
      signer_issuer: row.signerIssuer,
      environment: row.environment ?? null,
      origin: row.origin,
      log_index: row.logIndex,
      created_at: (row.createdAt ?? new Date()).toISOString(),
    })),
    s: batch.records.flatMap(({ row, subjects }) =>
      subjects.map((s) => ({ attestation_id: row.id, digest: s.digest, name: s.name })),
    ),
    e: batch.entries.map((e) => ({
      log_index: e.logIndex,
      body: b64(e.body),
      leaf_hash: b64(e.leafHash),
      integrated_time: e.integratedTime,
      kind: e.kind,
      attestation_id: e.attestationId,
      set: e.set ? b64(e.set) : null,
    })),
    n: batch.nodes.map((n) => ({ level: n.level, idx: n.index, hash: b64(n.hash) })),
  };
  const heads = batch.heads.map((h) => ({
    digest: h.digest,
    prev_entries: h.prevEntries,
    entries: h.entries,
    last_log_index: h.lastLogIndex,
    chain: b64(h.chain),
    key_id: b64(h.keyId),
    signature: b64(h.signature),
  }));
  const cp = batch.checkpoint;
  return [JSON.stringify(doc), cp.treeSize, b64(cp.rootHash), cp.note, batch.oldSize, JSON.stringify(heads)];
}
