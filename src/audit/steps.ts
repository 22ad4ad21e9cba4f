// The chain's steps, one environment at a time: the verdict allows exactly this step under the
// policy file it names, the deployment follows its own verdict (in time and in the log), an
// exception the step uses was approved and unexpired when the verdict used it, and the steps
// come in the order the policies demand.
import { parsePolicy } from '../policy/load.ts';
import type { Policy } from '../policy/types.ts';
import { sha256hex } from '../util/encoding.ts';
import { reasonOf } from './bundles.ts';
import { type Item, isObject, type PackContext, str, time } from './context.ts';
import type { StepEvent, StepReport } from './report.ts';
import type { PackJson } from './shape.ts';

export interface StepState {
  step: PackJson['manifest']['steps'][number];
  index: number;
  label: string;
  verdict: Item | undefined;
  deployment: Item | undefined;
  exception: Item | undefined;
  digest: string | null;
  verifiedAt: number | undefined;
  deployedAt: number | undefined;
  policy: Policy | undefined;
}

/** The attestation ids a verdict (VSA) cites as its inputs. */
export function inputIds(verdict: Item): string[] {
  const inputs = verdict.predicate.inputAttestations;
  if (!Array.isArray(inputs)) return [];
  return inputs.map((i) => (isObject(i) && isObject(i.digest) ? (str(i.digest.sha256) ?? '') : ''));
}

const envUri = (c: PackContext, env: string) => `${c.issuer}/environments/${env}`;

/** Each verdict's policy file: in the pack, its bytes hash to what the verdict names, and it parses. */
export class PolicyReader {
  readonly #c: PackContext;
  readonly #cache = new Map<string, { policy: Policy | null; problem: string | null }>();
  readonly #reported = new Set<string>();

  constructor(c: PackContext) {
    this.#c = c;
  }

