// Kubernetes admission: POST /v1/admission/kubernetes (the API server's validating webhook call)
// and GET /v1/admission/events (what was decided).
//
// Once the caller is authenticated, every request gets an AdmissionReview back with HTTP 200,
// even a malformed one or one waybill failed to judge: the API server needs a review to show
// the user why, and a denied review fails closed whatever the webhook's failurePolicy says.
// A caller without a valid token still gets a 401/403 problem (docs/kubernetes.md).
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { callerOf, requireRole } from '../auth.ts';
import { jsonProblem } from '../input-guard.ts';
import { behind, jsonResponse, PageQuery, pageOf, problemResponses, router, z } from '../openapi.ts';

const AdmissionReviewResponse = z
  .object({
    apiVersion: z.string(),
    kind: z.literal('AdmissionReview'),
    response: z.object({
      uid: z.string(),
      allowed: z.boolean(),
      status: z.object({ code: z.number().int(), reason: z.string().optional(), message: z.string() }).optional(),
      warnings: z.array(z.string()).optional(),
    }),
  })
  .openapi('AdmissionReviewResponse');

const ImageCheck = z.object({
  container: z.string(),
  image: z.string(),
  digest: z.string().nullable(),
  reason: z.string().nullable(),
});

const AdmissionEvent = z
  .object({
    id: z.string(),
    uid: z.string(),
    namespace: z.string().nullable(),
    environment: z.string().nullable(),
    enforcement: z.enum(['enforce', 'audit']).nullable(),
    operation: z.string().nullable(),
    kind: z.string().nullable(),
    name: z.string().nullable(),
    decision: z.enum(['allow', 'deny']),
    allowed: z.boolean(),
    images: z.array(ImageCheck),
    message: z.string().nullable(),
    caller: z.string(),
    createdAt: z.string(),
  })
  .openapi('AdmissionEvent');

export function admissionRoutes(deps: Pick<Deps, 'tokens' | 'admission' | 'logger'>) {
  const app = router();

  app.openapi(
    createRoute({
      method: 'post',
      path: '/v1/admission/kubernetes',
      summary: 'Kubernetes validating admission: may these images run in this namespace?',
      description:
        'Answers an AdmissionReview with the request uid. Malformed reviews, unknown namespaces and ' +
        'internal errors are answered allowed: false (HTTP 200); audit-mode environments are answered ' +
        'allowed: true with warnings. The body (an admission.k8s.io/v1 AdmissionReview as the API server ' +
        'sends it) is read leniently, not validated: whatever arrives gets a review back.',
      ...behind(requireRole(deps.tokens, 'admission')),
      responses: {
        200: jsonResponse('the AdmissionReview answer', AdmissionReviewResponse),
        ...problemResponses(400, 401, 403, 413),
      },
    }),
    async (c) => {
      const caller = callerOf(c);
      // Read leniently (the input guard has parsed JSON bodies sent as JSON already): whatever
      // arrives is judged, and what cannot be read is denied in a review.
      let body: unknown;
      const text = await c.req.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (body !== undefined && jsonProblem(body)) body = undefined;
      try {
        return c.json(await deps.admission.review(body, caller.subject), 200);
      } catch (err) {
        deps.logger.error({ err, requestId: c.get('requestId') }, 'admission review failed; denied');
        return c.json(deps.admission.failed(body), 200);
      }
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/admission/events',
      summary: 'Admission decisions, newest first (audit mode records what it would have denied)',
      ...behind(requireRole(deps.tokens, 'auditor', 'admin')),
      request: { query: PageQuery },
      responses: {
        200: { description: 'decisions', content: { 'application/json': { schema: pageOf(AdmissionEvent) } } },
        ...problemResponses(400, 401, 403),
      },
    }),
    async (c) => c.json(await deps.admission.events(c.req.valid('query')), 200),
  );
  return app;
}
