// ID-token verification against a local issuer on loopback: what a CI token must be to be
// accepted, and every way a bad one is refused, with the reason the caller reads.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { base64url, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OidcIssuer } from '../../src/identity/config.ts';
import { httpJwks } from '../../src/identity/jwks.ts';
import { looksLikeJwt, verifyIdToken } from '../../src/identity/token.ts';
import { githubClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.ts';

describe('OIDC ID token verification', () => {
  let issuer: TestIssuer;
  let issuers: OidcIssuer[];
  const jwks = httpJwks();
  beforeAll(async () => {
    issuer = await startIssuer();
    issuers = [{ issuer: issuer.url, type: 'github-actions', audience: 'waybill' }];
  });
  afterAll(async () => issuer.close());

  const refusedWith = async (token: string, reason: RegExp) =>
    expect(verifyIdToken(token, issuers, jwks)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(reason),
    });

  it("accepts a GitHub Actions token, finding the issuer's keys through OIDC discovery", async () => {
    const token = await issuer.mint(githubClaims());
    expect(looksLikeJwt(token)).toBe(true);
    const { claims, issuer: config } = await verifyIdToken(token, issuers, jwks);
    expect(config.issuer).toBe(issuer.url);
    expect(claims).toMatchObject({ repository: 'acme/app', job_workflow_ref: expect.any(String), aud: 'waybill' });
  });

  it('refuses a token for another audience', async () => {
    await refusedWith(await issuer.mint(githubClaims(), { audience: 'sigstore' }), /audience must be "waybill"/);
  });

  it('refuses an expired token, but allows 60 s of clock skew', async () => {
    await refusedWith(await issuer.mint(githubClaims(), { expiresIn: -120 }), /expired/);
    await expect(
      verifyIdToken(await issuer.mint(githubClaims(), { expiresIn: -30 }), issuers, jwks),
    ).resolves.toBeDefined();
  });

  it('refuses a token that is not valid yet', async () => {
    const nbf = Math.floor(Date.now() / 1000) + 600;
    await refusedWith(await issuer.mint(githubClaims(), { notBefore: nbf, expiresIn: 900 }), /not valid yet/);
  });

  it('refuses a token from an issuer that is not configured', async () => {
    await refusedWith(
      await issuer.mint(githubClaims(), { issuer: 'https://token.actions.example.com' }),
      /issuer "https:\/\/token\.actions\.example\.com" is not configured/,
    );
  });

  it('refuses a token signed with a key the issuer does not publish (unknown kid)', async () => {
    const stranger = await issuer.newKey();
    await refusedWith(
      await issuer.mint(githubClaims(), { signWith: stranger }),
      /no key of .* matches the token's kid/,
    );
  });

  it("refuses a forged signature: another key, the issuer's kid", async () => {
    const forger = await issuer.newKey();
    await refusedWith(
      await issuer.mint(githubClaims(), { signWith: forger, kid: issuer.keys[0]!.kid }),
      /signature does not verify/,
    );
  });

  it('refuses a token whose claims were changed after signing', async () => {
    const [h, p, s] = (await issuer.mint(githubClaims())).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    claims.repository = 'acme/other';
    await refusedWith(`${h}.${base64url.encode(JSON.stringify(claims))}.${s}`, /signature does not verify/);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({ ...githubClaims(), iss: issuer.url, aud: 'waybill', iat: now, exp: now + 300 }),
    );
    await refusedWith(`${header}.${payload}.`, /algorithm is not allowed|malformed/);
  });

  it("refuses an HS256 token made with the issuer's public key as the HMAC secret", async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = new TextEncoder().encode(await issuer.publicKeyPem());
    const token = await new SignJWT({ ...githubClaims() })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.keys[0]!.kid })
      .setIssuer(issuer.url)
      .setAudience('waybill')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(secret);
    await refusedWith(token, /algorithm is not allowed/);
  });

  it('refuses what is not a JWT, and tells JWTs from waybill tokens', async () => {
    await refusedWith('not.a.jwt', /not a JWT/);
    expect(looksLikeJwt(`wb_${'a'.repeat(43)}`)).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(true);
  });

  it('fetches the JWKS again for an unknown kid once the cooldown has passed: a rotated key is accepted', async () => {
    const fresh = httpJwks({ cooldownMs: 0 });
    await verifyIdToken(await issuer.mint(githubClaims()), issuers, fresh);
    const before = issuer.jwksFetches;
    const rotated = await issuer.newKey('ES256');
    issuer.publish(rotated);
    const { claims } = await verifyIdToken(await issuer.mint(githubClaims(), { kid: rotated.kid }), issuers, fresh);
    expect(claims.repository).toBe('acme/app');
    expect(issuer.jwksFetches).toBe(before + 1);
    // Known kids are served from the cache.
    await verifyIdToken(await issuer.mint(githubClaims(), { kid: rotated.kid }), issuers, fresh);
    expect(issuer.jwksFetches).toBe(before + 1);
  });

  it('within the cooldown, an unknown kid does not make waybill fetch the JWKS again', async () => {
    const cached = httpJwks({ cooldownMs: 60_000 });
    await verifyIdToken(await issuer.mint(githubClaims()), issuers, cached);
    const before = issuer.jwksFetches;
    const late = await issuer.newKey();
    issuer.publish(late);
    await expect(
      verifyIdToken(await issuer.mint(githubClaims(), { kid: late.kid }), issuers, cached),
    ).rejects.toMatchObject({ message: expect.stringMatching(/no key/) });
    expect(issuer.jwksFetches).toBe(before);
  });

  it('reads the keys from a JWKS file when configured (air-gapped), without fetching', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-jwks-'));
    const file = issuer.writeJwks(dir);
    const before = issuer.jwksFetches;
    const local = [{ ...issuers[0]!, jwksFile: file }];
    await expect(verifyIdToken(await issuer.mint(githubClaims()), local, httpJwks())).resolves.toBeDefined();
    expect(issuer.jwksFetches).toBe(before);
  });
});
