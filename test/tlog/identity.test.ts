// The log's identity: the checkpoint origin `<issuer host> - <tree id>`. The tree id derived from
// the log key must never change for an existing log, and a configured one is used digit for digit.
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { logIdentity, treeIdFor } from '../../src/tlog/identity.ts';

// A fixed P-256 public key, so the derived id below is pinned.
const KEY = createPublicKey({
  key: Buffer.from(
    'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0' +
      'EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==',
    'base64',
  ),
  format: 'der',
  type: 'spki',
});

describe('log identity', () => {
  it('derives the tree id from the first 7 bytes of the log id, as it always has', () => {
    const id = logIdentity({ issuer: 'https://waybill.example.com', publicKey: KEY });
    expect(id.treeId).toBe(BigInt(`0x${Buffer.from(id.logId.subarray(0, 7)).toString('hex')}`).toString(10));
    expect(id.treeId).toBe(treeIdFor(id.logId));
    expect(id.origin).toBe(`waybill.example.com - ${id.treeId}`);
    expect(id.treeId).toBe('8603173111832550');
  });

  it('uses a configured tree id exactly, up to 2^63-1', () => {
    const id = logIdentity({ issuer: 'http://localhost:8787', publicKey: KEY, treeId: '9223372036854775807' });
    expect(id.origin).toBe('localhost:8787 - 9223372036854775807');
    expect(() => logIdentity({ issuer: 'http://localhost:8787', publicKey: KEY, treeId: '1.5' })).toThrow(/tree id/);
  });
});
