// Offline verification commands. `verify-bundle` follows the sigstore-conformance CLI protocol
// exactly (exit 0 = verified, non-zero = not, the reason on stderr); `verify` is the friendlier
// alias; `log verify` checks that a server's log is consistent with a checkpoint saved earlier.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { logKeysOf, publicGoodTrustedRoot } from '../signing/trust-material.ts';
import { verifyBundle } from '../signing/verify.ts';
import { type ParsedCheckpoint, parseCheckpoint, verifyCheckpoint } from '../tlog/checkpoint.ts';
import { verifyConsistency } from '../tlog/merkle.ts';
import { sha256hex } from '../util/encoding.ts';
import { api, request } from './client.ts';
import { CliFailure, EXIT, json, jsonOption, type Out, readJsonArg, serverOption } from './common.ts';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

interface VerifyArgs {
  bundle: string;
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  key?: string;
  trustedRoot?: string;
  staging?: boolean;
  json?: boolean;
}

async function runVerify(o: VerifyArgs, fileOrDigest: string | undefined, io: Out): Promise<void> {
  if (o.staging && !o.trustedRoot)
    throw new CliFailure('--staging needs --trusted-root (this verifier is offline)', EXIT.USAGE);
  const keyed = o.key !== undefined;
  const identityGiven = o.certificateIdentity !== undefined || o.certificateIdentityRegexp !== undefined;
  if (keyed && (identityGiven || o.certificateOidcIssuer)) {
    throw new CliFailure('give either --key or --certificate-identity/--certificate-oidc-issuer, not both', EXIT.USAGE);
  }
  if (!keyed && (!identityGiven || !o.certificateOidcIssuer)) {
    throw new CliFailure(
      'give --certificate-identity (or -regexp) and --certificate-oidc-issuer, or --key',
      EXIT.USAGE,
    );
  }
  const bundle = await readJsonArg(o.bundle, 'bundle', EXIT.FAILED);
  const trustedRoot = o.trustedRoot ? await readJsonArg(o.trustedRoot, 'trusted root') : publicGoodTrustedRoot();

  // FILE_OR_DIGEST: a well-formed sha256 digest that is not a path on disk is a digest.
  let artifact: Uint8Array | undefined;
  let digest: string | undefined;
  if (fileOrDigest !== undefined) {
    if (DIGEST.test(fileOrDigest) && !existsSync(fileOrDigest)) digest = fileOrDigest.slice('sha256:'.length);
    else {
      try {
        artifact = readFileSync(fileOrDigest);
      } catch (err) {
        throw new CliFailure(`cannot read artifact ${fileOrDigest}: ${(err as Error).message}`, EXIT.USAGE);
      }
    }
  }

  const result = await verifyBundle(bundle, {
    trustedRoot,
    ...(keyed ? { publicKey: { pem: readKey(o.key!) } } : {}),
    ...(identityGiven
      ? {
          identity: {
            ...(o.certificateIdentity !== undefined ? { subjectAlternativeName: o.certificateIdentity } : {}),
            ...(o.certificateIdentityRegexp !== undefined
              ? { subjectAlternativeNameRegexp: o.certificateIdentityRegexp }
              : {}),
            ...(o.certificateOidcIssuer !== undefined ? { issuer: o.certificateOidcIssuer } : {}),
          },
        }
      : {}),
    ...(artifact ? { artifact } : {}),
    ...(digest ? { digest: { algorithm: 'sha256' as const, hex: digest } } : {}),
  });
  if (o.json) io.out(json({ verified: true, bundle: o.bundle, signer: result.signer }));
  io.err(
    `verified: ${o.bundle}` +
      (result.signer.subject ? ` signed by ${result.signer.subject}` : '') +
      (result.signer.issuer ? ` (issuer ${result.signer.issuer})` : '') +
      '\n',
  );
}

