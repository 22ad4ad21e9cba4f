import { describe, expect, it } from 'vitest';
import {
  PREDICATE_SCHEMAS,
  PROVENANCE_V1,
  PROVENANCE_V02,
  ProvenanceV1,
  TEST_RESULT_V01,
  VSA_V1,
  VULNS_V02,
} from '../../src/intoto/predicates.ts';
import type { Json } from '../helpers/json.ts';
import { errorPaths, fixture, hex, messagesAt, statement } from './helpers.ts';

type Mutation = [string, (p: Record<string, Json>) => void, string[]];

/** Apply `mutate` to the predicate of fixture `name` and return the error paths. */
const pathsAfter = (name: string, mutate: (p: Record<string, Json>) => void) => {
  const json = fixture(name);
  mutate(json.predicate);
  return errorPaths(json);
};

it('PREDICATE_SCHEMAS is keyed by predicate type URI', () => {
  expect(Object.keys(PREDICATE_SCHEMAS).sort()).toEqual(
    [
      'https://in-toto.io/attestation/test-result/v0.1',
      'https://in-toto.io/attestation/vulns/v0.2',
      'https://slsa.dev/provenance/v0.2',
      'https://slsa.dev/provenance/v1',
      'https://slsa.dev/verification_summary/v1',
      'https://waybill.dev/runtime-snapshot/v1',
    ].sort(),
  );
  expect([PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01, VSA_V1, VULNS_V02].every((t) => t in PREDICATE_SCHEMAS)).toBe(
    true,
  );
});

describe('SLSA provenance v1', () => {
  const F = 'provenance-v1.github.spec.json';

  it.each<Mutation>([
    ['no buildDefinition', (p) => delete p.buildDefinition, ['/predicate/buildDefinition']],
    ['no runDetails', (p) => delete p.runDetails, ['/predicate/runDetails']],
    ['no buildType', (p) => delete p.buildDefinition.buildType, ['/predicate/buildDefinition/buildType']],
    [
      'a relative buildType',
      (p) => (p.buildDefinition.buildType = 'workflow/v1'),
      ['/predicate/buildDefinition/buildType'],
    ],
    [
      'no externalParameters',
      (p) => delete p.buildDefinition.externalParameters,
      ['/predicate/buildDefinition/externalParameters'],
    ],
    [
      'null externalParameters',
      (p) => (p.buildDefinition.externalParameters = null),
      ['/predicate/buildDefinition/externalParameters'],
    ],
    [
      'externalParameters an array',
      (p) => (p.buildDefinition.externalParameters = ['a']),
      ['/predicate/buildDefinition/externalParameters'],
    ],
    [
      'internalParameters a string',
      (p) => (p.buildDefinition.internalParameters = 'x'),
      ['/predicate/buildDefinition/internalParameters'],
    ],
    [
      'resolvedDependencies not an array',
      (p) => (p.buildDefinition.resolvedDependencies = {}),
      ['/predicate/buildDefinition/resolvedDependencies'],
    ],
    [
      'an empty dependency',
      (p) => p.buildDefinition.resolvedDependencies.push({ name: 'x' }),
      ['/predicate/buildDefinition/resolvedDependencies/1'],
    ],
    [
      'a short gitCommit',
      (p) => (p.buildDefinition.resolvedDependencies[0].digest.gitCommit = hex(39)),
      ['/predicate/buildDefinition/resolvedDependencies/0/digest/gitCommit'],
    ],
    [
      'a dependency uri with a space',
      (p) => (p.buildDefinition.resolvedDependencies[0].uri = 'git+https://github.com/a b'),
      ['/predicate/buildDefinition/resolvedDependencies/0/uri'],
    ],
    ['no builder', (p) => delete p.runDetails.builder, ['/predicate/runDetails/builder']],
    ['no builder.id', (p) => (p.runDetails.builder = {}), ['/predicate/runDetails/builder/id']],
    ['builder.id not a URI', (p) => (p.runDetails.builder.id = 'github actions'), ['/predicate/runDetails/builder/id']],
    [
      'builder.version not string->string',
      (p) => (p.runDetails.builder.version = { worker: 1 }),
      ['/predicate/runDetails/builder/version/worker'],
    ],
    [
      'builder.version an array',
      (p) => (p.runDetails.builder.version = ['v1']),
      ['/predicate/runDetails/builder/version'],
    ],
    [
      'a bad builderDependency',
      (p) => (p.runDetails.builder.builderDependencies = [{ digest: { sha256: 'x' } }]),
      ['/predicate/runDetails/builder/builderDependencies/0/digest/sha256'],
    ],
    [
      'startedOn not RFC 3339',
      (p) => (p.runDetails.metadata.startedOn = '1985-04-12 23:20:50'),
      ['/predicate/runDetails/metadata/startedOn'],
    ],
    [
      'finishedOn not UTC',
      (p) => (p.runDetails.metadata.finishedOn = '1985-04-12T23:20:50+01:00'),
      ['/predicate/runDetails/metadata/finishedOn'],
    ],
    [
      'finishedOn a number',
      (p) => (p.runDetails.metadata.finishedOn = 482196050),
      ['/predicate/runDetails/metadata/finishedOn'],
    ],
    [
      'invocationId a number',
      (p) => (p.runDetails.metadata.invocationId = 7),
      ['/predicate/runDetails/metadata/invocationId'],
    ],
    [
      'a bad byproduct content',
      (p) => (p.runDetails.byproducts[0].content = 'not base64!'),
      ['/predicate/runDetails/byproducts/0/content'],
    ],
    [
      'a bad byproduct mediaType',
      (p) => (p.runDetails.byproducts[0].mediaType = 'json'),
      ['/predicate/runDetails/byproducts/0/mediaType'],
    ],
    [
      'annotations an array',
      (p) => (p.runDetails.byproducts[0].annotations = []),
      ['/predicate/runDetails/byproducts/0/annotations'],
    ],
  ])('rejects %s', (_, mutate, paths) => {
    expect(pathsAfter(F, mutate)).toEqual(paths);
  });

  it('accepts empty externalParameters, nulls for unset optional fields, and extension fields', () => {
    const json = fixture(F);
    json.predicate.buildDefinition.externalParameters = {};
    json.predicate.runDetails.metadata = null;
    json.predicate.runDetails.byproducts = null;
    json.predicate.examplebuilder_isCodeReviewed = true;
    json.predicate.runDetails.builder.examplebuilder_region = 'eu';
    expect(errorPaths(json)).toEqual([]);
    expect(ProvenanceV1.parse(json.predicate)).toEqual(json.predicate);
  });

  it('the helper statement used by the service tests is valid provenance', async () => {
    const { provenanceStatement } = await import('../helpers/statements.ts');
    expect(errorPaths(provenanceStatement())).toEqual([]);
  });
});

