// A bundle's log entry in the pack: signed by a log key of the trusted root that was valid when
// the entry was integrated, about this very bundle (body vs envelope or message signature), and
// included in the pack's checkpoint.
import { dsseEnvelopeJson, verifyInclusionPromise } from '../tlog/entry.ts';
import { leafHash, verifyInclusion } from '../tlog/merkle.ts';
import { fromBase64Strict as b64, sha256hex } from '../util/encoding.ts';
import { bytesEqual, type Item, isObject, type PackContext } from './context.ts';

function pemToDer(pem: string): Uint8Array | null {
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END [A-Z0-9 ]+-----/.exec(pem);
  return m ? b64(m[1]!.replace(/\s+/g, '')) : null;
}

export function checkLogEntry(ctx: PackContext, item: Item): void {
  const { a } = item;
  const e = a.logEntry;
  const body = b64(e.canonicalizedBody);
  if (!body) {
    ctx.problem(item, 'log entry: canonicalizedBody is not standard base64');
    return;
  }
  const keyId = b64(e.logId.keyId);
  const keys = keyId ? ctx.logKeys.filter((k) => bytesEqual(k.keyId, keyId)) : [];
  if (keys.length === 0) {
    ctx.problem(item, `log entry #${e.logIndex}: logId ${e.logId.keyId} is not a log of the trusted root`);
  } else {
    const at = Number(e.integratedTime) * 1000;
    const inService = (t: number) => keys.find((k) => t >= k.start && t <= k.end);
    let logKey = inService(at);
    if (!logKey && a.origin === 'ingested') {
      // The log keeps the SET it signed when it logged each entry; an entry an older waybill logged
      // was sealed (given its SET) at the first start of a newer one, with the key in service then,
      // which after a rotation is not the entry's own. Accepted under the key in service when the
      // pack was made, with a note.
      logKey = inService(Date.parse(ctx.pack.generatedAt));
      if (logKey)
        item.report.notes.push(
          `waybill's SET for entry #${e.logIndex} was made with the log key in service when the pack was made`,
        );
    }
    if (!logKey)
      ctx.problem(
        item,
        `log entry #${e.logIndex}: integrated at ${new Date(at).toISOString()}, outside the log key's validity`,
      );
    const set = b64(e.inclusionPromise.signedEntryTimestamp);
    const ok =
      set !== null &&
      verifyInclusionPromise(
        { body, integratedTime: Number(e.integratedTime), logId: keyId!, logIndex: Number(e.logIndex) },
        set,
        (logKey ?? keys[0]!).publicKey,
      );
    if (!ok)
      ctx.problem(item, `log entry #${e.logIndex}: the signed entry timestamp (SET) does not verify with the log key`);
  }

  // The body describes this bundle.
  let entry: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    if (!isObject(parsed)) throw new Error('not an object');
    entry = parsed;
  } catch {
    ctx.problem(item, `log entry #${e.logIndex}: canonicalizedBody is not a JSON object`);
    return;
  }
  if (entry.kind !== e.kindVersion.kind || entry.apiVersion !== e.kindVersion.version) {
    ctx.problem(
      item,
      `log entry #${e.logIndex}: body kind ${String(entry.kind)}/${String(entry.apiVersion)} differs from ` +
        `kindVersion ${e.kindVersion.kind}/${e.kindVersion.version}`,
    );
  }
  checkEntryMatchesBundle(ctx, item, entry);

  // Included in the pack's checkpoint.
  const proof = e.inclusionProof;
  const cp = ctx.checkpoint;
  if (proof.logIndex !== e.logIndex)
    ctx.problem(item, `inclusion proof: its logIndex ${proof.logIndex} is not the entry's ${e.logIndex}`);
  if (proof.checkpoint.envelope !== ctx.pack.checkpoint) ctx.otherCheckpoint.push(item);
  const rootHash = b64(proof.rootHash);
  const hashes = proof.hashes.map(b64);
  if (rootHash?.length !== 32) {
    ctx.problem(item, 'inclusion proof: rootHash is not a base64 SHA-256 hash');
    return;
  }
  if (hashes.some((h) => h === null)) {
    ctx.problem(item, 'inclusion proof: a hash is not standard base64');
    return;
  }
  const index = Number(e.logIndex);
  const size = Number(proof.treeSize);
  if (index >= size || !verifyInclusion(leafHash(body), index, size, hashes as Uint8Array[], rootHash)) {
    ctx.problem(
      item,
      `inclusion proof: entry #${e.logIndex} does not hash up to the root it claims (tree size ${size}): the proof ` +
        `or the entry was altered`,
    );
  }
  if (cp && (size !== cp.size || !bytesEqual(rootHash, cp.rootHash))) ctx.otherRoot.push(item);
}

