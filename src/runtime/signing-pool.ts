// Signing off the event loop, on Node: a small pool of worker threads (src/runtime/signing-worker.ts),
// each holding the CA, makes the ephemeral key, the leaf certificate and the DSSE signature of a
// signing, so the main thread only parses, validates and talks to the database. It implements the
// same `CaSignerFactory` as the in-thread signer (src/signing/signer.ts), which deps.ts uses when
// there is no pool (Workers, tests). Node only: a Workers bundle never imports this file.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Signature } from '@sigstore/sign';
import type { CaMaterial } from '../signing/ca.ts';
import type { CaSigner, CaSignerFactory, CaSignerOptions } from '../signing/signer.ts';

/** What a worker is asked: one signing (the CA is its own, from start-up). */
export interface SignRequest {
  id: number;
  subjectUri: string;
  issuer: string;
  /** The leaf's notBefore, ms since the epoch. */
  now: number;
  extensions: CaSignerOptions['extensions'];
  extraExtensions: CaSignerOptions['extraExtensions'];
  data: Uint8Array;
}

export type SignReply = { id: number; signature: Uint8Array; pem: string } | { id: number; error: string };

interface Slot {
  worker: Worker;
  inFlight: number;
}

/** Threads for a machine: one per core beyond the main thread's, at least 1, at most 4. */
export function defaultPoolSize(): number {
  return Math.max(1, Math.min(4, os.availableParallelism() - 1));
}

export class SigningPool {
  readonly #slots: Slot[];
  readonly #pending = new Map<number, { resolve(s: Signature): void; reject(e: Error): void }>();
  #next = 1;
  #closed = false;

  constructor(ca: Pick<CaMaterial, 'keyPem' | 'chainPem'>, size = defaultPoolSize()) {
    const url = new URL('./signing-worker.ts', import.meta.url);
    this.#slots = Array.from({ length: size }, () => {
      const worker = new Worker(url, { workerData: { keyPem: ca.keyPem, chainPem: ca.chainPem } });
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (reply: SignReply) => {
        slot.inFlight--;
        const p = this.#pending.get(reply.id);
        if (!p) return;
        this.#pending.delete(reply.id);
        if ('error' in reply) p.reject(new Error(`signing worker: ${reply.error}`));
        else
          p.resolve({
            signature: Buffer.from(reply.signature),
            key: { $case: 'x509Certificate', certificate: reply.pem },
          });
      });
      worker.on('error', (err) => this.#fail(err));
      // An idle pool does not keep the process alive; pending signings do (see #run).
      worker.unref();
      return slot;
    });
  }

  get size(): number {
    return this.#slots.length;
  }

  /** The pool as the signer factory AttestService takes. */
  readonly signers: CaSignerFactory = (opts) => {
    const { subjectUri, issuer, extensions, extraExtensions } = opts;
    const now = opts.now ?? (() => new Date());
    const signer: CaSigner = {
      subjectUri,
      issuer,
      sign: (data: Buffer) =>
        this.#run({ subjectUri, issuer, now: now().getTime(), extensions, extraExtensions, data }),
    };
    return signer;
  };

  #run(request: Omit<SignRequest, 'id'>): Promise<Signature> {
    if (this.#closed) return Promise.reject(new Error('signing pool closed'));
    // The least busy thread (ties: the first): keeps every thread fed under load.
    let slot = this.#slots[0]!;
    for (const s of this.#slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.#next++;
    return new Promise<Signature>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, ...request } satisfies SignRequest);
    }).finally(() => {
      if (slot.inFlight === 0) slot.worker.unref();
    });
  }

  #fail(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    this.#fail(new Error('signing pool closed'));
  }
}