describe('SLSA provenance v0.2 (read only)', () => {
  const F = 'provenance-v0.2.gitlab.spec.json';

  it.each<Mutation>([
    ['no builder', (p) => delete p.builder, ['/predicate/builder']],
    ['no builder.id', (p) => (p.builder = {}), ['/predicate/builder/id']],
    ['no buildType', (p) => delete p.buildType, ['/predicate/buildType']],
    [
      'a bad configSource uri',
      (p) => (p.invocation.configSource.uri = 'gitlab.com/foo'),
      ['/predicate/invocation/configSource/uri'],
    ],
    [
      'a bad configSource digest',
      (p) => (p.invocation.configSource.digest = { sha1: 'abc' }),
      ['/predicate/invocation/configSource/digest/sha1'],
    ],
    [
      'entryPoint not a string',
      (p) => (p.invocation.configSource.entryPoint = ['build']),
      ['/predicate/invocation/configSource/entryPoint'],
    ],
    ['parameters an array', (p) => (p.invocation.parameters = []), ['/predicate/invocation/parameters']],
    ['environment a string', (p) => (p.invocation.environment = 'prod'), ['/predicate/invocation/environment']],
    ['buildConfig a string', (p) => (p.buildConfig = 'make'), ['/predicate/buildConfig']],
    ['a bad buildStartedOn', (p) => (p.metadata.buildStartedOn = '2022-06-17'), ['/predicate/metadata/buildStartedOn']],
    [
      'completeness.materials a string',
      (p) => (p.metadata.completeness.materials = 'false'),
      ['/predicate/metadata/completeness/materials'],
    ],
    ['reproducible a string', (p) => (p.metadata.reproducible = 'no'), ['/predicate/metadata/reproducible']],
    ['materials an object', (p) => (p.materials = {}), ['/predicate/materials']],
    [
      'a bad material',
      (p) => (p.materials = [{ uri: 'x', digest: {} }]),
      ['/predicate/materials/0/digest', '/predicate/materials/0/uri'],
    ],
  ])('rejects %s', (_, mutate, paths) => {
    expect(pathsAfter(F, mutate)).toEqual(paths);
  });

  it('accepts timestamps with an offset (the spec example does) and null invocation', () => {
    expect(errorPaths(fixture(F))).toEqual([]);
    expect(errorPaths(fixture('provenance-v0.2.commands.spec.json'))).toEqual([]);
  });
});