  of(verdict: Item): Policy | undefined {
    const c = this.#c;
    const pol = isObject(verdict.predicate.policy) ? verdict.predicate.policy : {};
    const uri = str(pol.uri);
    const digest = isObject(pol.digest) ? str(pol.digest.sha256) : undefined;
    if (!uri || !digest) {
      if (!this.#reported.has(verdict.a.id)) c.problem(verdict, 'the verdict names no policy {uri, digest.sha256}');
      this.#reported.add(verdict.a.id);
      return undefined;
    }
    const key = `${uri}@${digest}`;
    let cached = this.#cache.get(key);
    if (!cached) {
      const entry = c.pack.policies.find((p) => p.uri === uri && p.sha256 === digest);
      cached = { policy: null, problem: null };
      if (!entry) {
        cached.problem = `the policy it names (${uri}, sha256 ${digest}) is not in the pack`;
      } else if (sha256hex(Buffer.from(entry.content, 'utf8')) !== digest) {
        cached.problem = `the pack's policy file ${uri} does not hash to ${digest}: the policy file was altered`;
      } else {
        try {
          cached.policy = parsePolicy(entry.content, uri.slice(uri.lastIndexOf('/') + 1), { issuer: c.issuer });
        } catch (e) {
          cached.problem = `the policy file ${uri} does not parse: ${reasonOf(e)}`;
        }
      }
      this.#cache.set(key, cached);
    }
    if (cached.problem && !this.#reported.has(verdict.a.id)) c.problem(verdict, cached.problem);
    this.#reported.add(verdict.a.id);
    return cached.policy ?? undefined;
  }
}

/** The manifest's steps with the attestations they name, before any step is checked. */
export function stepStates(c: PackContext): StepState[] {
  return c.pack.manifest.steps.map((step, index) => ({
    step,
    index,
    label: `step ${index + 1} (${step.environment})`,
    verdict: c.items.get(step.verdict),
    deployment: c.items.get(step.deployment),
    exception: step.exception ? c.items.get(step.exception) : undefined,
    digest: null,
    verifiedAt: undefined,
    deployedAt: undefined,
    policy: undefined,
  }));
}

/** Step by step, in the manifest's order. */
export function checkSteps(
  c: PackContext,
  states: StepState[],
  borrowable: Map<string, Item>,
  policies: PolicyReader,
): void {
  let prev: StepState | undefined;
  for (const s of states) {
    checkVerdict(c, s, policies);
    checkDeployment(c, s);
    checkVerdictBeforeDeployment(c, s);
    checkStepException(c, s);
    checkStepDigest(c, s, states, borrowable);
    checkPromotionOrder(c, s, prev);
    prev = s;
  }
  const last = states[states.length - 1];
  const m = c.pack.manifest;
  if (m.environment !== null && (!last || last.step.environment !== m.environment)) {
    c.problems.push(
      `manifest: the pack is for environment ${m.environment}, but its last step is ` +
        `${last ? last.step.environment : 'missing'}`,
    );
  }
}

/** The report's view of the steps. */
export function stepReports(states: StepState[]): StepReport[] {
  const event = (item: Item | undefined, id: string, at: number | undefined): StepEvent => ({
    id,
    signer: item?.report.signer ?? null,
    at: at === undefined ? null : new Date(at).toISOString(),
    logIndex: item?.logIndex ?? null,
  });
  return states.map((s) => ({
    environment: s.step.environment,
    digest: s.digest,
    verdict: event(s.verdict, s.step.verdict, s.verifiedAt),
    deployment: event(s.deployment, s.step.deployment, s.deployedAt),
    exception: s.step.exception,
  }));
}

function checkVerdict(c: PackContext, s: StepState, policies: PolicyReader): void {
  const { step, label } = s;
  const env = step.environment;
  const v = s.verdict;
  const issuer = c.issuer;
  if (v?.statement) {
    const p = v.predicate;
    if (p.resourceUri !== envUri(c, env))
      c.problem(v, `${label}: the verdict is for ${String(p.resourceUri)}, not ${envUri(c, env)}`);
    if (p.verificationResult !== 'PASSED')
      c.problem(v, `${label}: the verdict's result is ${String(p.verificationResult)}, not PASSED`);
    if (!isObject(p.verifier) || p.verifier.id !== issuer)
      c.problem(v, `${label}: the verdict's verifier is not ${issuer}`);
    if (v.a.environment !== null && v.a.environment !== env)
      c.problem(v, `${label}: recorded for environment ${v.a.environment}`);
    s.verifiedAt = time(p.timeVerified);
    if (s.verifiedAt === undefined) c.problem(v, `${label}: the verdict has no valid timeVerified`);
    s.policy = policies.of(v);
    if (s.policy && s.policy.environment !== env)
      c.problem(v, `${label}: the verdict's policy is ${s.policy.environment}'s, not ${env}'s`);
  }
}

function checkDeployment(c: PackContext, s: StepState): void {
  const { step, label } = s;
  const env = step.environment;
  const d = s.deployment;
  if (d?.statement) {
    const p = d.predicate;
    const pv = isObject(p.verdict) && isObject(p.verdict.digest) ? str(p.verdict.digest.sha256) : undefined;
    if (p.environment !== env) c.problem(d, `${label}: the deployment is to ${String(p.environment)}, not ${env}`);
    if (p.environmentUri !== undefined && p.environmentUri !== envUri(c, env))
      c.problem(d, `${label}: the deployment's environmentUri is ${String(p.environmentUri)}`);
    if (pv !== step.verdict)
      c.problem(d, `${label}: the deployment cites verdict ${String(pv)}, not the step's verdict ${step.verdict}`);
    s.deployedAt = time(p.deployedAt);
    if (s.deployedAt === undefined) c.problem(d, `${label}: the deployment has no valid deployedAt`);
    else if (p.deployedAt !== step.deployedAt)
      c.problem(
        d,
        `${label}: the manifest says deployed at ${step.deployedAt}, the signed deployment says ` +
          `${String(p.deployedAt)}`,
      );
    const claimed = time(step.deployedAt);
    if (claimed !== undefined && s.verifiedAt !== undefined && claimed < s.verifiedAt) {
      c.problem(
        d,
        `${label}: the manifest puts the deployment (${step.deployedAt}) before its verdict ${step.verdict} ` +
          `(${new Date(s.verifiedAt).toISOString()})`,
      );
    }
    s.digest = d.subjects[0] ? `sha256:${d.subjects[0]}` : null;
    const cited = Array.isArray(p.exceptions)
      ? p.exceptions.map((x) => (isObject(x) && isObject(x.digest) ? str(x.digest.sha256) : undefined))
      : [];
    if (step.exception && !cited.includes(step.exception))
      c.problem(d, `${label}: the deployment does not cite the step's exception ${step.exception}`);
    for (const x of cited)
      if (x !== step.exception)
        c.problem(d, `${label}: the deployment cites exception ${String(x)}, which the manifest's step does not`);
  }
}

function checkVerdictBeforeDeployment(c: PackContext, s: StepState): void {
  const { step, label } = s;
  const v = s.verdict;
  const d = s.deployment;
  if (v && d && v.statement && d.statement) {
    // Same digest; the verdict came first.
    if (v.subjects.join() !== d.subjects.join()) {
      c.problem(
        d,
        `${label}: the deployment is about ${d.report.subjects.join(', ')}, its verdict ${v.a.id} about ` +
          `${v.report.subjects.join(', ')}`,
      );
    }
    if (s.verifiedAt !== undefined && s.deployedAt !== undefined && s.deployedAt < s.verifiedAt) {
      c.problem(
        d,
        `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, before its verdict ${v.a.id} was issued at ` +
          `${new Date(s.verifiedAt).toISOString()}`,
      );
    }
    if (v.logIndex !== null && d.logIndex !== null && d.logIndex <= v.logIndex) {
      c.problem(d, `${label}: logged at #${d.logIndex}, before its verdict ${v.a.id} (#${v.logIndex})`);
    }
    if (
      s.policy &&
      s.verifiedAt !== undefined &&
      s.deployedAt !== undefined &&
      s.deployedAt >= s.verifiedAt + s.policy.verdictTtlMs
    ) {
      c.problem(
        d,
        `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, after its verdict expired (issued ` +
          `${new Date(s.verifiedAt).toISOString()}, valid ${s.policy.verdictTtl})`,
      );
    }
    const verdictCitesException = inputIds(v).filter((id) => c.items.get(id)?.a.role === 'rebuild-exception');
    for (const x of verdictCitesException)
      if (x !== step.exception)
        c.problem(v, `${label}: the verdict cites exception ${x}, which the manifest's step does not`);
  }
}

function checkStepException(c: PackContext, s: StepState): void {
  const { step, label } = s;
  const env = step.environment;
  const v = s.verdict;
  const m = c.pack.manifest;
  if (step.exception && s.exception && v?.statement) {
    const x = s.exception;
    const p = x.predicate;
    if (!inputIds(v).includes(x.a.id))
      c.problem(v, `${label}: the verdict does not cite the step's exception ${x.a.id}`);
    if (p.environment !== env) c.problem(x, `${label}: the exception is for ${String(p.environment)}, not ${env}`);
    const expires = time(p.expiresAt);
    const approved = time(p.approvedAt);
    if (s.verifiedAt !== undefined && (expires === undefined || expires <= s.verifiedAt)) {
      c.problem(x, `${label}: the exception expired (${String(p.expiresAt)}) before the verdict ${v.a.id} used it`);
    }
    if (s.verifiedAt !== undefined && (approved === undefined || approved > s.verifiedAt)) {
      c.problem(
        x,
        `${label}: the exception was not approved (${String(p.approvedAt)}) when the verdict ${v.a.id} used it`,
      );
    }
    if (x.logIndex !== null && v.logIndex !== null && x.logIndex >= v.logIndex)
      c.problem(x, `${label}: logged after the verdict that used it`);
    const approvers = Array.isArray(p.approvers) ? p.approvers : [];
    if (new Set(approvers).size !== approvers.length || approvers.includes(p.requestedBy)) {
      c.problem(x, `${label}: the exception's approvers are not distinct from each other and from the requester`);
    }
    if (s.policy && approvers.length < s.policy.rebuilds.minApprovals) {
      c.problem(x, `${label}: ${approvers.length} approval(s), the policy needs ${s.policy.rebuilds.minApprovals}`);
    }
    if (s.policy && !s.policy.rebuilds.allowWithException)
      c.problem(x, `${label}: ${env}'s policy allows no rebuild exceptions`);
    if (!m.exceptions.includes(x.a.id)) c.problem(x, `${label}: manifest.exceptions does not list it`);
  }
}

function checkStepDigest(c: PackContext, s: StepState, states: StepState[], borrowable: Map<string, Item>): void {
  const { label } = s;
  const d = s.deployment;
  const m = c.pack.manifest;
  // The digest: the pack's, or an original a later step's exception borrows from.
  if (s.digest !== null && s.digest !== m.digest) {
    const borrowedStep = states
      .slice(s.index + 1)
      .some((t) => t.exception && str(t.exception.predicate.original) === s.digest && borrowable.has(s.digest!));
    if (!borrowedStep && d) c.problem(d, `${label}: deploys ${s.digest}, not the pack's digest ${m.digest}`);
  }
}

function checkPromotionOrder(c: PackContext, s: StepState, prev: StepState | undefined): void {
  const { step, label } = s;
  const env = step.environment;
  const v = s.verdict;
  const d = s.deployment;
  // Promotion order: after the previous step, and where the policy says.
  if (prev) {
    if (s.deployedAt !== undefined && prev.deployedAt !== undefined && s.deployedAt <= prev.deployedAt && d) {
      c.problem(
        d,
        `${label}: deployed at ${new Date(s.deployedAt).toISOString()}, not after the previous step ` +
          `(${prev.step.environment}, ${new Date(prev.deployedAt).toISOString()})`,
      );
    }
    if (
      d &&
      prev.deployment &&
      d.logIndex !== null &&
      prev.deployment.logIndex !== null &&
      d.logIndex <= prev.deployment.logIndex
    ) {
      c.problem(
        d,
        `${label}: logged at #${d.logIndex}, before the previous step's deployment (#${prev.deployment.logIndex})`,
      );
    }
  }
  if (s.policy && v?.statement) {
    const after = s.policy.after;
    if (after === null) {
      if (prev)
        c.problem(
          v,
          `${label}: ${env}'s policy names no prior stage, yet the manifest puts ${prev.step.environment} before it`,
        );
    } else {
      // The verdict must cite a deployment to the prior stage, in the pack, of this digest (or,
      // under the step's exception, of the original), made before the verdict.
      const original = step.exception && s.exception ? str(s.exception.predicate.original) : undefined;
      const own = v.subjects[0] !== undefined ? `sha256:${v.subjects[0]}` : undefined;
      const priorDeployments = inputIds(v)
        .map((id) => c.items.get(id))
        .filter((x): x is Item => x?.a.role === 'deployment' && x.predicate.environment === after);
      const fitting = priorDeployments.filter((pd) => {
        const about = pd.subjects[0] !== undefined ? `sha256:${pd.subjects[0]}` : undefined;
        const at = time(pd.predicate.deployedAt);
        const before =
          at !== undefined &&
          s.verifiedAt !== undefined &&
          at <= s.verifiedAt &&
          (pd.logIndex ?? Infinity) < (v.logIndex ?? -Infinity);
        if (!before)
          c.problem(
            pd,
            `${label}: the ${after} deployment the ${env} verdict ${v.a.id} cites is not earlier than that verdict`,
          );
        return before && about !== undefined && (about === own || about === original);
      });
      if (fitting.length === 0) {
        c.problem(
          v,
          `${label}: ${env}'s policy requires a deployment to ${after} first, and the verdict cites none of ` +
            `${own ?? 'this digest'}${original ? ` or the original ${original}` : ''} that is in the pack`,
        );
      }
      if (prev && prev.step.environment !== after) {
        c.problem(
          v,
          `${label}: ${env}'s policy requires ${after} first, but the manifest puts ${prev.step.environment} before it`,
        );
      } else if (!prev && !original) {
        c.problem(
          v,
          `${label}: ${env}'s policy requires ${after} first, but the manifest has no ${after} step before it`,
        );
      }
    }
  }
}
