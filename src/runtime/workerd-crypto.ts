// Installed by the Workers entry only (runtime/worker.ts imports it first). workerd's
// crypto.verify throws for an EC or RSA key when no digest is named, where Node picks the key's
// default digest (SHA-256 for both); @sigstore/core's verify passes none for DSSE signatures,
// SETs and checkpoints, and swallows the throw as "does not verify". So every waybill bundle
// would fail inside a Worker. Naming SHA-256 is exactly what Node does for these keys.
import crypto, { createPublicKey, type KeyObject } from 'node:crypto';

type Verify = typeof crypto.verify;

const INSTALLED = Symbol.for('waybill.workerd-crypto');

function keyType(key: Parameters<Verify>[2]): string | undefined {
  try {
    const k = (key as KeyObject).type === 'public' ? (key as KeyObject) : createPublicKey(key as never);
    return k.asymmetricKeyType;
  } catch {
    return undefined;
  }
}

export function installWorkerdCrypto(): void {
  const target = crypto as typeof crypto & { [INSTALLED]?: true };
  if (target[INSTALLED]) return;
  const verify = target.verify;
  target.verify = ((algorithm, data, key, signature, callback?: never) => {
    const digest = algorithm ?? (['ec', 'rsa'].includes(keyType(key) ?? '') ? 'sha256' : algorithm);
    return callback ? verify(digest, data, key, signature, callback) : verify(digest, data, key, signature);
  }) as Verify;
  target[INSTALLED] = true;
}
