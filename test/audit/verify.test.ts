// Evidence packs verified offline: the production pack (a rebuild promoted under an approved
// exception) and the original's full dev -> staging -> production chain verify; every tamper
// fails with a reason that names what is wrong. Then the same through the CLI.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PackReport, verifyPack, verifyPackSync } from '../../src/audit/verify.ts';
import type { Database } from '../../src/storage/database.ts';
import { testApp } from '../helpers/app.ts';
import { backends } from '../helpers/db.ts';
import type { Json } from '../helpers/json.ts';
import { runCli } from '../helpers/process.ts';
import { sha256 } from '../helpers/statements.ts';
import { buildChain, type Chain, ISSUER } from './chain.ts';

const clone = <T>(v: T): T => structuredClone(v);

/** The attestation of `role` (and environment) in a pack. */
function att(pack: Json, role: string, environment?: string | null): Json {
  const found = pack.attestations.filter(
    (a: Json) => a.role === role && (environment === undefined || a.environment === environment),
  );
  expect(found, `${role} ${environment ?? ''}`).toHaveLength(1);
  return found[0];
}

/** XOR one byte of base64-encoded data; `at` may be negative (from the end). */
function flipB64(b64: string, at: number, mask = 0x01): string {
  const bytes = Buffer.from(b64, 'base64');
  const i = at < 0 ? bytes.length + at : at;
  bytes[i]! ^= mask;
  return bytes.toString('base64');
}

const problemsOf = (r: PackReport) => r.problems.join('\n');
const verifyPackSyncOk = (pack: unknown) => verifyPackSync(pack).ok;

/** The report fails, and some problem matches every pattern given. */
function expectProblem(r: PackReport, ...patterns: Array<string | RegExp>) {
  expect(r.ok, 'the tampered pack must not verify').toBe(false);
  const hit = r.problems.find((p) => patterns.every((x) => (typeof x === 'string' ? p.includes(x) : x.test(p))));
  expect(hit, `no problem matches ${patterns.map(String).join(' & ')} in:\n${problemsOf(r)}`).toBeDefined();
}

