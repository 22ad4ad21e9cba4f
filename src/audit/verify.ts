// The offline auditor's verifier for evidence packs (src/audit/pack.ts). Given a pack (and,
// ideally, a trusted root obtained independently of it), it checks with no network:
//
// - trust: the given trusted root equals the pack's (canonical JSON), the checkpoint is signed by
//   a log key of that root;
// - every bundle: its id is the SHA-256 of its envelope; @sigstore/verify (through
//   src/signing/verify.ts) accepts it under the trusted root with the recorded signer's identity;
//   the pack's log entry for it matches the bundle (payload hash, signature, signing certificate),
//   carries a valid SET, and is included in the pack's checkpoint;
// - the chain: one digest from end to end (or the original a cited, approved exception lets it
//   borrow from), verdicts that allow exactly the step they are used for and cite only bundles in
//   the pack, deployments under their own step's verdict and after it, steps in promotion order,
//   policy files whose bytes hash to what the verdicts name.
//
// Every problem names the bundle (role, id, environment) or the part of the pack it concerns.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { type Bundle, bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity } from '@sigstore/verify';
import canonicalizeModule from 'canonicalize';
import { z } from 'zod';
import { TEST_RESULT_V01 } from '../intoto/test-result.ts';
import { VSA_V1 } from '../intoto/vsa.ts';
import { parsePolicy } from '../policy/load.ts';
import type { Policy } from '../policy/types.ts';
import { VerifyError, verifyBundleSync } from '../signing/verify.ts';
import { type ParsedCheckpoint, parseCheckpoint, verifyCheckpoint } from '../tlog/checkpoint.ts';
import { dsseEnvelopeJson, verifyInclusionPromise } from '../tlog/entry.ts';
import { leafHash, verifyInclusion } from '../tlog/merkle.ts';
import { EVIDENCE_PACK_MEDIA_TYPE, type PackRole } from './pack.ts';

// Predicate types waybill signs (kept here rather than imported from the services, which would
// pull the database layer into an offline tool).
export const DEPLOYMENT_V1 = 'https://waybill.dev/deployment/v1';
export const REBUILD_EXCEPTION_V1 = 'https://waybill.dev/rebuild-exception/v1';
const PROVENANCE_PREFIX = 'https://slsa.dev/provenance/';
const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

type Canonicalize = (input: unknown) => string | undefined;
const canonicalize: Canonicalize =
  typeof canonicalizeModule === 'function'
    ? (canonicalizeModule as Canonicalize)
    : (canonicalizeModule as unknown as { default: Canonicalize }).default;

// ---------------------------------------------------------------------------------------------
// The report

export interface StepEvent {
  /** Attestation id. */
  id: string;
  /** Who signed it (the verified certificate SAN), when known. */
  signer: string | null;
  /** verdict: the VSA's timeVerified; deployment: its deployedAt (as signed). */
  at: string | null;
  /** Index in waybill's transparency log. */
  logIndex: number | null;
}

export interface StepReport {
  environment: string;
  /** The digest the step's deployment is about. */
  digest: string | null;
  verdict: StepEvent;
  deployment: StepEvent;
  /** The rebuild exception attestation id the step relied on, if any. */
  exception: string | null;
}

export interface AttestationReport {
  id: string;
  role: string;
  environment: string | null;
  predicateType: string | null;
  ok: boolean;
  /** The verified signer (certificate SAN); for an ingested bundle, the signer waybill recorded. */
  signer: string | null;
  /** True for a bundle signed outside waybill: its signing chain is not checked offline (see docs/audit.md). */
  externallySigned: boolean;
  logIndex: number | null;
  /** When waybill's log integrated the entry (RFC 3339). */
  integratedTime: string | null;
  /** The subject sha256 digests of the signed statement (`sha256:<hex>`). */
  subjects: string[];
  problems: string[];
  /** Facts that are not problems (what was not checked, what was borrowed). */
  notes: string[];
}

export interface PackReport {
  ok: boolean;
  digest: string | null;
  environment: string | null;
  issuer: string | null;
  generatedAt: string | null;
  /** Where the trust came from: the root given to the verifier, or only the pack's own. */
  trustedRoot: 'given' | 'pack';
  checkpoint: { origin: string; size: number; rootHash: string; verified: boolean } | null;
  steps: StepReport[];
  /** Bundles about an original digest that count for this one only under a cited exception. */
  borrowed: Array<{ original: string; exception: string; attestations: string[] }>;
  attestations: AttestationReport[];
  /** Every problem found, the attestation ones included (prefixed with the bundle they concern). */
  problems: string[];
}

export interface VerifyPackOptions {
  /** A TrustedRoot obtained independently of the pack; the pack's must then be the same. */
  trustedRoot?: unknown;
}

// ---------------------------------------------------------------------------------------------
// Shapes

const HEX64 = /^[0-9a-f]{64}$/;
const Hex64 = z.string().regex(HEX64, 'must be 64 lower-case hex characters');
const Digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>');
const Decimal = z.string().regex(/^(0|[1-9][0-9]{0,15})$/, 'must be a decimal integer string');
const ROLES = [
  'provenance',
  'test-result',
  'verdict',
  'deployment',
  'rebuild-exception',
  'original-provenance',
  'other',
] as const satisfies readonly PackRole[];

const StepShape = z.object({
  environment: z.string().min(1),
  verdict: Hex64,
  deployment: Hex64,
  deployedAt: z.string(),
  exception: Hex64.nullable(),
});

const PackShape = z.object({
  mediaType: z.string(),
  generatedAt: z.string(),
  issuer: z.string().min(1),
  trustedRoot: z.record(z.string(), z.unknown()),
  checkpoint: z.string(),
  manifest: z.object({
    digest: Digest,
    environment: z.string().nullable(),
    steps: z.array(StepShape),
    provenance: z.array(Hex64),
    testResults: z.record(z.string(), z.array(Hex64)),
    exceptions: z.array(Hex64),
    originals: z.array(z.object({ digest: Digest, provenance: z.array(Hex64) })),
  }),
  attestations: z.array(z.unknown()),
  policies: z.array(z.object({ uri: z.string(), sha256: z.string(), content: z.string() })),
});

const LogEntryShape = z.object({
  logIndex: Decimal,
  logId: z.object({ keyId: z.string() }),
  kindVersion: z.object({ kind: z.string(), version: z.string() }),
  integratedTime: Decimal,
  inclusionPromise: z.object({ signedEntryTimestamp: z.string() }),
  inclusionProof: z.object({
    logIndex: Decimal,
    rootHash: z.string(),
    treeSize: Decimal,
    hashes: z.array(z.string()),
    checkpoint: z.object({ envelope: z.string() }),
  }),
  canonicalizedBody: z.string(),
});

