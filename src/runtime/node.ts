// Start on Node: config -> deps -> app -> HTTP server, and stop cleanly on SIGTERM/SIGINT:
// stop accepting, let in-flight requests finish, close the database, exit 0.
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { pino } from 'pino';
import { createApp } from '../app.ts';
import type { Config } from '../config.ts';
import { buildDeps, type Deps } from '../deps.ts';
import { createLogger } from '../logger.ts';
import type { Preflight } from '../preflight.ts';
import { openDatabase } from '../storage/database.ts';
import { SigningPool } from './signing-pool.ts';

export interface RunningServer {
  deps: Deps;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, checked?: Preflight): Promise<RunningServer> {
  const started = performance.now();
  // Log lines go out asynchronously: a slow stdout never blocks the event loop (pino flushes what is
  // pending on exit, and stop() flushes too).
  const logger = createLogger(config.logLevel, pino.destination({ dest: 1, sync: false }));
  const threads = config.signingThreads ?? (config.database.driver === 'postgres' ? undefined : 0);
  const deps = await buildDeps(config, {
    logger,
    open: () => openDatabase(config.database),
    // Keys, leaves and DSSE signatures are made on worker threads: the event loop parses,
    // validates and talks to the database.
    // On PGlite (the database runs on the event loop too) the pool measured 3x more main-thread CPU
    // per statement than signing in-thread (docs/decisions.md): there it is used only when asked for.
    ...(threads === 0 ? {} : { pool: (keys) => new SigningPool(keys.ca, threads) }),
    ...(checked ? { checked } : {}),
  });
  const app = createApp(deps);
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    await deps.close();
    throw err;
  }
  deps.dispatcher?.start();
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  deps.logger.info(
    {
      url,
      issuer: config.issuer,
      database: config.database.driver,
      startupMs: Math.round(performance.now() - started),
    },
    'waybill listening',
  );

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      deps.logger.info('shutting down: no new connections, finishing in-flight requests');
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          deps.logger.warn('shutdown timeout: closing remaining connections');
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await deps.dispatcher?.stop();
      await deps.close();
      deps.logger.info('stopped');
      deps.logger.flush();
    })());
  return { deps, url, stop };
}

/** Run until a signal arrives; used by `waybill serve`. */
export async function runUntilSignal(config: Config, checked?: Preflight): Promise<void> {
  const running = await startServer(config, checked);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      running.deps.logger.info({ signal }, 'signal received');
      running.stop().then(resolve, (err) => {
        running.deps.logger.error({ err }, 'error during shutdown');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
