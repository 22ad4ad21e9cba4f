// One thread of the signing pool (src/runtime/signing-pool.ts): holds the CA and answers each
// request with the ephemeral-key signing `caSigner` does in-thread (src/signing/signer.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { loadCa } from '../signing/ca.ts';
import { signWithEphemeralKey } from '../signing/signer.ts';
import type { SignReply, SignRequest } from './signing-pool.ts';

const { keyPem, chainPem } = workerData as { keyPem: string; chainPem: string };
const ca = await loadCa({ keyPem, chainPem });
const port = parentPort!;

port.on('message', (m: SignRequest) => {
  let reply: SignReply;
  try {
    const { signature } = signWithEphemeralKey(
      ca,
      {
        subjectUri: m.subjectUri,
        issuer: m.issuer,
        now: new Date(m.now),
        extensions: m.extensions,
        extraExtensions: m.extraExtensions,
      },
      m.data,
    );
    if (signature.key?.$case !== 'x509Certificate') throw new Error('expected a certificate');
    reply = { id: m.id, signature: signature.signature, pem: signature.key.certificate };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
