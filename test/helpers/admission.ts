// AdmissionReview requests in the shape the Kubernetes API server sends (admission.k8s.io/v1),
// for the admission webhook's tests and bench.
import { randomUUID } from 'node:crypto';

export const image = (digest: string, name = 'ghcr.io/example/app') => `${name}@sha256:${digest}`;

interface Review {
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  namespace: string;
  name: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  object: unknown;
  oldObject?: unknown;
}

function review(r: Review) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: r.kind,
      resource: r.resource,
      ...(r.subResource ? { subResource: r.subResource } : {}),
      requestKind: r.kind,
      requestResource: r.resource,
      name: r.name,
      namespace: r.namespace,
      operation: r.operation,
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        groups: ['system:authenticated'],
      },
      object: r.object,
      oldObject: r.oldObject ?? null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: r.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions' },
    },
  };
}

const podSpec = (images: string[], extra: Record<string, unknown> = {}) => ({
  containers: images.map((img, i) => ({ name: `c${i}`, image: img, imagePullPolicy: 'IfNotPresent' })),
  restartPolicy: 'Always',
  serviceAccountName: 'default',
  ...extra,
});

const meta = (name: string, namespace: string) => ({
  name,
  namespace,
  uid: randomUUID(),
  labels: { app: name },
  creationTimestamp: '2026-12-03T12:00:00Z',
});

/** A Pod being created. */
export function podCreate(namespace: string, images: string[], opts: { initImages?: string[] } = {}) {
  const name = 'app-7d9c5b-x2x4z';
  const spec = podSpec(
    images,
    opts.initImages ? { initContainers: opts.initImages.map((image, i) => ({ name: `init${i}`, image })) } : {},
  );
  return review({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace,
    name,
    operation: 'CREATE',
    object: { apiVersion: 'v1', kind: 'Pod', metadata: meta(name, namespace), spec },
  });
}

/** A Deployment's pod template being changed to `images`. */
export function deploymentUpdate(namespace: string, images: string[], oldImages: string[] = images) {
  const dep = (imgs: string[]) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('app', namespace),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'app' } },
      template: { metadata: { labels: { app: 'app' } }, spec: podSpec(imgs) },
    },
  });
  return review({
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    namespace,
    name: 'app',
    operation: 'UPDATE',
    object: dep(images),
    oldObject: dep(oldImages),
  });
}

/** A CronJob being created. */
export function cronJobCreate(namespace: string, images: string[]) {
  return review({
    kind: { group: 'batch', version: 'v1', kind: 'CronJob' },
    resource: { group: 'batch', version: 'v1', resource: 'cronjobs' },
    namespace,
    name: 'nightly',
    operation: 'CREATE',
    object: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta('nightly', namespace),
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { spec: podSpec(images, { restartPolicy: 'OnFailure' }) } } },
      },
    },
  });
}

/** `kubectl debug`: an ephemeral container added to a running Pod (the pods/ephemeralcontainers subresource). */
export function ephemeralContainer(namespace: string, images: string[], debugImage: string) {
  const name = 'app-7d9c5b-x2x4z';
  const pod = (ephemeral: unknown[]) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(name, namespace),
    spec: { ...podSpec(images), ephemeralContainers: ephemeral },
  });
  return review({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'ephemeralcontainers',
    namespace,
    name,
    operation: 'UPDATE',
    object: pod([{ name: 'debugger-abcde', image: debugImage, targetContainerName: 'c0' }]),
    oldObject: pod([]),
  });
}
