/**
 * C2SP tlog-checkpoint bodies in C2SP signed notes, signed the way Rekor v1 does it:
 * one ECDSA P-256 log key, key hint = first 4 bytes of SHA-256(SPKI DER) (= the first
 * 4 bytes of the Rekor logID, which is what sigstore-js and sigstore-go match on),
 * signature = ASN.1 DER ECDSA-SHA256 over the note text (the body, final newline included).
 *
 *   <origin>\n<size>\n<base64 root>\n\n— <name> base64(keyHint || DER signature)\n
 */

import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { fromBase64Strict, toBase64 } from '../util/encoding.ts';

/** A checkpoint as `parseCheckpoint` returns it. `body` is the exact signed note text. */
export interface ParsedCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** C2SP extension lines (only with `allowExtensions`; waybill never writes them). */
  extensions: string[];
  body: string;
  signatures: NoteSignature[];
}

export interface NoteSignature {
  name: string;
  keyHint: Uint8Array;
  signature: Uint8Array;
}

export interface ParseOptions {
  /** Accept C2SP extension lines after the root hash. Default false: waybill's notes never have them. */
  allowExtensions?: boolean;
}

const EM_DASH = '\u2014';
const ROOT_HASH_SIZE = 32;
// C2SP asks verifiers to cap signatures (and accept at least 16); Go's note package allows 100.
const MAX_SIGNATURES = 100;
// Standard base64 with padding, whole groups only (RFC 4648 section 4).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// Tree size: ASCII decimal without leading zeros.
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

const b64 = toBase64;

// Strict base64: Buffer.from(s, 'base64') silently skips junk, and non-zero padding bits decode to
// the same bytes as another string; say which of the two it is.
function decodeBase64(s: string, what: string): Uint8Array {
  if (s.length === 0 || !BASE64.test(s)) throw new Error(`checkpoint: ${what} is not standard base64`);
  const bytes = fromBase64Strict(s);
  if (!bytes) throw new Error(`checkpoint: ${what} is not canonical base64`);
  return bytes;
}

// C2SP signed-note: key names are non-empty with no Unicode spaces and no '+'.
function assertKeyName(name: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || !name.isWellFormed() || hasControl(name)) {
    throw new Error(`checkpoint: invalid key name ${JSON.stringify(name)}`);
  }
}

// Signed notes must not contain ASCII control characters other than newline.
function hasControl(s: string, allowNewline = false): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && !(allowNewline && c === 0x0a)) return true;
  }
  return false;
}

// The log key as a public key, whichever half we were handed.
function publicOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

// Only ECDSA P-256 is a Rekor v1 log key here; anything else is a configuration error.
function assertP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('checkpoint: the log key must be an ECDSA P-256 key');
  }
}

/** Rekor logID: SHA-256 of the log public key's SPKI DER. */
export function logId(publicKey: KeyObject): Uint8Array {
  const der = publicOf(publicKey).export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

// The hint of each key seen: a log signs one checkpoint per batch with the same key, and
// deriving the hint exports the public key as SPKI DER (~0.1 ms) every time.
const HINTS = new WeakMap<KeyObject, Uint8Array>();

/** Signed-note key hint: the first 4 bytes of the logID (Rekor's convention, not C2SP's name-based key ID). */
export function keyHint(publicKey: KeyObject): Uint8Array {
  let hint = HINTS.get(publicKey);
  if (!hint) {
    hint = logId(publicKey).slice(0, 4);
    HINTS.set(publicKey, hint);
  }
  return hint.slice();
}

/** The checkpoint note text: origin, size and base64 root hash, each newline-terminated. */
export function checkpointBody(cp: { origin: string; size: number; rootHash: Uint8Array }): string {
  // Origin is a single non-empty line; extra newlines would smuggle in more body lines.
  if (cp.origin.length === 0 || hasControl(cp.origin) || !cp.origin.isWellFormed()) {
    throw new Error(`checkpoint: invalid origin ${JSON.stringify(cp.origin)}`);
  }
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw new RangeError(`checkpoint: size must be a non-negative safe integer, got ${String(cp.size)}`);
  }
  if (cp.rootHash.length !== ROOT_HASH_SIZE) {
    throw new Error(`checkpoint: root hash must be ${ROOT_HASH_SIZE} bytes, got ${cp.rootHash.length}`);
  }
  return `${cp.origin}\n${cp.size}\n${b64(cp.rootHash)}\n`;
}