describe('test-result v0.1', () => {
  const F = 'test-result-v0.1.spec.json';

  it.each<Mutation>([
    ['no result', (p) => delete p.result, ['/predicate/result']],
    ['result lowercase', (p) => (p.result = 'passed'), ['/predicate/result']],
    ['result SUCCESS', (p) => (p.result = 'SUCCESS'), ['/predicate/result']],
    ['no configuration', (p) => delete p.configuration, ['/predicate/configuration']],
    ['null configuration', (p) => (p.configuration = null), ['/predicate/configuration']],
    ['configuration an object', (p) => (p.configuration = { name: 'ci' }), ['/predicate/configuration']],
    [
      'a configuration with neither uri, digest nor content',
      (p) => (p.configuration = [{ name: 'environment' }]),
      ['/predicate/configuration/0'],
    ],
    [
      'a configuration with a bad gitBlob',
      (p) => (p.configuration[0].digest.gitBlob = 'EBE4'),
      ['/predicate/configuration/0/digest/gitBlob'],
    ],
    ['url not a URI', (p) => (p.url = 'github.com/in-toto/in-toto/actions/runs/1'), ['/predicate/url']],
    ['passedTests a string', (p) => (p.passedTests = 'all'), ['/predicate/passedTests']],
    ['a non-string warned test', (p) => (p.warnedTests = ['ok', 3]), ['/predicate/warnedTests/1']],
    ['failedTests an object', (p) => (p.failedTests = {}), ['/predicate/failedTests']],
  ])('rejects %s', (_, mutate, paths) => {
    expect(pathsAfter(F, mutate)).toEqual(paths);
  });

  it('accepts an empty configuration list (required means present)', () => {
    expect(pathsAfter(F, (p) => (p.configuration = []))).toEqual([]);
  });

  it("accepts waybill's environment entry and FAILED/WARNED results", () => {
    const json = fixture(F);
    json.predicate.configuration.push({ name: 'environment', uri: 'https://waybill.example/environments/staging' });
    for (const result of ['WARNED', 'FAILED']) {
      json.predicate.result = result;
      expect(errorPaths(json)).toEqual([]);
    }
  });
});

