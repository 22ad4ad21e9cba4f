// Start on Cloudflare Workers: the same app and services as on Node. Per isolate (worker-
// isolate.ts): configuration from Worker vars and secrets, keys, bundled policies, trust. Per
// request: a PostgreSQL handle over Hyperdrive, the repositories and services on it, the app.
// The log's appends go to its Durable Object (sequencer.ts). No PGlite and no file is read here.
import { createApp } from '../app.ts';
import type { Deps } from '../deps.ts';
import { buildServices } from '../deps.ts';
import { AppError, messageOf, toProblem } from '../errors.ts';
import { openPostgres } from '../storage/postgres.ts';
import { type Isolate, isolateOf, sequencerOf, type WorkerEnv } from './worker-isolate.ts';
import { installWorkerdCrypto } from './workerd-crypto.ts';

export { LogSequencer } from './sequencer.ts';

installWorkerdCrypto();

/** One request's connections: its queries are few and mostly one after another (pipelined when not). */
const REQUEST_CONNECTIONS = 1;

export default {
  async fetch(request: Request, env: WorkerEnv): Promise<Response> {
    let isolate: Isolate;
    try {
      isolate = await isolateOf(env);
    } catch (err) {
      // Misconfigured: every key that is wrong, in the log; the caller learns only that.
      console.error(JSON.stringify({ level: 50, service: 'waybill', msg: 'cannot start', err: messageOf(err) }));
      return notReady(new URL(request.url).origin, 'waybill is not configured; see the log');
    }
    const { config, logger, material } = isolate;
    // Not ended: workerd closes a request's sockets when the request is done, while postgres.js
    // 3.4's end() leaves the closed socket's pending read rejected with no listener (an unhandled
    // rejection after every request).
    const database = await openPostgres({ url: env.HYPERDRIVE.connectionString, max: REQUEST_CONNECTIONS });
    const sequencer = sequencerOf(env, isolate.origin);
    const services = buildServices(config, database, logger, material, { sequencer });
    isolate.started ??= startIsolate(isolate, services, sequencer).catch((err: unknown) => {
      isolate.started = undefined;
      throw err;
    });
    try {
      await isolate.started;
    } catch (err) {
      logger.error({ err }, 'cannot start: the database or the log sequencer failed');
      return notReady(config.issuer, 'waybill cannot reach its database; see the log');
    }
    const deps: Deps = { config, logger, database, ...services, close: async () => {} };
    return createApp(deps).fetch(request);
  },
};

/** Once per isolate, on its first request: the bootstrap admin token, and the log sealed (as Node's start-up). */
async function startIsolate(
  { config, logger }: Isolate,
  services: ReturnType<typeof buildServices>,
  sequencer: ReturnType<typeof sequencerOf>,
): Promise<void> {
  await services.tokens.syncBootstrap();
  await services.policyHistory.record();
  const sealed = await sequencer.seal();
  if (sealed.sets + sealed.heads > 0)
    logger.warn(sealed, 'sealed log entries and subject index heads from before they were kept');
  if (!config.adminToken && !(await services.tokens.hasAdmin()))
    logger.warn('no admin token: set the WAYBILL_ADMIN_TOKEN secret to reach the admin API');
}

function notReady(issuer: string, detail: string): Response {
  const problem = toProblem(new AppError('NOT_READY', detail), { issuer });
  return Response.json(problem, { status: 503, headers: { 'content-type': 'application/problem+json' } });
}