function checkEntryMatchesBundle(ctx: PackContext, item: Item, entry: Record<string, unknown>): void {
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
      ctx.problem(item, `log entry #${e.logIndex}: kind ${e.kindVersion.kind} for a DSSE bundle`);
      return;
    }
    const sigs = Array.isArray(spec.signatures) ? spec.signatures : [];
    const logged = isObject(sigs[0]) ? sigs[0] : {};
    if (sigs.length !== 1 || env.signatures.length !== 1 || !sig) {
      ctx.problem(item, `log entry #${e.logIndex}: the entry and the envelope must each carry exactly one signature`);
      return;
    }
    const loggedSig = typeof logged.signature === 'string' ? b64(logged.signature) : null;
    if (!loggedSig || !bytesEqual(loggedSig, sig.sig))
      ctx.problem(item, `log entry #${e.logIndex}: the logged signature is not the envelope's signature`);
    const payloadHash = isObject(spec.payloadHash) ? spec.payloadHash.value : undefined;
    if (payloadHash !== sha256hex(env.payload))
      ctx.problem(
        item,
        `log entry #${e.logIndex}: the logged payload hash is not the SHA-256 of the envelope's payload`,
      );
    const envelopeHash = isObject(spec.envelopeHash) ? spec.envelopeHash.value : undefined;
    if (env.payload.length > 0 && sig.sig.length > 0 && env.payloadType.length > 0) {
      const want = sha256hex(
        dsseEnvelopeJson({ payload: env.payload, payloadType: env.payloadType, signature: sig.sig }),
      );
      if (envelopeHash !== want)
        ctx.problem(item, `log entry #${e.logIndex}: the logged envelope hash is not the envelope's`);
    }
    if (!verifierMatches(logged.verifier))
      ctx.problem(item, `log entry #${e.logIndex}: the logged verifier is not the bundle's signing certificate`);
    return;
  }
  const ms = bundle.content.messageSignature;
  if (e.kindVersion.kind !== 'hashedrekord') {
    ctx.problem(item, `log entry #${e.logIndex}: kind ${e.kindVersion.kind} for a message signature`);
    return;
  }
  const data = isObject(spec.data) && isObject(spec.data.hash) ? spec.data.hash : {};
  const signature = isObject(spec.signature) ? spec.signature : {};
  const content = typeof signature.content === 'string' ? b64(signature.content) : null;
  if (!ms.messageDigest || data.value !== Buffer.from(ms.messageDigest.digest).toString('hex')) {
    ctx.problem(item, `log entry #${e.logIndex}: the logged digest is not the bundle's message digest`);
  }
  if (!content || !bytesEqual(content, ms.signature))
    ctx.problem(item, `log entry #${e.logIndex}: the logged signature is not the bundle's`);
  const publicKey = isObject(signature.publicKey) ? signature.publicKey.content : undefined;
  if (!verifierMatches(publicKey))
    ctx.problem(item, `log entry #${e.logIndex}: the logged verifier is not the bundle's signing certificate`);
}
