// Cross-cutting request handling: one JSON log line per request, body size limit, and the
// JSON content-type check for write endpoints.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';

export function accessLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    // Below `info` (LOG_LEVEL=warn) there is no line to build.
    if (!logger.isLevelEnabled('info')) return next();
    const start = performance.now();
    await next();
    const caller = c.get('caller');
    logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - start) * 100) / 100,
        ...(caller ? { caller: caller.subject } : {}),
      },
      'request',
    );
  };
}

export function bodyLimit(maxSize: number): MiddlewareHandler {
  return honoBodyLimit({
    maxSize,
    onError: () => {
      throw new AppError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxSize} bytes`);
    },
  });
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;.*)?$/i;

/** Write requests with a body must say it is JSON; otherwise the validator would see {}. */
export const requireJson: MiddlewareHandler = async (c, next) => {
  if (c.req.method === 'POST' || c.req.method === 'PUT' || c.req.method === 'PATCH') {
    const type = c.req.header('content-type');
    if (!type || !JSON_TYPE.test(type)) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
    }
  }
  await next();
};
