import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkpointBody,
  keyHint,
  logId,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from '../../src/tlog/checkpoint.ts';

const logKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const NAME = 'waybill.example.com';
const ORIGIN = `${NAME} - 1234567890`;
const ROOT = new Uint8Array(createHash('sha256').update('root').digest());

const signer = { name: NAME, privateKey: logKey.privateKey };
const log = { name: NAME, publicKey: logKey.publicKey };
const body = checkpointBody({ origin: ORIGIN, size: 42, rootHash: ROOT });
const note = signCheckpoint(body, signer);

describe('checkpoint format', () => {
  it('body is origin, size and base64 root, newline-terminated', () => {
    expect(body).toBe(`${ORIGIN}\n42\n${Buffer.from(ROOT).toString('base64')}\n`);
    expect(checkpointBody({ origin: 'o', size: 0, rootHash: ROOT })).toMatch(/^o\n0\n/);
  });

  it('checkpointBody refuses bad input', () => {
    expect(() => checkpointBody({ origin: '', size: 1, rootHash: ROOT })).toThrow(/origin/);
    expect(() => checkpointBody({ origin: 'a\nb', size: 1, rootHash: ROOT })).toThrow(/origin/);
    expect(() => checkpointBody({ origin: 'a', size: -1, rootHash: ROOT })).toThrow(RangeError);
    expect(() => checkpointBody({ origin: 'a', size: 1.5, rootHash: ROOT })).toThrow(RangeError);
    expect(() => checkpointBody({ origin: 'a', size: 1, rootHash: ROOT.subarray(1) })).toThrow(/32 bytes/);
  });

  it('key hint and log id come from the SPKI DER', () => {
    const der = logKey.publicKey.export({ type: 'spki', format: 'der' });
    const id = createHash('sha256').update(der).digest();
    expect(Buffer.from(logId(logKey.publicKey)).equals(id)).toBe(true);
    expect(Buffer.from(keyHint(logKey.publicKey)).equals(id.subarray(0, 4))).toBe(true);
    // The private half names the same key.
    expect(Buffer.from(logId(logKey.privateKey)).equals(id)).toBe(true);
  });

  it('note is body, blank line, one em-dash signature line', () => {
    const lines = note.split('\n');
    expect(lines).toHaveLength(6);
    expect(note.startsWith(`${body}\n\u2014 ${NAME} `)).toBe(true);
    expect(note.endsWith('\n')).toBe(true);
    const blob = Buffer.from((lines[4] as string).split(' ')[2] as string, 'base64');
    expect(blob.subarray(0, 4).equals(Buffer.from(keyHint(logKey.publicKey)))).toBe(true);
    expect(blob[4]).toBe(0x30); // DER SEQUENCE
  });

  it('signCheckpoint refuses bad names, bodies and keys', () => {
    for (const name of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b']) {
      expect(() => signCheckpoint(body, { name, privateKey: logKey.privateKey })).toThrow(/key name/);
    }
    expect(() => signCheckpoint('no newline', signer)).toThrow(/body/);
    expect(() => signCheckpoint('a\n\nb\n', signer)).toThrow(/body/);
    expect(() => signCheckpoint(body, { name: NAME, privateKey: logKey.publicKey })).toThrow(/private key/);
    const ed = generateKeyPairSync('ed25519');
    expect(() => signCheckpoint(body, { name: NAME, privateKey: ed.privateKey })).toThrow(/P-256/);
  });
});

describe('round trip', () => {
  it('parses and verifies', () => {
    const cp = verifyCheckpoint(note, log);
    expect(cp.origin).toBe(ORIGIN);
    expect(cp.size).toBe(42);
    expect(Buffer.from(cp.rootHash).equals(Buffer.from(ROOT))).toBe(true);
    expect(cp.body).toBe(body);
    expect(cp.extensions).toEqual([]);
    expect(cp.signatures).toHaveLength(1);
    expect(cp.signatures[0]?.name).toBe(NAME);
    expect(Buffer.from(cp.signatures[0]?.keyHint as Uint8Array).equals(Buffer.from(keyHint(logKey.publicKey)))).toBe(
      true,
    );
  });

  it('accepts a private key object as the verification key', () => {
    expect(verifyCheckpoint(note, { name: NAME, publicKey: logKey.privateKey }).size).toBe(42);
  });

  it('handles sizes up to 2^53 - 1 and the empty tree', () => {
    for (const size of [0, 1, Number.MAX_SAFE_INTEGER]) {
      const n = signCheckpoint(checkpointBody({ origin: ORIGIN, size, rootHash: ROOT }), signer);
      expect(verifyCheckpoint(n, log).size).toBe(size);
    }
  });

  it('extension lines only with allowExtensions', () => {
    const ext = signCheckpoint(`${body}ext one\next two\n`, signer);
    expect(() => verifyCheckpoint(ext, log)).toThrow(/extra body line/);
    expect(verifyCheckpoint(ext, log, { allowExtensions: true }).extensions).toEqual(['ext one', 'ext two']);
  });
});

