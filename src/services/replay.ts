// Replay: what would a candidate policy have decided about past verdicts? Every verdict of a window
// is evaluated again with evaluate(), under the candidate file, over the evidence as it stood at
// that verdict's time: attestations logged at or before it, revocations logged at or before it.
// It signs, logs and stores nothing. The evidence of all the window's digests is read in a few
// queries, without bundles: a replay reads what was verified when it was stored, and does not
// verify each bundle again as a verdict does (docs/policies.md "Replay").
import { AppError } from '../errors.ts';
import { subjectDigests } from '../intoto/statement.ts';
import { DEPLOYMENT_V1, REVOCATION_V1, waybillUris } from '../intoto/waybill.ts';
import { evaluate } from '../policy/evaluate.ts';
import { formatProblem, PolicyLoadError, parsePolicies } from '../policy/load.ts';
import { markRevoked, revocationsIn } from '../policy/revocations.ts';
import type { Deployment, Evidence, Policy, PolicySet } from '../policy/types.ts';
import type { AttestationRepo } from '../storage/attestation-repo.ts';
import type { VerdictRepo, VerdictRow } from '../storage/verdict-repo.ts';
import { signedDeployment } from './promotion/signed-records.ts';
import type { VerdictResult } from './promotion/views.ts';

/** At most this many verdicts in one replay. */
export const MAX_REPLAY = 100_000;
const DIGEST_CHUNK = 1_000;

export interface ReplayFlip {
  verdictId: string;
  digest: string;
  createdAt: string;
  from: 'allow' | 'deny';
  to: 'allow' | 'deny';
  /** allow -> deny: the candidate's failing rules; deny -> allow: the rules that failed then. */
  rules: Array<{ name: string; reason: string }>;
}

export interface ReplayEnvironment {
  environment: string;
  /** The candidate file's digest, and the digests of the files the verdicts were made under. */
  policy: { sha256: string };
  verdicts: number;
  unchanged: number;
  allowToDeny: ReplayFlip[];
  denyToAllow: ReplayFlip[];
}

export interface ReplayReport {
  since: string;
  until: string;
  environments: ReplayEnvironment[];
}

export class ReplayService {
  readonly #verdicts: VerdictRepo;
  readonly #attestations: AttestationRepo;
  readonly #policies: PolicySet;
  readonly #issuer: string;

  constructor(opts: { verdicts: VerdictRepo; attestations: AttestationRepo; policies: PolicySet; issuer: string }) {
    this.#verdicts = opts.verdicts;
    this.#attestations = opts.attestations;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
  }

