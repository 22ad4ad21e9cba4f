// Policies: GET /v1/policies (the files in force and every version loaded before) and
// POST /v1/policies/replay (candidate files over past verdicts; signs nothing).
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import { behind, jsonBody, jsonResponse, problemResponses, router, z } from '../openapi.ts';
import { Policies, ReplayReport } from '../schemas.ts';

const ReplayRequest = z
  .object({
    files: z
      .record(
        z.string().regex(/^[a-z0-9-]{1,63}\.ya?ml$/, 'a policy file name: <environment>.yaml'),
        z.string().max(256_000),
      )
      .refine((f) => Object.keys(f).length <= 64, 'at most 64 files'),
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi('ReplayRequest');

export function policyRoutes(deps: Pick<Deps, 'tokens' | 'policyHistory' | 'replay'>) {
  const app = router();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/policies',
      summary: 'The policy files in force and every version loaded before, by digest, with when',
      ...behind(requireRole(deps.tokens)),
      responses: { 200: jsonResponse('the policies', Policies), ...problemResponses(401) },
    }),
    async (c) => c.json(await deps.policyHistory.list(), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/policies/replay',
      summary: 'Replay candidate policy files over the verdicts of a window: which would flip (signs nothing)',
      ...behind(requireRole(deps.tokens, 'auditor', 'admin'), requireJson),
      request: { body: jsonBody(ReplayRequest) },
      responses: {
        200: jsonResponse('per environment: verdicts and flips', ReplayReport),
        ...problemResponses(400, 401, 403, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const since = new Date(body.since);
      const until = body.until ? new Date(body.until) : new Date();
      if (until.getTime() < since.getTime()) {
        throw new AppError('VALIDATION_FAILED', 'until is before since', {
          errors: [{ path: '/until', message: 'must not be before since' }],
        });
      }
      return c.json(await deps.replay.replay(body.files, since, until), 200);
    },
  );
  return app;
}
