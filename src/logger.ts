import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.ts';

// JSON logs, one object per line. Secrets never get here by design; the redact list is a
// second line of defence for fields that could carry one.
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'waybill' },
      timestamp: pino.stdTimeFunctions.isoTime,
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
