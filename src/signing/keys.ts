// Where waybill's signing material comes from: configuration (production), or, when none is
// configured, a development CA and log key generated once into <data dir>/keys (mode 0600).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { type CaMaterial, generateCa, loadCa } from './ca.ts';

export interface SigningKeys {
  ca: CaMaterial;
  log: { privateKey: KeyObject; publicKey: KeyObject };
  source: 'config' | 'generated' | 'data-dir';
}

const FILES = {
  caKey: 'ca-key.pem',
  caChain: 'ca-chain.pem',
  caRootKey: 'ca-root-key.pem',
  logKey: 'log-key.pem',
} as const;

function loadLogKey(pem: string): SigningKeys['log'] {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('WAYBILL_LOG_KEY must be an ECDSA P-256 private key');
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

function writeSecret(file: string, data: string) {
  writeFileSync(file, data, { mode: 0o600 });
  chmodSync(file, 0o600);
}

export async function loadSigningKeys(
  config: Pick<Config, 'keys' | 'dataDir'>,
  logger: Pick<Logger, 'info' | 'warn'>,
): Promise<SigningKeys> {
  const { caKeyPem, caChainPem, logKeyPem } = config.keys;
  if (caKeyPem && caChainPem && logKeyPem) {
    return {
      ca: await loadCa({ keyPem: caKeyPem, chainPem: caChainPem }),
      log: loadLogKey(logKeyPem),
      source: 'config',
    };
  }
  const dir = path.join(config.dataDir, 'keys');
  const file = (k: keyof typeof FILES) => path.join(dir, FILES[k]);
  if (existsSync(file('caKey')) && existsSync(file('caChain')) && existsSync(file('logKey'))) {
    return {
      ca: await loadCa({
        keyPem: readFileSync(file('caKey'), 'utf8'),
        chainPem: readFileSync(file('caChain'), 'utf8'),
      }),
      log: loadLogKey(readFileSync(file('logKey'), 'utf8')),
      source: 'data-dir',
    };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await generateCa({ commonName: 'waybill-dev', organization: 'waybill development' });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeSecret(file('caKey'), ca.keyPem);
  writeSecret(file('caChain'), ca.chainPem);
  if (ca.rootKeyPem) writeSecret(file('caRootKey'), ca.rootKeyPem);
  writeSecret(file('logKey'), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  logger.warn(
    { dir },
    'no WAYBILL_CA_KEY/WAYBILL_CA_CHAIN/WAYBILL_LOG_KEY configured: ' +
      'generated a development CA and log key (not for production)',
  );
  return { ca, log: { privateKey, publicKey: createPublicKey(privateKey) }, source: 'generated' };
}
