// WAYBILL_WEBHOOKS: receivers, events and secrets, checked at start-up without ever echoing a secret.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { preflight } from '../../src/preflight.ts';
import { parseWebhooksConfig, WebhooksConfigError } from '../../src/services/webhooks-config.ts';
import { testConfig } from '../helpers/app.ts';

const SECRET = 'top-secret-value-0123456789';
const parse = (text: string, secrets: Record<string, string> = {}) =>
  parseWebhooksConfig(text, { source: 'webhooks.yaml', secrets });
const problems = (text: string, secrets: Record<string, string> = {}) => {
  try {
    parse(text, secrets);
  } catch (err) {
    if (err instanceof WebhooksConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('the webhooks configuration', () => {
  it('reads receivers with an inline secret or one from the environment, and the retry schedule', () => {
    const config = parse(
      `
webhooks:
  - { url: 'https://hooks.example.com/a', secret: '${SECRET}', events: [verdict.denied, verdict.denied] }
  - { url: 'https://hooks.example.com/b', secretEnv: HOOK_B, events: [admission.denied] }
retry: { initialDelay: 5s, maxDelay: 10m, maxAttempts: 8 }
`,
      { HOOK_B: 'another-secret-0123456789' },
    );
    expect(config.webhooks).toEqual([
      { url: 'https://hooks.example.com/a', secret: SECRET, events: ['verdict.denied'] },
      { url: 'https://hooks.example.com/b', secret: 'another-secret-0123456789', events: ['admission.denied'] },
    ]);
    expect(config).toMatchObject({ pollMs: 1000, initialDelayMs: 5000, maxDelayMs: 600_000, maxAttempts: 8 });
  });

  it('names every problem and never the secret', () => {
    const found = problems(`
webhooks:
  - { url: 'ftp://x', secret: '${SECRET}', events: [deploy.done] }
  - { url: 'https://hooks.example.com/b', secretEnv: MISSING, events: [drift.detected] }
  - { url: 'https://hooks.example.com/c', secret: '${SECRET}', secretEnv: HOOK, events: [drift.detected] }
`);
    expect(found).toEqual([
      'webhooks.0.url: must be an http(s) URL',
      expect.stringMatching(/^webhooks\.0\.events\.0: Invalid option/),
    ]);
    const second = problems(
      `
webhooks:
  - { url: 'https://hooks.example.com/b', secretEnv: MISSING, events: [drift.detected] }
  - { url: 'https://hooks.example.com/c', secret: '${SECRET}', secretEnv: HOOK, events: [drift.detected] }
  - { url: 'https://hooks.example.com/d', events: [drift.detected] }
  - { url: 'https://hooks.example.com/e', secret: short, events: [drift.detected] }
`,
      { HOOK: SECRET },
    );
    expect(second).toEqual(['webhooks.3.secret: at least 16 characters']);
    const third = problems(
      `
webhooks:
  - { url: 'https://hooks.example.com/b', secretEnv: MISSING, events: [drift.detected] }
  - { url: 'https://hooks.example.com/c', secret: '${SECRET}', secretEnv: HOOK, events: [drift.detected] }
  - { url: 'https://hooks.example.com/d', events: [drift.detected] }
`,
      { HOOK: SECRET },
    );
    expect(third).toEqual([
      'webhooks.0.secretEnv: the environment variable MISSING is not set',
      'webhooks.1: give secret or secretEnv, not both',
      'webhooks.2: a secret (secret or secretEnv) is required',
    ]);
    expect(JSON.stringify([found, second, third])).not.toContain(SECRET);
  });

  it('takes secretEnv values from the environment at start-up', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-hooks-'));
    const file = path.join(dir, 'webhooks.yaml');
    writeFileSync(
      file,
      "webhooks:\n  - { url: 'https://h.example.com/', secretEnv: WB_HOOK, events: [drift.detected] }\n",
    );
    const checked = preflight(testConfig({ WAYBILL_WEBHOOKS: file, WB_HOOK: SECRET }));
    expect(checked.webhooks?.webhooks[0]?.secret).toBe(SECRET);
    expect(() => preflight(testConfig({ WAYBILL_WEBHOOKS: file }))).toThrow(/WB_HOOK is not set/);
  });
});
