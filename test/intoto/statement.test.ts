import { describe, expect, it } from 'vitest';
import {
  InTotoValidationError,
  parseStatement,
  STATEMENT_V1,
  STATEMENT_V01,
  StatementV1,
  StatementV01,
  validateStatement,
} from '../../src/intoto/statement.ts';
import type { Json } from '../helpers/json.ts';
import { errorPaths, fixture, hex, messagesAt, SHA256, statement } from './helpers.ts';

const CUSTOM = 'https://example.com/custom-predicate/v1';

describe('Statement v1', () => {
  it('parses a minimal statement; the predicate is optional', () => {
    const json = statement(CUSTOM);
    expect(validateStatement(json)).toEqual({ ok: true, version: 'v1', statement: json });
    expect(StatementV1.parse(json)).toEqual(json);
  });

  it('keeps unknown fields at every level (consumers MUST ignore them)', () => {
    const json: Record<string, Json> = {
      ...statement(CUSTOM, { anything: [1, { nested: true }] }),
      example_extension: { a: 1 },
    };
    json.subject[0].vendor_note = 'kept';
    const r = validateStatement(json);
    expect(r.ok && r.statement).toEqual(json);
    expect(StatementV1.parse(json)).toEqual(json);
  });

  it('keeps the predicate of an unknown type as an opaque object', () => {
    const predicate = { whatever: { shape: ['we', 'do', 'not', 'know'] }, result: 42 };
    const r = validateStatement(statement(CUSTOM, predicate));
    expect(r.ok && r.statement.predicate).toEqual(predicate);
  });

  it('treats an unset or null predicate as set-but-empty: a known type then reports its required fields', () => {
    expect(validateStatement(statement(CUSTOM, null)).ok).toBe(true);
    expect(errorPaths(statement('https://in-toto.io/attestation/test-result/v0.1'))).toEqual([
      '/predicate/configuration',
      '/predicate/result',
    ]);
    expect(errorPaths(statement('https://slsa.dev/provenance/v1', null))).toEqual([
      '/predicate/buildDefinition',
      '/predicate/runDetails',
    ]);
    expect(messagesAt(statement('https://slsa.dev/provenance/v1'), '/predicate/buildDefinition')).toEqual(['required']);
  });

  it.each<[string, (s: Record<string, Json>) => void, string[]]>([
    ['missing _type', (s) => delete s._type, ['/_type']],
    ['unknown _type', (s) => (s._type = 'https://in-toto.io/Statement/v2'), ['/_type']],
    ['missing subject', (s) => delete s.subject, ['/subject']],
    ['empty subject', (s) => (s.subject = []), ['/subject']],
    ['subject not an array', (s) => (s.subject = { digest: { sha256: SHA256 } }), ['/subject']],
    [
      'subject without digest',
      (s) => (s.subject = [{ name: 'a', uri: 'https://example.com/a' }]),
      ['/subject/0/digest'],
    ],
    ['subject with null digest', (s) => (s.subject[0].digest = null), ['/subject/0', '/subject/0/digest']],
    ['subject with only a name', (s) => (s.subject = [{ name: 'a' }]), ['/subject/0', '/subject/0/digest']],
    [
      'bad sha256 in the second subject',
      (s) => s.subject.push({ digest: { sha256: hex(63) } }),
      ['/subject/1/digest/sha256'],
    ],
    ['uppercase hex', (s) => (s.subject[0].digest.sha256 = SHA256.toUpperCase()), ['/subject/0/digest/sha256']],
    ['empty digest set', (s) => (s.subject[0].digest = {}), ['/subject/0/digest']],
    ['subject name not a string', (s) => (s.subject[0].name = 7), ['/subject/0/name']],
    ['subject uri not a URI', (s) => (s.subject[0].uri = 'app'), ['/subject/0/uri']],
    ['missing predicateType', (s) => delete s.predicateType, ['/predicateType']],
    ['predicateType not a URI', (s) => (s.predicateType = 'provenance'), ['/predicateType']],
    [
      'predicateType with an uppercase host',
      (s) => (s.predicateType = 'https://SLSA.dev/provenance/v1'),
      ['/predicateType'],
    ],
    ['predicate an array', (s) => (s.predicate = []), ['/predicate']],
    ['predicate a string', (s) => (s.predicate = 'x'), ['/predicate']],
  ])('rejects a statement with %s', (_, mutate, paths) => {
    const json = statement(CUSTOM);
    mutate(json);
    expect(errorPaths(json)).toEqual(paths);
    expect(StatementV1.safeParse(json).success).toBe(false);
  });

  it('says "required" for a missing field', () => {
    const json = statement(CUSTOM);
    delete json.predicateType;
    expect(messagesAt(json, '/predicateType')).toEqual(['required']);
  });

  it('rejects what is not a JSON object', () => {
    for (const v of [null, 42, [], 'nope', '{"truncated":', new Uint8Array([0xff, 0xfe])]) {
      const r = validateStatement(v);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.errors.map((e) => e.path)).toEqual(['']);
    }
  });

  it('escapes JSON-pointer paths (RFC 6901)', () => {
    const json = statement(CUSTOM);
    json.subject[0].digest = { 'sha256/x~y': '' };
    expect(errorPaths(json)).toEqual(['/subject/0/digest/sha256~1x~0y']);
  });
});

