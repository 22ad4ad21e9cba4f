// The storage audit behind the drift report: is what the database holds what was signed? It
// recomputes the log from its stored entries (leaf hashes from the bodies, nodes from their
// children, every checkpoint's root from the leaves, every checkpoint's signature), checks every
// attestation row and its log entry against the signed bundle, every subject index head against
// its rows, and the verdict, deployment and exception rows against the statements waybill signed
// for them. Signatures of the bundles themselves are checked where a decision can rest on them
// (the drift report verifies the evidence of what runs; verdicts verify what they use).
import type { KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import { messageOf } from '../errors.ts';
import { subjectDigests } from '../intoto/statement.ts';
import { DEPLOYMENT_V1, REBUILD_EXCEPTION_V1 } from '../intoto/waybill.ts';
import type { AttestationRepo, StoredAttestation } from '../storage/attestation-repo.ts';
import type { DeploymentRepo } from '../storage/deployment-repo.ts';
import type { ExceptionRepo } from '../storage/exception-repo.ts';
import type { LogRepo } from '../storage/log-repo.ts';
import type { VerdictRepo } from '../storage/verdict-repo.ts';
import { verifyCheckpoint } from '../tlog/checkpoint.ts';
import { checkHead } from '../tlog/subject-index.ts';
import { TreeBuilder } from '../tlog/tree-builder.ts';
import { type EvidenceReader, rowMismatch } from './evidence.ts';
import { signedDeployment, signedException, vsaRefusal, vsaTime } from './promotion/signed-records.ts';

export type IntegrityKind =
  | 'log-entries'
  | 'log-leaf'
  | 'log-node'
  | 'log-checkpoint'
  | 'attestation-row'
  | 'attestation-subjects'
  | 'subject-index'
  | 'verdict-row'
  | 'deployment-row'
  | 'exception-row';

export interface IntegrityFinding {
  kind: IntegrityKind;
  detail: string;
  attestationId?: string;
  digest?: string;
}

export interface IntegrityReport {
  ok: boolean;
  /** Entries and checkpoints recomputed. */
  log: { size: number; checkpoints: number };
  attestations: number;
  findings: IntegrityFinding[];
}

const PAGE = 500;
const MAX_FINDINGS_PER_KIND = 50;

export class IntegrityAudit {
  readonly #log: LogRepo;
  readonly #attestations: AttestationRepo;
  readonly #verdicts: VerdictRepo;
  readonly #deployments: DeploymentRepo;
  readonly #exceptions: ExceptionRepo;
  readonly #evidence: EvidenceReader;
  readonly #issuer: string;
  readonly #origin: string;
  readonly #logKeys: ReadonlyMap<string, KeyObject>;
  readonly #keyName: string;

  constructor(opts: {
    log: LogRepo;
    attestations: AttestationRepo;
    verdicts: VerdictRepo;
    deployments: DeploymentRepo;
    exceptions: ExceptionRepo;
    evidence: EvidenceReader;
    issuer: string;
    /** The log's origin and checkpoint key name, and its keys by hex log id (current and retired). */
    origin: string;
    keyName: string;
    logKeys: ReadonlyMap<string, KeyObject>;
  }) {
    this.#log = opts.log;
    this.#attestations = opts.attestations;
    this.#verdicts = opts.verdicts;
    this.#deployments = opts.deployments;
    this.#exceptions = opts.exceptions;
    this.#evidence = opts.evidence;
    this.#issuer = opts.issuer;
    this.#origin = opts.origin;
    this.#keyName = opts.keyName;
    this.#logKeys = opts.logKeys;
  }

  async run(): Promise<IntegrityReport> {
    const findings = new Findings();
    const log = await this.#checkLog(findings);
    const attestations = await this.#checkAttestations(findings);
    await this.#checkIndex(findings);
    await this.#checkRecords(findings);
    return { ok: findings.list.length === 0, log, attestations, findings: findings.list };
  }

  // The tree from its leaves: the database checks nodes against children and leaves against
  // bodies; here every checkpoint's root is recomputed from the leaf hashes and its note verified.
  async #checkLog(f: Findings): Promise<{ size: number; checkpoints: number }> {
    const tree = await this.#log.treeProblems();
    const size = tree.entries.count;
    if (tree.entries.maxIndex !== size - 1) {
      f.add(
        'log-entries',
        `the log holds ${size} entries but its highest index is ${tree.entries.maxIndex}: entries are missing`,
      );
    }
    for (const i of tree.badLeaves) f.add('log-leaf', `entry #${i}: the stored leaf hash is not the hash of its body`);
    for (const n of tree.badNodes)
      f.add('log-node', `node (level ${n.level}, index ${n.index}) is not the hash of what it covers`);
    for (let level = 0; 2 ** level <= Math.max(size, 1); level++) {
      const expected = Math.floor(size / 2 ** level);
      const stored = tree.nodesPerLevel.get(level) ?? { count: 0, maxIndex: -1 };
      if (expected > 0 && (stored.count !== expected || stored.maxIndex !== expected - 1)) {
        f.add('log-node', `level ${level} holds ${stored.count} nodes; a tree of ${size} entries has ${expected}`);
      }
    }
    const builder = new TreeBuilder();
    let checkpoints = 0;
    let latest = 0;
    for (let from = 0; ; ) {
      const page = await this.#log.checkpoints(from, PAGE);
      if (page.length === 0) break;
      for (const cp of page) {
        checkpoints++;
        latest = cp.treeSize;
        const problem = this.#checkpointProblem(cp.note, cp.treeSize, cp.rootHash);
        if (problem) f.add('log-checkpoint', `checkpoint at size ${cp.treeSize}: ${problem}`);
        while (builder.size < cp.treeSize) {
          const leaves = await this.#log.leafHashes(builder.size, Math.min(10_000, cp.treeSize - builder.size));
          if (leaves.length === 0 || leaves[0]!.logIndex !== builder.size) break;
          for (const l of leaves) builder.push(l.leafHash);
        }
        if (builder.size !== cp.treeSize) {
          f.add('log-checkpoint', `checkpoint at size ${cp.treeSize}: only ${builder.size} entries lead up to it`);
        } else if (!Buffer.from(builder.root()).equals(Buffer.from(cp.rootHash))) {
          f.add('log-checkpoint', `checkpoint at size ${cp.treeSize}: its root is not the root of the stored entries`);
        }
      }
      from = page.at(-1)!.treeSize + 1;
    }
    if (latest !== size) f.add('log-entries', `the latest checkpoint covers ${latest} entries; ${size} are stored`);
    return { size, checkpoints };
  }

  #checkpointProblem(note: string, size: number, rootHash: Uint8Array): string | undefined {
    for (const key of this.#logKeys.values()) {
      try {
        const cp = verifyCheckpoint(note, { name: this.#keyName, publicKey: key });
        if (cp.origin !== this.#origin) return `its origin is ${cp.origin}`;
        if (cp.size !== size) return `its note says size ${cp.size}`;
        if (!Buffer.from(cp.rootHash).equals(Buffer.from(rootHash))) return 'its note names another root';
        return undefined;
      } catch {
        // try the next key (a retired one may have signed it)
      }
    }
    return 'its note is not signed by any key of this log';
  }

  // Every attestation row against its signed bundle and its log entry; its subject rows against
  // the signed statement's subjects; its signer columns against the certificate.
  async #checkAttestations(f: Findings): Promise<number> {
    const keys = [...this.#logKeys.values()];
    let count = 0;
    for (let from = 0; ; ) {
      const page = await this.#attestations.storedFrom(from, PAGE);
      if (page.length === 0) break;
      for (const s of page) {
        count++;
        const r = s.record;
        const mismatch = rowMismatch(s, this.#issuer, keys) ?? signerMismatch(s);
        if (mismatch)
          f.add('attestation-row', `attestation ${r.id} (#${r.logIndex}): ${mismatch}`, { attestationId: r.id });
        const signed = subjectDigests(r.statement).map((d) => `${d.digest} ${d.name ?? ''}`);
        const rows = r.subjects.map((x) => `${x.digest} ${x.name ?? ''}`);
        if (signed.sort().join('\n') !== rows.sort().join('\n')) {
          f.add(
            'attestation-subjects',
            `attestation ${r.id}: its subject rows are not the signed statement's subjects`,
            {
              attestationId: r.id,
            },
          );
        }
      }
      from = page.at(-1)!.record.logIndex + 1;
    }
    return count;
  }

  // Every digest's rows against its signed index head, and no head without rows.
  async #checkIndex(f: Findings): Promise<void> {
    const keys = this.#logKeys;
    let after = '';
    for (;;) {
      const index = await this.#attestations.indexAfter(after, PAGE);
      if (index.size === 0) break;
      const digests = [...index.keys()];
      const heads = new Map((await this.#log.heads(digests)).map((h) => [h.digest, h]));
      for (const [digest, rows] of index) {
        const problem = checkHead(this.#origin, heads.get(digest), digest, rows, keys);
        if (problem) f.add('subject-index', problem, { digest });
      }
      after = digests.at(-1)!;
    }
    for (let from = ''; ; ) {
      const heads = await this.#log.headsAfter(from, PAGE);
      if (heads.length === 0) break;
      for (const h of heads) {
        const rows = await this.#attestations.indexOf(h.digest);
        if (rows.length === 0)
          f.add('subject-index', `the log signed ${h.entries} entries about ${h.digest}; storage has none`, {
            digest: h.digest,
          });
      }
      from = heads.at(-1)!.digest;
    }
  }

  // Verdict, deployment and exception rows against what waybill signed for them.
  async #checkRecords(f: Findings): Promise<void> {
    const [verdicts, deployments, exceptions] = await Promise.all([
      this.#verdicts.all(),
      this.#deployments.all(),
      this.#exceptions.all(),
    ]);
    const signed = await this.#evidence.many([
      ...verdicts.flatMap((v) => (v.vsaAttestationId ? [v.vsaAttestationId] : [])),
      ...deployments.map((d) => d.attestationId),
      ...exceptions.flatMap((x) => (x.attestationId ? [x.attestationId] : [])),
    ]);
    const verdictById = new Map(verdicts.map((v) => [v.id, v]));
    for (const v of verdicts) {
      const vsa = v.vsaAttestationId ? signed.get(v.vsaAttestationId) : undefined;
      const allows = vsa && !vsaRefusal(vsa, v.digest, v.environment, this.#issuer);
      const time = vsa && vsaTime(vsa);
      const problem = !vsa
        ? 'its VSA is not stored'
        : !vsa.verified
          ? `its VSA does not verify: ${vsa.verifyError}`
          : !vsa.subjects.includes(v.digest) || vsa.environment !== v.environment
            ? 'its VSA is about another digest or environment'
            : (v.decision === 'allow') !== Boolean(allows)
              ? `it says ${v.decision}, its VSA says the opposite`
              : !time || Math.floor(time.getTime() / 1000) !== Math.floor(v.createdAt.getTime() / 1000)
                ? 'its time is not the VSA’s'
                : v.policyDigest !==
                    (vsa.statement.predicate as { policy?: { digest?: { sha256?: string } } })?.policy?.digest?.sha256
                  ? 'its policy digest is not the VSA’s'
                  : (v.decision === 'deny') !== (v.expiresAt === null)
                    ? 'its expiry does not fit its decision'
                    : resultProblem(v.result, vsa.statement);
      if (problem) f.add('verdict-row', `verdict ${v.id}: ${problem}`, { digest: v.digest });
    }
    const recorded = new Set<string>();
    for (const d of deployments) {
      recorded.add(d.attestationId);
      const e = signed.get(d.attestationId);
      const deployment = e && signedDeployment(e, d.digest, this.#issuer);
      const verdict = verdictById.get(d.verdictId);
      const problem = !deployment
        ? 'its attestation is not a verified deployment of this digest'
        : deployment.environment !== d.environment
          ? `its attestation deploys to ${deployment.environment}`
          : deployment.verdictAttestationId !== verdict?.vsaAttestationId
            ? 'its verdict is not the one its attestation cites'
            : (e.statement.predicate as { deployer?: string }).deployer !== d.deployer ||
                e.signer.subject !== d.deployer
              ? 'its deployer is not the signer'
              : Math.floor(deployment.deployedAt.getTime() / 1000) !== Math.floor(d.createdAt.getTime() / 1000)
                ? 'its time is not the signed one'
                : undefined;
      if (problem) f.add('deployment-row', `deployment ${d.id} of ${d.digest}: ${problem}`, { digest: d.digest });
    }
    for (const id of await this.#attestations.idsOfType(DEPLOYMENT_V1)) {
      if (!recorded.has(id))
        f.add('deployment-row', `deployment attestation ${id} has no deployment row`, { attestationId: id });
    }
    const signedExceptions = new Set<string>();
    for (const x of exceptions) {
      const approvers = await this.#exceptions.approvers(x.id);
      if (!x.attestationId) {
        if (x.status === 'approved')
          f.add('exception-row', `exception ${x.id} is marked approved but was never signed`);
        continue;
      }
      signedExceptions.add(x.attestationId);
      const e = signed.get(x.attestationId);
      const s = e && signedException(e, this.#issuer);
      const same = (a: readonly string[], b: readonly string[]) =>
        [...a].sort().join('\n') === [...b].sort().join('\n');
      const problem = !s
        ? 'its attestation is not a verified exception signed by waybill'
        : x.status !== 'approved' && x.status !== 'expired'
          ? `it is ${x.status}, yet signed`
          : s.original !== x.original || s.rebuild !== x.rebuild || s.environment !== x.environment
            ? 'its digests or environment are not the signed ones'
            : s.requestedBy !== x.requestedBy || !same(s.approvers, approvers)
              ? 'its requester or approvals are not the signed ones'
              : x.expiresAt?.getTime() !== s.expiresAt.getTime()
                ? 'its expiry is not the signed one'
                : reasonProblem(x, e.statement);
      if (problem) f.add('exception-row', `exception ${x.id}: ${problem}`);
    }
    for (const id of await this.#attestations.idsOfType(REBUILD_EXCEPTION_V1)) {
      if (!signedExceptions.has(id))
        f.add('exception-row', `exception attestation ${id} has no exception row`, { attestationId: id });
    }
  }
}

// What a verdict row adds to its VSA (rule results, reasons) is display; what it says the VSA
// cites must be cited there.
function resultProblem(result: unknown, vsa: Readonly<Record<string, unknown>>): string | undefined {
  const r = result as { rules?: unknown; reasons?: unknown; exception?: { attestationId?: string } | null };
  if (!Array.isArray(r?.rules) || !Array.isArray(r?.reasons)) return 'its result is not a verdict result';
  const inputs = (
    (vsa.predicate as { inputAttestations?: Array<{ digest?: { sha256?: string } }> })?.inputAttestations ?? []
  ).map((i) => i.digest?.sha256);
  const cited = r.rules.flatMap((rule: { evidence?: unknown }) => (Array.isArray(rule?.evidence) ? rule.evidence : []));
  if (cited.some((id: unknown) => !inputs.includes(id as string))) return 'its rules cite evidence its VSA does not';
  if (r.exception && !inputs.includes(r.exception.attestationId)) return 'it names an exception its VSA does not cite';
  if (r.rules.length === 0 && r.reasons.length === 0) return 'its result was emptied';
  return undefined;
}

function reasonProblem(x: { reason: string; ticket: string | null }, statement: Readonly<Record<string, unknown>>) {
  const p = statement.predicate as { reason?: string; ticket?: string | null };
  return p.reason !== x.reason || (p.ticket ?? null) !== x.ticket
    ? 'its reason or ticket is not the signed one'
    : undefined;
}

// The recorded signer against the bundle's certificate (SAN and Fulcio issuer extension).
function signerMismatch({ record: r }: StoredAttestation): string | undefined {
  const vm = (r.bundle as { verificationMaterial?: Record<string, unknown> }).verificationMaterial ?? {};
  const raw =
    (vm.certificate as { rawBytes?: string } | undefined)?.rawBytes ??
    (vm.x509CertificateChain as { certificates?: Array<{ rawBytes?: string }> } | undefined)?.certificates?.[0]
      ?.rawBytes;
  if (!raw) return r.origin === 'signed' ? 'the bundle has no certificate' : undefined;
  try {
    const cert = X509Certificate.parse(Buffer.from(raw, 'base64'));
    const san = cert.subjectAltName;
    const issuerExt = cert.extension('1.3.6.1.4.1.57264.1.8')?.value;
    // The v2 issuer extension holds a DER UTF8String: tag, length, text.
    const issuer = issuerExt ? Buffer.from(issuerExt.subarray(2)).toString('utf8') : undefined;
    if (san !== r.signer.subject) return `signer ${r.signer.subject}, certificate ${san ?? '(no SAN)'}`;
    if (issuer !== undefined && issuer !== r.signer.issuer)
      return `signer issuer ${r.signer.issuer}, certificate ${issuer}`;
    return undefined;
  } catch (err) {
    return `the certificate does not parse: ${messageOf(err)}`;
  }
}

class Findings {
  readonly list: IntegrityFinding[] = [];
  readonly #per = new Map<IntegrityKind, number>();
  add(kind: IntegrityKind, detail: string, about: { attestationId?: string; digest?: string } = {}): void {
    const n = (this.#per.get(kind) ?? 0) + 1;
    this.#per.set(kind, n);
    if (n <= MAX_FINDINGS_PER_KIND) this.list.push({ kind, detail, ...about });
    else if (n === MAX_FINDINGS_PER_KIND + 1) this.list.push({ kind, detail: `more ${kind} findings left out` });
  }
}
