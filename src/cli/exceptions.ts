// `waybill exceptions`: rebuild exceptions, from the request (a deployer) through the approvals
// (approvers other than the requester) that get it signed. Rejection comes with its endpoint.
import { type Command, Option } from 'commander';
import { api } from './client.ts';
import { digestArg, json, jsonOption, type Out, serverOption, shortDigest, table, tokenOption } from './common.ts';

interface ExceptionJson {
  id: string;
  original: string;
  rebuild: string;
  environment: string;
  reason: string;
  ticket: string | null;
  requestedBy: string;
  status: 'pending' | 'approved' | 'rejected' | 'expired';
  approvers: string[];
  minApprovals: number;
  expiresAt: string | null;
  createdAt: string;
  attestationId: string | null;
  summary: string;
  checklist: Array<{ item: string; ok: boolean; detail: string }>;
}

type Remote = { server: string; token: string; json?: boolean };

const remote = (cmd: Command, who: string) =>
  cmd.addOption(serverOption()).addOption(tokenOption(who).makeOptionMandatory()).addOption(jsonOption());

function describe(x: ExceptionJson): string {
  const lines = [
    `${x.id}: ${x.status.toUpperCase()} rebuild ${x.rebuild} of ${x.original} for ${x.environment}`,
    `  requested by ${x.requestedBy} at ${x.createdAt}${x.ticket ? ` (ticket ${x.ticket})` : ''}: ${x.reason}`,
    `  approvals ${x.approvers.length}/${x.minApprovals}` +
      (x.approvers.length ? `: ${x.approvers.join(', ')}` : '') +
      (x.expiresAt ? `; expires ${x.expiresAt}` : ''),
    `  diff: ${x.summary}`,
    ...x.checklist.map((c) => `  ${c.ok ? '✓' : '✗'} ${c.item}: ${c.detail}`),
  ];
  if (x.attestationId) lines.push(`  signed: attestation ${x.attestationId}`);
  return `${lines.join('\n')}\n`;
}

export function addExceptionCommands(program: Command, io: Out): void {
  const exceptions = program.command('exceptions').description('rebuild exceptions: request, approve, list');

  remote(exceptions.command('request'), 'a deployer token')
    .description('ask for a rebuild exception: the rebuild may borrow the original’s evidence in one environment')
    .requiredOption('--original <sha256:hex>', 'the digest promoted before')
    .requiredOption('--rebuild <sha256:hex>', 'the rebuild (same source, new digest)')
    .requiredOption('--environment <name>', 'the environment the exception is for')
    .requiredOption('--reason <text>', 'why the rebuild is needed (10 characters at least)')
    .option('--ticket <id>', 'a change or incident ticket')
    .option('--expires-in <duration>', 'how long the exception may be used once approved, e.g. 12h, 7d')
    .action(
      async (
        o: Remote & {
          original: string;
          rebuild: string;
          environment: string;
          reason: string;
          ticket?: string;
          expiresIn?: string;
        },
      ) => {
        const x = await api<ExceptionJson>({ server: o.server, token: o.token }, 'POST', 'v1/rebuild-exceptions', {
          original: digestArg(o.original, '--original'),
          rebuild: digestArg(o.rebuild, '--rebuild'),
          environment: o.environment,
          reason: o.reason,
          ...(o.ticket ? { ticket: o.ticket } : {}),
          ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
        });
        io.out(o.json ? json(x) : describe(x));
      },
    );

  remote(exceptions.command('approve'), 'an approver token')
    .description('approve a rebuild exception (not your own; once each); enough approvals sign it')
    .argument('<id>', 'the exception id')
    .action(async (id: string, o: Remote) => {
      const x = await api<ExceptionJson>(
        { server: o.server, token: o.token },
        'POST',
        `v1/rebuild-exceptions/${encodeURIComponent(id)}/approvals`,
      );
      io.out(o.json ? json(x) : describe(x));
    });

  remote(exceptions.command('reject'), 'an approver token')
    .description('reject a pending rebuild exception (signed as you, with a reason)')
    .argument('<id>', 'the exception id')
    .requiredOption('--reason <text>', 'why (signed into the rejection)')
    .action(async (id: string, o: Remote & { reason: string }) => {
      const x = await api<ExceptionJson>(
        { server: o.server, token: o.token },
        'POST',
        `v1/rebuild-exceptions/${encodeURIComponent(id)}/rejections`,
        { reason: o.reason },
      );
      io.out(o.json ? json(x) : describe(x));
    });

  remote(exceptions.command('revoke'), 'an admin token, or a token of an approver the policy names')
    .description('revoke an approved rebuild exception (signed, with a reason): it stops counting at once')
    .argument('<id>', 'the exception id')
    .requiredOption('--reason <text>', 'why (signed into the revocation)')
    .action(async (id: string, o: Remote & { reason: string }) => {
      const r = await api<{ id: string; logIndex: number; createdAt: string }>(
        { server: o.server, token: o.token },
        'POST',
        `v1/rebuild-exceptions/${encodeURIComponent(id)}/revocations`,
        { reason: o.reason },
      );
      if (o.json) return io.out(json(r));
      io.out(`revoked exception ${id}\n  revocation ${r.id} (log #${r.logIndex}, ${r.createdAt})\n`);
    });

  remote(exceptions.command('list'), 'a token (any role)')
    .description('rebuild exceptions, newest first')
    .addOption(new Option('--status <status>', 'only these').choices(['pending', 'approved', 'rejected', 'expired']))
    .action(async (o: Remote & { status?: string }) => {
      const { items } = await api<{ items: ExceptionJson[] }>(
        { server: o.server, token: o.token },
        'GET',
        `v1/rebuild-exceptions${o.status ? `?status=${o.status}` : ''}`,
      );
      if (o.json) return io.out(json(items));
      io.out(
        table(
          ['ID', 'STATUS', 'ENVIRONMENT', 'ORIGINAL', 'REBUILD', 'APPROVALS', 'REQUESTED BY', 'EXPIRES'],
          items.map((x) => [
            x.id,
            x.status,
            x.environment,
            shortDigest(x.original),
            shortDigest(x.rebuild),
            `${x.approvers.length}/${x.minApprovals}`,
            x.requestedBy,
            x.expiresAt,
          ]),
          '(no rebuild exceptions)',
        ),
      );
    });
}
