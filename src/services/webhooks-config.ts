// The webhooks file (WAYBILL_WEBHOOKS): where waybill sends which events, and the secret each
// delivery is signed with. Parsed once at start-up (src/preflight.ts); any problem stops start-up
// with every bad field named, and no message ever contains a secret.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isDuration, parseDuration } from '../util/duration.ts';

export const WEBHOOK_EVENTS = [
  'verdict.denied',
  'deployment.recorded',
  'exception.requested',
  'exception.decided',
  'drift.detected',
  'admission.denied',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface Webhook {
  /** The receiver's URL; also how deliveries name their webhook. */
  url: string;
  secret: string;
  events: WebhookEvent[];
}

export interface WebhooksConfig {
  webhooks: Webhook[];
  /** How often the dispatcher looks for due deliveries. */
  pollMs: number;
  /** The first retry's delay; each further one doubles, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Attempts before a delivery is given up (status failed). */
  maxAttempts: number;
}

const Duration = z.string().refine(isDuration, 'a duration such as 1s, 5m, 1h');

const Schema = z
  .object({
    webhooks: z
      .array(
        z
          .object({
            url: z
              .string()
              .url()
              .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
            secret: z.string().min(16, 'at least 16 characters').optional(),
            secretEnv: z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
              .optional(),
            events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
          })
          .strict(),
      )
      .min(1),
    pollInterval: Duration.default('1s'),
    retry: z
      .object({
        initialDelay: Duration.default('1s'),
        maxDelay: Duration.default('1h'),
        maxAttempts: z.number().int().min(1).max(100).default(20),
      })
      .strict()
      .default({ initialDelay: '1s', maxDelay: '1h', maxAttempts: 20 }),
  })
  .strict();

export class WebhooksConfigError extends Error {
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`${source}: invalid webhooks configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'WebhooksConfigError';
    this.problems = problems;
  }
}

/** Parse the YAML text; `secrets` are the values of the environment variables `secretEnv` may name. */
export function parseWebhooksConfig(
  text: string,
  opts: { source: string; secrets: Readonly<Record<string, string>> },
): WebhooksConfig {
  let json: unknown;
  try {
    json = parseYaml(text);
  } catch (err) {
    throw new WebhooksConfigError(opts.source, [`not YAML: ${(err as Error).message}`]);
  }
  const parsed = Schema.safeParse(json);
  if (!parsed.success) {
    throw new WebhooksConfigError(
      opts.source,
      // zod's messages name the field, never its value, so a secret cannot leak through them
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const webhooks: Webhook[] = [];
  parsed.data.webhooks.forEach((w, n) => {
    if (w.secret && w.secretEnv) problems.push(`webhooks.${n}: give secret or secretEnv, not both`);
    let secret = w.secret;
    if (w.secretEnv) {
      secret = opts.secrets[w.secretEnv];
      if (!secret) problems.push(`webhooks.${n}.secretEnv: the environment variable ${w.secretEnv} is not set`);
      else if (secret.length < 16)
        problems.push(`webhooks.${n}.secretEnv: ${w.secretEnv} is shorter than 16 characters`);
    }
    if (!w.secret && !w.secretEnv) problems.push(`webhooks.${n}: a secret (secret or secretEnv) is required`);
    if (secret) webhooks.push({ url: w.url, secret, events: [...new Set(w.events)] });
  });
  if (problems.length > 0) throw new WebhooksConfigError(opts.source, problems);
  const { retry } = parsed.data;
  return {
    webhooks,
    pollMs: parseDuration(parsed.data.pollInterval),
    initialDelayMs: parseDuration(retry.initialDelay),
    maxDelayMs: parseDuration(retry.maxDelay),
    maxAttempts: retry.maxAttempts,
  };
}

/** Read and parse the file WAYBILL_WEBHOOKS names. */
export function loadWebhooksConfig(file: string, opts: { secrets: Readonly<Record<string, string>> }): WebhooksConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WebhooksConfigError(file, [`cannot read: ${(err as Error).message}`]);
  }
  return parseWebhooksConfig(text, { ...opts, source: file });
}
