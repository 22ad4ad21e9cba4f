// SQL parameters carry what callers sent and token hashes: an error log keeps the statement and
// drops the values, including the "params:" line Drizzle writes into its own message.
import { Writable } from 'node:stream';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';

describe('error logs', () => {
  it('redact SQL parameters from a query error and its causes', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const driver = Object.assign(new Error('invalid input syntax'), { parameters: ['secret-one'], query: 'select $1' });
    const err = new DrizzleQueryError('select * from tokens where sha256 = $1', ['secret-two'], driver);
    createLogger('info', stream).error({ err }, 'unhandled error');
    const line = lines.join('');
    expect(line).toContain('select * from tokens where sha256 = $1');
    expect(line).not.toContain('secret-one');
    expect(line).not.toContain('secret-two');
    expect(line).toContain('[redacted]');
  });
});
