// Signed webhooks: events go into the outbox right after the write they report (one row per
// subscribed receiver); the dispatcher (webhook-dispatcher.ts) delivers them at least once.
import { createHmac } from 'node:crypto';
import type { Logger } from '../logger.ts';
import type { DeliveryRow, WebhookRepo } from '../storage/webhook-repo.ts';
import { newId } from '../util/ids.ts';
import { decodeTimeCursor, encodeTimeCursor } from './time-cursor.ts';
import type { WebhookEvent, WebhooksConfig } from './webhooks-config.ts';

export type { WebhookEvent };

/** Report an event to whoever subscribed to it; never throws (a failure is logged). */
export type Emit = (event: WebhookEvent, data: unknown) => Promise<void>;

/** An emitter that reports nothing (no WAYBILL_WEBHOOKS). */
export const NO_EVENTS: Emit = async () => {};

/** `sha256=<hex HMAC-SHA256 of the raw body>`: the Waybill-Signature header. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export interface DeliveryView {
  id: string;
  webhook: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export class WebhookService {
  readonly #config: WebhooksConfig | undefined;
  readonly #outbox: WebhookRepo;
  readonly #logger: Logger;
  readonly #now: () => Date;

  constructor(opts: { config: WebhooksConfig | undefined; outbox: WebhookRepo; logger: Logger; now?: () => Date }) {
    this.#config = opts.config;
    this.#outbox = opts.outbox;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The emitter services call after their write. */
  readonly emit: Emit = async (event, data) => {
    const targets = this.#config?.webhooks.filter((w) => w.events.includes(event)) ?? [];
    if (targets.length === 0) return;
    const now = new Date(this.#now().getTime());
    const body = JSON.stringify({ id: newId('evt'), event, createdAt: now.toISOString(), data });
    try {
      await this.#outbox.enqueue(
        targets.map((w) => ({
          id: newId('dlv'),
          webhook: w.url,
          event,
          body,
          nextAttemptAt: now,
          createdAt: now,
        })),
      );
    } catch (err) {
      // The event's own write has happened; failing the request now would not undo it.
      this.#logger.error({ err, event }, 'could not queue a webhook delivery');
    }
  };

  /** Deliveries, newest first; the cursor is `<createdAt ms>.<id>` of the page's last row. */
  async deliveries(q: { cursor?: string | undefined; limit: number }): Promise<{
    items: DeliveryView[];
    nextCursor: string | null;
  }> {
    const { rows, next } = await this.#outbox.page(decodeTimeCursor(q.cursor, 'dlv'), q.limit);
    return { items: rows.map(deliveryView), nextCursor: encodeTimeCursor(next) };
  }
}

function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhook: row.webhook,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  };
}
