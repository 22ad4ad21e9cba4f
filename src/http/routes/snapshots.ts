// Runtime snapshots: POST /v1/environments/{name}/snapshots records what actually runs in an
// environment (signed and logged as a runtime-snapshot attestation); GET .../snapshots/latest reads it back.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { AppError } from '../../errors.ts';
import { callerOf, requireRole } from '../auth.ts';
import { idempotent } from '../idempotent.ts';
import { requireJson } from '../middleware.ts';
import {
  behind,
  DigestParam,
  EnvironmentName,
  jsonBody,
  jsonResponse,
  problemResponses,
  router,
  z,
} from '../openapi.ts';

/** At most this many workloads in one snapshot (a large cluster's pods, deduplicated by the job). */
export const MAX_WORKLOADS = 10_000;

const SnapshotRequest = z
  .object({
    source: z
      .string()
      .min(1)
      .max(200)
      .openapi({ description: 'what observed it, e.g. kubernetes/prod-eu', example: 'kubernetes/prod-eu' }),
    observedAt: z.string().datetime({ offset: true }).openapi({ format: 'date-time' }),
    workloads: z
      .array(
        z
          .object({
            name: z.string().min(1).max(300).openapi({ example: 'prod/app-7d9c5b-x2x4z/app' }),
            digest: DigestParam.refine((d) => d.startsWith('sha256:'), 'must be a sha256 digest'),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_WORKLOADS),
  })
  .strict()
  .openapi('SnapshotRequest');

const Snapshot = z
  .object({
    id: z.string(),
    environment: z.string(),
    source: z.string(),
    observedAt: z.string(),
    reporter: z.string(),
    workloads: z.array(z.object({ name: z.string(), digest: z.string() })),
    digests: z.array(z.string()),
    createdAt: z.string(),
    verified: z.boolean().optional(),
    bundle: z.unknown().optional(),
  })
  .openapi('Snapshot');

export function snapshotRoutes(deps: Pick<Deps, 'tokens' | 'snapshots' | 'idempotency'>) {
  const app = router();
  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/environments/{name}/snapshots',
      summary: 'Record what runs in an environment (signed and logged); the drift report compares it with promotion',
      ...behind(requireRole(deps.tokens, 'reporter'), requireJson),
      request: { params: z.object({ name: EnvironmentName }), body: jsonBody(SnapshotRequest) },
      responses: {
        201: jsonResponse('recorded: the snapshot with its bundle', Snapshot),
        ...problemResponses(400, 401, 403, 404, 413, 415),
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const caller = callerOf(c);
      const value = await idempotent(
        c,
        deps.idempotency,
        { route: `snapshots:${name}`, body, kind: 'attestation', status: 201 },
        () => deps.snapshots.record(name, body, caller),
        (id) => deps.snapshots.get(id),
      );
      return c.json(value, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments/{name}/snapshots/latest',
      summary: 'The latest runtime snapshot of an environment',
      ...behind(requireRole(deps.tokens)),
      request: { params: z.object({ name: EnvironmentName }) },
      responses: { 200: jsonResponse('the latest snapshot', Snapshot), ...problemResponses(400, 401, 404) },
    }),
    async (c) => {
      const latest = await deps.snapshots.latest(c.req.valid('param').name);
      if (!latest) throw new AppError('NOT_FOUND', 'no runtime snapshot of this environment');
      return c.json(latest, 200);
    },
  );
  return app;
}
