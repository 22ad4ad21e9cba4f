// What a Workers isolate keeps between requests, and nothing more: the configuration, the logger
// and the material (keys, policies, trust). A socket opened in one request cannot be used by
// another, so each request opens its own database handle (runtime/worker.ts) and the log's
// appends go to its Durable Object (runtime/sequencer.ts).
import { type Config, parseWorkerConfig } from '../config.ts';
import type { Material } from '../deps.ts';
import { createLogger, type Logger } from '../logger.ts';
import { type AppendItem, DuplicateAttestationError, type TlogEntryJson } from '../tlog/batch.ts';
import { logIdentity } from '../tlog/identity.ts';
import type { Sequencer } from '../tlog/log.ts';
import { workerMaterial } from './worker-material.ts';

/** What the log's Durable Object answers: the entry, or the stored attestation the item repeats. */
export type AppendResult = { entry: TlogEntryJson } | { duplicate: string };

export interface SequencerStub {
  append(item: AppendItem): Promise<AppendResult>;
  seal(): Promise<{ sets: number; heads: number }>;
}

/** The bindings wrangler.toml declares; every other key is a var or secret. */
export interface WorkerEnv {
  HYPERDRIVE: { connectionString: string };
  LOG_SEQUENCER: { idFromName(name: string): unknown; get(id: unknown): SequencerStub };
  [key: string]: unknown;
}

const BINDINGS = ['HYPERDRIVE', 'LOG_SEQUENCER'];

export interface Isolate {
  config: Config;
  logger: Logger;
  material: Material;
  /** The log's origin, which names its Durable Object. */
  origin: string;
  /** The first request's start-up work (bootstrap token, sealing), once per isolate. */
  started?: Promise<void>;
}

// One per isolate; a failed start is forgotten, so the next request tries again (and logs why).
let current: Promise<Isolate> | undefined;

export function isolateOf(env: WorkerEnv): Promise<Isolate> {
  current ??= (async () => {
    const vars = Object.fromEntries(Object.entries(env).filter(([k]) => !BINDINGS.includes(k)));
    const { config, sources } = parseWorkerConfig(vars);
    const logger = createLogger(config.logLevel);
    const material = await workerMaterial(config, sources, logger);
    const { origin } = logIdentity({
      issuer: config.issuer,
      publicKey: material.keys.log.publicKey,
      treeId: config.logTreeId,
    });
    return { config, logger, material, origin };
  })();
  current.catch(() => {
    current = undefined;
  });
  return current;
}

/** The log's Durable Object (one per log, named by its origin) as the request's log sequencer. */
export function sequencerOf(env: WorkerEnv, origin: string): Sequencer & Pick<SequencerStub, 'seal'> {
  const stub = env.LOG_SEQUENCER.get(env.LOG_SEQUENCER.idFromName(origin));
  return {
    async append(item) {
      const result = await stub.append(item);
      // A class does not survive the call: the repeat comes back as data and is rethrown here.
      if ('duplicate' in result) throw new DuplicateAttestationError(result.duplicate);
      return result.entry;
    },
    seal: () => stub.seal(),
  };
}
