import { randomBytes } from 'node:crypto';
import { sha256hex as sha256 } from '../../src/util/encoding.ts';

export { sha256 };

/** A small SLSA v1 provenance statement for a random artifact digest (or the one given). */
export function provenanceStatement(opts: { digest?: string; name?: string; commit?: string } = {}) {
  const digest = opts.digest ?? sha256(randomBytes(16));
  return {
    _type: 'https://in-toto.io/Statement/v1' as const,
    subject: [{ name: opts.name ?? 'ghcr.io/example/app', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://example.com/build/v1',
        externalParameters: { repository: 'https://github.com/example/app', ref: 'refs/heads/main' },
        resolvedDependencies: [
          {
            uri: 'git+https://github.com/example/app@refs/heads/main',
            digest: { gitCommit: opts.commit ?? sha256('c').slice(0, 40) },
          },
        ],
      },
      runDetails: { builder: { id: 'https://ci.example.com/builder/v1' }, metadata: { invocationId: 'run-1' } },
    },
  };
}