describe('tampering', () => {
  it('any changed byte of body or signature line fails', () => {
    const bytes = Buffer.from(note, 'utf8');
    let tried = 0;
    for (let i = 0; i < bytes.length; i++) {
      for (const delta of [1, 0x20]) {
        const b = Buffer.from(bytes);
        b[i] = (b[i] as number) ^ delta;
        const s = b.toString('utf8');
        if (s === note) continue;
        tried++;
        expect(() => verifyCheckpoint(s, log), `byte ${i} ^ ${delta}`).toThrow();
      }
    }
    expect(tried).toBeGreaterThan(200);
  });

  it('a wrong key fails (same name)', () => {
    expect(() => verifyCheckpoint(note, { name: NAME, publicKey: otherKey.publicKey })).toThrow(/key hint/);
    // Same hint but a different key: forge the hint to reach the signature check.
    const forged = signCheckpoint(body, { name: NAME, privateKey: otherKey.privateKey });
    const line = forged.split('\n')[4] as string;
    const blob = Buffer.from(line.split(' ')[2] as string, 'base64');
    Buffer.from(keyHint(logKey.publicKey)).copy(blob, 0);
    const spoofed = `${body}\n\u2014 ${NAME} ${blob.toString('base64')}\n`;
    expect(() => verifyCheckpoint(spoofed, log)).toThrow(/does not verify/);
  });

  it('a wrong name fails', () => {
    expect(() => verifyCheckpoint(note, { name: 'other.example.com', publicKey: logKey.publicKey })).toThrow(
      /expected/,
    );
    const renamed = signCheckpoint(body, { name: 'other.example.com', privateKey: logKey.privateKey });
    expect(() => verifyCheckpoint(renamed, log)).toThrow(/signed by/);
  });

  it('two signature lines are refused, even if both are good', () => {
    const second = note.split('\n')[4] as string;
    expect(parseCheckpoint(`${note}${second}\n`).signatures).toHaveLength(2);
    expect(() => verifyCheckpoint(`${note}${second}\n`, log)).toThrow(/exactly one signature/);
    const witness = signCheckpoint(body, { name: 'witness.example', privateKey: otherKey.privateKey }).split('\n')[4];
    expect(() => verifyCheckpoint(`${note}${witness}\n`, log)).toThrow(/exactly one signature/);
  });
});

describe('malformed notes', () => {
  const sigLine = note.split('\n')[4] as string;
  const root64 = Buffer.from(ROOT).toString('base64');
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /blank line/],
    ['no blank line', `${body}${sigLine}\n`, /blank line|extra body line/],
    ['no signature', `${body}\n`, /no signature/],
    ['no final newline', note.slice(0, -1), /end with a newline/],
    ['trailing blank line', `${note}\n`, /malformed signature line/],
    ['text after signature', `${note}junk\n`, /malformed signature line/],
    ['two blank lines', `${body}\n\n${sigLine}\n`, /malformed signature line/],
    ['missing root', `${ORIGIN}\n42\n\n${sigLine}\n`, /origin, size and root/],
    ['empty origin', `\n42\n${root64}\n\n${sigLine}\n`, /blank line|origin/],
    ['leading zero size', `${ORIGIN}\n042\n${root64}\n\n${sigLine}\n`, /tree size/],
    ['signed size', `${ORIGIN}\n+42\n${root64}\n\n${sigLine}\n`, /tree size/],
    ['hex size', `${ORIGIN}\n0x2a\n${root64}\n\n${sigLine}\n`, /tree size/],
    ['space in size', `${ORIGIN}\n 42\n${root64}\n\n${sigLine}\n`, /tree size/],
    ['huge size', `${ORIGIN}\n9007199254740992\n${root64}\n\n${sigLine}\n`, /exceeds/],
    ['url-safe root', `${ORIGIN}\n42\n${root64.replace(/\+/g, '-').replace(/\//g, '_')}x\n\n${sigLine}\n`, /base64/],
    ['unpadded root', `${ORIGIN}\n42\n${root64.replace(/=+$/, '')}\n\n${sigLine}\n`, /base64/],
    ['short root', `${ORIGIN}\n42\n${Buffer.alloc(31).toString('base64')}\n\n${sigLine}\n`, /32 bytes/],
    ['non-canonical base64 root', `${ORIGIN}\n42\n${root64.slice(0, 42)}B=\n\n${sigLine}\n`, /base64/],
    ['CRLF', note.replace(/\n/g, '\r\n'), /control/],
    ['hyphen instead of em dash', `${body}\n${sigLine.replace('\u2014', '-')}\n`, /malformed signature line/],
    ['no space after dash', `${body}\n${sigLine.replace('\u2014 ', '\u2014')}\n`, /malformed signature line/],
    ['short signature', `${body}\n\u2014 ${NAME} AAAAAA==\n`, /too short/],
    ['bad signature base64', `${body}\n\u2014 ${NAME} !!!!\n`, /base64/],
    ['plus in name', `${body}\n\u2014 a+b ${sigLine.split(' ')[2]}\n`, /key name/],
    ['lone surrogate', `${ORIGIN}\ud800\n42\n${root64}\n\n${sigLine}\n`, /Unicode/],
  ];
  for (const [what, text, err] of cases) {
    it(`refuses: ${what}`, () => {
      expect(() => parseCheckpoint(text)).toThrow(err);
      expect(() => verifyCheckpoint(text, log)).toThrow();
    });
  }
});
