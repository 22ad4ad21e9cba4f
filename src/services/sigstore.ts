// The Sigstore-compatible use cases, so that stock clients (sigstore-js, cosign) sign against
// waybill: a Fulcio-style certificate for a CI workload's ID token, and Rekor-style log entries
// signed under such a certificate. An entry logged this way is verified (the certificate is one
// waybill issued, valid now; the signature holds; the statement is one the workload's grants
// allow and, for provenance, one its claims do not contradict), then rebuilt as a Sigstore
// bundle and stored in the log's batch transaction as that workload's attestation, so it counts
// in policies like anything waybill signs itself.
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bundleToJSON } from '@sigstore/bundle';
import { AppError } from '../errors.ts';
import type { WorkloadAuthenticator } from '../identity/authenticate.ts';
import { assertMayActFor } from '../identity/grants.ts';
import { assertConsistent, claimedBuild } from '../identity/provenance.ts';
import type { RoleScope, Workload } from '../identity/types.ts';
import { PROVENANCE_V1, PROVENANCE_V02, TEST_RESULT_V01 } from '../intoto/predicates.ts';
import { type Statement, subjectDigests, validateStatement } from '../intoto/statement.ts';
import type { CaMaterial } from '../signing/ca.ts';
import { pemCertificatesToDer } from '../signing/der.ts';
import { issueLeafSync, LEAF_VALIDITY_MS } from '../signing/leaf.ts';
import type { AttestationRepo } from '../storage/attestation-repo.ts';
import type { LogRepo } from '../storage/log-repo.ts';
import type { WorkloadRepo } from '../storage/workload-repo.ts';
import { DuplicateAttestationError, type TlogEntryJson } from '../tlog/batch.ts';
import type { TransparencyLog } from '../tlog/log.ts';
import { leafHash } from '../tlog/merkle.ts';
import { parseProposedEntry } from '../tlog/proposed.ts';
import { jcs, sha256hex } from '../util/encoding.ts';
import { environmentOf } from './attest.ts';
import { acceptableKey, entryContent, parseCertificate, pemOf } from './sigstore-entry.ts';
import type { Role } from './tokens.ts';

/** A certificate request as the Fulcio v2 API takes it: a public key with proof of possession, or a CSR. */
export interface CertificateRequest {
  token: string;
  publicKeyPem?: string;
  /** A signature over the token's `sub` claim by the key (SHA-256; Ed25519 signs it directly). */
  proofOfPossession?: Uint8Array;
  /** A PKCS#10 request (PEM or DER); its own signature is the proof of possession. */
  csr?: Uint8Array;
}

/** A Rekor v1 LogEntry value (`{ <uuid>: <this> }` on the wire). */
export interface RekorEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    inclusionProof: {
      checkpoint: string;
      hashes: string[];
      logIndex: number;
      rootHash: string;
      treeSize: number;
    };
    signedEntryTimestamp: string;
  };
}

export interface LoggedEntry {
  uuid: string;
  entry: RekorEntry;
  attestationId: string;
}

interface IssuedTo {
  subject: string;
  issuer: string;
  roles: Role[];
  environments: string[] | null;
  scopes: RoleScope[];
  workload: Workload;
  notBefore: Date;
  notAfter: Date;
}

const SIGNING_ROLES: readonly Role[] = ['builder', 'tester'];
// Small allowance for the signer's clock when it logs right after the certificate was issued.
const CLOCK_SKEW_MS = 60_000;

const b64ToHex = (s: string) => Buffer.from(s, 'base64').toString('hex');

export class SigstoreService {
  readonly #certificates: WorkloadRepo;
  readonly #attestations: AttestationRepo;
  readonly #entries: Pick<LogRepo, 'indexByLeafHash'>;
  readonly #log: TransparencyLog;
  readonly #ca: CaMaterial;
  readonly #workloads: WorkloadAuthenticator | undefined;
  readonly #issuer: string;
  readonly #allowedPredicates: readonly string[];
  readonly #now: () => Date;

