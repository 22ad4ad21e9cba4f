import { describe, expect, it } from 'vitest';
import { signedEnvironment } from '../../src/intoto/signed-environment.ts';

const ISSUER = 'https://waybill.test';
const env = (name: string) => `${ISSUER}/environments/${name}`;
const statement = (predicateType: string, predicate: unknown, extra: Record<string, unknown> = {}) => ({
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ digest: { sha256: 'a'.repeat(64) } }],
  predicateType,
  predicate,
  ...extra,
});
const TR = 'https://in-toto.io/attestation/test-result/v0.1';

describe('signedEnvironment', () => {
  it('reads the environment where each kind of statement signs it', () => {
    expect(
      signedEnvironment(statement(TR, { configuration: [{ name: 'environment', uri: env('staging') }] }), ISSUER),
    ).toEqual({
      environment: 'staging',
    });
    expect(
      signedEnvironment(statement('https://slsa.dev/verification_summary/v1', { resourceUri: env('dev') }), ISSUER),
    ).toEqual({
      environment: 'dev',
    });
    expect(
      signedEnvironment(statement('https://waybill.dev/deployment/v1', { environmentUri: env('production') }), ISSUER),
    ).toEqual({ environment: 'production' });
    expect(
      signedEnvironment(statement('https://spdx.dev/Document', {}, { waybillEnvironment: env('staging') }), ISSUER),
    ).toEqual({ environment: 'staging' });
  });

  it('names no environment for another system’s URIs, a URI in the wrong field, or nothing at all', () => {
    const other = statement(TR, {
      configuration: [{ name: 'environment', uri: 'https://ci.external.test/environments/staging' }],
    });
    expect(signedEnvironment(other, ISSUER)).toEqual({ environment: null });
    expect(signedEnvironment(statement('https://spdx.dev/Document', { resourceUri: env('dev') }), ISSUER)).toEqual({
      environment: null,
    });
    expect(signedEnvironment(statement(TR, { configuration: [{ name: 'env', uri: env('dev') }] }), ISSUER)).toEqual({
      environment: null,
    });
    expect(
      signedEnvironment(statement(TR, { configuration: [{ name: 'environment', uri: `${env('dev')}/x` }] }), ISSUER),
    ).toEqual({
      environment: null,
    });
  });

  it('reports two different environments as a conflict', () => {
    const both = statement(TR, {
      configuration: [
        { name: 'environment', uri: env('dev') },
        { name: 'environment', uri: env('staging') },
      ],
    });
    expect(signedEnvironment(both, ISSUER)).toEqual({ conflict: ['dev', 'staging'] });
    const twice = statement(
      TR,
      { configuration: [{ name: 'environment', uri: env('dev') }] },
      { waybillEnvironment: env('dev') },
    );
    expect(signedEnvironment(twice, ISSUER)).toEqual({ environment: 'dev' });
  });
});
