// Auditors: evidence packs for offline verification, and the drift report.
import { createRoute } from '@hono/zod-openapi';
import { EVIDENCE_PACK_MEDIA_TYPE } from '../../audit/pack.ts';
import type { Deps } from '../../deps.ts';
import { requireRole } from '../auth.ts';
import { behind, DigestParam, EnvironmentName, indentedJson, problemResponses, router, z } from '../openapi.ts';
import { DriftReport, EvidencePack } from '../schemas.ts';

const pack = { description: 'an evidence pack', content: { [EVIDENCE_PACK_MEDIA_TYPE]: { schema: EvidencePack } } };

export function auditRoutes(deps: Pick<Deps, 'tokens' | 'audit' | 'drift'>) {
  const app = router();
  const forAuditors = behind(requireRole(deps.tokens, 'auditor'));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/environments/{name}/evidence',
      summary: 'Evidence pack for what runs in an environment now (verify offline with `waybill audit verify`)',
      ...forAuditors,
      request: { params: z.object({ name: EnvironmentName }) },
      responses: { 200: pack, ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => indentedJson(c, await deps.audit.environmentPack(c.req.valid('param').name), EVIDENCE_PACK_MEDIA_TYPE),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/artifacts/{digest}/evidence',
      summary: 'Evidence pack for a digest: its whole chain',
      ...forAuditors,
      request: { params: z.object({ digest: DigestParam }) },
      responses: { 200: pack, ...problemResponses(400, 401, 403, 404) },
    }),
    async (c) => indentedJson(c, await deps.audit.artifactPack(c.req.valid('param').digest), EVIDENCE_PACK_MEDIA_TYPE),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/reports/drift',
      summary:
        'What runs where by the deployment records, and everything that reached an environment without due evidence',
      ...forAuditors,
      responses: {
        200: {
          description: 'the report',
          content: { 'application/json': { schema: DriftReport } },
        },
        ...problemResponses(401, 403),
      },
    }),
    async (c) => c.json(await deps.drift.report(), 200),
  );
  return app;
}