  /** The candidate files (`<environment>.yaml` -> YAML) over the loaded set, checked as start-up checks them. */
  candidates(files: Record<string, string>): PolicySet {
    const given = new Map(Object.entries(files).map(([name, content]) => [name.replace(/^.*\//, ''), content]));
    const sources = [...this.#policies.policies.values()]
      .filter((p) => !given.has(`${p.environment}.yaml`) && !given.has(`${p.environment}.yml`))
      .map((p) => ({ file: `${p.environment}.yaml`, content: p.content }));
    for (const [file, content] of given) sources.push({ file, content });
    try {
      return parsePolicies(sources, { issuer: this.#issuer });
    } catch (err) {
      if (!(err instanceof PolicyLoadError)) throw err;
      throw new AppError('VALIDATION_FAILED', 'invalid candidate policies', {
        errors: err.problems.map((p) => ({ path: `/files/${p.file.replace(/\//g, '~1')}`, message: formatProblem(p) })),
      });
    }
  }

  async replay(files: Record<string, string>, since: Date, until: Date): Promise<ReplayReport> {
    if (Object.keys(files).length === 0) {
      throw new AppError('VALIDATION_FAILED', 'no candidate policy files', {
        errors: [{ path: '/files', message: 'give at least one <environment>.yaml' }],
      });
    }
    const set = this.candidates(files);
    const environments = Object.keys(files).map((f) => f.replace(/^.*\//, '').replace(/\.ya?ml$/, ''));
    const rows = await this.#verdicts.between(since, until, environments);
    if (rows.length > MAX_REPLAY) {
      throw new AppError(
        'VALIDATION_FAILED',
        `the window holds ${rows.length} verdicts, more than the ${MAX_REPLAY} one replay evaluates; narrow it`,
      );
    }
    const evidence = await this.#evidenceOf(rows, set);
    const signer = { subject: waybillUris(this.#issuer).verifier, issuer: this.#issuer };
    const report = new Map<string, ReplayEnvironment>();
    for (const env of environments) {
      const policy = set.policies.get(env)!;
      report.set(env, {
        environment: env,
        policy: { sha256: policy.digest.sha256 },
        verdicts: 0,
        unchanged: 0,
        allowToDeny: [],
        denyToAllow: [],
      });
    }
    for (const v of rows) {
      const policy = set.policies.get(v.environment)!;
      const out = report.get(v.environment)!;
      out.verdicts++;
      const result = v.result as VerdictResult;
      const at = v.createdAt;
      const asOf = (digest: string) => {
        const all = upTo(evidence.get(digest) ?? [], at);
        return markRevoked(all, revocationsIn(all, signer, at));
      };
      const mine = asOf(v.digest);
      const exception = result.exception;
      const theirs = exception ? asOf(exception.original) : undefined;
      const decision = evaluate(
        policy,
        {
          digest: v.digest,
          evidence: mine,
          deployments: this.#deployments(policy, v.digest, mine),
          ...(exception && theirs
            ? {
                exception: {
                  attestationId: exception.attestationId,
                  original: exception.original,
                  evidence: theirs,
                  deployments: this.#deployments(policy, exception.original, theirs),
                },
              }
            : {}),
        },
        at,
      );
      if (decision.decision === v.decision) {
        out.unchanged++;
        continue;
      }
      const failed =
        decision.decision === 'deny'
          ? decision.rules.filter((r) => !r.satisfied)
          : (result.rules ?? []).filter((r) => !r.satisfied);
      const flip: ReplayFlip = {
        verdictId: v.id,
        digest: v.digest,
        createdAt: at.toISOString(),
        from: v.decision,
        to: decision.decision,
        rules: failed.map((r) => ({ name: r.name, reason: r.reason ?? '' })),
      };
      (decision.decision === 'deny' ? out.allowToDeny : out.denyToAllow).push(flip);
    }
    return { since: since.toISOString(), until: until.toISOString(), environments: [...report.values()] };
  }

  // The `after` rule's evidence as of the verdict: waybill-signed deployments of the digest to the
  // prior stage (the VSA each names was checked when the deployment was signed).
  #deployments(policy: Policy, digest: string, evidence: readonly Evidence[]): Deployment[] {
    if (!policy.after) return [];
    const out: Deployment[] = [];
    for (const e of evidence) {
      if (e.revocation) continue;
      const d = signedDeployment(e, digest, this.#issuer);
      if (d && d.environment === policy.after)
        out.push({ environment: d.environment, digest, attestationId: d.attestationId, createdAt: e.createdAt });
    }
    return out;
  }

  // Every attestation of the kinds the candidate policies read about the verdicts' digests (and the
  // originals of the exceptions they used), by digest, oldest first.
  async #evidenceOf(rows: readonly VerdictRow[], set: PolicySet): Promise<Map<string, Evidence[]>> {
    const kinds = new Set<string>([REVOCATION_V1, DEPLOYMENT_V1]);
    for (const p of set.policies.values()) for (const r of p.rules) kinds.add(r.predicateType);
    const digests = new Set<string>();
    for (const v of rows) {
      digests.add(v.digest);
      const original = (v.result as VerdictResult).exception?.original;
      if (original) digests.add(original);
    }
    const all = [...digests];
    const out = new Map<string, Evidence[]>();
    const subjectsOf = new Map<string, string[]>();
    for (let i = 0; i < all.length; i += DIGEST_CHUNK) {
      const found = await this.#attestations.evidenceAbout(all.slice(i, i + DIGEST_CHUNK), [...kinds]);
      for (const r of found) {
        let subjects = subjectsOf.get(r.id);
        if (!subjects) {
          subjects = subjectDigests(r.statement).map((d) => d.digest);
          subjectsOf.set(r.id, subjects);
        }
        const list = out.get(r.digest) ?? [];
        list.push({
          id: r.id,
          predicateType: r.predicateType,
          statement: r.statement as unknown as Readonly<Record<string, unknown>>,
          signer: r.signer,
          environment: r.environment,
          createdAt: r.createdAt,
          subjects,
          verified: true,
        });
        out.set(r.digest, list);
      }
    }
    for (const list of out.values()) list.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    return out;
  }
}

/** The prefix of `sorted` (oldest first) logged at or before `at`. */
function upTo(sorted: readonly Evidence[], at: Date): Evidence[] {
  const t = at.getTime();
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.createdAt.getTime() <= t) lo = mid + 1;
    else hi = mid;
  }
  return sorted.slice(0, lo);
}
