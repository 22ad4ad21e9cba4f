import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { jsonResponse, problemResponses, router, z } from '../openapi.ts';

const Status = z.object({ status: z.string() }).openapi('Status');

export function healthRoutes(deps: Pick<Deps, 'database'>) {
  const app = router();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      responses: { 200: jsonResponse('alive', Status) },
    }),
    (c) => c.json({ status: 'ok' }, 200),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the database answers and is migrated',
      responses: {
        200: jsonResponse('ready', Status),
        ...problemResponses(503),
      },
    }),
    async (c) => {
      if (!(await deps.database.ready())) throw new AppError('NOT_READY', 'database unreachable or not migrated');
      return c.json({ status: 'ready' }, 200);
    },
  );
  return app;
}
