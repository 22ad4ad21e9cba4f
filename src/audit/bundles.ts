// Each bundle of a pack on its own: it parses, its id is its envelope's hash, it verifies under
// the trusted root as the signer the pack names (a bundle waybill signed) or under its own
// certificate (one signed elsewhere), its log entry is its own and is in the checkpoint
// (log-entry.ts), and its statement is read for the chain's checks.
import { createPublicKey } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity } from '@sigstore/verify';
import { messageOf } from '../errors.ts';
import { VerifyError, verifyBundleSync } from '../signing/verify.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import { type Item, isObject, labelOf, type PackContext } from './context.ts';
import { checkLogEntry } from './log-entry.ts';
import type { AttestationReport } from './report.ts';
import { AttestationShape, shapeProblems } from './shape.ts';

const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A reason for a report line: a verification error with its code. */
export function reasonOf(e: unknown): string {
  return e instanceof VerifyError ? `${e.code}: ${e.message}` : messageOf(e);
}

export function checkAttestation(ctx: PackContext, raw: unknown, index: number): void {
  const parsed = AttestationShape.safeParse(raw);
  if (!parsed.success) {
    const id = isObject(raw) && typeof raw.id === 'string' ? raw.id : `#${index}`;
    const role = isObject(raw) && typeof raw.role === 'string' ? raw.role : 'attestation';
    ctx.problems.push(...shapeProblems(parsed.error, `${role} ${id}: malformed pack entry attestations[${index}]`));
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
  if (ctx.items.has(a.id)) {
    ctx.problems.push(`${labelOf(a.role, a.id, a.environment)}: the pack lists this attestation twice`);
    return;
  }
  ctx.items.set(a.id, item);

  // The bundle parses, and its id is what the pack says.
  try {
    item.bundle = bundleFromJSON(a.bundle);
  } catch (e) {
    ctx.problem(item, `the bundle is not a valid Sigstore bundle: ${reasonOf(e)}`);
    return;
  }
  const content = item.bundle.content;
  const envelopeJson = content.$case === 'dsseEnvelope' ? a.bundle.dsseEnvelope : a.bundle.messageSignature;
  const computed = sha256hex(jcs(envelopeJson));
  if (computed !== a.id) {
    ctx.problem(
      item,
      `the id is not the SHA-256 of the bundle's ` +
        `${content.$case === 'dsseEnvelope' ? 'DSSE envelope' : 'message signature'} (that is ${computed}): the ` +
        `bundle was altered or swapped`,
    );
  }

  checkSignature(ctx, item);
  checkLogEntry(ctx, item);
  readStatement(ctx, item);
}

function checkSignature(ctx: PackContext, item: Item): void {
  const { a } = item;
  if (a.origin === 'signed') {
    if (item.bundle!.content.$case !== 'dsseEnvelope')
      ctx.problem(item, 'a bundle waybill signed must carry a DSSE envelope');
    if (a.signer.issuer.replace(/\/+$/, '') !== ctx.issuer) {
      ctx.problem(item, `recorded signer issuer ${a.signer.issuer} is not the pack's issuer ${ctx.pack.issuer}`);
    }
    try {
      const result = verifyBundleSync(a.bundle, {
        trustedRoot: ctx.root,
        identity: { subjectAlternativeName: a.signer.subject, issuer: a.signer.issuer },
      });
      item.report.signer = result.signer.subject ?? a.signer.subject;
    } catch (e) {
      ctx.problem(item, `the bundle does not verify (signed by ${a.signer.subject}): ${reasonOf(e)}`);
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
        ctx.problem(
          item,
          `the pack's log entry (#${a.logEntry.logIndex}) is not the bundle's own log entry (#${own.logIndex})`,
        );
    } else {
      ctx.problem(item, 'the bundle carries no transparency-log entry');
    }
    return;
  }
  // Ingested: signed outside waybill under an external trust root that is not in the pack.
  item.report.signer = a.signer.subject;
  item.report.notes.push(
    `signed outside waybill by ${a.signer.subject} (issuer ${a.signer.issuer}); its certificate chain and external ` +
      `log entries are not checked offline (the external trusted root is not in the pack), only waybill's log entry ` +
      `for it`,
  );
  try {
    const entity = toSignedEntity(item.bundle!);
    if (entity.key.$case === 'certificate') {
      const key = createPublicKey({ key: entity.key.certificate.publicKey, format: 'der', type: 'spki' });
      if (!entity.signature.verifySignature(key))
        ctx.problem(item, "the signature does not verify under the bundle's own certificate");
    } else {
      item.report.notes.push('key-signed: the signature is not checked offline (the public key is not in the pack)');
    }
  } catch (e) {
    // message signatures need the artifact; the log entry below still binds digest and signature
    if (item.bundle!.content.$case === 'dsseEnvelope')
      ctx.problem(item, `the bundle content does not parse: ${reasonOf(e)}`);
    else item.report.notes.push('message signature: the signature over the digest is not checked offline');
  }
}

function readStatement(ctx: PackContext, item: Item): void {
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
    ctx.problem(item, `the DSSE payload type is ${env.payloadType}, not an in-toto statement`);
    return;
  }
  let statement: unknown;
  try {
    statement = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(env.payload));
  } catch {
    ctx.problem(item, 'the DSSE payload is not UTF-8 JSON');
    return;
  }
  if (!isObject(statement) || !Array.isArray(statement.subject) || typeof statement.predicateType !== 'string') {
    ctx.problem(item, 'the DSSE payload is not an in-toto statement');
    return;
  }
  item.statement = statement;
  item.predicate = isObject(statement.predicate) ? statement.predicate : {};
  item.report.predicateType = statement.predicateType;
  if (statement.predicateType !== item.a.predicateType) {
    ctx.problem(
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
