// Rebuilds: the provenance diff, rebuild exceptions and their approvals, the rebuild report.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { DURATION_PATTERN, isDuration } from '../../util/duration.ts';
import { callerOf, requireRole } from '../auth.ts';
import { idempotent } from '../idempotent.ts';
import { requireJson } from '../middleware.ts';
import { behind, DigestParam, EnvironmentName, jsonBody, PageQuery, problemResponses, router, z } from '../openapi.ts';
import { AttestationRecord, ProvenanceDiff, RebuildException, RebuildReport } from '../schemas.ts';

const ok = <T extends z.ZodType>(description: string, schema: T) => ({
  description,
  content: { 'application/json': { schema } },
});
const ExceptionList = z.object({ items: z.array(RebuildException), nextCursor: z.string().nullable() });

export function rebuildRoutes(deps: Pick<Deps, 'tokens' | 'rebuilds' | 'idempotency' | 'revocations'>) {
  const app = router();
  const anyRole = requireRole(deps.tokens);

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/artifacts/{digest}/diff/{other}',
      summary: 'What changed between the provenance of two digests, sorted by kind, with a one-line summary',
      ...behind(anyRole),
      request: { params: z.object({ digest: DigestParam, other: DigestParam }) },
      responses: { 200: ok('the diff', ProvenanceDiff), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const { digest, other } = c.req.valid('param');
      return c.json(await deps.rebuilds.diff(digest, other), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions',
      summary: "Request an exception letting a rebuild use its original's history in one environment",
      ...behind(requireRole(deps.tokens, 'deployer'), requireJson),
      request: {
        body: {
          content: {
            'application/json': {
              schema: z
                .object({
                  original: DigestParam,
                  rebuild: DigestParam,
                  environment: EnvironmentName,
                  reason: z
                    .string()
                    .trim()
                    .min(10, 'explain why the rebuild is needed (10 characters at least)')
                    .max(4000),
                  ticket: z.string().min(1).max(500).optional(),
                  acceptedBuilderDependencies: z
                    .array(z.string().min(1).max(2000))
                    .max(100)
                    .optional()
                    .openapi({ description: 'builder dependencies (by name) accepted as changed: same-builder holds' }),
                  expiresIn: z
                    .string()
                    .regex(DURATION_PATTERN, 'a duration such as 12h or 7d')
                    .refine(isDuration, 'at most 100 years')
                    .optional(),
                })
                .strict(),
            },
          },
          required: true,
        },
      },
      responses: { 201: ok('pending', RebuildException), ...problemResponses(400, 401, 403, 404, 409, 415, 422) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const value = await idempotent(
        c,
        deps.idempotency,
        { route: 'rebuild-exceptions', body, kind: 'exception', status: 201 },
        () => deps.rebuilds.request(body, caller),
        (id) => deps.rebuilds.get(id),
      );
      return c.json(value, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions/{id}/approvals',
      summary: 'Approve a rebuild exception (not the requester; once per approver); enough approvals sign it',
      ...behind(requireRole(deps.tokens, 'approver')),
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: {
        200: ok('the exception after this approval', RebuildException),
        ...problemResponses(401, 403, 404, 409),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const caller = callerOf(c);
      const { value } = await deps.idempotency.once(
        caller.subject,
        c.req.header('idempotency-key'),
        `approvals/${id}`,
        {},
        async () => ({ value: await deps.rebuilds.approve(id, caller), status: 200, resource: `exception:${id}` }),
        (resource) => deps.rebuilds.get(resource.slice('exception:'.length)),
      );
      return c.json(value, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions/{id}/rejections',
      summary: 'Reject a pending rebuild exception (an approver the policy names): signed, with a reason',
      ...behind(requireRole(deps.tokens, 'approver'), requireJson),
      request: {
        params: z.object({ id: z.string().max(64) }),
        body: jsonBody(z.object({ reason: z.string().trim().min(1, 'say why it is rejected').max(2000) }).strict()),
      },
      responses: {
        200: ok('the rejected exception and its signed rejection', RebuildException.extend({ rejection: z.string() })),
        ...problemResponses(400, 401, 403, 404, 409, 415),
      },
    }),
    async (c) => {
      const x = await deps.rebuilds.reject(c.req.valid('param').id, c.req.valid('json').reason, callerOf(c));
      return c.json(x, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/rebuild-exceptions/{id}/revocations',
      summary: 'Revoke an approved rebuild exception (admin or a named approver): it stops counting at once',
      ...behind(requireRole(deps.tokens, 'approver', 'admin'), requireJson),
      request: {
        params: z.object({ id: z.string().max(64) }),
        body: jsonBody(z.object({ reason: z.string().trim().min(1, 'say why it is revoked').max(2000) }).strict()),
      },
      responses: {
        201: ok('the signed, logged revocation of the exception attestation', AttestationRecord),
        ...problemResponses(400, 401, 403, 404, 409, 415),
      },
    }),
    async (c) => {
      const caller = callerOf(c);
      const { id } = c.req.valid('param');
      const { reason } = c.req.valid('json');
      const attestationId = await deps.rebuilds.revocable(id, caller);
      const { record } = await deps.revocations.revoke(attestationId, reason, caller, { authorized: true });
      await deps.rebuilds.revoked(id, reason, caller, record.id);
      return c.json(record, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rebuild-exceptions',
      summary: 'Rebuild exceptions, newest first',
      ...behind(anyRole),
      request: {
        query: PageQuery.extend({ status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional() }),
      },
      responses: { 200: ok('exceptions', ExceptionList), ...problemResponses(400, 401) },
    }),
    async (c) => {
      const { status, ...page } = c.req.valid('query');
      return c.json(await deps.rebuilds.list(status, page), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rebuild-exceptions/{id}',
      summary: 'One rebuild exception with its checklist',
      ...behind(anyRole),
      request: { params: z.object({ id: z.string().max(64) }) },
      responses: { 200: ok('the exception', RebuildException), ...problemResponses(401, 404) },
    }),
    async (c) => c.json(await deps.rebuilds.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/reports/rebuilds',
      summary: 'Every rebuild seen, what changed, and whether and how it was promoted',
      ...behind(requireRole(deps.tokens, 'auditor')),
      responses: { 200: ok('the report', RebuildReport), ...problemResponses(401, 403) },
    }),
    async (c) => c.json(await deps.rebuilds.report(), 200),
  );
  return app;
}