describe('SLSA VSA v1', () => {
  const F = 'vsa-v1.1.spec.json';

  it.each<Mutation>([
    ['no verifier', (p) => delete p.verifier, ['/predicate/verifier']],
    ['no verifier.id', (p) => (p.verifier = {}), ['/predicate/verifier/id']],
    [
      'verifier.version not string->string',
      (p) => (p.verifier.version = { tool: 2 }),
      ['/predicate/verifier/version/tool'],
    ],
    ['timeVerified not UTC', (p) => (p.timeVerified = '1985-04-12T23:20:50.52+02:00'), ['/predicate/timeVerified']],
    ['no resourceUri', (p) => delete p.resourceUri, ['/predicate/resourceUri']],
    ['a relative resourceUri', (p) => (p.resourceUri = 'example-1.2.3.tar.gz'), ['/predicate/resourceUri']],
    ['no policy', (p) => delete p.policy, ['/predicate/policy']],
    ['a policy without uri', (p) => delete p.policy.uri, ['/predicate/policy/uri']],
    [
      'a policy with a bad digest',
      (p) => (p.policy.digest = { sha256: '1234...' }),
      ['/predicate/policy/digest/sha256'],
    ],
    [
      'an input attestation without digest',
      (p) => delete p.inputAttestations[0].digest,
      ['/predicate/inputAttestations/0/digest'],
    ],
    ['inputAttestations an object', (p) => (p.inputAttestations = {}), ['/predicate/inputAttestations']],
    ['no verificationResult', (p) => delete p.verificationResult, ['/predicate/verificationResult']],
    ['verificationResult WARNED', (p) => (p.verificationResult = 'WARNED'), ['/predicate/verificationResult']],
    ['no verifiedLevels', (p) => delete p.verifiedLevels, ['/predicate/verifiedLevels']],
    ['null verifiedLevels', (p) => (p.verifiedLevels = null), ['/predicate/verifiedLevels']],
    ['verifiedLevels a string', (p) => (p.verifiedLevels = 'SLSA_BUILD_LEVEL_3'), ['/predicate/verifiedLevels']],
    [
      'a reserved SLSA_ custom level',
      (p) => (p.verifiedLevels = ['SLSA_BUILD_LEVEL_3', 'SLSA_GOLD']),
      ['/predicate/verifiedLevels/1'],
    ],
    [
      'two levels of one track',
      (p) => (p.verifiedLevels = ['SLSA_BUILD_LEVEL_3', 'SLSA_SOURCE_LEVEL_2', 'SLSA_BUILD_LEVEL_2']),
      ['/predicate/verifiedLevels/2'],
    ],
    ['FAILED with a PASSED result', (p) => (p.verifiedLevels = ['FAILED']), ['/predicate/verifiedLevels/0']],
    ['an empty level', (p) => (p.verifiedLevels = ['']), ['/predicate/verifiedLevels/0']],
    [
      'a negative dependency count',
      (p) => (p.dependencyLevels.SLSA_BUILD_LEVEL_1 = -1),
      ['/predicate/dependencyLevels/SLSA_BUILD_LEVEL_1'],
    ],
    [
      'a fractional dependency count',
      (p) => (p.dependencyLevels.SLSA_BUILD_LEVEL_1 = 1.5),
      ['/predicate/dependencyLevels/SLSA_BUILD_LEVEL_1'],
    ],
    [
      'a count as a string',
      (p) => (p.dependencyLevels.SLSA_BUILD_LEVEL_1 = '1'),
      ['/predicate/dependencyLevels/SLSA_BUILD_LEVEL_1'],
    ],
    [
      'a reserved dependency level key',
      (p) => (p.dependencyLevels.SLSA_GOLD = 1),
      ['/predicate/dependencyLevels/SLSA_GOLD'],
    ],
    ['slsaVersion with a patch number', (p) => (p.slsaVersion = '1.0.0'), ['/predicate/slsaVersion']],
    ['slsaVersion a number', (p) => (p.slsaVersion = 1.0), ['/predicate/slsaVersion']],
  ])('rejects %s', (_, mutate, paths) => {
    expect(pathsAfter(F, mutate)).toEqual(paths);
  });

  it.each<[string, (p: Record<string, Json>) => void]>([
    ['no timeVerified (optional since v1.1)', (p) => delete p.timeVerified],
    [
      'no inputAttestations, dependencyLevels, slsaVersion',
      (p) => {
        delete p.inputAttestations;
        delete p.dependencyLevels;
        delete p.slsaVersion;
      },
    ],
    ['an empty dependencyLevels (no dependencies)', (p) => (p.dependencyLevels = {})],
    ['empty verifiedLevels (required means present)', (p) => (p.verifiedLevels = [])],
    ['null dependencyLevels (no claim)', (p) => (p.dependencyLevels = null)],
    [
      'a FAILED result with FAILED levels',
      (p) => {
        p.verificationResult = 'FAILED';
        p.verifiedLevels = ['FAILED'];
      },
    ],
    [
      'UNEVALUATED and other tracks',
      (p) => (p.verifiedLevels = ['SLSA_BUILD_LEVEL_UNEVALUATED', 'SLSA_SOURCE_LEVEL_4']),
    ],
    [
      'verified properties and custom values',
      (p) =>
        (p.verifiedLevels = [
          'SLSA_BUILD_LEVEL_2',
          'SLSA_SOURCE_TWO_PARTY_REVIEWED',
          'SLSA_BUILD_REPRODUCED',
          'ACME_REVIEWED',
        ]),
    ],
    ['a policy with a uri only', (p) => (p.policy = { uri: 'https://example.com/policy' })],
    ['slsaVersion 1.1', (p) => (p.slsaVersion = '1.1')],
  ])('accepts %s', (_, mutate) => {
    expect(pathsAfter(F, mutate)).toEqual([]);
  });

  it('explains a bad dependencyLevels key', () => {
    const json = fixture(F);
    json.predicate.dependencyLevels.SLSA_GOLD = 1;
    expect(messagesAt(json, '/predicate/dependencyLevels/SLSA_GOLD')[0]).toMatch(
      /^invalid key: values starting with SLSA_ are reserved/,
    );
  });
});

