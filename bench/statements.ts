// A small SLSA v1 provenance statement, as test/helpers/statements.ts builds it (copied so the
// benchmark does not move when the tests do). Every call names a new artifact digest, so every
// AttestService.sign call in the benchmark signs and logs a distinct statement.
import { randomBytes } from 'node:crypto';
import { sha256hex as sha256 } from '../src/util/encoding.ts';

const RUN = randomBytes(8).toString('hex');
let counter = 0;

export function provenanceStatement() {
  const digest = sha256(`${RUN}/${counter++}`);
  return {
    _type: 'https://in-toto.io/Statement/v1' as const,
    subject: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://example.com/build/v1',
        externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
        resolvedDependencies: [
          {
            uri: 'git+https://github.com/example/app@refs/heads/main',
            digest: { gitCommit: sha256('c').slice(0, 40) },
          },
        ],
      },
      runDetails: { builder: { id: 'https://ci.example.com/builder/v1' }, metadata: { invocationId: 'run-1' } },
    },
  };
}

/** The caller identity every benchmark statement is signed as. */
export const BENCH_CALLER = 'https://ci.example.com/pipelines/bench';

/**
 * The same provenance as `provenanceStatement`, as the build facts `POST /v1/provenance`
 * takes (the server turns them into that statement), each call with a new subject digest.
 */
export function provenanceFacts() {
  const digest = sha256(`${RUN}/http/${counter++}`);
  return {
    subjects: [{ name: 'ghcr.io/example/app', digest: { sha256: digest } }],
    buildType: 'https://example.com/build/v1',
    externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
    resolvedDependencies: [
      { uri: 'git+https://github.com/example/app@refs/heads/main', digest: { gitCommit: sha256('c').slice(0, 40) } },
    ],
    builder: { id: 'https://ci.example.com/builder/v1' },
    metadata: { invocationId: 'run-1' },
  };
}
