// The POSTs that create a resource, run at most once per Idempotency-Key (services/idempotency.ts):
// a retry with the same key and body answers the resource the first request made.
import type { Context } from 'hono';
import type { IdempotencyStore } from '../services/idempotency.ts';
import { callerOf } from './auth.ts';

export async function idempotent<T extends { id: string }>(
  c: Context,
  store: IdempotencyStore,
  scope: { route: string; body: unknown; kind: string; status: number },
  create: () => Promise<T>,
  get: (id: string) => Promise<T | null | undefined>,
): Promise<T> {
  const { value } = await store.once(
    callerOf(c).subject,
    c.req.header('idempotency-key'),
    scope.route,
    scope.body,
    async () => {
      const made = await create();
      return { value: made, status: scope.status, resource: `${scope.kind}:${made.id}` };
    },
    async (resource) => (await get(resource.slice(scope.kind.length + 1))) ?? undefined,
  );
  return value;
}
