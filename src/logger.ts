import { type Logger, pino, stdSerializers } from 'pino';
import type { LogLevel } from './config.ts';

// Values bound to SQL statements may be anything a caller sent or a secret (a token hash); a log
// line keeps the statement text and drops its parameters. Drizzle also writes them into its
// error message as a last line "params: ...".
const PARAM_KEYS = new Set(['params', 'parameters', 'args', 'values']);
const PARAMS_LINE = /\nparams: [^\n]*/g;

function redactSql(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') {
    return typeof value === 'string' ? value.replace(PARAMS_LINE, '\nparams: [redacted]') : value;
  }
  if (Array.isArray(value)) return value.map((v) => redactSql(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = PARAM_KEYS.has(key) ? '[redacted]' : redactSql(v, depth + 1);
  return out;
}

/** pino's error serializer (causes included), without SQL parameters. */
export function serializeError(err: unknown): unknown {
  return err instanceof Error ? redactSql(stdSerializers.errWithCause(err)) : redactSql(err);
}

/**
 * Where a log object goes under pino's browser build, which a Workers bundle gets (bundlers pick
 * package.json's `browser` field): one JSON line on the console, as on Node. Without `write` that
 * build logs objects as the console prints them, not as JSON, and ignores `base`.
 */
export function writeJsonLine(o: object): void {
  console.log(JSON.stringify({ ...o, service: 'waybill' }));
}

// JSON logs, one object per line. Secrets never get here by design; the redact list is a
// second line of defence for fields that could carry one (the browser build applies it too,
// given `write`, which puts it in object mode).
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      browser: { write: writeJsonLine, serialize: true },
      base: { service: 'waybill' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'adminToken',
          'config.adminToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