describe('Statement v0.1 (read only)', () => {
  const v01 = () => ({
    _type: STATEMENT_V01,
    subject: [{ name: 'a', digest: { sha256: SHA256 } }],
    predicateType: CUSTOM,
    predicate: { x: 1 },
  });

  it('parses, reporting the version', () => {
    expect(validateStatement(v01())).toEqual({ ok: true, version: 'v0.1', statement: v01() });
    expect(parseStatement(v01())).toEqual({ version: 'v0.1', statement: v01() });
    expect(StatementV01.parse(v01())).toEqual(v01());
  });

  it('is never accepted as v1 (waybill does not produce it)', () => {
    expect(StatementV1.safeParse(v01()).success).toBe(false);
  });

  it('requires a non-empty, unique name on every subject', () => {
    const json = v01();
    json.subject.push(
      { digest: { sha256: SHA256 } } as never,
      { name: '', digest: { sha256: SHA256 } },
      { name: 'a', digest: { sha256: SHA256 } },
    );
    expect(errorPaths(json)).toEqual(['/subject/1/name', '/subject/2/name', '/subject/3/name']);
    expect(messagesAt(json, '/subject/3/name')).toEqual(['subject names must be unique']);
  });

  it('checks digests, predicateType and predicate like v1', () => {
    const json: Record<string, Json> = v01();
    json.subject[0].digest.sha256 = 'abc';
    json.predicateType = 'nope';
    json.predicate = [];
    expect(errorPaths(json)).toEqual(['/predicate', '/predicateType', '/subject/0/digest/sha256']);
  });

  it('parses the SLSA provenance v0.2 example (a v0.1 statement)', () => {
    const parsed = parseStatement(fixture('provenance-v0.2.spec.json'));
    expect(parsed.version).toBe('v0.1');
    expect(parsed.statement.predicateType).toBe('https://slsa.dev/provenance/v0.2');
  });
});

describe('parseStatement', () => {
  it('returns the v1 statement', () => {
    const json = statement(CUSTOM, { a: 1 });
    expect(parseStatement(json)).toEqual({ version: 'v1', statement: json });
    expect(parseStatement(JSON.stringify(json))).toEqual({ version: 'v1', statement: json });
  });

  it('throws InTotoValidationError listing every bad field', () => {
    const json = statement('nope');
    json.subject[0].digest.sha256 = 'x';
    let err: unknown;
    try {
      parseStatement(json);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InTotoValidationError);
    expect((err as InTotoValidationError).errors.map((e) => e.path).sort()).toEqual([
      '/predicateType',
      '/subject/0/digest/sha256',
    ]);
  });

  it('checks the statement layer only', () => {
    expect(parseStatement(statement('https://slsa.dev/provenance/v1', { not: 'provenance' })).version).toBe('v1');
  });
});

describe('allowedPredicates', () => {
  it('rejects a predicate type not in the list at /predicateType, and still checks the rest', () => {
    const json = statement(CUSTOM, { a: 1 });
    json.subject[0].digest.sha256 = 'bad';
    expect(errorPaths(json, { allowedPredicates: ['https://slsa.dev/provenance/v1'] })).toEqual([
      '/predicateType',
      '/subject/0/digest/sha256',
    ]);
    expect(messagesAt(json, '/predicateType', { allowedPredicates: [] })).toEqual([
      `predicate type "${CUSTOM}" is not allowed here`,
    ]);
  });

  it('accepts an allowed unknown type with an opaque predicate', () => {
    const r = validateStatement(statement(CUSTOM, { a: 1 }), { allowedPredicates: [CUSTOM] });
    expect(r).toMatchObject({ ok: true, version: 'v1', statement: { predicate: { a: 1 } } });
  });

  it('still validates an allowed known type', () => {
    expect(
      errorPaths(
        statement('https://in-toto.io/attestation/test-result/v0.1', {
          result: 'OK',
          configuration: [{ uri: 'https://example.com/c' }],
        }),
        {
          allowedPredicates: ['https://in-toto.io/attestation/test-result/v0.1'],
        },
      ),
    ).toEqual(['/predicate/result']);
  });
});

it('STATEMENT_V1 is the v1 type', () => {
  expect(STATEMENT_V1).toBe('https://in-toto.io/Statement/v1');
});
