// Policy history: every policy file version waybill has loaded, by digest, with when it was in
// force. Recorded once per start (Node start-up; a Worker isolate's first request), from the
// policies already in memory, so nothing reads a file at request time.
import { basename } from 'node:path';
import type { PolicySet } from '../policy/types.ts';
import type { PolicyVersionRepo, PolicyVersionRow } from '../storage/policy-version-repo.ts';

export interface PolicyVersionView {
  environment: string;
  file: string;
  sha256: string;
  uri: string;
  /** Whether this process has it loaded now. */
  current: boolean;
  /** First and last start-up that loaded it (RFC 3339). */
  firstSeen: string;
  lastSeen: string;
  /** In force until the next version of the environment was first loaded; null: still, or never replaced. */
  replacedAt: string | null;
}

export interface PoliciesView {
  /** The files loaded now, in promotion order. */
  current: Array<{ environment: string; file: string; sha256: string; uri: string; after: string | null }>;
  /** Every version ever loaded, by environment, oldest first. */
  history: PolicyVersionView[];
}

export class PolicyHistoryService {
  readonly #versions: PolicyVersionRepo;
  readonly #policies: PolicySet;
  readonly #issuer: string;
  readonly #now: () => Date;

  constructor(opts: { versions: PolicyVersionRepo; policies: PolicySet; issuer: string; now?: () => Date }) {
    this.#versions = opts.versions;
    this.#policies = opts.policies;
    this.#issuer = opts.issuer;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Record the loaded files (idempotent: a known version only gets its `lastSeen` moved). */
  async record(): Promise<void> {
    const files = [...this.#policies.policies.values()].map((p) => ({
      environment: p.environment,
      sha256: p.digest.sha256,
      file: basename(p.file),
      content: p.content,
    }));
    await this.#versions.loaded(files, this.#now());
  }

  async list(): Promise<PoliciesView> {
    const rows = await this.#versions.all();
    const current = this.#policies.order.map((env) => {
      const p = this.#policies.policies.get(env)!;
      return { environment: env, file: basename(p.file), sha256: p.digest.sha256, uri: p.uri, after: p.after };
    });
    const byEnv = new Map<string, PolicyVersionRow[]>();
    for (const r of rows) byEnv.set(r.environment, [...(byEnv.get(r.environment) ?? []), r]);
    const history: PolicyVersionView[] = [];
    for (const [env, versions] of byEnv) {
      const loaded = this.#policies.policies.get(env);
      versions.forEach((v, i) => {
        const next = versions[i + 1];
        history.push({
          environment: env,
          file: v.file,
          sha256: v.sha256,
          uri: `${this.#issuer}/policies/${env}.yaml`,
          current: loaded?.digest.sha256 === v.sha256,
          firstSeen: v.firstSeen.toISOString(),
          lastSeen: v.lastSeen.toISOString(),
          replacedAt: next && loaded?.digest.sha256 !== v.sha256 ? next.firstSeen.toISOString() : null,
        });
      });
    }
    return { current, history };
  }
}