const AttestationShape = z.object({
  id: Hex64,
  role: z.enum(ROLES),
  predicateType: z.string(),
  environment: z.string().nullable(),
  signer: z.object({ subject: z.string(), issuer: z.string() }),
  origin: z.enum(['signed', 'ingested']),
  bundle: z.record(z.string(), z.unknown()),
  logEntry: LogEntryShape,
});

type PackJson = z.infer<typeof PackShape>;
type AttestationJson = z.infer<typeof AttestationShape>;

function shapeProblems(error: z.ZodError, prefix: string): string[] {
  return error.issues.slice(0, 10).map((i) => `${prefix}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sha256hex = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');
const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function messageOf(e: unknown): string {
  if (e instanceof VerifyError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Strict standard base64 (padding, canonical trailing bits); null when it is not. */
function b64(s: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? u8(bytes) : null;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function time(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function pemToDer(pem: string): Uint8Array | null {
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(pem);
  if (!m) return null;
  return u8(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

// ---------------------------------------------------------------------------------------------
// Trust material

interface LogKey {
  baseUrl: string;
  keyId: Uint8Array;
  publicKey: KeyObject;
  start: number;
  end: number;
}

function logKeysOf(root: Record<string, unknown>): LogKey[] {
  const tlogs = Array.isArray(root.tlogs) ? root.tlogs : [];
  const out: LogKey[] = [];
  for (const t of tlogs) {
    if (!isObject(t) || !isObject(t.publicKey) || !isObject(t.logId)) continue;
    const raw = str(t.publicKey.rawBytes);
    const keyId = str(t.logId.keyId);
    if (!raw || !keyId) continue;
    try {
      const publicKey = createPublicKey({ key: Buffer.from(raw, 'base64'), format: 'der', type: 'spki' });
      const validFor = isObject(t.publicKey.validFor) ? t.publicKey.validFor : {};
      out.push({
        baseUrl: str(t.baseUrl) ?? '',
        keyId: u8(Buffer.from(keyId, 'base64')),
        publicKey,
        start: time(validFor.start) ?? -Infinity,
        end: time(validFor.end) ?? Infinity,
      });
    } catch {
      // a key that does not parse is not a log key we can use
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per attestation

interface Item {
  a: AttestationJson;
  report: AttestationReport;
  bundle: Bundle | null;
  statement: Record<string, unknown> | null;
  predicate: Record<string, unknown>;
  /** Subject sha256 hex digests. */
  subjects: string[];
  logIndex: number | null;
  integratedTime: number | null;
}

function labelOf(role: string, id: string, environment: string | null): string {
  return `${role} ${id}${environment ? ` (${environment})` : ''}`;
}

class Checker {
  readonly problems: string[] = [];
  readonly items = new Map<string, Item>();
  /** Entries whose inclusion proof carries another checkpoint note than the pack's. */
  readonly otherCheckpoint: Item[] = [];
  /** Entries whose inclusion proof is for another tree head than the checkpoint's. */
  readonly otherRoot: Item[] = [];
  readonly borrowed: PackReport['borrowed'] = [];

  readonly pack: PackJson;
  readonly root: Record<string, unknown>;
  readonly logKeys: LogKey[];
  readonly checkpoint: ParsedCheckpoint | null;

  constructor(pack: PackJson, root: Record<string, unknown>, logKeys: LogKey[], checkpoint: ParsedCheckpoint | null) {
    this.pack = pack;
    this.root = root;
    this.logKeys = logKeys;
    this.checkpoint = checkpoint;
  }

  get issuer(): string {
    return this.pack.issuer.replace(/\/+$/, '');
  }

  get digestHex(): string {
    return this.pack.manifest.digest.slice('sha256:'.length);
  }

  problem(item: Item, message: string): void {
    item.report.problems.push(message);
    item.report.ok = false;
    this.problems.push(`${labelOf(item.a.role, item.a.id, item.a.environment)}: ${message}`);
  }

  // --- one bundle ---------------------------------------------------------------------------

  attestation(raw: unknown, index: number): void {
    const parsed = AttestationShape.safeParse(raw);
    if (!parsed.success) {
      const id = isObject(raw) && typeof raw.id === 'string' ? raw.id : `#${index}`;
      const role = isObject(raw) && typeof raw.role === 'string' ? raw.role : 'attestation';
      this.problems.push(...shapeProblems(parsed.error, `${role} ${id}: malformed pack entry attestations[${index}]`));
      return;
    }
    const a = parsed.data;
    const report: AttestationReport = {
      id: a.id,
      role: a.role,
      environment: a.environment,
      predicateType: null,
      ok: true,
      signer: null,
      externallySigned: a.origin === 'ingested',
      logIndex: Number(a.logEntry.logIndex),
      integratedTime: new Date(Number(a.logEntry.integratedTime) * 1000).toISOString(),
      subjects: [],
      problems: [],
      notes: [],
    };
    const item: Item = {
      a,
      report,
      bundle: null,
      statement: null,
      predicate: {},
      subjects: [],
      logIndex: Number(a.logEntry.logIndex),
      integratedTime: Number(a.logEntry.integratedTime),
    };
    if (this.items.has(a.id)) {
      this.problems.push(`${labelOf(a.role, a.id, a.environment)}: the pack lists this attestation twice`);
      return;
    }
    this.items.set(a.id, item);

    // The bundle parses, and its id is what the pack says.
    try {
      item.bundle = bundleFromJSON(a.bundle);
    } catch (e) {
      this.problem(item, `the bundle is not a valid Sigstore bundle: ${messageOf(e)}`);
      return;
    }
    const content = item.bundle.content;
    const envelopeJson = content.$case === 'dsseEnvelope' ? a.bundle.dsseEnvelope : a.bundle.messageSignature;
    const computed = sha256hex(canonicalize(envelopeJson) ?? '');
    if (computed !== a.id) {
      this.problem(
        item,
        `the id is not the SHA-256 of the bundle's ${content.$case === 'dsseEnvelope' ? 'DSSE envelope' : 'message signature'} (that is ${computed}): the bundle was altered or swapped`,
      );
    }

    this.signature(item);
    this.logEntry(item);
    this.statement(item);
  }

  signature(item: Item): void {
    const { a } = item;
    if (a.origin === 'signed') {
      if (item.bundle!.content.$case !== 'dsseEnvelope')
        this.problem(item, 'a bundle waybill signed must carry a DSSE envelope');
      if (a.signer.issuer.replace(/\/+$/, '') !== this.issuer) {
        this.problem(item, `recorded signer issuer ${a.signer.issuer} is not the pack's issuer ${this.pack.issuer}`);
      }
      try {
        const result = verifyBundleSync(a.bundle, {
          trustedRoot: this.root,
          identity: { subjectAlternativeName: a.signer.subject, issuer: a.signer.issuer },
        });
        item.report.signer = result.signer.subject ?? a.signer.subject;
      } catch (e) {
        this.problem(item, `the bundle does not verify (signed by ${a.signer.subject}): ${messageOf(e)}`);
      }
      // The pack's log entry is the bundle's own entry, with a newer proof.
      const own = item.bundle!.verificationMaterial.tlogEntries[0];
      if (own) {
        const same =
          own.logIndex === a.logEntry.logIndex &&
          own.integratedTime === a.logEntry.integratedTime &&
          Buffer.from(own.canonicalizedBody).toString('base64') === a.logEntry.canonicalizedBody &&
          Buffer.from(own.logId.keyId).toString('base64') === a.logEntry.logId.keyId;
        if (!same)
          this.problem(
            item,
            `the pack's log entry (#${a.logEntry.logIndex}) is not the bundle's own log entry (#${own.logIndex})`,
          );
      } else {
        this.problem(item, 'the bundle carries no transparency-log entry');
      }
      return;
    }
    // Ingested: signed outside waybill under an external trust root that is not in the pack.
    item.report.signer = a.signer.subject;
    item.report.notes.push(
      `signed outside waybill by ${a.signer.subject} (issuer ${a.signer.issuer}); its certificate chain and external log entries are not checked offline (the external trusted root is not in the pack), only waybill's log entry for it`,
    );
    try {
      const entity = toSignedEntity(item.bundle!);
      if (entity.key.$case === 'certificate') {
        const key = createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' });
        if (!entity.signature.verifySignature(key))
          this.problem(item, "the signature does not verify under the bundle's own certificate");
      } else {
        item.report.notes.push('key-signed: the signature is not checked offline (the public key is not in the pack)');
      }
    } catch (e) {
      // message signatures need the artifact; the log entry below still binds digest and signature
      if (item.bundle!.content.$case === 'dsseEnvelope')
        this.problem(item, `the bundle content does not parse: ${messageOf(e)}`);
      else item.report.notes.push('message signature: the signature over the digest is not checked offline');
    }
  }

  logEntry(item: Item): void {
    const { a } = item;
    const e = a.logEntry;
    const body = b64(e.canonicalizedBody);
    if (!body) {
      this.problem(item, 'log entry: canonicalizedBody is not standard base64');
      return;
    }
    const keyId = b64(e.logId.keyId);
    const logKey = keyId ? this.logKeys.find((k) => bytesEqual(k.keyId, keyId)) : undefined;
    if (!logKey) {
      this.problem(item, `log entry #${e.logIndex}: logId ${e.logId.keyId} is not a log of the trusted root`);
    } else {
      const at = Number(e.integratedTime) * 1000;
      if (at < logKey.start || at > logKey.end)
        this.problem(
          item,
          `log entry #${e.logIndex}: integrated at ${new Date(at).toISOString()}, outside the log key's validity`,
        );
      const set = b64(e.inclusionPromise.signedEntryTimestamp);
      const ok =
        set !== null &&
        verifyInclusionPromise(
          { body, integratedTime: Number(e.integratedTime), logId: keyId!, logIndex: Number(e.logIndex) },
          set,
          logKey.publicKey,
        );
      if (!ok)
        this.problem(
          item,
          `log entry #${e.logIndex}: the signed entry timestamp (SET) does not verify with the log key`,
        );
    }

    // The body describes this bundle.
    let entry: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
      if (!isObject(parsed)) throw new Error('not an object');
      entry = parsed;
    } catch {
      this.problem(item, `log entry #${e.logIndex}: canonicalizedBody is not a JSON object`);
      return;
    }
    if (entry.kind !== e.kindVersion.kind || entry.apiVersion !== e.kindVersion.version) {
      this.problem(
        item,
        `log entry #${e.logIndex}: body kind ${String(entry.kind)}/${String(entry.apiVersion)} differs from kindVersion ${e.kindVersion.kind}/${e.kindVersion.version}`,
      );
    }
    this.entryMatchesBundle(item, entry);

    // Included in the pack's checkpoint.
    const proof = e.inclusionProof;
    const cp = this.checkpoint;
    if (proof.logIndex !== e.logIndex)
      this.problem(item, `inclusion proof: its logIndex ${proof.logIndex} is not the entry's ${e.logIndex}`);
    if (proof.checkpoint.envelope !== this.pack.checkpoint) this.otherCheckpoint.push(item);
    const rootHash = b64(proof.rootHash);
    const hashes = proof.hashes.map(b64);
    if (rootHash?.length !== 32) {
      this.problem(item, 'inclusion proof: rootHash is not a base64 SHA-256 hash');
      return;
    }
    if (hashes.some((h) => h === null)) {
      this.problem(item, 'inclusion proof: a hash is not standard base64');
      return;
    }
    const index = Number(e.logIndex);
    const size = Number(proof.treeSize);
    if (index >= size || !verifyInclusion(leafHash(body), index, size, hashes as Uint8Array[], rootHash)) {
      this.problem(
        item,
        `inclusion proof: entry #${e.logIndex} does not hash up to the root it claims (tree size ${size}): the proof or the entry was altered`,
      );
    }
    if (cp && (size !== cp.size || !bytesEqual(rootHash, cp.rootHash))) this.otherRoot.push(item);
  }

  entryMatchesBundle(item: Item, entry: Record<string, unknown>): void {
    const bundle = item.bundle!;
    const e = item.a.logEntry;
    const spec = isObject(entry.spec) ? entry.spec : {};
    const vm = bundle.verificationMaterial.content;
    const certDer =
      vm.$case === 'certificate'
        ? vm.certificate.rawBytes
        : vm.$case === 'x509CertificateChain'
          ? vm.x509CertificateChain.certificates[0]?.rawBytes
          : undefined;
    const verifierMatches = (pemB64: unknown): boolean => {
      if (!certDer) return true; // key-signed: nothing to compare with here
      const pem = typeof pemB64 === 'string' ? Buffer.from(pemB64, 'base64').toString('utf8') : '';
      const der = pemToDer(pem);
      return der !== null && bytesEqual(der, certDer);
    };

    if (bundle.content.$case === 'dsseEnvelope') {
      const env = bundle.content.dsseEnvelope;
      const sig = env.signatures[0];
      if (e.kindVersion.kind !== 'dsse') {
        this.problem(item, `log entry #${e.logIndex}: kind ${e.kindVersion.kind} for a DSSE bundle`);
        return;
      }
      const sigs = Array.isArray(spec.signatures) ? spec.signatures : [];
      const logged = isObject(sigs[0]) ? sigs[0] : {};
      if (sigs.length !== 1 || env.signatures.length !== 1 || !sig) {
        this.problem(
          item,
          `log entry #${e.logIndex}: the entry and the envelope must each carry exactly one signature`,
        );
        return;
      }
      const loggedSig = typeof logged.signature === 'string' ? b64(logged.signature) : null;
      if (!loggedSig || !bytesEqual(loggedSig, sig.sig))
        this.problem(item, `log entry #${e.logIndex}: the logged signature is not the envelope's signature`);
      const payloadHash = isObject(spec.payloadHash) ? spec.payloadHash.value : undefined;
      if (payloadHash !== sha256hex(env.payload))
        this.problem(
          item,
          `log entry #${e.logIndex}: the logged payload hash is not the SHA-256 of the envelope's payload`,
        );
      const envelopeHash = isObject(spec.envelopeHash) ? spec.envelopeHash.value : undefined;
      if (env.payload.length > 0 && sig.sig.length > 0 && env.payloadType.length > 0) {
        const want = sha256hex(
          dsseEnvelopeJson({ payload: env.payload, payloadType: env.payloadType, signature: sig.sig }),
        );
        if (envelopeHash !== want)
          this.problem(item, `log entry #${e.logIndex}: the logged envelope hash is not the envelope's`);
      }
      if (!verifierMatches(logged.verifier))
        this.problem(item, `log entry #${e.logIndex}: the logged verifier is not the bundle's signing certificate`);
      return;
    }
    const ms = bundle.content.messageSignature;
    if (e.kindVersion.kind !== 'hashedrekord') {
      this.problem(item, `log entry #${e.logIndex}: kind ${e.kindVersion.kind} for a message signature`);
      return;
    }
    const data = isObject(spec.data) && isObject(spec.data.hash) ? spec.data.hash : {};
    const signature = isObject(spec.signature) ? spec.signature : {};
    const content = typeof signature.content === 'string' ? b64(signature.content) : null;
    if (!ms.messageDigest || data.value !== Buffer.from(ms.messageDigest.digest).toString('hex')) {
      this.problem(item, `log entry #${e.logIndex}: the logged digest is not the bundle's message digest`);
    }
    if (!content || !bytesEqual(content, ms.signature))
      this.problem(item, `log entry #${e.logIndex}: the logged signature is not the bundle's`);
    const publicKey = isObject(signature.publicKey) ? signature.publicKey.content : undefined;
    if (!verifierMatches(publicKey))
      this.problem(item, `log entry #${e.logIndex}: the logged verifier is not the bundle's signing certificate`);
  }

  statement(item: Item): void {
    const bundle = item.bundle!;
    if (bundle.content.$case === 'messageSignature') {
      const d = bundle.content.messageSignature.messageDigest;
      item.subjects = d ? [Buffer.from(d.digest).toString('hex')] : [];
      item.report.predicateType = item.a.predicateType;
      item.report.subjects = item.subjects.map((h) => `sha256:${h}`);
      return;
    }
    const env = bundle.content.dsseEnvelope;
    if (env.payloadType !== INTOTO_PAYLOAD_TYPE) {
      this.problem(item, `the DSSE payload type is ${env.payloadType}, not an in-toto statement`);
      return;
    }
    let statement: unknown;
    try {
      statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(env.payload));
    } catch {
      this.problem(item, 'the DSSE payload is not UTF-8 JSON');
      return;
    }
    if (!isObject(statement) || !Array.isArray(statement.subject) || typeof statement.predicateType !== 'string') {
      this.problem(item, 'the DSSE payload is not an in-toto statement');
      return;
    }
    item.statement = statement;
    item.predicate = isObject(statement.predicate) ? statement.predicate : {};
    item.report.predicateType = statement.predicateType;
    if (statement.predicateType !== item.a.predicateType) {
      this.problem(
        item,
        `the pack says predicate type ${item.a.predicateType}, the signed statement says ${statement.predicateType}`,
      );
    }
    for (const s of statement.subject) {
      const hex = isObject(s) && isObject(s.digest) ? s.digest.sha256 : undefined;
      if (typeof hex === 'string') item.subjects.push(hex.toLowerCase());
    }
    item.report.subjects = item.subjects.map((h) => `sha256:${h}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The chain

interface StepState {
  step: PackJson['manifest']['steps'][number];
  index: number;
  label: string;
  verdict: Item | undefined;
  deployment: Item | undefined;
  exception: Item | undefined;
  digest: string | null;
  verifiedAt: number | undefined;
  deployedAt: number | undefined;
  policy: Policy | undefined;
}

function roleMatches(role: string, predicateType: string | null): boolean {
  if (predicateType === null) return true; // reported elsewhere
  switch (role) {
    case 'provenance':
    case 'original-provenance':
      return predicateType.startsWith(PROVENANCE_PREFIX);
    case 'test-result':
      return predicateType === TEST_RESULT_V01;
    case 'verdict':
      return predicateType === VSA_V1;
    case 'deployment':
      return predicateType === DEPLOYMENT_V1;
    case 'rebuild-exception':
      return predicateType === REBUILD_EXCEPTION_V1;
    default:
      return true;
  }
}

function inputIds(verdict: Item): string[] {
  const inputs = verdict.predicate.inputAttestations;
  if (!Array.isArray(inputs)) return [];
  return inputs.map((i) => (isObject(i) && isObject(i.digest) ? (str(i.digest.sha256) ?? '') : ''));
}

function checkChain(c: Checker): StepReport[] {
  const { pack } = c;
  const m = pack.manifest;
  const D = c.digestHex;
  const issuer = c.issuer;
  const verifierSubject = `${issuer}/verifier`;
  const envUri = (env: string) => `${issuer}/environments/${env}`;

  // --- every id the manifest names is in the pack, in the role the manifest gives it ----------
  const claims: Array<{ id: string; role: PackRole; environment?: string; where: string }> = [];
  m.steps.forEach((s, i) => {
    claims.push({
      id: s.verdict,
      role: 'verdict',
      environment: s.environment,
      where: `manifest.steps[${i}] (${s.environment}) verdict`,
    });
    claims.push({
      id: s.deployment,
      role: 'deployment',
      environment: s.environment,
      where: `manifest.steps[${i}] (${s.environment}) deployment`,
    });
    if (s.exception)
      claims.push({
        id: s.exception,
        role: 'rebuild-exception',
        environment: s.environment,
        where: `manifest.steps[${i}] (${s.environment}) exception`,
      });
  });
  for (const id of m.provenance) claims.push({ id, role: 'provenance', where: 'manifest.provenance' });
  for (const [env, ids] of Object.entries(m.testResults))
    for (const id of ids)
      claims.push({ id, role: 'test-result', environment: env, where: `manifest.testResults.${env}` });
  for (const id of m.exceptions) claims.push({ id, role: 'rebuild-exception', where: 'manifest.exceptions' });
  for (const o of m.originals)
    for (const id of o.provenance)
      claims.push({ id, role: 'original-provenance', where: `manifest.originals (${o.digest}) provenance` });
  const missing = new Set<string>();
  for (const claim of claims) {
    const item = c.items.get(claim.id);
    if (!item) {
      if (!missing.has(claim.id))
        c.problems.push(
          `missing bundle ${claim.role} ${claim.id}${claim.environment ? ` (${claim.environment})` : ''}: ${claim.where} names it, but the pack has no such attestation`,
        );
      missing.add(claim.id);
      continue;
    }
    if (item.a.role !== claim.role)
      c.problem(item, `${claim.where} lists it as ${claim.role}, but the pack labels it ${item.a.role}`);
    if (claim.environment && claim.role === 'test-result' && item.a.environment !== claim.environment) {
      c.problem(
        item,
        `${claim.where} lists it for ${claim.environment}, but it was recorded for ${item.a.environment ?? 'no environment'}`,
      );
    }
  }

  // --- each bundle's signed content fits its role -------------------------------------------
  for (const item of c.items.values()) {
    if (!item.statement && item.bundle?.content.$case !== 'messageSignature') continue;
    if (!roleMatches(item.a.role, item.report.predicateType)) {
      c.problem(item, `a ${item.a.role} must not be a ${item.report.predicateType} statement`);
    }
    if (item.a.role === 'verdict' || item.a.role === 'rebuild-exception') {
      if (item.a.origin !== 'signed' || item.a.signer.subject !== verifierSubject) {
        c.problem(
          item,
          `a ${item.a.role} must be signed by waybill itself (${verifierSubject}), not ${item.a.signer.subject}`,
        );
      }
    }
    if (item.a.role === 'deployment') {
      if (item.a.origin !== 'signed') c.problem(item, 'a deployment must be signed through waybill');
      const deployer = str(item.predicate.deployer);
      if (deployer !== undefined && deployer !== item.a.signer.subject)
        c.problem(item, `the deployment names deployer ${deployer} but was signed by ${item.a.signer.subject}`);
    }
    if (item.a.role === 'test-result' && item.statement) {
      // waybill binds the environment into the signed configuration.
      const conf = Array.isArray(item.predicate.configuration) ? item.predicate.configuration : [];
      const envs = conf
        .filter((x) => isObject(x) && x.name === 'environment')
        .map((x) => str((x as Record<string, unknown>).uri));
      if (item.a.environment && item.a.origin === 'signed' && !envs.includes(envUri(item.a.environment))) {
        c.problem(item, `the signed test result does not name environment ${item.a.environment}`);
      }
    }
  }

  // --- exceptions: which originals may be borrowed from ------------------------------------
  const originalsListed = new Set(m.originals.map((o) => o.digest));
  const validException = (x: Item): string | null => {
    const p = x.predicate;
    const original = str(p.original);
    if (p.rebuild !== m.digest)
      return `the exception is for rebuild ${String(p.rebuild)}, not the pack's digest ${m.digest}`;
    if (!original || !/^sha256:[0-9a-f]{64}$/.test(original))
      return `the exception names no sha256 original (${String(original)})`;
    if (!originalsListed.has(original)) return `the exception's original ${original} is not in manifest.originals`;
    const subjects = new Set(x.subjects.map((h) => `sha256:${h}`));
    if (!subjects.has(original) || !subjects.has(m.digest))
      return "the exception's subjects are not its original and its rebuild";
    return null;
  };

  // --- steps -------------------------------------------------------------------------------
  // Each verdict's policy file: in the pack, and its bytes hash to what the verdict names.
  const policyCache = new Map<string, { policy: Policy | null; problem: string | null }>();
  const policyReported = new Set<string>();
  const policyOf = (verdict: Item): Policy | undefined => {
    const pol = isObject(verdict.predicate.policy) ? verdict.predicate.policy : {};
    const uri = str(pol.uri);
    const digest = isObject(pol.digest) ? str(pol.digest.sha256) : undefined;
    if (!uri || !digest) {
      if (!policyReported.has(verdict.a.id)) c.problem(verdict, 'the verdict names no policy {uri, digest.sha256}');
      policyReported.add(verdict.a.id);
      return undefined;
    }
    const key = `${uri}@${digest}`;
    let cached = policyCache.get(key);
    if (!cached) {
      const entry = pack.policies.find((p) => p.uri === uri && p.sha256 === digest);
      cached = { policy: null, problem: null };
      if (!entry) {
        cached.problem = `the policy it names (${uri}, sha256 ${digest}) is not in the pack`;
      } else if (sha256hex(Buffer.from(entry.content, 'utf8')) !== digest) {
        cached.problem = `the pack's policy file ${uri} does not hash to ${digest}: the policy file was altered`;
      } else {
        try {
          cached.policy = parsePolicy(entry.content, uri.slice(uri.lastIndexOf('/') + 1), { issuer });
        } catch (e) {
          cached.problem = `the policy file ${uri} does not parse: ${messageOf(e)}`;
        }
      }
      policyCache.set(key, cached);
    }
    if (cached.problem && !policyReported.has(verdict.a.id)) c.problem(verdict, cached.problem);
    policyReported.add(verdict.a.id);
    return cached.policy ?? undefined;
  };

  const states: StepState[] = m.steps.map((step, index) => {
    const label = `step ${index + 1} (${step.environment})`;
    return {
      step,
      index,
      label,
      verdict: c.items.get(step.verdict),
      deployment: c.items.get(step.deployment),
      exception: step.exception ? c.items.get(step.exception) : undefined,
      digest: null,
      verifiedAt: undefined,
      deployedAt: undefined,
      policy: undefined,
    };
  });

  // Which digest each step is about, and which originals a cited exception lets the chain borrow.
  const borrowable = new Map<string, Item>(); // original digest -> the exception
  for (const s of states) {
    if (!s.exception) continue;
    const why = validException(s.exception);
    if (why) c.problem(s.exception, `${s.label}: ${why}`);
    else borrowable.set(str(s.exception.predicate.original)!, s.exception);
  }
  // Bundles about an original count only when a verdict that used the exception cites them, or
  // they are the original's provenance the manifest lists, or a step before the exception's.
  const borrowed = new Set<string>();
  for (const s of states) {
    if (!s.exception || !s.verdict || !borrowable.has(str(s.exception.predicate.original)!)) continue;
    for (const id of inputIds(s.verdict)) borrowed.add(id);
  }
  for (const o of m.originals) if (borrowable.has(o.digest)) for (const id of o.provenance) borrowed.add(id);
  // (A pack may also show the original's own earlier steps: those, and what their verdicts cite.)
  states.forEach((s, i) => {
    const about = s.deployment?.subjects[0] !== undefined ? `sha256:${s.deployment.subjects[0]}` : undefined;
    if (about === undefined || about === m.digest || !borrowable.has(about)) return;
    const later = states.slice(i + 1).some((t) => t.exception && str(t.exception.predicate.original) === about);
    if (!later) return;
    if (s.deployment) borrowed.add(s.deployment.a.id);
    if (s.verdict) {
      borrowed.add(s.verdict.a.id);
      for (const id of inputIds(s.verdict)) borrowed.add(id);
    }
  });

  for (const item of c.items.values()) {
    if (!item.statement && item.bundle?.content.$case !== 'messageSignature') continue;
    if (item.a.role === 'rebuild-exception') continue;
    if (item.a.role === 'original-provenance') {
      const o = m.originals.find((x) => x.provenance.includes(item.a.id));
      if (!o) c.problem(item, 'original provenance that manifest.originals does not list');
      else if (!item.subjects.includes(o.digest.slice(7)))
        c.problem(item, `its subject is ${item.report.subjects.join(', ') || 'none'}, not the original ${o.digest}`);
      else if (!borrowable.has(o.digest))
        c.problem(item, `no cited, approved exception names ${o.digest} as the original`);
      continue;
    }
    if (item.subjects.includes(D)) continue;
    const about = item.subjects.map((h) => `sha256:${h}`);
    const original = about.find((d) => borrowable.has(d));
    if (original && borrowed.has(item.a.id)) {
      const exception = borrowable.get(original)!.a.id;
      item.report.notes.push(`about the original ${original}, borrowed under exception ${exception}`);
      let entry = c.borrowed.find((b) => b.original === original && b.exception === exception);
      if (!entry) {
        entry = { original, exception, attestations: [] };
        c.borrowed.push(entry);
      }
      entry.attestations.push(item.a.id);
      continue;
    }
    c.problem(
      item,
      `its subject is ${about.join(', ') || 'no sha256 digest'}, not the pack's digest ${m.digest}${original ? ' (and no verdict that used the exception cites it)' : ' (and no cited exception lets the chain borrow it)'}: a bundle about another digest`,
    );
  }

  // Every verdict in the pack cites only bundles in the pack; each one's policy is in the pack.
  for (const item of c.items.values()) {
    if (item.a.role !== 'verdict' || !item.statement) continue;
    policyOf(item);
    for (const id of inputIds(item)) {
      if (!HEX64.test(id)) c.problem(item, `inputAttestations has an entry without a sha256 attestation id`);
      else if (!c.items.has(id))
        c.problem(item, `inputAttestations cites ${id}, which is not in the pack (missing bundle ${id})`);
    }
  }

  // Step by step.
  let prev: StepState | undefined;
  for (const s of states) {
    const { step, label } = s;
    const env = step.environment;
    const v = s.verdict;
    const d = s.deployment;
    if (v?.statement) {
      const p = v.predicate;
      if (p.resourceUri !== envUri(env))
        c.problem(v, `${label}: the verdict is for ${String(p.resourceUri)}, not ${envUri(env)}`);
      if (p.verificationResult !== 'PASSED')
        c.problem(v, `${label}: the verdict's result is ${String(p.verificationResult)}, not PASSED`);
      if (!isObject(p.verifier) || p.verifier.id !== issuer)
        c.problem(v, `${label}: the verdict's verifier is not ${issuer}`);
      if (v.a.environment !== null && v.a.environment !== env)
        c.problem(v, `${label}: recorded for environment ${v.a.environment}`);
      s.verifiedAt = time(p.timeVerified);
      if (s.verifiedAt === undefined) c.problem(v, `${label}: the verdict has no valid timeVerified`);
      s.policy = policyOf(v);
      if (s.policy && s.policy.environment !== env)
        c.problem(v, `${label}: the verdict's policy is ${s.policy.environment}'s, not ${env}'s`);
    }
    if (d?.statement) {
      const p = d.predicate;
      const pv = isObject(p.verdict) && isObject(p.verdict.digest) ? str(p.verdict.digest.sha256) : undefined;
      if (p.environment !== env) c.problem(d, `${label}: the deployment is to ${String(p.environment)}, not ${env}`);
      if (p.environmentUri !== undefined && p.environmentUri !== envUri(env))
        c.problem(d, `${label}: the deployment's environmentUri is ${String(p.environmentUri)}`);
      if (pv !== step.verdict)
        c.problem(d, `${label}: the deployment cites verdict ${String(pv)}, not the step's verdict ${step.verdict}`);
      s.deployedAt = time(p.deployedAt);
      if (s.deployedAt === undefined) c.problem(d, `${label}: the deployment has no valid deployedAt`);
      else if (p.deployedAt !== step.deployedAt)
        c.problem(
          d,
          `${label}: the manifest says deployed at ${step.deployedAt}, the signed deployment says ${String(p.deployedAt)}`,
        );
      const claimed = time(step.deployedAt);
      if (claimed !== undefined && s.verifiedAt !== undefined && claimed < s.verifiedAt) {
        c.problem(
          d,
          `${label}: the manifest puts the deployment (${step.deployedAt}) before its verdict ${step.verdict} (${new Date(s.verifiedAt).toISOString()})`,
        );
      }
      s.digest = d.subjects[0] ? `sha256:${d.subjects[0]}` : null;
      const cited = Array.isArray(p.exceptions)
        ? p.exceptions.map((x) => (isObject(x) && isObject(x.digest) ? str(x.digest.sha256) : undefined))
        : [];
      if (step.exception && !cited.includes(step.exception))
        c.problem(d, `${label}: the deployment does not cite the step's exception ${step.exception}`);
      for (const x of cited)
        if (x !== step.exception)
          c.problem(d, `${label}: the deployment cites exception ${String(x)}, which the manifest's step does not`);
    }
    if (v && d && v.statement && d.statement) {
      // Same digest; the verdict came first.
      if (v.subjects.join() !== d.subjects.join()) {
        c.problem(
          d,
          `${label}: the deployment is about ${d.report.subjects.join(', ')}, its verdict ${v.a.id} about ${v.report.subjects.join(', ')}`,
        );
      }
      if (s.verifiedAt !== undefined && s.deployedAt !== undefined && s.deployedAt < s.verifiedAt) {
        c.problem(
          d,
          `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, before its verdict ${v.a.id} was issued at ${new Date(s.verifiedAt).toISOString()}`,
        );
      }
      if (v.logIndex !== null && d.logIndex !== null && d.logIndex <= v.logIndex) {
        c.problem(d, `${label}: logged at #${d.logIndex}, before its verdict ${v.a.id} (#${v.logIndex})`);
      }
      if (
        s.policy &&
        s.verifiedAt !== undefined &&
        s.deployedAt !== undefined &&
        s.deployedAt >= s.verifiedAt + s.policy.verdictTtlMs
      ) {
        c.problem(
          d,
          `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, after its verdict expired (issued ${new Date(s.verifiedAt).toISOString()}, valid ${s.policy.verdictTtl})`,
        );
      }
      const verdictCitesException = inputIds(v).filter((id) => c.items.get(id)?.a.role === 'rebuild-exception');
      for (const x of verdictCitesException)
        if (x !== step.exception)
          c.problem(v, `${label}: the verdict cites exception ${x}, which the manifest's step does not`);
    }
    if (step.exception && s.exception && v?.statement) {
      const x = s.exception;
      const p = x.predicate;
      if (!inputIds(v).includes(x.a.id))
        c.problem(v, `${label}: the verdict does not cite the step's exception ${x.a.id}`);
      if (p.environment !== env) c.problem(x, `${label}: the exception is for ${String(p.environment)}, not ${env}`);
      const expires = time(p.expiresAt);
      const approved = time(p.approvedAt);
      if (s.verifiedAt !== undefined && (expires === undefined || expires <= s.verifiedAt)) {
        c.problem(x, `${label}: the exception expired (${String(p.expiresAt)}) before the verdict ${v.a.id} used it`);
      }
      if (s.verifiedAt !== undefined && (approved === undefined || approved > s.verifiedAt)) {
        c.problem(
          x,
          `${label}: the exception was not approved (${String(p.approvedAt)}) when the verdict ${v.a.id} used it`,
        );
      }
      if (x.logIndex !== null && v.logIndex !== null && x.logIndex >= v.logIndex)
        c.problem(x, `${label}: logged after the verdict that used it`);
      const approvers = Array.isArray(p.approvers) ? p.approvers : [];
      if (new Set(approvers).size !== approvers.length || approvers.includes(p.requestedBy)) {
        c.problem(x, `${label}: the exception's approvers are not distinct from each other and from the requester`);
      }
      if (s.policy && approvers.length < s.policy.rebuilds.minApprovals) {
        c.problem(x, `${label}: ${approvers.length} approval(s), the policy needs ${s.policy.rebuilds.minApprovals}`);
      }
      if (s.policy && !s.policy.rebuilds.allowWithException)
        c.problem(x, `${label}: ${env}'s policy allows no rebuild exceptions`);
      if (!m.exceptions.includes(x.a.id)) c.problem(x, `${label}: manifest.exceptions does not list it`);
    }
    // The digest: the pack's, or an original a later step's exception borrows from.
    if (s.digest !== null && s.digest !== m.digest) {
      const borrowedStep = states
        .slice(s.index + 1)
        .some((t) => t.exception && str(t.exception.predicate.original) === s.digest && borrowable.has(s.digest!));
      if (!borrowedStep && d) c.problem(d, `${label}: deploys ${s.digest}, not the pack's digest ${m.digest}`);
    }

    // Promotion order: after the previous step, and where the policy says.
    if (prev) {
      if (s.deployedAt !== undefined && prev.deployedAt !== undefined && s.deployedAt <= prev.deployedAt && d) {
        c.problem(
          d,
          `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, not after the previous step (${prev.step.environment}, ${new Date(prev.deployedAt).toISOString()})`,
        );
      }
      if (
        d &&
        prev.deployment &&
        d.logIndex !== null &&
        prev.deployment.logIndex !== null &&
        d.logIndex <= prev.deployment.logIndex
      ) {
        c.problem(
          d,
          `${label}: logged at #${d.logIndex}, before the previous step's deployment (#${prev.deployment.logIndex})`,
        );
      }
    }
    if (s.policy && v?.statement) {
      const after = s.policy.after;
      if (after === null) {
        if (prev)
          c.problem(
            v,
            `${label}: ${env}'s policy names no prior stage, yet the manifest puts ${prev.step.environment} before it`,
          );
      } else {
        // The verdict must cite a deployment to the prior stage, in the pack, of this digest (or,
        // under the step's exception, of the original), made before the verdict.
        const original = step.exception && s.exception ? str(s.exception.predicate.original) : undefined;
        const own = v.subjects[0] !== undefined ? `sha256:${v.subjects[0]}` : undefined;
        const priorDeployments = inputIds(v)
          .map((id) => c.items.get(id))
          .filter((x): x is Item => x?.a.role === 'deployment' && x.predicate.environment === after);
        const fitting = priorDeployments.filter((pd) => {
          const about = pd.subjects[0] !== undefined ? `sha256:${pd.subjects[0]}` : undefined;
          const at = time(pd.predicate.deployedAt);
          const before =
            at !== undefined &&
            s.verifiedAt !== undefined &&
            at <= s.verifiedAt &&
            (pd.logIndex ?? Infinity) < (v.logIndex ?? -Infinity);
          if (!before)
            c.problem(
              pd,
              `${label}: the ${after} deployment the ${env} verdict ${v.a.id} cites is not earlier than that verdict`,
            );
          return before && about !== undefined && (about === own || about === original);
        });
        if (fitting.length === 0) {
          c.problem(
            v,
            `${label}: ${env}'s policy requires a deployment to ${after} first, and the verdict cites none of ${own ?? 'this digest'}${original ? ` or the original ${original}` : ''} that is in the pack`,
          );
        }
        if (prev && prev.step.environment !== after) {
          c.problem(
            v,
            `${label}: ${env}'s policy requires ${after} first, but the manifest puts ${prev.step.environment} before it`,
          );
        } else if (!prev && !original) {
          c.problem(
            v,
            `${label}: ${env}'s policy requires ${after} first, but the manifest has no ${after} step before it`,
          );
        }
      }
    }
    prev = s;
  }
  if (m.environment !== null) {
    const last = states[states.length - 1];
    if (!last || last.step.environment !== m.environment) {
      c.problems.push(
        `manifest: the pack is for environment ${m.environment}, but its last step is ${last ? last.step.environment : 'missing'}`,
      );
    }
  }

  // Every policy entry is what it says.
  for (const p of pack.policies) {
    if (sha256hex(Buffer.from(p.content, 'utf8')) !== p.sha256)
      c.problems.push(`policy ${p.uri}: its content does not hash to ${p.sha256}`);
  }

  const event = (item: Item | undefined, id: string, at: number | undefined): StepEvent => ({
    id,
    signer: item?.report.signer ?? null,
    at: at === undefined ? null : new Date(at).toISOString(),
    logIndex: item?.logIndex ?? null,
  });
  return states.map((s) => ({
    environment: s.step.environment,
    digest: s.digest,
    verdict: event(s.verdict, s.step.verdict, s.verifiedAt),
    deployment: event(s.deployment, s.step.deployment, s.deployedAt),
    exception: s.step.exception,
  }));
}

