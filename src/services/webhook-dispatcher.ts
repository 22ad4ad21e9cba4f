// Delivers the webhook outbox: every poll it claims the due deliveries (FOR UPDATE SKIP LOCKED,
// with a lease, so instances share the work and a crash mid-delivery is retried), POSTs each body
// signed with its receiver's secret, and marks it delivered on a 2xx; otherwise it retries with
// exponential backoff up to a cap, and gives up after the configured attempts. At least once:
// a delivery whose answer was lost is sent again, with the same Waybill-Delivery id.
import type { Logger } from '../logger.ts';
import type { DeliveryRow, WebhookRepo } from '../storage/webhook-repo.ts';
import { webhookSignature } from './webhooks.ts';
import type { WebhooksConfig } from './webhooks-config.ts';

const BATCH = 20;
const TIMEOUT_MS = 10_000;
/** A claimed delivery is retried after this long if its dispatcher never reports back. */
const LEASE_MS = 60_000;

export class WebhookDispatcher {
  readonly #config: WebhooksConfig;
  readonly #outbox: WebhookRepo;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #fetch: typeof fetch;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(opts: {
    config: WebhooksConfig;
    outbox: WebhookRepo;
    logger: Logger;
    now?: () => Date;
    fetch?: typeof fetch;
  }) {
    this.#config = opts.config;
    this.#outbox = opts.outbox;
    this.#logger = opts.logger;
    this.#now = opts.now ?? (() => new Date());
    this.#fetch = opts.fetch ?? fetch;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#logger.info(
      { webhooks: this.#config.webhooks.map((w) => ({ url: w.url, events: w.events })) },
      'delivering webhooks',
    );
    this.#schedule(0);
  }

  /** Stop polling and wait for the deliveries in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce()
        .catch((err) => this.#logger.error({ err }, 'webhook delivery round failed'))
        .then(() => this.#schedule(this.#config.pollMs));
    }, ms);
    this.#timer.unref?.();
  }

  /** One round: claim what is due, deliver it; resolves with how many were attempted. */
  async runOnce(): Promise<number> {
    const now = this.#now();
    const claimed = await this.#outbox.claimDue(now, new Date(now.getTime() + LEASE_MS), BATCH);
    await Promise.all(claimed.map((row) => this.#deliver(row)));
    return claimed.length;
  }

  async #deliver(row: DeliveryRow): Promise<void> {
    const webhook = this.#config.webhooks.find((w) => w.url === row.webhook);
    const attempts = row.attempts + 1;
    if (!webhook) {
      await this.#outbox.attemptFailed(row.id, attempts, 'the webhook is no longer configured', null);
      return;
    }
    let error: string;
    try {
      const res = await this.#fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'waybill-webhooks',
          'waybill-event': row.event,
          'waybill-delivery': row.id,
          'waybill-signature': webhookSignature(webhook.secret, row.body),
        },
        body: row.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        await this.#outbox.delivered(row.id, attempts, this.#now());
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { message?: string } };
      error = [e.message || String(err), e.cause?.message].filter(Boolean).join(': ');
    }
    const { initialDelayMs, maxDelayMs, maxAttempts } = this.#config;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempts - 1));
    const next = attempts >= maxAttempts ? null : new Date(this.#now().getTime() + delay);
    await this.#outbox.attemptFailed(row.id, attempts, error.slice(0, 500), next);
    this.#logger.warn(
      {
        delivery: row.id,
        webhook: row.webhook,
        event: row.event,
        attempts,
        error,
        retryAt: next?.toISOString() ?? null,
      },
      next ? 'webhook delivery failed; will retry' : 'webhook delivery failed; giving up',
    );
  }
}
