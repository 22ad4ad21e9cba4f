import { describe, expect, it } from 'vitest';
import { packageIdentity, parseGitUri, parseImageReference, parsePurl } from '../../src/rebuild/index.ts';
import { sha256 } from './fixtures.ts';

describe('packageIdentity', () => {
  it.each([
    ['pkg:npm/lodash@4.17.21', 'pkg:npm/lodash', '4.17.21', 'lodash'],
    ['pkg:npm/%40types/node@20.11.30', 'pkg:npm/@types/node', '20.11.30', '@types/node'],
    ['pkg:npm/@types/node@20.11.30', 'pkg:npm/@types/node', '20.11.30', '@types/node'],
    ['pkg:npm/@types/node', 'pkg:npm/@types/node', null, '@types/node'],
    [
      'pkg:golang/github.com/spf13/cobra@v1.8.0',
      'pkg:golang/github.com/spf13/cobra',
      'v1.8.0',
      'github.com/spf13/cobra',
    ],
    [
      'pkg:maven/org.apache.commons/commons-lang3@3.14.0?type=jar',
      'pkg:maven/org.apache.commons/commons-lang3',
      '3.14.0',
      'org.apache.commons/commons-lang3',
    ],
  ])('purl %s -> %s @ %s', (uri, name, version, display) => {
    const id = packageIdentity({ uri });
    expect(id).toMatchObject({ name, version, display, kind: 'purl', image: null });
  });

  it('keeps purl qualifiers that tell variants apart (platform), not locations', () => {
    expect(packageIdentity({ uri: 'pkg:maven/a/b@1?type=jar&repository_url=https://repo.example.com' }).variant).toBe(
      'type=jar',
    );
  });

  it.each([
    [
      'git+https://github.com/octo-org/app@refs/heads/main',
      'git+https://github.com/octo-org/app',
      'refs/heads/main',
      'github.com/octo-org/app',
    ],
    ['git+https://github.com/octo-org/app.git', 'git+https://github.com/octo-org/app', null, 'github.com/octo-org/app'],
    [
      'git+ssh://git@github.com/octo-org/app@v1.2.0',
      'git+ssh://git@github.com/octo-org/app',
      'v1.2.0',
      'github.com/octo-org/app',
    ],
    [
      'git+https://android.googlesource.com/platform/vendor/foo/bar@16244f4e7524d44a8f3060905eaf9190e96e9fb0' +
        '#prebuilts/Foo/Foo.apk',
      'git+https://android.googlesource.com/platform/vendor/foo/bar#prebuilts/Foo/Foo.apk',
      '16244f4e7524d44a8f3060905eaf9190e96e9fb0',
      'android.googlesource.com/platform/vendor/foo/bar#prebuilts/Foo/Foo.apk',
    ],
  ])('git %s', (uri, name, ref, display) => {
    expect(parseGitUri(uri)).toEqual({ name, ref, display });
    expect(packageIdentity({ uri })).toMatchObject({ name, version: ref, kind: 'git' });
  });

  it('reads an https repository with a gitCommit digest as git', () => {
    expect(
      packageIdentity({ uri: 'https://github.com/octo-org/app', digest: { gitCommit: 'a'.repeat(40) } }).name,
    ).toBe('git+https://github.com/octo-org/app');
  });

  it.each([
    ['pkg:docker/node@20', 'docker.io/library/node', '20', null],
    ['pkg:docker/node@20?platform=linux%2Famd64', 'docker.io/library/node', '20', null],
    [`pkg:docker/node@sha256:${sha256('1')}`, 'docker.io/library/node', null, `sha256:${sha256('1')}`],
    ['pkg:docker/customer/dockerimage@v1?repository_url=gcr.io', 'gcr.io/customer/dockerimage', 'v1', null],
    [
      `pkg:oci/debian@sha256%3A${sha256('3')}?repository_url=docker.io/library/debian&tag=bookworm`,
      'docker.io/library/debian',
      'bookworm',
      `sha256:${sha256('3')}`,
    ],
    ['docker://node:20', 'docker.io/library/node', '20', null],
    ['oci://ghcr.io/octo-org/base:1.4', 'ghcr.io/octo-org/base', '1.4', null],
    [`ghcr.io/octo-org/base:1.4@sha256:${sha256('4')}`, 'ghcr.io/octo-org/base', '1.4', `sha256:${sha256('4')}`],
    [`node:20@sha256:${sha256('5')}`, 'docker.io/library/node', '20', `sha256:${sha256('5')}`],
    ['registry.example.com:5000/team/app:2', 'registry.example.com:5000/team/app', '2', null],
  ])('image %s', (uri, repository, tag, digest) => {
    const id = packageIdentity({ uri });
    expect(id.kind).toBe('image');
    expect(id.image).toEqual({ repository, tag, digest });
    expect(id.name).toBe(repository);
  });

  it('treats a descriptor whose mediaType or annotations say so as an image', () => {
    expect(
      packageIdentity({
        uri: 'https://ghcr.io/octo-org/base:1.4',
        mediaType: 'application/vnd.oci.image.index.v1+json',
      }).image?.repository,
    ).toBe('ghcr.io/octo-org/base');
    expect(
      packageIdentity({
        name: 'node:20',
        digest: { sha256: sha256('1') },
        annotations: { 'org.opencontainers.image.base.name': 'node:20' },
      }).image,
    ).toEqual({ repository: 'docker.io/library/node', tag: '20', digest: null });
  });

  it('matches anything else by uri, then name, then digest', () => {
    expect(packageIdentity({ uri: 'https://example.com/example-1.2.3.tar.gz' })).toMatchObject({
      name: 'https://example.com/example-1.2.3.tar.gz',
      kind: 'uri',
    });
    expect(packageIdentity({ name: 'Foo.apk', digest: { sha256: sha256('f') } })).toMatchObject({
      name: 'Foo.apk',
      kind: 'name',
    });
    expect(packageIdentity({ digest: { sha256: sha256('f') } }).name).toBe(`digest:sha256:${sha256('f')}`);
    // `node:20` alone is a valid URI with scheme "node": no image without a digest, registry or hint.
    expect(packageIdentity({ uri: 'node:20' }).kind).toBe('uri');
  });

  it('parsePurl and parseImageReference reject what they cannot read', () => {
    expect(parsePurl('https://example.com')).toBeUndefined();
    expect(parsePurl('pkg:npm')).toBeUndefined();
    expect(parseImageReference('')).toBeUndefined();
  });
});