/** Sign a note body: returns body, blank line, and exactly one `— <name> base64(hint || sig)` line. */
export function signCheckpoint(body: string, signer: { name: string; privateKey: KeyObject }): string {
  assertKeyName(signer.name);
  // Refuse to sign anything we would refuse to parse back.
  if (!body.endsWith('\n') || body.includes('\n\n') || hasControl(body, true) || !body.isWellFormed()) {
    throw new Error('checkpoint: body must be non-empty lines, each ending in a newline');
  }
  if (signer.privateKey.type !== 'private') throw new Error('checkpoint: signer needs a private key');
  assertP256(signer.privateKey);
  // Node's default ECDSA signature encoding is ASN.1 DER, which Rekor and sigstore clients expect.
  const sig = sign('sha256', Buffer.from(body, 'utf8'), signer.privateKey);
  const hint = keyHint(signer.privateKey);
  const blob = new Uint8Array(hint.length + sig.length);
  blob.set(hint, 0);
  blob.set(sig, hint.length);
  return `${body}\n${EM_DASH} ${signer.name} ${b64(blob)}\n`;
}

/**
 * Strictly parse a signed checkpoint. Rejects: control characters, a missing blank line,
 * empty or malformed body lines, extension lines (unless `allowExtensions`), sizes with
 * leading zeros or beyond 2^53 - 1, non-canonical base64, a root hash that is not 32 bytes,
 * missing or malformed signature lines, and anything after the last signature line.
 * Parsing does not verify signatures: use `verifyCheckpoint`.
 */
export function parseCheckpoint(note: string, opts: ParseOptions = {}): ParsedCheckpoint {
  if (!note.isWellFormed()) throw new Error('checkpoint: note is not valid Unicode');
  if (hasControl(note, true)) throw new Error('checkpoint: note contains control characters');
  // Body lines are never empty, so the first blank line is the only possible separator.
  const sep = note.indexOf('\n\n');
  if (sep < 0) throw new Error('checkpoint: missing blank line between body and signatures');
  const body = note.slice(0, sep + 1);
  const sigText = note.slice(sep + 2);

  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new Error('checkpoint: body needs origin, size and root hash lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new Error('checkpoint: empty origin');
  if (!DECIMAL.test(sizeText)) throw new Error(`checkpoint: invalid tree size ${JSON.stringify(sizeText)}`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new Error(`checkpoint: tree size ${sizeText} exceeds 2^53 - 1`);
  const rootHash = decodeBase64(rootText, 'root hash');
  if (rootHash.length !== ROOT_HASH_SIZE) {
    throw new Error(`checkpoint: root hash must be ${ROOT_HASH_SIZE} bytes, got ${rootHash.length}`);
  }
  if (extensions.length > 0 && !opts.allowExtensions) {
    throw new Error(`checkpoint: unexpected extra body line ${JSON.stringify(extensions[0])}`);
  }

  // Every remaining line, up to a final newline, must be a signature line.
  if (sigText.length === 0) throw new Error('checkpoint: no signature lines');
  if (!sigText.endsWith('\n')) throw new Error('checkpoint: signature lines must end with a newline');
  const sigLines = sigText.slice(0, -1).split('\n');
  if (sigLines.length > MAX_SIGNATURES) throw new Error(`checkpoint: more than ${MAX_SIGNATURES} signatures`);
  const signatures = sigLines.map((line): NoteSignature => {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new Error(`checkpoint: malformed signature line ${JSON.stringify(line)}`);
    const name = m[1] as string;
    assertKeyName(name);
    const blob = decodeBase64(m[2] as string, `signature from ${name}`);
    // 4-byte key hint plus at least one byte of signature.
    if (blob.length < 5) throw new Error(`checkpoint: signature from ${name} is too short`);
    return { name, keyHint: blob.slice(0, 4), signature: blob.slice(4) };
  });

  return { origin, size, rootHash, extensions, body, signatures };
}

/**
 * Parse and verify a checkpoint signed by the log `name` with `publicKey`. Stricter than C2SP
 * (which ignores unknown signatures): like Rekor v1 and the Go verifiers, the note must carry
 * exactly one signature line, from `name`, with the key's hint, and it must verify.
 */
export function verifyCheckpoint(
  note: string,
  log: { name: string; publicKey: KeyObject },
  opts: ParseOptions = {},
): ParsedCheckpoint {
  const cp = parseCheckpoint(note, opts);
  if (cp.signatures.length !== 1) {
    throw new Error(`checkpoint: expected exactly one signature line, got ${cp.signatures.length}`);
  }
  const sig = cp.signatures[0] as NoteSignature;
  if (sig.name !== log.name) {
    throw new Error(`checkpoint: signed by ${JSON.stringify(sig.name)}, expected ${JSON.stringify(log.name)}`);
  }
  const publicKey = publicOf(log.publicKey);
  assertP256(publicKey);
  if (!Buffer.from(sig.keyHint).equals(keyHint(publicKey))) {
    throw new Error('checkpoint: signature key hint does not match the log key');
  }
  let ok = false;
  try {
    ok = verify('sha256', Buffer.from(cp.body, 'utf8'), publicKey, sig.signature);
  } catch {
    // OpenSSL rejects some malformed DER outright; that is just a bad signature.
  }
  if (!ok) throw new Error('checkpoint: signature does not verify');
  return cp;
}
