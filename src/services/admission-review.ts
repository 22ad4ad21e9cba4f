// Reading a Kubernetes admission.k8s.io/v1 AdmissionReview, leniently: whatever it holds, the
// reader says what it could find (the uid to answer with, the namespace, the images of the pod
// spec) or why it could not, so every review gets a review back. Pure: no I/O.

/** Where each workload kind keeps its pod spec. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const CHECKED_KINDS = Object.keys(POD_SPEC_PATHS);

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** An image reference pinned by digest: `<name>@sha256:<64 hex>`. */
const PINNED = /^[^@\s]+@(sha256:[0-9a-f]{64})$/;

export interface ReviewImage {
  /** Where it is: `containers[0]` (`initContainers[1]`, `ephemeralContainers[0]`). */
  container: string;
  image: string;
  /** `sha256:<hex>` when the image is pinned by digest, else null. */
  digest: string | null;
}

export interface ReadReview {
  /** The request's uid ('' when none could be found: the answer then cannot match, and denies). */
  uid: string;
  apiVersion: string;
  operation: string | null;
  namespace: string | null;
  kind: string | null;
  name: string | null;
  /** Why the review cannot be judged (malformed), or null. */
  problem: string | null;
  images: ReviewImage[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

function at(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const key of path) {
    if (!isObject(v)) return undefined;
    v = v[key];
  }
  return v;
}

/** What a review asks, as far as it can be read. */
export function readReview(body: unknown): ReadReview {
  const request = isObject(body) ? body.request : undefined;
  const r = isObject(request) ? request : {};
  const apiVersion =
    isObject(body) && body.apiVersion === 'admission.k8s.io/v1beta1'
      ? 'admission.k8s.io/v1beta1'
      : 'admission.k8s.io/v1';
  const object = r.object;
  const name = str(r.name) ?? str(at(object, ['metadata', 'name'])) ?? str(at(object, ['metadata', 'generateName']));
  const read: ReadReview = {
    uid: str(r.uid) ?? '',
    apiVersion,
    operation: str(r.operation),
    namespace: str(r.namespace) ?? str(at(object, ['metadata', 'namespace'])),
    kind: str(at(r, ['kind', 'kind'])),
    name,
    problem: null,
    images: [],
  };
  const malformed = (why: string) => ({ ...read, problem: `malformed AdmissionReview: ${why}` });
  if (!isObject(body)) return malformed('the body is not a JSON object');
  if (body.kind !== 'AdmissionReview') return malformed('kind is not "AdmissionReview"');
  if (!isObject(request)) return malformed('it has no request');
  if (!read.uid) return malformed('request.uid is missing');
  if (!read.operation) return malformed('request.operation is missing');
  // Deleting runs nothing; a CONNECT (exec, attach, port-forward) starts no new image.
  if (read.operation === 'DELETE' || read.operation === 'CONNECT') return read;
  if (!read.kind) return malformed('request.kind.kind is missing');
  if (!read.namespace) return malformed('request.namespace is missing');
  const path = POD_SPEC_PATHS[read.kind];
  if (!path) return { ...read, problem: `waybill does not check ${read.kind} (it checks ${CHECKED_KINDS.join(', ')})` };
  if (!isObject(object)) return malformed('request.object is missing');
  const spec = at(object, path);
  if (!isObject(spec)) return malformed(`request.object.${path.join('.')} (the pod spec) is missing`);
  const images: ReviewImage[] = [];
  for (const list of CONTAINER_LISTS) {
    const containers = spec[list];
    if (containers === undefined || containers === null) continue;
    if (!Array.isArray(containers)) return malformed(`the pod spec's ${list} is not a list`);
    for (const [i, c] of containers.entries()) {
      const image = isObject(c) ? str(c.image) : null;
      if (!image) return malformed(`${list}[${i}] has no image`);
      const m = PINNED.exec(image);
      images.push({ container: `${list}[${i}]`, image, digest: m ? m[1]! : null });
    }
  }
  if (images.length === 0) return malformed('the pod spec has no containers');
  return { ...read, images };
}