  constructor(opts: {
    certificates: WorkloadRepo;
    attestations: AttestationRepo;
    entries: Pick<LogRepo, 'indexByLeafHash'>;
    log: TransparencyLog;
    ca: CaMaterial;
    workloads: WorkloadAuthenticator | undefined;
    issuer: string;
    allowedPredicates: readonly string[];
    now?: () => Date;
  }) {
    this.#certificates = opts.certificates;
    this.#attestations = opts.attestations;
    this.#entries = opts.entries;
    this.#log = opts.log;
    this.#ca = opts.ca;
    this.#workloads = opts.workloads;
    this.#issuer = opts.issuer;
    this.#allowedPredicates = opts.allowedPredicates;
    this.#now = opts.now ?? (() => new Date());
  }

  // -------------------------------------------------------------------------------------------
  // Fulcio

  /** The CA chain every certificate chains to (intermediate, then root), PEM. */
  get chainPem(): string[] {
    return pemCertificatesToDer(this.#ca.chainPem).map(pemOf);
  }

  /** The issuers and audiences a token may come from (Fulcio's /api/v2/configuration). */
  get issuers(): Array<{ issuer: string; audience: string }> {
    return (this.#workloads?.config.issuers ?? []).map((i) => ({ issuer: i.issuer, audience: i.audience }));
  }

  /** Issue a 10-minute leaf for the token's workload: leaf PEM first, then the CA chain. */
  async signingCert(req: CertificateRequest): Promise<string[]> {
    if (!this.#workloads) throw new AppError('UNAUTHENTICATED', 'this waybill accepts no OIDC ID tokens');
    const now = this.#now();
    const caller = await this.#workloads.authenticate(req.token, now);
    const roles = caller.roles as Role[];
    if (!roles.some((r) => SIGNING_ROLES.includes(r))) {
      throw new AppError('FORBIDDEN', `${caller.subject} holds no signing role (builder or tester)`);
    }
    const publicKey = await this.#provenKey(req, caller.workload.tokenSubject);
    const leaf = issueLeafSync(this.#ca, {
      subjectUri: caller.workload.identity,
      issuer: caller.workload.issuer,
      publicKey: publicKey.export({ type: 'spki', format: 'der' }),
      now,
      extraExtensions: caller.workload.extensions,
    });
    const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const expiresAt = new Date(notBefore.getTime() + LEAF_VALIDITY_MS);
    // Expired issuances are of no further use: forget those older than a day as new ones come.
    await this.#certificates.issued(
      {
        fingerprint: sha256hex(leaf.certificate),
        subject: caller.subject,
        issuer: caller.issuer,
        roles,
        environments: caller.environments === null ? null : [...caller.environments],
        scopes: caller.scopes ?? [],
        // The extensions are in the certificate itself; the rest is what a logged entry is checked against.
        workload: { ...caller.workload, extensions: [] },
        createdAt: notBefore,
        expiresAt,
      },
      new Date(now.getTime() - 86_400_000),
    );
    return [leaf.pem, ...this.chainPem];
  }

  async #provenKey(req: CertificateRequest, subject: string): Promise<KeyObject> {
    if (req.csr) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(Buffer.from(req.csr));
      } catch (err) {
        throw new AppError('VALIDATION_FAILED', 'the certificate signing request does not parse', { cause: err });
      }
      const key = acceptableKey(Buffer.from(csr.publicKey.rawData), 'der');
      if (!(await csr.verify().catch(() => false)))
        throw new AppError('VALIDATION_FAILED', "the certificate signing request's signature does not verify");
      return key;
    }
    if (!req.publicKeyPem || !req.proofOfPossession) {
      throw new AppError('VALIDATION_FAILED', 'give a public key with proof of possession, or a CSR', {
        errors: [{ path: '/publicKeyRequest', message: 'required unless certificateSigningRequest is given' }],
      });
    }
    const key = acceptableKey(req.publicKeyPem, 'pem');
    // Fulcio's challenge: the key signs the token's subject.
    const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    let ok = false;
    try {
      ok = cryptoVerify(digest, Buffer.from(subject, 'utf8'), key, req.proofOfPossession);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new AppError(
        'VALIDATION_FAILED',
        "the proof of possession is not the key's signature over the token's sub",
        {
          errors: [{ path: '/publicKeyRequest/proofOfPossession', message: 'must sign the sub claim' }],
        },
      );
    }
    return key;
  }

  // -------------------------------------------------------------------------------------------
  // Rekor

  /**
   * Log a proposed entry signed under a certificate this waybill issued and store it as that
   * workload's attestation. An entry logged before (the same envelope or message signature) is a
   * CONFLICT carrying its uuid, as Rekor answers.
   */
  async createEntry(json: unknown): Promise<LoggedEntry> {
    const proposed = parseProposedEntry(json);
    const now = this.#now();
    const { certificate, der } = parseCertificate(proposed.verifierPem);
    const issued = await this.#issuedTo(der);
    if (!issued) {
      throw new AppError(
        'VERIFICATION_FAILED',
        "the entry's verifier is not a certificate this waybill issued (POST /api/v2/signingCert)",
      );
    }
    if (
      now.getTime() > issued.notAfter.getTime() + CLOCK_SKEW_MS ||
      now.getTime() < issued.notBefore.getTime() - CLOCK_SKEW_MS
    ) {
      throw new AppError(
        'VERIFICATION_FAILED',
        `the signing certificate is not valid now (until ${issued.notAfter.toISOString()})`,
      );
    }
    const key = certificate.publicKey;
    const content = entryContent(proposed, der);
    if (!content.verify(key))
      throw new AppError('VERIFICATION_FAILED', "the signature does not verify under the entry's certificate");

    const { statement, environment } = this.#admit(content.statement, issued, proposed.kind === 'hashedrekord');
    const statementSha256 = sha256hex(jcs(statement));
    const subjects = subjectDigests(statement);
    let logged: TlogEntryJson | undefined;
    try {
      logged = await this.#log.append({
        body: proposed.body,
        kind: { kind: proposed.kind, version: proposed.version },
        attestationId: content.id,
        unique: { signerSubject: issued.subject, statementSha256 },
        subjectDigests: subjects.map((s) => s.digest),
        // The bundle rebuilt from the entry, with the log's entry put in it when logged.
        record: {
          row: {
            id: content.id,
            predicateType: statement.predicateType,
            statement,
            statementSha256,
            bundle: bundleToJSON(content.bundle),
            signerSubject: issued.subject,
            signerIssuer: issued.issuer,
            environment,
            origin: 'signed',
          },
          subjects,
          bundleEntry: 'entry',
        },
      });
    } catch (err) {
      if (!(err instanceof DuplicateAttestationError)) throw err;
      const existing = await this.#attestations.get(err.attestationId);
      const found = existing ? await this.#log.entry(existing.logIndex) : undefined;
      if (found && err.attestationId === content.id) {
        throw new EntryExistsError(this.#uuidOf(found), 'an equivalent entry already exists in the log');
      }
      throw new AppError(
        'CONFLICT',
        `${issued.subject} already logged this statement${existing ? ` (log index ${existing.logIndex})` : ''}`,
      );
    }
    return { uuid: this.#uuidOf(logged), entry: this.rekorEntry(logged), attestationId: content.id };
  }

  async #issuedTo(der: Uint8Array): Promise<IssuedTo | undefined> {
    const row = await this.#certificates.byFingerprint(sha256hex(der));
    if (!row) return undefined;
    return {
      subject: row.subject,
      issuer: row.issuer,
      roles: row.roles as Role[],
      environments: row.environments,
      scopes: row.scopes as RoleScope[],
      workload: row.workload as Workload,
      notBefore: row.createdAt,
      notAfter: row.expiresAt,
    };
  }

  /**
   * Whether the workload may have this statement logged as its attestation: a valid statement,
   * a predicate its roles cover, an environment its grants allow, and provenance its claims do
   * not contradict. Returns the statement and the environment it is for.
   */
  #admit(json: unknown, issued: IssuedTo, message: boolean): { statement: Statement; environment: string | null } {
    const result = validateStatement(json);
    if (!result.ok) {
      throw new AppError('VALIDATION_FAILED', 'the signed payload is not a valid in-toto Statement', {
        errors: result.errors.map((e) => ({ path: `/payload${e.path === '/' ? '' : e.path}`, message: e.message })),
      });
    }
    const statement = json as Statement;
    const type = statement.predicateType;
    const need = (roles: Role[], what: string) => {
      if (!roles.some((r) => issued.roles.includes(r)))
        throw new AppError('FORBIDDEN', `${issued.subject} may not log ${what} (needs the role ${roles.join(' or ')})`);
    };
    // The environment is the one the signed statement names, as for everything waybill stores.
    const environment = environmentOf(statement, this.#issuer);
    if (type === PROVENANCE_V1 || type === PROVENANCE_V02) {
      need(['builder'], 'provenance');
      const build = claimedBuild(issued.workload);
      if (build) assertConsistent(statement, build, '/payload');
    } else if (type === TEST_RESULT_V01) {
      need(['tester'], 'test results');
      if (environment !== null) assertMayActFor(issued, environment, ['tester']);
    } else if (message || this.#allowedPredicates.includes(type)) {
      need(['tester', 'builder'], 'evidence');
    } else {
      throw new AppError('VALIDATION_FAILED', `predicate type ${type} is not accepted`, {
        errors: [{ path: '/payload/predicateType', message: `not one of the accepted predicate types` }],
      });
    }
    return { statement, environment };
  }

  /** The entry at a log index, as Rekor answers it. */
  async entryByIndex(logIndex: number): Promise<LoggedEntry | undefined> {
    const found = await this.#log.entryWithAttestation(logIndex);
    if (!found) return undefined;
    return { uuid: this.#uuidOf(found.entry), entry: this.rekorEntry(found.entry), attestationId: found.attestationId };
  }

  /** The entry with a Rekor UUID: the hex leaf hash, optionally after a 16-hex tree id. */
  async entryByUuid(uuid: string): Promise<LoggedEntry | undefined> {
    const m = /^(?:([0-9a-f]{16}))?([0-9a-f]{64})$/.exec(uuid.toLowerCase());
    if (!m) {
      throw new AppError('VALIDATION_FAILED', 'not an entry UUID', {
        errors: [{ path: '/entryUUID', message: '64 hex characters, optionally after a 16-hex tree id' }],
      });
    }
    if (m[1] !== undefined && m[1] !== this.#treeIdHex) return undefined;
    const logIndex = await this.#entries.indexByLeafHash(Buffer.from(m[2]!, 'hex'));
    return logIndex === undefined ? undefined : this.entryByIndex(logIndex);
  }

  /** Rekor's LogInfo: the latest signed tree head. */
  async logInfo(): Promise<{ rootHash: string; treeSize: number; signedTreeHead: string; treeID: string }> {
    const cp = await this.#log.checkpoint();
    return {
      rootHash: Buffer.from(cp.rootHash).toString('hex'),
      treeSize: cp.treeSize,
      signedTreeHead: cp.note,
      treeID: this.#log.identity.treeId,
    };
  }

  get #treeIdHex(): string {
    return BigInt(this.#log.identity.treeId).toString(16).padStart(16, '0');
  }

  /** Rekor's entry UUID (its "EntryID"): the tree id, 16 hex, then the hex leaf hash. */
  #uuidOf(entry: TlogEntryJson): string {
    return this.#treeIdHex + Buffer.from(leafHash(Buffer.from(entry.canonicalizedBody, 'base64'))).toString('hex');
  }

  rekorEntry(e: TlogEntryJson): RekorEntry {
    return {
      body: e.canonicalizedBody,
      integratedTime: Number(e.integratedTime),
      logID: b64ToHex(e.logId.keyId),
      logIndex: Number(e.logIndex),
      verification: {
        inclusionProof: {
          checkpoint: e.inclusionProof.checkpoint.envelope,
          hashes: e.inclusionProof.hashes.map(b64ToHex),
          logIndex: Number(e.inclusionProof.logIndex),
          rootHash: b64ToHex(e.inclusionProof.rootHash),
          treeSize: Number(e.inclusionProof.treeSize),
        },
        signedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp,
      },
    };
  }
}

/** The entry is in the log already: Rekor answers 409 with its location. */
export class EntryExistsError extends AppError {
  readonly uuid: string;
  constructor(uuid: string, message: string) {
    super('CONFLICT', message);
    this.uuid = uuid;
  }
}
