import { describe, expect, it } from 'vitest';
import {
  Base64Bytes,
  isRfc3339,
  MediaType,
  ResourceUri,
  Timestamp,
  TimestampWithOffset,
  uriProblem,
} from '../../src/intoto/fields.ts';

describe('URIs (field_types.md ResourceURI / TypeURI)', () => {
  it.each([
    'pkg:deb/debian/stunnel@5.50-3?arch=amd64', // field_types.md example
    'https://in-toto.io/Statement/v1',
    'git+https://android.googlesource.com/platform/vendor/foo/bar@16244f4e7524d44a8f3060905eaf9190e96e9fb0' +
      '#prebuilts/Foo/Foo.apk',
    'mailto:person@example.com',
    'pkg:npm/%40scope/name@1.0.0',
    'file:///tmp/x',
    'https://github.com/Owner/Repo/blob/Main/README.md', // only scheme and authority must be lowercase
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
  ])('accepts %s', (uri) => {
    expect(uriProblem(uri)).toBeUndefined();
    expect(ResourceUri.safeParse(uri).success).toBe(true);
  });

  it.each([
    ['', 'absolute URI'],
    ['not a uri', 'absolute URI'],
    ['/relative/path', 'absolute URI'],
    ['//example.com/x', 'absolute URI'],
    ['1http://example.com', 'absolute URI'],
    ['https:', 'absolute URI'],
    ['https://example.com/a b', 'percent-encoded'],
    ['https://example.com/é', 'percent-encoded'],
    ['https://example.com/%zz', 'percent-encoded'],
    ['https://example.com/<x>', 'percent-encoded'],
    ['HTTPS://example.com/', 'scheme must be lowercase'],
    ['https://Example.com/', 'authority must be lowercase'],
    ['https://USER@example.com/', 'authority must be lowercase'],
  ])('rejects %j', (uri, problem) => {
    expect(uriProblem(uri)).toContain(problem);
    expect(ResourceUri.safeParse(uri).success).toBe(false);
  });
});

describe('timestamps (field_types.md Timestamp: RFC 3339, UTC)', () => {
  it.each([
    '1985-04-12T23:20:50.52Z',
    '2024-02-29T00:00:00Z',
    '2023-12-31T23:59:60Z',
    '2023-01-01T00:00:00.123456789Z',
  ])('accepts %s', (t) => {
    expect(Timestamp.safeParse(t).success).toBe(true);
  });

  it.each([
    '1985-04-12T23:20:50.52+01:00', // not UTC
    '1985-04-12 23:20:50Z', // space separator
    '1985-04-12t23:20:50z', // lowercase
    '1985-04-12T23:20:50', // no zone
    '1985-04-12T23:20Z', // no seconds
    '1985-04-12',
    '2023-02-29T00:00:00Z', // not a leap year
    '2023-02-30T00:00:00Z',
    '2023-04-31T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-00-01T00:00:00Z',
    '2023-01-01T24:00:00Z',
    '2023-01-01T12:60:00Z',
    '2023-01-01T12:00:60Z', // a leap second only at 23:59:60 UTC
    '2023-01-01T12:00:00.Z',
    '1900-02-29T00:00:00Z',
    ' 2023-01-01T00:00:00Z',
    '+2023-01-01T00:00:00Z',
  ])('rejects %s', (t) => {
    expect(Timestamp.safeParse(t).success).toBe(false);
  });

  it('with offsets allowed (v0.2), checks the offset and the leap-second rule in UTC', () => {
    expect(TimestampWithOffset.safeParse('2022-06-17T00:47:27+03:00').success).toBe(true);
    expect(TimestampWithOffset.safeParse('2022-06-17T00:47:27-00:00').success).toBe(true);
    expect(TimestampWithOffset.safeParse('2022-06-17T00:47:27+24:00').success).toBe(false);
    expect(TimestampWithOffset.safeParse('2022-06-17T00:47:27+03:60').success).toBe(false);
    expect(TimestampWithOffset.safeParse('2022-06-17T00:47:27+0300').success).toBe(false);
    expect(isRfc3339('2016-12-31T18:59:60-05:00')).toBe(true); // = 23:59:60Z
    expect(isRfc3339('2016-12-31T23:59:60-05:00')).toBe(false);
  });
});

describe('media types and bytes', () => {
  it.each([
    'application/json',
    'application/x.dsse+json',
    'application/vnd.in-toto+json',
    'text/plain; charset=utf-8',
    'application/vnd.dev.sigstore.bundle.v0.3+json',
  ])('accepts the media type %s', (m) => expect(MediaType.safeParse(m).success).toBe(true));
  it.each(['json', 'application/', '/json', 'application/json;', 'application json', 'text/plain; charset'])(
    'rejects the media type %j',
    (m) => expect(MediaType.safeParse(m).success).toBe(false),
  );

  it.each(['', 'eyAicmVzdWx0IjogIlNVQ0NFU1MiIH0=', 'YQ==', 'YQ', 'YWI', '-_-_'])('accepts the base64 %j', (b) =>
    expect(Base64Bytes.safeParse(b).success).toBe(true),
  );
  it.each(['Y', 'YQ=', 'Y===', 'not base64!', 'YQ==YQ=='])('rejects the base64 %j', (b) =>
    expect(Base64Bytes.safeParse(b).success).toBe(false),
  );
});
