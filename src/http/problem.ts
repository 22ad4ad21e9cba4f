// Every error leaves the service as RFC 9457 application/problem+json. Hono's own defaults
// answer in plain text, so both onError and notFound are replaced here.
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from 'pino';
import { AppError, toProblem } from '../errors.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

function problemResponse(c: Context, err: AppError, issuer: string): Response {
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="waybill"';
  // The rest of an over-size body is never read, so the connection cannot carry another request:
  // say so, and the client opens a new one instead of writing into a socket about to close.
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
  // c.body keeps headers already set on the context (X-Request-Id).
  const problem = toProblem(err, { issuer, requestId: c.get('requestId') });
  return c.body(JSON.stringify(problem), err.status as 400, headers);
}

/** Turn anything thrown into an AppError; unknown errors become INTERNAL. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return new AppError('MALFORMED_JSON', 'the request body is not valid JSON');
    }
    if (err.status === 413) return new AppError('PAYLOAD_TOO_LARGE', err.message);
    if (err.status === 401) return new AppError('UNAUTHENTICATED', err.message);
    if (err.status === 404) return new AppError('NOT_FOUND', err.message);
    if (err.status >= 400 && err.status < 500) return new AppError('VALIDATION_FAILED', err.message || 'bad request');
  }
  return new AppError('INTERNAL', 'internal error', { cause: err });
}

/** The app's error and not-found handlers; problem `type`s point at `<issuer>/problems/<code>`. */
export function problemHandlers(logger: Logger, issuer: string): { onError: ErrorHandler; notFound: NotFoundHandler } {
  return {
    onError(err, c) {
      const appErr = toAppError(err);
      if (appErr.code === 'INTERNAL') logger.error({ err, requestId: c.get('requestId') }, 'unhandled error');
      return problemResponse(c, appErr, issuer);
    },
    notFound(c) {
      const path = new URL(c.req.url).pathname;
      return problemResponse(c, new AppError('NOT_FOUND', `no route for ${c.req.method} ${path}`), issuer);
    },
  };
}
