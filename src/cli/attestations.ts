// Reading what waybill holds: `waybill attestations list|get` (records and their bundles),
// `waybill attestations revoke` (a signed revocation: verdicts stop counting it) and
// `waybill evidence` (an offline evidence pack for an environment or a digest, for `audit verify`).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { EvidencePack } from '../audit/pack.ts';
import { api } from './client.ts';
import { CliFailure, digestArg, EXIT, json, jsonOption, type Out, serverOption, table, tokenOption } from './common.ts';

interface RecordJson {
  id: string;
  predicateType: string;
  bundle: unknown;
  signer: { subject: string; issuer: string };
  environment: string | null;
  origin: 'signed' | 'ingested';
  logIndex: number;
  createdAt: string;
  subjects: Array<{ digest: string; name: string | null }>;
}

type Remote = { server: string; token: string; json?: boolean };

const remote = (cmd: Command, who: string) =>
  cmd.addOption(serverOption()).addOption(tokenOption(who).makeOptionMandatory()).addOption(jsonOption());

/** The last path segment of a predicate type URI, which is what people call it. */
const predicateName = (uri: string) =>
  uri
    .replace(/^https?:\/\//, '')
    .replace(/\/v?[\d.]+$/, '')
    .split('/')
    .pop() ?? uri;

export function addAttestationCommands(program: Command, io: Out): void {
  const attestations = program.command('attestations').description('signed and ingested attestations');

  remote(attestations.command('list'), 'a token (any role)')
    .description('attestations about a digest, newest first')
    .requiredOption('--digest <sha256:hex>', 'the artifact digest')
    .option('--predicate-type <uri>', 'only this predicate type')
    .option('--environment <name>', 'only those recorded for this environment')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (o: Remote & { digest: string; predicateType?: string; environment?: string; limit: string }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new CliFailure(`--limit ${o.limit}: not a count`, EXIT.USAGE);
      const items: RecordJson[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({
          digest: digestArg(o.digest),
          limit: String(Math.min(limit - items.length, 100)),
        });
        if (o.predicateType) query.set('predicateType', o.predicateType);
        if (o.environment) query.set('environment', o.environment);
        if (cursor) query.set('cursor', cursor);
        const page: { items: RecordJson[]; nextCursor: string | null } = await api(
          { server: o.server, token: o.token },
          'GET',
          `v1/attestations?${query}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor && items.length < limit);
      if (o.json) return io.out(json(items.map(({ bundle: _bundle, ...rest }) => rest)));
      io.out(
        table(
          ['ID', 'PREDICATE', 'ENVIRONMENT', 'SIGNER', 'ORIGIN', 'LOG', 'CREATED'],
          items.map((a) => [
            a.id.slice(0, 12),
            predicateName(a.predicateType),
            a.environment,
            a.signer.subject,
            a.origin,
            `#${a.logIndex}`,
            a.createdAt,
          ]),
          `(no attestations about ${o.digest})`,
        ),
      );
    });

  remote(attestations.command('get'), 'a token (any role)')
    .description('one attestation record; --out writes its Sigstore bundle (for verify-bundle)')
    .argument('<id>', 'the attestation id (64 hex)')
    .option('--out <file>', 'write the bundle here')
    .action(async (id: string, o: Remote & { out?: string }) => {
      if (!/^[0-9a-f]{64}$/.test(id)) throw new CliFailure(`"${id}" is not an attestation id (64 hex)`, EXIT.USAGE);
      const a = await api<RecordJson>({ server: o.server, token: o.token }, 'GET', `v1/attestations/${id}`);
      if (o.out) writeFileSync(o.out, json(a.bundle));
      if (o.json) return io.out(json(a));
      io.out(
        `${a.id}\n` +
          `  predicate   ${a.predicateType}\n` +
          `  subjects    ${a.subjects.map((s) => `${s.name ?? ''} ${s.digest}`.trim()).join(', ')}\n` +
          `  signer      ${a.signer.subject} (issuer ${a.signer.issuer}, ${a.origin})\n` +
          `  environment ${a.environment ?? '-'}\n` +
          `  log         #${a.logIndex}, ${a.createdAt}\n` +
          (o.out ? `bundle written to ${o.out}\n` : ''),
      );
    });

  remote(attestations.command('revoke'), 'an admin token, or the token of the identity that signed it')
    .description('revoke an attestation: a signed, logged revocation; verdicts no longer count it')
    .argument('<id>', 'the attestation id (64 hex)')
    .requiredOption('--reason <text>', 'why it no longer counts (signed into the revocation)')
    .action(async (id: string, o: Remote & { reason: string }) => {
      if (!/^[0-9a-f]{64}$/.test(id)) throw new CliFailure(`"${id}" is not an attestation id (64 hex)`, EXIT.USAGE);
      const r = await api<RecordJson>(
        { server: o.server, token: o.token },
        'POST',
        `v1/attestations/${id}/revocations`,
        {
          reason: o.reason,
        },
      );
      if (o.json) return io.out(json(r));
      io.out(`revoked ${id}
  revocation ${r.id} (log #${r.logIndex}, ${r.createdAt})
`);
    });

  remote(program.command('evidence'), 'an auditor token')
    .description('download an offline evidence pack (for `waybill audit verify`) for an environment or a digest')
    .option('--environment <name>', 'what runs in this environment now, with its whole chain')
    .option('--digest <sha256:hex>', "a digest's chain")
    .option('--out <file>', 'write the pack here (default: standard output)')
    .action(async (o: Remote & { environment?: string; digest?: string; out?: string }) => {
      if ((o.environment === undefined) === (o.digest === undefined))
        throw new CliFailure('give --environment NAME or --digest sha256:HEX (one of them)', EXIT.USAGE);
      const route = o.digest
        ? `v1/artifacts/${encodeURIComponent(digestArg(o.digest))}/evidence`
        : `v1/environments/${encodeURIComponent(o.environment!)}/evidence`;
      const pack = await api<EvidencePack>({ server: o.server, token: o.token }, 'GET', route);
      if (!o.out) return io.out(json(pack));
      writeFileSync(o.out, json(pack));
      const summary = {
        out: o.out,
        digest: pack.manifest.digest,
        environment: pack.manifest.environment,
        attestations: pack.attestations.length,
        steps: pack.manifest.steps.map((s) => s.environment),
      };
      if (o.json) return io.out(json(summary));
      io.out(
        `wrote ${o.out}: ` +
          `${pack.manifest.digest}${pack.manifest.environment ? ` in ${pack.manifest.environment}` : ''}, ` +
          `${summary.attestations} bundles, steps ${summary.steps.join(' -> ') || '(none)'}\n` +
          `verify it offline: waybill audit verify ${o.out} --trusted-root trusted_root.json\n`,
      );
    });
}