describe('vulns v0.2', () => {
  const F = 'vulns-v0.2.spec.json';

  it.each<Mutation>([
    ['no scanner', (p) => delete p.scanner, ['/predicate/scanner']],
    ['no scanner.uri', (p) => delete p.scanner.uri, ['/predicate/scanner/uri']],
    ['a db without lastUpdate', (p) => delete p.scanner.db.lastUpdate, ['/predicate/scanner/db/lastUpdate']],
    ['a bad db.lastUpdate', (p) => (p.scanner.db.lastUpdate = 'yesterday'), ['/predicate/scanner/db/lastUpdate']],
    ['no result', (p) => delete p.scanner.result, ['/predicate/scanner/result']],
    ['a result without id', (p) => delete p.scanner.result[0].id, ['/predicate/scanner/result/0/id']],
    ['a result without severity', (p) => (p.scanner.result[0].severity = []), ['/predicate/scanner/result/0/severity']],
    [
      'a numeric score',
      (p) => (p.scanner.result[0].severity[1].score = 5.2),
      ['/predicate/scanner/result/0/severity/1/score'],
    ],
    ['no metadata', (p) => delete p.metadata, ['/predicate/metadata']],
    ['no scanFinishedOn', (p) => delete p.metadata.scanFinishedOn, ['/predicate/metadata/scanFinishedOn']],
  ])('rejects %s', (_, mutate, paths) => {
    expect(pathsAfter(F, mutate)).toEqual(paths);
  });

  it('accepts an empty result (no vulnerabilities), no db, and annotations as a map or a list of maps', () => {
    expect(
      pathsAfter(F, (p) => {
        p.scanner.result = [];
        delete p.scanner.db;
      }),
    ).toEqual([]);
    expect(pathsAfter(F, (p) => (p.scanner.result[0].annotations = { fixedIn: '1.2.4' }))).toEqual([]);
    expect(pathsAfter(F, (p) => (p.scanner.result[0].annotations = [{ fixedIn: '1.2.4' }]))).toEqual([]);
  });
});

describe('every bad field at once', () => {
  it('reports statement and predicate errors together, each at its own path', () => {
    const json = statement(PROVENANCE_V1, {
      buildDefinition: {
        buildType: 'not a uri',
        externalParameters: 'x',
        resolvedDependencies: [{ uri: 'git+https://github.com/a/b', digest: { gitCommit: 'short' } }, {}],
      },
      runDetails: {
        builder: { id: 'HTTPS://ci.example.com', version: { a: 1 } },
        metadata: { startedOn: 'yesterday', finishedOn: '2024-01-01T00:00:00Z' },
      },
    });
    json._type = 'https://in-toto.io/Statement/v0.3';
    json.subject.push({ name: 'second', digest: { sha256: 'XYZ', sha512: hex(128) } });
    json.subject.push({ name: 'third' });
    expect(errorPaths(json)).toEqual(
      [
        '/_type',
        '/subject/1/digest/sha256',
        '/subject/2',
        '/subject/2/digest',
        '/predicate/buildDefinition/buildType',
        '/predicate/buildDefinition/externalParameters',
        '/predicate/buildDefinition/resolvedDependencies/0/digest/gitCommit',
        '/predicate/buildDefinition/resolvedDependencies/1',
        '/predicate/runDetails/builder/id',
        '/predicate/runDetails/builder/version/a',
        '/predicate/runDetails/metadata/startedOn',
      ].sort(),
    );
  });

  it('reports a disallowed type and the bad fields of a VSA in one pass', () => {
    const json = fixture('vsa-v1.0.spec.json');
    json.predicate.verifier.id = 'verifier';
    json.predicate.timeVerified = '1985-04-12';
    delete json.predicate.policy.uri;
    json.predicate.verifiedLevels = ['SLSA_BUILD_LEVEL_3', 'SLSA_BUILD_LEVEL_1', 'SLSA_X'];
    json.predicate.verificationResult = 'MAYBE';
    expect(errorPaths(json, { allowedPredicates: [PROVENANCE_V1] })).toEqual(
      [
        '/predicateType',
        '/predicate/verifier/id',
        '/predicate/timeVerified',
        '/predicate/policy/uri',
        '/predicate/verificationResult',
        '/predicate/verifiedLevels/1',
        '/predicate/verifiedLevels/2',
      ].sort(),
    );
  });
});

describe('waybill runtime snapshot v1', () => {
  const schema = PREDICATE_SCHEMAS['https://waybill.dev/runtime-snapshot/v1']!;
  const predicate = {
    environment: 'production',
    environmentUri: 'https://waybill.test/environments/production',
    source: 'kubernetes/prod-eu',
    observedAt: '2026-12-03T12:00:00Z',
    reporter: 'https://k8s.example.com/snapshot',
    workloads: [{ name: 'prod/app-1/app', digest: { sha256: 'a'.repeat(64) } }],
  };
  it('accepts what waybill signs', () => expect(schema.safeParse(predicate).success).toBe(true));
  it('rejects a workload without a sha256 digest, and an empty snapshot', () => {
    expect(
      schema.safeParse({ ...predicate, workloads: [{ name: 'x', digest: { sha1: 'a'.repeat(40) } }] }).success,
    ).toBe(false);
    expect(schema.safeParse({ ...predicate, workloads: [] }).success).toBe(false);
  });
});
