// The spec texts' own examples (fixtures/README.md says where each comes from) must validate.
import { describe, expect, it } from 'vitest';
import { ResourceDescriptor, validateStatement } from '../../src/intoto/statement.ts';
import { errorPaths, fixture } from './helpers.ts';

describe('spec examples validate', () => {
  it.each([
    ['test-result-v0.1.spec.json', 'v1'],
    ['vsa-v1.0.spec.json', 'v1'],
    ['vsa-v1.1.spec.json', 'v1'],
    ['provenance-v1.migrated.spec.json', 'v1'],
    ['provenance-v1.github.spec.json', 'v1'],
    ['vulns-v0.2.spec.json', 'v1'],
    ['provenance-v0.2.spec.json', 'v0.1'],
    ['provenance-v0.2.gitlab.spec.json', 'v0.1'],
    ['provenance-v0.2.commands.spec.json', 'v0.1'],
  ])('%s', (name, version) => {
    const json = fixture(name);
    const r = validateStatement(json);
    expect(r.ok ? [] : r.errors).toEqual([]);
    expect(r).toMatchObject({ ok: true, version });
    // nothing dropped, nothing added
    expect(r.ok && r.statement).toEqual(json);
  });

  it('also as JSON text and as UTF-8 bytes', () => {
    const text = JSON.stringify(fixture('vsa-v1.0.spec.json'));
    expect(validateStatement(text).ok).toBe(true);
    expect(validateStatement(new TextEncoder().encode(text)).ok).toBe(true);
  });

  it('resource_descriptor.md examples', () => {
    for (const rd of fixture<unknown[]>('resource-descriptors.spec.json')) {
      const r = ResourceDescriptor.safeParse(rd);
      expect(r.success ? [] : r.error.issues).toEqual([]);
      expect(r.data).toEqual(rd);
    }
  });
});

describe('spec examples with their placeholder digests left in fail exactly at those digests', () => {
  it('VSA v1.0 example', () => {
    const json = fixture('vsa-v1.0.spec.json');
    json.subject[0].digest.sha256 = '5678...';
    json.predicate.policy.digest.sha256 = '1234...';
    json.predicate.inputAttestations[0].digest.sha256 = 'abcd...';
    expect(errorPaths(json)).toEqual([
      '/predicate/inputAttestations/0/digest/sha256',
      '/predicate/policy/digest/sha256',
      '/subject/0/digest/sha256',
    ]);
  });

  it('provenance v0.2 example', () => {
    const json = fixture('provenance-v0.2.spec.json');
    json.subject[0].digest.sha256 = '5678...';
    json.predicate.invocation.configSource.digest.sha256 = '1234...';
    json.predicate.materials[0].digest.sha256 = '1234...';
    expect(errorPaths(json)).toEqual([
      '/predicate/invocation/configSource/digest/sha256',
      '/predicate/materials/0/digest/sha256',
      '/subject/0/digest/sha256',
    ]);
  });
});