describe.each(backends)('evidence packs on $name', (backend) => {
  let database: Database;
  let chain: Chain;
  let verify: (pack: unknown, root?: unknown) => Promise<PackReport>;

  beforeAll(async () => {
    database = await backend.open();
    chain = await buildChain(database);
    verify = (pack, root = chain.root) => verifyPack(pack, { trustedRoot: root });
  }, 120_000);
  afterAll(async () => database.close());

  describe('verify offline', () => {
    it('the production pack: a rebuild promoted under an approved, cited exception', async () => {
      const r = await verify(chain.productionPack);
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
      expect(r.trustedRoot).toBe('given');
      expect(r.digest).toBe(`sha256:${chain.B}`);
      expect(r.environment).toBe('production');
      expect(r.checkpoint?.verified).toBe(true);
      expect(r.steps).toHaveLength(1);
      const [prod] = r.steps;
      expect(prod).toMatchObject({
        environment: 'production',
        digest: `sha256:${chain.B}`,
        exception: chain.exceptionAttestationId,
        verdict: { signer: `${ISSUER}/verifier` },
        deployment: { signer: 'https://people.example.com/dana' },
      });
      expect(prod!.deployment.logIndex!).toBeGreaterThan(prod!.verdict.logIndex!);
      expect(Date.parse(prod!.deployment.at!)).toBeGreaterThanOrEqual(Date.parse(prod!.verdict.at!));
      // what the rebuild borrowed from the original is about A, and says so; its staging tests
      // are its own (production requires own-tests), so A's are not borrowed
      const borrowed = r.attestations.filter((a) => a.subjects.includes(`sha256:${chain.A}`));
      expect(borrowed.map((a) => a.role).sort()).toEqual(['deployment', 'original-provenance', 'rebuild-exception']);
      const own = r.attestations.filter((a) => a.subjects.includes(`sha256:${chain.B}`));
      expect(own.map((a) => a.role)).toContain('test-result');
      expect(borrowed.find((a) => a.role === 'deployment')!.notes.join()).toMatch(/borrowed under exception/);
      expect(r.attestations.every((a) => a.ok && a.signer && a.logIndex !== null && a.integratedTime)).toBe(true);
    });

    it("the original's artifact pack: one digest dev -> staging -> production", async () => {
      const r = await verify(chain.packA);
      expect(r.problems).toEqual([]);
      expect(r.steps.map((s) => s.environment)).toEqual(['dev', 'staging', 'production']);
      expect(r.steps.every((s) => s.digest === `sha256:${chain.A}` && s.exception === null)).toBe(true);
      const times = r.steps.map((s) => Date.parse(s.deployment.at!));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    });

    it("a bundle signed outside waybill: checked through waybill's log entry, and marked so", async () => {
      const r = await verify(chain.packF);
      expect(r.problems).toEqual([]);
      expect(r.steps.map((s) => s.environment)).toEqual(['dev', 'staging']);
      const ext = r.attestations.filter((a) => a.externallySigned);
      expect(ext).toHaveLength(1);
      expect(ext[0]).toMatchObject({
        role: 'test-result',
        environment: 'dev',
        ok: true,
        subjects: [`sha256:${chain.F}`],
      });
      expect(ext[0]!.signer).toMatch(/^https:\/\/github\.example\.com\//);
      expect(ext[0]!.notes.join()).toMatch(/signed outside waybill .* not checked offline/);
      const vsa = att(chain.packF, 'verdict', 'staging');
      const inputs = JSON.parse(Buffer.from(vsa.bundle.dsseEnvelope.payload, 'base64').toString('utf8')).predicate
        .inputAttestations;
      expect(inputs.map((i: Json) => i.digest.sha256)).toContain(ext[0]!.id);
    });

    it("with the pack's own trusted root when none is given (reported as such)", async () => {
      const r = await verifyPack(chain.productionPack);
      expect(r.ok).toBe(true);
      expect(r.trustedRoot).toBe('pack');
    });

    it('an empty or foreign document is refused with the reason', async () => {
      expectProblem(await verify(null), /^pack: not a JSON object/);
      expectProblem(
        await verify({ ...chain.packA, mediaType: 'application/json' }),
        /^pack: mediaType "application\/json" is not application\/vnd\.waybill\.evidence\+json/,
      );
      const noManifest = clone(chain.packA);
      delete noManifest.manifest;
      expectProblem(await verify(noManifest), /^pack\.manifest: /);
    });
  });

  describe('every tamper fails, naming what is wrong', () => {
    it('a flipped byte in a payload (the staging test result says FASSED)', async () => {
      const pack = clone(chain.packA);
      const tr = att(pack, 'test-result', 'staging');
      const payload = Buffer.from(tr.bundle.dsseEnvelope.payload, 'base64');
      const at = payload.indexOf('"PASSED"') + 1;
      expect(at).toBeGreaterThan(0);
      tr.bundle.dsseEnvelope.payload = flipB64(
        tr.bundle.dsseEnvelope.payload,
        at,
        'P'.charCodeAt(0) ^ 'F'.charCodeAt(0),
      );
      const r = await verify(pack);
      const who = `test-result ${tr.id} (staging)`;
      expectProblem(r, who, /the bundle does not verify .*SIGNATURE_INVALID/);
      expectProblem(r, who, "the id is not the SHA-256 of the bundle's DSSE envelope");
      expectProblem(r, who, "the logged payload hash is not the SHA-256 of the envelope's payload");
      expect(r.attestations.find((a) => a.id === tr.id)!.ok).toBe(false);
      expect(r.attestations.filter((a) => !a.ok)).toHaveLength(1);
    });

    it('a flipped byte in the payload of a bundle signed outside waybill', async () => {
      const pack = clone(chain.packF);
      const ext = pack.attestations.find((a: Json) => a.origin === 'ingested');
      ext.bundle.dsseEnvelope.payload = flipB64(ext.bundle.dsseEnvelope.payload, 40);
      const r = await verify(pack);
      const who = `test-result ${ext.id} (dev)`;
      expectProblem(r, who, "the signature does not verify under the bundle's own certificate");
      expectProblem(r, who, "the logged payload hash is not the SHA-256 of the envelope's payload");
    });

    it('a flipped byte in a signature (the production deployment)', async () => {
      const pack = clone(chain.packA);
      const dep = att(pack, 'deployment', 'production');
      dep.bundle.dsseEnvelope.signatures[0].sig = flipB64(dep.bundle.dsseEnvelope.signatures[0].sig, -3);
      const r = await verify(pack);
      const who = `deployment ${dep.id} (production)`;
      expectProblem(r, who, /does not verify \(signed by https:\/\/people\.example\.com\/dana\): SIGNATURE_INVALID/);
      expectProblem(r, who, "the logged signature is not the envelope's signature");
    });

    it('a flipped byte in an inclusion proof (the dev verdict)', async () => {
      const pack = clone(chain.packA);
      const v = att(pack, 'verdict', 'dev');
      expect(v.logEntry.inclusionProof.hashes.length).toBeGreaterThan(0);
      v.logEntry.inclusionProof.hashes[0] = flipB64(v.logEntry.inclusionProof.hashes[0], 7);
      const r = await verify(pack);
      expectProblem(
        r,
        `verdict ${v.id} (dev)`,
        `inclusion proof: entry #${v.logEntry.logIndex} does not hash up to the root it claims`,
      );
      expect(r.problems).toHaveLength(1);
    });

    it('a flipped byte in the checkpoint signature', async () => {
      const pack = clone(chain.packA);
      const [body, sigLine] = pack.checkpoint.split('\n\n');
      const m = /^(\u2014 \S+ )(\S+)\n$/u.exec(sigLine)!;
      pack.checkpoint = `${body}\n\n${m[1]}${flipB64(m[2]!, -2)}\n`;
      const r = await verify(pack);
      expect(r.problems[0]).toMatch(
        /^checkpoint: the signature does not verify with the trusted root's log key \(signature does not verify\)/,
      );
      expect(r.checkpoint?.verified).toBe(false);
      // the proofs still carry the genuine note: said once, not once per bundle
      expectProblem(r, /^checkpoint: it is not the checkpoint note any of the \d+ inclusion proofs carries/);
    });

    it('a flipped byte in the checkpoint root hash', async () => {
      const pack = clone(chain.packA);
      const lines = pack.checkpoint.split('\n');
      lines[2] = flipB64(lines[2], 0);
      pack.checkpoint = lines.join('\n');
      const r = await verify(pack);
      expect(r.problems[0]).toMatch(/^checkpoint: the signature does not verify/);
      expectProblem(
        r,
        /^checkpoint: its tree head \(size, root hash\) is not the one any of the \d+ inclusion proofs proves/,
      );
    });

    it('a bundle removed (the staging deployment)', async () => {
      const pack = clone(chain.packA);
      const dep = att(pack, 'deployment', 'staging');
      const prodVerdict = att(pack, 'verdict', 'production');
      pack.attestations = pack.attestations.filter((a: Json) => a.id !== dep.id);
      const r = await verify(pack);
      expectProblem(
        r,
        `missing bundle deployment ${dep.id} (staging): manifest.steps[1] (staging) deployment names it, but the ` +
          `pack has no such attestation`,
      );
      expectProblem(
        r,
        `verdict ${prodVerdict.id} (production)`,
        `inputAttestations cites ${dep.id}, which is not in the pack`,
      );
    });

    it(
      'a bundle removed from the manifest and the pack alike (the provenance): the verdicts still cite ' + 'it',
      async () => {
        const pack = clone(chain.packA);
        const prov = att(pack, 'provenance');
        pack.attestations = pack.attestations.filter((a: Json) => a.id !== prov.id);
        pack.manifest.provenance = [];
        const r = await verify(pack);
        for (const env of ['dev', 'staging', 'production']) {
          expectProblem(
            r,
            `verdict ${att(pack, 'verdict', env).id} (${env})`,
            `inputAttestations cites ${prov.id}, which is not in the pack (missing bundle ${prov.id})`,
          );
        }
      },
    );

    it('the exception removed from the production pack', async () => {
      const pack = clone(chain.productionPack);
      const x = att(pack, 'rebuild-exception');
      pack.attestations = pack.attestations.filter((a: Json) => a.id !== x.id);
      const r = await verify(pack);
      expectProblem(r, `missing bundle rebuild-exception ${x.id} (production)`);
      // without it, the original's bundles are just bundles about another digest
      expectProblem(
        r,
        `deployment ${att(pack, 'deployment', 'staging').id} (staging)`,
        `its subject is sha256:${chain.A}, not the pack's digest sha256:${chain.B}`,
      );
    });

    it('a bundle swapped for one about another digest (provenance of C, relabelled in the manifest)', async () => {
      expect(chain.packC.checkpoint).toBe(chain.packA.checkpoint); // same log head: the swap is log-valid
      const pack = clone(chain.packA);
      const mine = att(pack, 'provenance');
      const theirs = clone(att(chain.packC, 'provenance'));
      pack.attestations = pack.attestations.map((a: Json) => (a.id === mine.id ? theirs : a));
      pack.manifest.provenance = [theirs.id];
      const r = await verify(pack);
      // a genuine bundle...
      expect(r.attestations.find((a) => a.id === theirs.id)!.problems.join()).not.toMatch(/verify|inclusion/);
      expectProblem(
        r,
        `provenance ${theirs.id}`,
        `its subject is sha256:${chain.C}, not the pack's digest sha256:${chain.A}`,
      ); // ...about C
      expectProblem(
        r,
        `verdict ${att(pack, 'verdict', 'dev').id} (dev)`,
        `inputAttestations cites ${mine.id}, which is not in the pack`,
      );
    });

    it("a bundle swapped in under the original id (the staging test result replaced by C's dev one)", async () => {
      const pack = clone(chain.packA);
      const mine = att(pack, 'test-result', 'staging');
      const theirs = att(chain.packC, 'test-result', 'dev');
      Object.assign(mine, { bundle: clone(theirs.bundle), logEntry: clone(theirs.logEntry) });
      const r = await verify(pack);
      const who = `test-result ${mine.id} (staging)`;
      expectProblem(r, who, "the id is not the SHA-256 of the bundle's DSSE envelope");
      expectProblem(r, who, `its subject is sha256:${chain.C}, not the pack's digest sha256:${chain.A}`);
      expectProblem(r, who, 'the signed test result does not name environment staging');
    });

    it('a deployment moved before its verdict (signed so: E deployed "before" its dev verdict)', async () => {
      const r = await verify(chain.packE);
      const dep = att(chain.packE, 'deployment', 'dev');
      const v = att(chain.packE, 'verdict', 'dev');
      expectProblem(r, `deployment ${dep.id} (dev)`, /step 1 \(dev\): deployed at \S+, before its verdict/, v.id);
    });

    it('a deployment moved before its verdict in the manifest', async () => {
      const pack = clone(chain.packA);
      const step = pack.manifest.steps[2];
      const v = att(pack, 'verdict', 'production');
      const vsa = JSON.parse(Buffer.from(v.bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
      const claimed = new Date(Date.parse(vsa.predicate.timeVerified) - 60_000).toISOString();
      const signed = step.deployedAt;
      step.deployedAt = claimed;
      const r = await verify(pack);
      expectProblem(
        r,
        `deployment ${step.deployment} (production)`,
        `the manifest says deployed at ${claimed}, the signed deployment says ${signed}`,
      );
      expectProblem(
        r,
        `deployment ${step.deployment} (production)`,
        `the manifest puts the deployment (${claimed}) before its verdict ${v.id}`,
      );
    });

    it('steps reordered (staging before dev)', async () => {
      const pack = clone(chain.packA);
      const [dev, staging] = pack.manifest.steps;
      pack.manifest.steps.splice(0, 2, staging, dev);
      const r = await verify(pack);
      expectProblem(
        r,
        `verdict ${staging.verdict} (staging)`,
        "step 1 (staging): staging's policy requires dev first, but the manifest has no dev step before it",
      );
      expectProblem(
        r,
        `verdict ${dev.verdict} (dev)`,
        "step 2 (dev): dev's policy names no prior stage, yet the manifest puts staging before it",
      );
      expectProblem(
        r,
        `deployment ${dev.deployment} (dev)`,
        /step 2 \(dev\): deployed at \S+, not after the previous step \(staging/,
      );
    });

    it("a deployment paired with another step's verdict", async () => {
      const pack = clone(chain.packA);
      pack.manifest.steps[2].verdict = pack.manifest.steps[1].verdict;
      const r = await verify(pack);
      expectProblem(
        r,
        `deployment ${pack.manifest.steps[2].deployment} (production)`,
        `cites verdict ${att(pack, 'verdict', 'production').id}, not the step's verdict ` +
          `${pack.manifest.steps[1].verdict}`,
      );
      expectProblem(
        r,
        `verdict ${pack.manifest.steps[1].verdict} (staging)`,
        'step 3 (production): the verdict is for https://waybill.test/environments/staging, not ' +
          'https://waybill.test/environments/production',
      );
    });

    it('a policy file altered', async () => {
      const pack = clone(chain.packA);
      const policy = pack.policies.find((p: Json) => p.uri.endsWith('/production.yaml'));
      policy.content = policy.content.replace('verdictTtl: 15m', 'verdictTtl: 30d');
      const r = await verify(pack);
      expectProblem(
        r,
        `verdict ${att(pack, 'verdict', 'production').id} (production)`,
        `the pack's policy file ${policy.uri} does not hash to ${policy.sha256}: the policy file was altered`,
      );
      expectProblem(r, `policy ${policy.uri}: its content does not hash to ${policy.sha256}`);
    });

    describe('the trusted root replaced by another', () => {
      let rogueDb: Database;
      let rogue: Awaited<ReturnType<typeof testApp>>;
      let rogueRoot: Json;
      let roguePack: Json;

      beforeAll(async () => {
        // Another waybill under the same issuer URL, with its own CA and log key.
        rogueDb = await backends[0]!.open();
        rogue = await testApp(rogueDb);
        rogueRoot = await (await rogue.call('GET', '/v1/trust/root')).json();
        const builder = await rogue.mint(['builder'], 'https://ci.example.com/build');
        const deployer = await rogue.mint(['deployer'], 'https://people.example.com/dana');
        const auditor = await rogue.mint(['auditor']);
        const facts = {
          subjects: [{ name: 'ghcr.io/example/shop', digest: { sha256: chain.A } }],
          buildType: 'https://example.com/build/v1',
          externalParameters: { repository: 'https://github.com/example/shop' },
          resolvedDependencies: [
            { uri: 'git+https://github.com/example/shop', digest: { gitCommit: sha256('x').slice(0, 40) } },
          ],
          builder: { id: 'https://ci.example.com/builder/v1' },
        };
        expect((await rogue.call('POST', '/v1/provenance', { token: builder, body: facts })).status).toBe(201);
        const v = (await (
          await rogue.call('POST', '/v1/verdicts', {
            token: deployer,
            body: { digest: `sha256:${chain.A}`, environment: 'dev' },
          })
        ).json()) as Json;
        expect(v.decision).toBe('allow');
        expect(
          (
            await rogue.call('POST', '/v1/deployments', {
              token: deployer,
              body: { digest: `sha256:${chain.A}`, environment: 'dev', verdictId: v.id },
            })
          ).status,
        ).toBe(201);
        roguePack = await (
          await rogue.call('GET', `/v1/artifacts/sha256:${chain.A}/evidence`, { token: auditor })
        ).json();
      }, 60_000);
      afterAll(async () => rogueDb.close());

      it("a pack from another waybill (its own root inside) against the auditor's root", async () => {
        expect((await verifyPack(roguePack)).ok).toBe(true); // consistent with itself: that proves nothing
        const r = await verify(roguePack);
        expect(r.problems[0]).toMatch(/^trusted root: the pack's trustedRoot is not the trusted root given/);
        expectProblem(r, /^checkpoint: the signature does not verify with the trusted root's log key/);
        const prov = att(roguePack, 'provenance');
        expectProblem(r, `provenance ${prov.id}`, /the bundle does not verify .*CERTIFICATE_INVALID/);
        expectProblem(r, `provenance ${prov.id}`, /log entry #\d+: logId \S+ is not a log of the trusted root/);
      });

      it("the pack's trusted root swapped, no root given: nothing verifies under it", async () => {
        const pack = clone(chain.packA);
        pack.trustedRoot = rogueRoot;
        const r = await verifyPack(pack);
        expect(r.trustedRoot).toBe('pack');
        expect(r.problems[0]).toMatch(/^checkpoint: the signature does not verify with the trusted root's log key/);
        for (const a of pack.attestations) expectProblem(r, `${a.role} ${a.id}`, /the bundle does not verify/);
      });

      it("the pack's trusted root swapped, the genuine root given", async () => {
        const pack = clone(chain.packA);
        pack.trustedRoot = rogueRoot;
        const r = await verify(pack);
        expect(r.problems).toEqual([
          expect.stringMatching(/^trusted root: the pack's trustedRoot is not the trusted root given/),
        ]);
      });
    });
  });

  describe('waybill audit verify (CLI)', () => {
    let dir: string;
    const file = (name: string, content: unknown) => {
      const p = path.join(dir, name);
      writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return p;
    };
    beforeAll(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'waybill-audit-'));
    });

    it('exit 0 and one line per step for a good pack', async () => {
      const res = await runCli([
        'audit',
        'verify',
        file('pack.json', chain.packA),
        '--trusted-root',
        file('root.json', chain.root),
      ]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      for (const env of ['dev', 'staging', 'production']) {
        expect(res.stdout).toMatch(
          new RegExp(
            `^${env} +deployment [0-9a-f]{12} by https://people\\.example\\.com/dana at \\S+ \\(log #\\d+\\), ` +
              `verdict [0-9a-f]{12} by https://waybill\\.test/verifier at \\S+ \\(log #\\d+\\)$`,
            'm',
          ),
        );
      }
      expect(res.stdout).toMatch(/^OK: .*pack\.json: \d+ bundles, 3 steps verified offline$/m);
    });

    it('the rebuild step names its exception; without --trusted-root it warns', async () => {
      const res = await runCli(['audit', 'verify', file('production.json', chain.productionPack)]);
      expect(res.code).toBe(0);
      expect(res.stderr).toMatch(/^warning: no --trusted-root given/);
      expect(res.stdout).toMatch(
        new RegExp(
          `^production +deployment .*, under rebuild exception ${chain.exceptionAttestationId.slice(0, 12)}$`,
          'm',
        ),
      );
    });

    it('exit 1 with the problems on stderr for a tampered pack', async () => {
      const pack = clone(chain.packA);
      const dep = att(pack, 'deployment', 'staging');
      pack.attestations = pack.attestations.filter((a: Json) => a.id !== dep.id);
      const res = await runCli([
        'audit',
        'verify',
        file('tampered.json', pack),
        '--trusted-root',
        file('root.json', chain.root),
      ]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`problem: missing bundle deployment ${dep.id} (staging)`);
      expect(res.stderr).toMatch(/waybill: evidence pack .*tampered\.json NOT verified: \d+ problems/);
    });

    it('--json prints the report; exit 1 when another trusted root is given', async () => {
      const ok = await runCli([
        'audit',
        'verify',
        file('pack.json', chain.packA),
        '--trusted-root',
        file('root.json', chain.root),
        '--json',
      ]);
      expect(ok.code).toBe(0);
      const report = JSON.parse(ok.stdout) as PackReport;
      expect(report.ok).toBe(true);
      expect(report.steps).toHaveLength(3);

      const other = await runCli([
        'audit',
        'verify',
        file('pack.json', chain.packA),
        '--trusted-root',
        'test/fixtures/service/trusted_root.json',
        '--json',
      ]);
      expect(other.code).toBe(1);
      expect((JSON.parse(other.stdout) as PackReport).problems[0]).toMatch(
        /^trusted root: the pack's trustedRoot is not the trusted root given/,
      );
    });

    it(
      "docs/audit.md's stock @sigstore/verify script passes every bundle, fails a flipped one, and cannot see a " +
        'removed one',
      () => {
        const repo = fileURLToPath(new URL('../../', import.meta.url));
        const doc = readFileSync(path.join(repo, 'docs/audit.md'), 'utf8');
        const script = /<!-- test\/audit: stock @sigstore\/verify script -->\n```js\n([\s\S]*?)```/.exec(doc)?.[1];
        expect(script, 'the marked script block in docs/audit.md').toBeDefined();
        expect(script!.trimEnd().split('\n').length).toBeLessThanOrEqual(25);
        const scriptDir = mkdtempSync(path.join(os.tmpdir(), 'waybill-stock-'));
        symlinkSync(path.join(repo, 'node_modules'), path.join(scriptDir, 'node_modules'));
        const js = path.join(scriptDir, 'verify-pack-bundles.mjs');
        writeFileSync(js, script!);
        const run = (pack: unknown) =>
          spawnSync(process.execPath, [js, file('stock.json', pack), file('root.json', chain.root)], {
            encoding: 'utf8',
          });

        const good = run(chain.productionPack);
        expect(good.stderr).toBe('');
        expect(good.status).toBe(0);
        expect(good.stdout.trim().split('\n')).toHaveLength(chain.productionPack.attestations.length);
        expect(good.stdout).toMatch(/^ok +deployment +[0-9a-f]{12} https:\/\/people\.example\.com\/dana$/m);

        const flipped = clone(chain.packA);
        const tr = att(flipped, 'test-result', 'staging');
        tr.bundle.dsseEnvelope.payload = flipB64(tr.bundle.dsseEnvelope.payload, 20);
        const bad = run(flipped);
        expect(bad.status).toBe(1);
        expect(bad.stdout).toContain(`FAILED  test-result         ${tr.id.slice(0, 12)}`);

        const removed = clone(chain.packA);
        removed.attestations = removed.attestations.filter(
          (a: Json) => a.role !== 'deployment' || a.environment !== 'staging',
        );
        expect(run(removed).status).toBe(0); // bundle by bundle, nothing is wrong...
        expect(verifyPackSyncOk(removed)).toBe(false); // ...but the chain is broken
      },
    );

    it('exit 2 for an unreadable pack (a usage error), 1 for one that is not JSON', async () => {
      expect((await runCli(['audit', 'verify', path.join(dir, 'nope.json')])).code).toBe(2);
      const res = await runCli(['audit', 'verify', file('bad.json', 'not json')]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/is not JSON/);
    });
  });
});