function readKey(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read key ${file}: ${(err as Error).message}`, EXIT.USAGE);
  }
}

/** Verify a signed note with whichever log key of the trusted root (current or retired) signed it. */
function verifyNote(note: string, root: unknown, what: string): ParsedCheckpoint {
  let parsed: ParsedCheckpoint;
  try {
    parsed = parseCheckpoint(note);
  } catch (err) {
    throw new CliFailure(`${what}: ${(err as Error).message}`);
  }
  const keys = logKeysOf(root);
  for (const sig of parsed.signatures) {
    for (const log of keys) {
      if (!log.baseUrl.includes(sig.name)) continue;
      try {
        return verifyCheckpoint(note, { name: sig.name, publicKey: log.publicKey });
      } catch {
        // try the next key
      }
    }
  }
  throw new CliFailure(`${what} is not signed by any log key of the trusted root`);
}

interface LogVerifyArgs {
  checkpoint?: string;
  state?: string;
  server: string;
  trustedRoot?: string;
  json?: boolean;
}

async function runLogVerify(o: LogVerifyArgs, io: Out) {
  // --state FILE: the last verified checkpoint; each run proves consistency from it to the
  // current one and then moves it forward, so a cron job notices any rewrite of history.
  const from = o.state && existsSync(o.state) ? o.state : o.checkpoint;
  if (!from && !o.state) throw new CliFailure('give --checkpoint FILE, or --state FILE', EXIT.USAGE);
  const root = o.trustedRoot
    ? await readJsonArg(o.trustedRoot, 'trusted root')
    : await api<unknown>({ server: o.server }, 'GET', 'v1/trust/root');
  if (!o.trustedRoot) io.err('warning: no --trusted-root given; using the one the server serves\n');
  const res = await request({ server: o.server }, 'GET', 'v1/log/checkpoint');
  if (!res.ok)
    throw new CliFailure(`GET ${res.url}: HTTP ${res.status}`, res.status >= 500 ? EXIT.UNREACHABLE : EXIT.REFUSED);
  const latestNote = await res.text();
  const latest = verifyNote(latestNote, root, "the server's checkpoint");
  const report = (r: Record<string, unknown>, text: string) => io.out(o.json ? json(r) : text);
  if (!from) {
    // First run with an empty state: trust on first use, recorded.
    writeFileSync(o.state!, latestNote);
    return report(
      { started: true, size: latest.size, origin: latest.origin, state: o.state },
      `started: size ${latest.size} saved to ${o.state}\n`,
    );
  }
  let oldNote: string;
  try {
    oldNote = readFileSync(from, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${from}: ${(err as Error).message}`, EXIT.USAGE);
  }
  const old = verifyNote(oldNote, root, `the saved checkpoint ${from}`);
  if (latest.origin !== old.origin) throw new CliFailure(`origin changed: "${old.origin}" -> "${latest.origin}"`);
  if (latest.size < old.size) throw new CliFailure(`the log shrank: ${old.size} -> ${latest.size}`);
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  if (latest.size === old.size) {
    if (!eq(latest.rootHash, old.rootHash))
      throw new CliFailure(`two different roots for tree size ${old.size}: the log forked`);
  } else if (old.size > 0) {
    const proof = await api<{ hashes: string[] }>(
      { server: o.server },
      'GET',
      `v1/log/proof/consistency?from=${old.size}&to=${latest.size}`,
    );
    const hashes = proof.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
    if (!verifyConsistency(old.size, latest.size, hashes, old.rootHash, latest.rootHash)) {
      throw new CliFailure(
        `the log at size ${latest.size} is NOT consistent with the saved checkpoint at size ${old.size}`,
      );
    }
  }
  const root64 = Buffer.from(latest.rootHash).toString('base64');
  const digest = sha256hex(latest.rootHash).slice(0, 16);
  if (o.state) writeFileSync(o.state, latestNote);
  report(
    { consistent: true, from: old.size, to: latest.size, origin: latest.origin, rootHash: root64 },
    `consistent: size ${old.size} -> ${latest.size} (root ${root64}, ${digest})\n`,
  );
}

export function addVerifyCommands(program: Command, io: Out): void {
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--bundle <file>', 'the Sigstore bundle (JSON)')
      .option('--certificate-identity <identity>', "the signing certificate's expected SAN (exact)")
      .option('--certificate-oidc-issuer <url>', "the signing certificate's expected OIDC issuer")
      .option('--key <pem>', 'PEM public key file, for bundles signed with a key')
      .option('--trusted-root <file>', 'TrustedRoot JSON (default: the public-good Sigstore root shipped offline)')
      .addOption(new Option('--staging', 'use Sigstore staging (needs --trusted-root: offline)'))
      .addOption(jsonOption());

  common(program.command('verify-bundle'))
    .description('verify a Sigstore bundle offline (sigstore-conformance protocol)')
    .argument('<file_or_digest>', 'the artifact, or sha256:<hex>; for DSSE bundles, a subject of the statement')
    .action(async (fileOrDigest: string, o: VerifyArgs) => runVerify(o, fileOrDigest, io));

  common(program.command('verify'))
    .description('verify a Sigstore bundle offline (like verify-bundle, also with --certificate-identity-regexp)')
    .option('--certificate-identity-regexp <regexp>', 'a regular expression the SAN must match (anchor it)')
    .argument('[file_or_digest]', 'the artifact, or sha256:<hex> (optional for DSSE bundles)')
    .action(async (fileOrDigest: string | undefined, o: VerifyArgs) => runVerify(o, fileOrDigest, io));

  const log = program.command('log').description('the transparency log');
  log
    .command('verify')
    .description("check that the server's current log is consistent with a checkpoint saved earlier")
    .option('--checkpoint <file>', 'a signed checkpoint (GET /v1/log/checkpoint) saved earlier')
    .option(
      '--state <file>',
      'the last verified checkpoint: read (if present), proven consistent with the current one, then replaced by it',
    )
    .addOption(serverOption())
    .option(
      '--trusted-root <file>',
      'TrustedRoot JSON to check checkpoint signatures with (default: fetched from the server)',
    )
    .addOption(jsonOption())
    .action(async (o: LogVerifyArgs) => runLogVerify(o, io));
}
