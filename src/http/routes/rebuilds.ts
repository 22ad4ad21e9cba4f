// Rebuilds: the provenance diff, rebuild exceptions and their approvals, the rebuild report.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { DURATION_PATTERN } from '../../util/duration.ts';
import { callerOf, requireRole } from '../auth.ts';
import { requireJson } from '../middleware.ts';
import { bearerSecurity, DigestParam, EnvironmentName, problemResponses, router, z } from '../openapi.ts';

const Digest = DigestParam;
const Json = z.unknown().openapi({ type: 'object' });
const ok = (description: string) => ({ description, content: { 'application/json': { schema: Json } } });

export function rebuildRoutes(deps: Pick<Deps, 'tokens' | 'rebuilds'>) {
  const app = router();
  const anyRole = requireRole(deps.tokens);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/artifacts/{digest}/diff/{other}',
      summary: 'What changed between the provenance of two digests, sorted by kind, with a one-line summary',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ digest: Digest, other: Digest }) },
      responses: { 200: ok('the diff'), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { digest, other } = c.req.valid('param');
      return c.json(await deps.rebuilds.diff(digest, other), 200) as never;
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions',
      summary: "Request an exception letting a rebuild use its original's history in one environment",
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'deployer'), requireJson] as const,
      request: {
        body: {
          content: {
            'application/json': {
              schema: z
                .object({
                  original: Digest,
                  rebuild: Digest,
                  environment: EnvironmentName,
                  reason: z
                    .string()
                    .trim()
                    .min(10, 'explain why the rebuild is needed (10 characters at least)')
                    .max(4000),
                  ticket: z.string().min(1).max(500).optional(),
                  expiresIn: z.string().regex(DURATION_PATTERN, 'a duration such as 12h or 7d').optional(),
                })
                .strict(),
            },
          },
          required: true,
        },
      },
      responses: { 201: ok('pending'), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
    }),
    async (c) => c.json(await deps.rebuilds.request(c.req.valid('json'), callerOf(c)), 201) as never,
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions/{id}/approvals',
      summary: 'Approve a rebuild exception (not the requester; once per approver); enough approvals sign it',
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'approver')] as const,
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: { 200: ok('the exception after this approval'), ...problemResponses(401, 403, 404, 409) },
    }),
    async (c) => c.json(await deps.rebuilds.approve(c.req.valid('param').id, callerOf(c)), 200) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rebuild-exceptions',
      summary: 'Rebuild exceptions, newest first',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { query: z.object({ status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional() }) },
      responses: { 200: ok('exceptions'), ...problemResponses(400, 401) },
    }),
    async (c) => c.json({ items: await deps.rebuilds.list(c.req.valid('query').status) }, 200) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rebuild-exceptions/{id}',
      summary: 'One rebuild exception with its checklist',
      security: bearerSecurity,
      middleware: [anyRole] as const,
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: { 200: ok('the exception'), ...problemResponses(401, 404) },
    }),
    async (c) => c.json(await deps.rebuilds.get(c.req.valid('param').id), 200) as never,
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/reports/rebuilds',
      summary: 'Every rebuild seen, what changed, and whether and how it was promoted',
      security: bearerSecurity,
      middleware: [requireRole(deps.tokens, 'auditor')] as const,
      responses: { 200: ok('the report'), ...problemResponses(401, 403) },
    }),
    async (c) => c.json(await deps.rebuilds.report(), 200) as never,
  );
  return app;
}
