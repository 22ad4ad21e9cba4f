// Calls into the Worker under test (inside workerd) and into the Node instance beside it.
import { exports } from 'cloudflare:workers';
import { inject } from 'vitest';

export const ISSUER = 'https://waybill.workerd.test';

type CallOptions = { token?: string; body?: unknown };

async function call(base: 'worker' | string, method: string, route: string, opts: CallOptions = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const init = { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) };
  return base === 'worker' ? exports.default.fetch(`${ISSUER}${route}`, init) : fetch(`${base}${route}`, init);
}

/** A request to the Worker (its default export's fetch). */
export const worker = (method: string, route: string, opts?: CallOptions) => call('worker', method, route, opts);
/** A request to the Node waybill on the same database. */
export const node = (method: string, route: string, opts?: CallOptions) => call(inject('nodeUrl'), method, route, opts);

/** A token minted through the Worker's admin API. */
export async function mint(roles: string[], subject = `https://ci.example.com/${roles.join('-')}`): Promise<string> {
  const res = await worker('POST', '/v1/tokens', { token: inject('adminToken'), body: { subject, roles } });
  if (res.status !== 201) throw new Error(`minting a token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Build facts for POST /v1/provenance about a fresh digest. */
export function buildFacts(digest = randomHex()) {
  return {
    subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
    buildType: 'https://example.com/build/v1',
    externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
    resolvedDependencies: [
      { uri: 'git+https://github.com/example/app', digest: { gitCommit: '0123456789abcdef0123456789abcdef01234567' } },
    ],
    builder: { id: 'https://ci.example.com/builder/v1' },
  };
}

export function randomHex(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
