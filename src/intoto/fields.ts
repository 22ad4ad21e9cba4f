// The in-toto v1 field types (../shared/specs/in-toto-attestation/v1/field_types.md) as zod
// schemas: ResourceURI, TypeURI, Timestamp, plus the small string formats the
// ResourceDescriptor uses (media type, base64 bytes) and the "arbitrary JSON object".
import { z } from 'zod';

// RFC 3986 section 2: unreserved / reserved characters and percent-encoding; nothing else
// (no spaces, no non-ASCII: an IRI must be percent-encoded to be a URI).
const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;

/** Why `value` is not an absolute, case-normalised RFC 3986 URI, or undefined if it is one. */
export function uriProblem(value: string): string | undefined {
  const m = SCHEME.exec(value);
  if (!m) return 'must be an absolute URI with a scheme (RFC 3986)';
  const [, scheme = '', rest = ''] = m;
  if (rest.length === 0) return 'must be an absolute URI with a scheme (RFC 3986)';
  if (!URI_CHARS.test(value) || BAD_PERCENT.test(value))
    return 'must be a URI (RFC 3986): characters outside the URI syntax must be percent-encoded';
  // field_types.md: "MUST be case normalized as per section 6.2.2.1 of RFC 3986, meaning that
  // the scheme and authority MUST be in lowercase".
  if (scheme !== scheme.toLowerCase()) return 'the URI scheme must be lowercase';
  if (rest.startsWith('//')) {
    const authority = rest.slice(2).split(/[/?#]/, 1)[0] ?? '';
    // Percent-encoding triplets keep their hex digits (RFC 3986 prefers them uppercase).
    if (/[A-Z]/.test(authority.replace(/%[0-9A-Fa-f]{2}/g, ''))) return 'the URI authority must be lowercase';
  }
  return undefined;
}

const uri = () =>
  z.string().superRefine((value, ctx) => {
    const problem = uriProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** field_types.md ResourceURI: an RFC 3986 URI identifying (and ideally locating) a resource. */
export const ResourceUri = uri();
/** field_types.md TypeURI: an RFC 3986 URI used as a collision-resistant type identifier. */
export const TypeUri = uri();

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Strict RFC 3339 date-time (section 5.6, uppercase `T` and `Z`, real calendar dates, a leap
 * second only at 23:59:60 UTC). With `utc` (the in-toto Timestamp rule) the zone must be `Z`.
 */
export function isRfc3339(value: string, opts: { utc?: boolean } = {}): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zone = m[8]!;
  if (opts.utc && zone !== 'Z') return false;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (hour > 23 || minute > 59 || second > 60) return false;
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return false;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  if (second === 60) {
    const utcMinuteOfDay = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440;
    if (utcMinuteOfDay !== 23 * 60 + 59) return false;
  }
  return true;
}

/** field_types.md Timestamp: RFC 3339, UTC ("Z"), e.g. `1985-04-12T23:20:50.52Z`. */
export const Timestamp = z.string().refine((v) => isRfc3339(v, { utc: true }), {
  message: 'must be an RFC 3339 timestamp in UTC, e.g. 1985-04-12T23:20:50.52Z',
});

/** An RFC 3339 timestamp with any offset: what SLSA provenance v0.2 producers actually wrote. */
export const TimestampWithOffset = z
  .string()
  .refine((v) => isRfc3339(v), { message: 'must be an RFC 3339 timestamp, e.g. 2022-06-17T00:47:27+03:00' });

// RFC 6838 section 4.2 restricted names; RFC 9110 parameters (token "=" token / quoted-string).
const RESTRICTED_NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[^"\\\\\\r\\n]|\\\\.)*"';
const MEDIA_TYPE = new RegExp(
  `^${RESTRICTED_NAME}/${RESTRICTED_NAME}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`,
);

/** A MIME type (`type/subtype`, optional parameters), e.g. `application/vnd.in-toto+json`. */
export const MediaType = z.string().regex(MEDIA_TYPE, 'must be a media type such as application/json (RFC 6838)');

/** Whether `value` is base64 (standard or URL-safe alphabet, padded or not: the protobuf JSON rule for bytes). */
export function isBase64(value: string): boolean {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return false;
  const body = value.replace(/=+$/, '');
  if (body.length % 4 === 1) return false;
  return value.length === body.length || value.length % 4 === 0;
}

/** A `bytes` field, carried in JSON as base64. */
export const Base64Bytes = z.string().refine(isBase64, { message: 'must be base64-encoded bytes' });

/** An arbitrary JSON object (not an array, not null). */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

/** A map of strings to strings, e.g. `builder.version`. */
export const StringMap = z.record(z.string(), z.string());

/** Whether a value is a plain JSON object (the shape the cross-field checks can look into). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Run object-level (cross-field) checks even when a field of the object already failed. */
export const whenObject = { when: (payload: { value: unknown }) => isPlainObject(payload.value) };

/** Set: not undefined, null or the empty string (all three mean "unset" to a protobuf JSON reader). */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}
