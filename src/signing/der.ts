// A minimal DER writer (only what a Fulcio-shaped leaf needs, see leaf.ts) and the X.509
// encoding helpers around it: PEM, subject key identifiers, checked certificate text.
import { createHash, randomBytes } from 'node:crypto';
import { ASN1Obj } from '@sigstore/core';
import { toBase64 } from '../util/encoding.ts';

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n < 0x100) return Uint8Array.of(0x81, n);
  if (n < 0x10000) return Uint8Array.of(0x82, n >> 8, n & 0xff);
  if (n < 0x1000000) return Uint8Array.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  throw new RangeError('DER value too long');
}

/** tag || length || concat(parts) */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const l = derLength(len);
  const out = Buffer.allocUnsafe(1 + l.length + len);
  out[0] = tag;
  out.set(l, 1);
  let off = 1 + l.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`invalid OID ${oid}`);
    return Number(a);
  });
  if (arcs.length < 2) throw new Error(`invalid OID ${oid}`);
  const bytes: number[] = [];
  const pushArc = (v: number): void => {
    const tmp = [v & 0x7f];
    v = Math.floor(v / 128);
    while (v > 0) {
      tmp.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(...tmp);
  };
  pushArc(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) pushArc(a);
  return tlv(0x06, Uint8Array.from(bytes));
}

const DER_TRUE = Uint8Array.of(0x01, 0x01, 0xff);

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
export function extension(oidDer: Uint8Array, critical: boolean, value: Uint8Array): Buffer {
  return critical ? tlv(0x30, oidDer, DER_TRUE, tlv(0x04, value)) : tlv(0x30, oidDer, tlv(0x04, value));
}

/** DER UTF8String. */
export function derUtf8String(s: string): Buffer {
  return tlv(0x0c, Buffer.from(s, 'utf8'));
}

/** UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), second precision. */
export function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const y = d.getUTCFullYear();
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** 16 random bytes as a positive, minimally encoded DER INTEGER (127 bits of entropy). */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  if (b[0] === 0) b[0] = 0x01;
  return b;
}

export function toPem(der: Uint8Array, label: string): string {
  const b64 = toBase64(der);
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into DER certificates, in order. */
export function pemCertificatesToDer(pem: string): Buffer<ArrayBuffer>[] {
  const out: Buffer<ArrayBuffer>[] = [];
  for (const m of pem.matchAll(PEM_CERT_RE)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

// SubjectPublicKeyInfo header of every uncompressed P-256 key (26 bytes; the 65-byte point follows).
export const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes (as Fulcio does). */
export function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  const buf = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  if (buf.length === 91 && buf.subarray(0, 26).equals(P256_SPKI_PREFIX)) {
    return createHash('sha1').update(buf.subarray(26)).digest();
  }
  const obj = ASN1Obj.parseBuffer(Buffer.from(buf) as Buffer<ArrayBuffer>);
  const bits = obj.subs[1];
  if (!bits || bits.value.length < 1) throw new Error('invalid SubjectPublicKeyInfo');
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

/** `s` as certificate text: non-empty, no control characters, ASCII when `ascii` (IA5String). */
export function checkText(name: string, s: unknown, { ascii = false } = {}): string {
  if (typeof s !== 'string' || s.length === 0) throw new TypeError(`${name} must be a non-empty string`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find control characters
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new TypeError(`${name} contains control characters`);
  if (ascii && !/^[\u0020-\u007e]+$/.test(s)) throw new TypeError(`${name} must be ASCII (IA5String)`);
  return s;
}
