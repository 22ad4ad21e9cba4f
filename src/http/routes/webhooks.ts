// GET /v1/webhooks/deliveries: the webhook outbox, newest first, with each delivery's status.
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.ts';
import { requireRole } from '../auth.ts';
import { behind, PageQuery, pageOf, problemResponses, router, z } from '../openapi.ts';

const Delivery = z
  .object({
    id: z.string().openapi({ description: 'the Waybill-Delivery header of every attempt' }),
    webhook: z.string().openapi({ description: "the receiver's URL" }),
    event: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi('WebhookDelivery');

export function webhookRoutes(deps: Pick<Deps, 'tokens' | 'webhooks'>) {
  const app = router();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/webhooks/deliveries',
      summary: 'Webhook deliveries, newest first: pending, delivered or given up',
      ...behind(requireRole(deps.tokens, 'admin')),
      request: { query: PageQuery },
      responses: {
        200: { description: 'deliveries', content: { 'application/json': { schema: pageOf(Delivery) } } },
        ...problemResponses(400, 401, 403),
      },
    }),
    async (c) => c.json(await deps.webhooks.deliveries(c.req.valid('query')), 200),
  );
  return app;
}