// ---------------------------------------------------------------------------------------------

/** Verify an evidence pack offline. Never throws for a bad pack: the report says what is wrong. */
export async function verifyPack(pack: unknown, opts: VerifyPackOptions = {}): Promise<PackReport> {
  return verifyPackSync(pack, opts);
}

export function verifyPackSync(input: unknown, opts: VerifyPackOptions = {}): PackReport {
  const report: PackReport = {
    ok: false,
    digest: null,
    environment: null,
    issuer: null,
    generatedAt: null,
    trustedRoot: opts.trustedRoot !== undefined ? 'given' : 'pack',
    checkpoint: null,
    steps: [],
    borrowed: [],
    attestations: [],
    problems: [],
  };
  if (!isObject(input)) {
    report.problems.push('pack: not a JSON object');
    return report;
  }
  if (typeof input.mediaType !== 'string' || !input.mediaType.startsWith('application/vnd.waybill.evidence+json')) {
    report.problems.push(`pack: mediaType ${JSON.stringify(input.mediaType)} is not ${EVIDENCE_PACK_MEDIA_TYPE}`);
    return report;
  }
  if (input.mediaType !== EVIDENCE_PACK_MEDIA_TYPE) {
    report.problems.push(
      `pack: unsupported version ${input.mediaType} (this verifier reads ${EVIDENCE_PACK_MEDIA_TYPE})`,
    );
    return report;
  }
  const parsed = PackShape.safeParse(input);
  if (!parsed.success) {
    report.problems.push(...shapeProblems(parsed.error, 'pack'));
    return report;
  }
  const pack = parsed.data;
  report.digest = pack.manifest.digest;
  report.environment = pack.manifest.environment;
  report.issuer = pack.issuer;
  report.generatedAt = pack.generatedAt;

  // Trust: the root the auditor brought, which must be the pack's.
  let root: Record<string, unknown> = pack.trustedRoot;
  if (opts.trustedRoot !== undefined) {
    let given: unknown = opts.trustedRoot;
    if (typeof given === 'string') {
      try {
        given = JSON.parse(given);
      } catch {
        given = undefined;
      }
    }
    if (!isObject(given)) {
      report.problems.push('trusted root: the one given is not a JSON object');
      return report;
    }
    if (canonicalize(given) !== canonicalize(pack.trustedRoot)) {
      report.problems.push(
        "trusted root: the pack's trustedRoot is not the trusted root given: the pack was made (or altered) under other keys; verifying with the given root",
      );
    }
    root = given;
  }
  const issuerUrls = [
    ...(Array.isArray(root.tlogs) ? root.tlogs : []).map((t) => (isObject(t) ? str(t.baseUrl) : undefined)),
    ...(Array.isArray(root.certificateAuthorities) ? root.certificateAuthorities : []).map((ca) =>
      isObject(ca) ? str(ca.uri) : undefined,
    ),
  ].map((u) => u?.replace(/\/+$/, ''));
  if (!issuerUrls.includes(pack.issuer.replace(/\/+$/, ''))) {
    report.problems.push(
      `pack: issuer ${pack.issuer} is neither a log nor a certificate authority of the trusted root`,
    );
  }
  const logKeys = logKeysOf(root);
  if (logKeys.length === 0) report.problems.push('trusted root: no usable transparency-log key');

  // The checkpoint.
  let checkpoint: ParsedCheckpoint | null = null;
  try {
    checkpoint = parseCheckpoint(pack.checkpoint);
  } catch (e) {
    report.problems.push(`checkpoint: does not parse: ${messageOf(e)}`);
  }
  if (checkpoint) {
    let verified = false;
    const sig = checkpoint.signatures[0];
    const candidates = sig ? logKeys.filter((k) => k.baseUrl.includes(sig.name)) : [];
    let why = sig ? `signed by ${sig.name}, which names no log of the trusted root` : 'no signature';
    for (const k of candidates) {
      try {
        verifyCheckpoint(pack.checkpoint, { name: sig!.name, publicKey: k.publicKey });
        verified = true;
        break;
      } catch (e) {
        why = messageOf(e).replace(/^checkpoint: /, '');
      }
    }
    if (!verified)
      report.problems.push(
        `checkpoint: the signature does not verify with the trusted root's log key (${why}): the checkpoint was altered or is not this log's`,
      );
    report.checkpoint = {
      origin: checkpoint.origin,
      size: checkpoint.size,
      rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
      verified,
    };
  }

  // Every bundle, then the chain.
  const checker = new Checker(pack, root, logKeys, checkpoint);
  for (const [i, a] of pack.attestations.entries()) checker.attestation(a, i);
  const seenIndex = new Map<number, string>();
  for (const item of checker.items.values()) {
    if (item.logIndex === null) continue;
    const other = seenIndex.get(item.logIndex);
    if (other) checker.problem(item, `log index #${item.logIndex} is also claimed by ${other}`);
    else seenIndex.set(item.logIndex, item.a.id);
  }
  // Every inclusion proof is against the pack's checkpoint: its tree head (size and root) and
  // its copy of the note. Said once when no proof agrees (the pack's checkpoint was replaced or
  // altered), else for each bundle whose proof disagrees.
  const aggregate = (items: Item[], all: string, each: string) => {
    if (items.length > 0 && items.length === checker.items.size && items.length > 1) {
      report.problems.push(`checkpoint: ${all.replace('N', String(items.length))}`);
      for (const item of items) {
        item.report.ok = false;
        item.report.problems.push(each);
      }
    } else {
      for (const item of items) checker.problem(item, each);
    }
  };
  aggregate(
    checker.otherRoot,
    'its tree head (size, root hash) is not the one any of the N inclusion proofs proves: the checkpoint was altered or replaced',
    "inclusion proof: its tree size and root hash are not the checkpoint's",
  );
  aggregate(
    checker.otherCheckpoint,
    'it is not the checkpoint note any of the N inclusion proofs carries: the checkpoint was altered or replaced',
    "inclusion proof: the checkpoint it carries is not the pack's checkpoint",
  );
  report.steps = checkChain(checker);
  report.borrowed = checker.borrowed;
  report.attestations = [...checker.items.values()].map((i) => i.report);
  report.problems.push(...checker.problems);
  report.ok = report.problems.length === 0;
  return report;
}
