import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { ROLES } from '../../services/tokens.ts';
import { DURATION_PATTERN, isDuration, parseDuration } from '../../util/duration.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import {
  behind,
  EnvironmentName,
  jsonBody,
  jsonResponse,
  PageQuery,
  pageOf,
  problemResponses,
  router,
  z,
} from '../openapi.ts';

const SubjectUri = z
  .string()
  .max(1024)
  .regex(/^[a-z][a-z0-9+.-]*:[^\s]+$/i, 'must be an absolute URI (e.g. https://ci.example.com/pipelines/api)');

const CreateToken = z
  .object({
    subject: SubjectUri,
    roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length),
    environments: z
      .array(EnvironmentName)
      .max(64)
      .optional()
      .openapi({ description: 'the environments the holder may act for (default: any)' }),
    builderIds: z.array(z.string().min(1).max(1024)).max(100).optional().openapi({
      description: 'for builders: the builder.id values its provenance may claim, exact or ^...$ (default: any)',
    }),
    expiresIn: z
      .string()
      .regex(DURATION_PATTERN, 'a duration such as 15m, 12h, 30d')
      .refine(isDuration, 'at most 100 years')
      .optional(),
  })
  .strict()
  .openapi('CreateToken');

const TokenInfo = z
  .object({
    id: z.string(),
    subject: z.string(),
    roles: z.array(z.enum(ROLES)),
    environments: z.array(z.string()).nullable(),
    builderIds: z.array(z.string()).nullable(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('TokenInfo');

const CreatedToken = TokenInfo.extend({ token: z.string().optional() }).openapi('CreatedToken');

type TokenInfoJson = z.infer<typeof CreatedToken>;

export function tokenRoutes(deps: Pick<Deps, 'tokens' | 'idempotency'>) {
  const app = router();
  const admin = requireRole(deps.tokens, 'admin');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/tokens',
      summary: 'Mint a caller token (the secret is shown once)',
      ...behind(admin, requireJson),
      request: { body: jsonBody(CreateToken) },
      responses: {
        201: jsonResponse('created', CreatedToken),
        ...problemResponses(400, 401, 403, 413, 415),
      },
    }),
    async (c) => {
      const body = c.req.valid('json');
      // A retry names the token it created but cannot show its secret again: secrets are shown once.
      const { value } = await deps.idempotency.once<TokenInfoJson>(
        callerOf(c).subject,
        c.req.header('idempotency-key'),
        'tokens',
        body,
        async () => {
          const created = await deps.tokens.create({
            subject: body.subject,
            roles: body.roles,
            expiresInMs: body.expiresIn ? parseDuration(body.expiresIn) : undefined,
            environments: body.environments,
            builderIds: body.builderIds,
          });
          return { value: created, status: 201, resource: `token:${created.id}` };
        },
        (resource) => deps.tokens.get(resource.slice('token:'.length)),
      );
      return c.json(value, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/tokens',
      summary: 'List caller tokens (never their secrets)',
      ...behind(admin),
      request: { query: PageQuery },
      responses: {
        200: {
          description: 'tokens',
          content: { 'application/json': { schema: pageOf(TokenInfo) } },
        },
        ...problemResponses(400, 401, 403),
      },
    }),
    async (c) => c.json(await deps.tokens.list(c.req.valid('query')), 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/v1/tokens/{id}',
      summary: 'Revoke a caller token',
      ...behind(admin),
      request: { params: z.object({ id: z.string().min(1).max(64) }) },
      responses: { 204: { description: 'revoked' }, ...problemResponses(401, 403, 404) },
    }),
    async (c) => {
      await deps.tokens.revoke(c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  return app;
}
