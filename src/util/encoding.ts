// Byte and text encodings used across the service: base64, SHA-256 hex, and the JSON
// Canonicalization Scheme (RFC 8785) that every signed or hashed JSON value goes through.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Standard base64 (with padding) of bytes, without copying them. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Bytes of strict standard base64 (padding, canonical trailing bits), or null when `text` is
 * not exactly that: Node's decoder accepts anything, so a signed value must be checked.
 */
export function fromBase64Strict(text: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : null;
}

/** Lower-case hex SHA-256 of bytes or of a string's UTF-8. */
export function sha256hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

type Canonicalize = (value: unknown) => string | undefined;
// The package is CommonJS: Node hands over the function itself, some bundlers `{ default }`.
const canonical: Canonicalize =
  typeof canonicalize === 'function'
    ? (canonicalize as Canonicalize)
    : (canonicalize as unknown as { default: Canonicalize }).default;

/** RFC 8785 canonical JSON; throws for a value JSON cannot represent (undefined, a function). */
export function jcs(value: unknown): string {
  const text = canonical(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalized');
  return text;
}
