// Promotion: POST /v1/verdicts, GET /v1/verdicts/{id}, POST /v1/deployments,
// GET /v1/environments, GET /v1/environments/{name}.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { callerOf, requireRole } from '../auth.ts';
import { idempotent } from '../idempotent.ts';
import { requireJson } from '../middleware.ts';
import { behind, DigestParam, EnvironmentName, jsonResponse, problemResponses, router, z } from '../openapi.ts';
import { Deployment, EnvironmentDetail, EnvironmentSummary, Verdict } from '../schemas.ts';

export function promotionRoutes(
  deps: Pick<Deps, 'tokens' | 'verdicts' | 'deployments' | 'environments' | 'idempotency'>,
) {
  const app = router();
  const anyRole = requireRole(deps.tokens);
  const deployer = requireRole(deps.tokens, 'deployer');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/verdicts',
      summary: 'May this digest enter this environment? A signed SLSA VSA either way',
      ...behind(deployer, requireJson),
      request: {
        body: {
          content: {
            'application/json': { schema: z.object({ digest: DigestParam, environment: EnvironmentName }).strict() },
          },
          required: true,
        },
      },
      responses: {
        200: jsonResponse('the verdict (allow or deny)', Verdict),
        ...problemResponses(400, 401, 403, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const value = await idempotent(
        c,
        deps.idempotency,
        { route: 'verdicts', body, kind: 'verdict', status: 200 },
        () => deps.verdicts.decide(body.digest, body.environment, caller),
        (id) => deps.verdicts.get(id),
      );
      return c.json(value, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/verdicts/{id}',
      summary: 'A verdict with its VSA bundle',
      ...behind(anyRole),
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: {
        200: jsonResponse('the verdict', Verdict),
        ...problemResponses(401, 404),
      },
    }),
    async (c) => {
      const v = await deps.verdicts.get(c.req.valid('param').id);
      if (!v) throw new AppError('NOT_FOUND', 'no such verdict');
      return c.json(v, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/deployments',
      summary: 'Record a deployment under an unexpired allow verdict (signed)',
      ...behind(deployer, requireJson),
      request: {
        body: {
          content: {
            'application/json': {
              schema: z
                .object({ digest: DigestParam, environment: EnvironmentName, verdictId: z.string().min(1).max(64) })
                .strict(),
            },
          },
          required: true,
        },
      },
      responses: {
        201: jsonResponse('recorded', Deployment),
        ...problemResponses(400, 401, 403, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const value = await idempotent(
        c,
        deps.idempotency,
        { route: 'deployments', body, kind: 'deployment', status: 201 },
        () => deps.deployments.deploy(body, caller),
        (id) => deps.deployments.get(id),
      );
      return c.json(value, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments',
      summary: 'Environments in promotion order, each with what runs there now',
      ...behind(anyRole),
      responses: {
        200: {
          description: 'environments',
          content: { 'application/json': { schema: z.object({ items: z.array(EnvironmentSummary) }) } },
        },
        ...problemResponses(401),
      },
    }),
    async (c) => c.json({ items: await deps.environments.list() }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments/{name}',
      summary: 'An environment: what runs there, its evidence chain, and its deployment history',
      ...behind(anyRole),
      request: { params: z.object({ name: EnvironmentName }) },
      responses: {
        200: jsonResponse('environment', EnvironmentDetail),
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => c.json(await deps.environments.get(c.req.valid('param').name), 200),
  );
  return app;
}
