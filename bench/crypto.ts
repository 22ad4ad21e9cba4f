// Reference figures: raw ECDSA P-256 sign and verify rates on this machine, single thread,
// node:crypto with KeyObjects (no PEM parsing per call), SHA-256 over a 64-byte message.
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { rate } from './stats.ts';

export interface CryptoResult {
  signPerSec: number;
  verifyPerSec: number;
  /** Microseconds per raw sign: the unit the "× raw sign" ratios use. */
  signUs: number;
  verifyUs: number;
  messageBytes: number;
  seconds: number;
}

export function rawEcdsa(seconds = 1): CryptoResult {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = randomBytes(64);
  const signature = sign('sha256', data, privateKey);
  if (!verify('sha256', data, publicKey, signature)) throw new Error('raw ECDSA self-check failed');
  const s = rate(seconds * 1000, () => sign('sha256', data, privateKey));
  const v = rate(seconds * 1000, () => verify('sha256', data, publicKey, signature));
  return {
    signPerSec: s.opsPerSec,
    verifyPerSec: v.opsPerSec,
    signUs: 1e6 / s.opsPerSec,
    verifyUs: 1e6 / v.opsPerSec,
    messageBytes: data.length,
    seconds,
  };
}

/** Raw sign rate alone (re-measured at the end of a run to show drift). */
export function rawSignRate(seconds = 1): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const data = randomBytes(64);
  return rate(seconds * 1000, () => sign('sha256', data, privateKey)).opsPerSec;
}
