// Promotion: POST /v1/verdicts, GET /v1/verdicts/{id}, POST /v1/deployments,
// GET /v1/environments, GET /v1/environments/{name}.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { assertMayActFor } from '../../identity/grants.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import { bearerSecurity, DigestParam, problemResponses, router, z } from '../openapi.ts';

const Digest = DigestParam;
const EnvironmentName = z.string().regex(/^[a-z0-9-]{1,63}$/, 'an environment name: [a-z0-9-]+');

const RuleResult = z.object({
  name: z.string(),
  satisfied: z.boolean(),
  evidence: z.array(z.string()),
  reason: z.string().optional(),
});
const Verdict = z
  .object({
    id: z.string(),
    digest: z.string(),
    environment: z.string(),
    decision: z.enum(['allow', 'deny']),
    rules: z.array(RuleResult),
    reasons: z.array(z.string()),
    policy: z.object({ uri: z.string(), digest: z.object({ sha256: z.string() }) }).nullable(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    attestationId: z.string().nullable(),
    bundle: z.unknown().openapi({ type: 'object' }),
  })
  .openapi('Verdict');
const Deployment = z
  .object({
    id: z.string(),
    digest: z.string(),
    environment: z.string(),
    verdictId: z.string(),
    attestationId: z.string(),
    deployer: z.string(),
    createdAt: z.string(),
    bundle: z.unknown().optional().openapi({ type: 'object' }),
  })
  .openapi('Deployment');

export function promotionRoutes(deps: Pick<Deps, 'tokens' | 'promotion'>) {
  const app = router();
  const anyRole = requireRole(deps.tokens);
  const deployer = requireRole(deps.tokens, 'deployer');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/verdicts',
      summary: 'May this digest enter this environment? A signed SLSA VSA either way',
      security: bearerSecurity,
      middleware: [deployer, requireJson] as const,
      request: {
        body: {
          content: {
            'application/json': { schema: z.object({ digest: Digest, environment: EnvironmentName }).strict() },
          },
          required: true,
        },
      },
      responses: {
        200: { description: 'the verdict (allow or deny)', content: { 'application/json': { schema: Verdict } } },
        ...problemResponses(400, 401, 403, 413, 415),
      },
    }),
    async (c) => {
      const { digest, environment } = c.req.valid('json');
      assertMayActFor(callerOf(c), environment, ['deployer']); // workload identity: grants may limit environments
      return c.json(await deps.promotion.verdict(digest, environment, callerOf(c)), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/verdicts/{id}',
      summary: 'A verdict with its VSA bundle',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: {
        200: { description: 'the verdict', content: { 'application/json': { schema: Verdict } } },
        ...problemResponses(401, 404),
      },
    }),
    async (c) => {
      const v = await deps.promotion.getVerdict(c.req.valid('param').id);
      if (!v) throw new AppError('NOT_FOUND', 'no such verdict');
      return c.json(v, 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/deployments',
      summary: 'Record a deployment under an unexpired allow verdict (signed)',
      security: bearerSecurity,
      middleware: [deployer, requireJson] as const,
      request: {
        body: {
          content: {
            'application/json': {
              schema: z
                .object({ digest: Digest, environment: EnvironmentName, verdictId: z.string().min(1).max(64) })
                .strict(),
            },
          },
          required: true,
        },
      },
      responses: {
        201: { description: 'recorded', content: { 'application/json': { schema: Deployment } } },
        ...problemResponses(400, 401, 403, 404, 409, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      assertMayActFor(callerOf(c), body.environment, ['deployer']); // workload identity: grants may limit environments
      return c.json(await deps.promotion.deploy(body, callerOf(c)), 201) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments',
      summary: 'Environments in promotion order, each with what runs there now',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      responses: {
        200: {
          description: 'environments',
          content: { 'application/json': { schema: z.object({ items: z.array(z.unknown()) }) } },
        },
        ...problemResponses(401),
      },
    }),
    async (c) => c.json({ items: await deps.promotion.environments() }, 200) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments/{name}',
      summary: 'An environment: what runs there, its evidence chain, and its deployment history',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ name: EnvironmentName }) },
      responses: {
        200: { description: 'environment', content: { 'application/json': { schema: z.unknown() } } },
        ...problemResponses(400, 401, 404),
      },
    }),
    async (c) => c.json(await deps.promotion.environment(c.req.valid('param').name), 200) as never,
  );
  return app;
}
