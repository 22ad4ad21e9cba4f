// `waybill audit verify PACK`: check an evidence pack (GET /v1/environments/{name}/evidence or
// /v1/artifacts/{digest}/evidence) offline. Exit 0 only if every bundle, every inclusion proof,
// the checkpoint and the chain's logic hold; otherwise exit 1 with every problem on stderr.
import type { Command } from 'commander';
import { type PackReport, type StepEvent, verifyPack } from '../audit/verify.ts';
import { CliFailure, EXIT, json, jsonOption, type Out, readJsonArg } from './common.ts';

const short = (id: string) => id.slice(0, 12);

function event(what: string, e: StepEvent): string {
  return `${what} ${short(e.id)} by ${e.signer ?? '?'} at ${e.at ?? '?'} (log #${e.logIndex ?? '?'})`;
}

/** The human summary: one line per step, then what was checked. */
export function formatReport(report: PackReport): string {
  const lines: string[] = [];
  const running = report.environment ? ` running in ${report.environment}` : '';
  const origin = `issuer ${report.issuer ?? '?'}, generated ${report.generatedAt ?? '?'}`;
  lines.push(`pack: ${report.digest ?? '?'}${running} (${origin})`);
  const root =
    report.trustedRoot === 'given' ? 'the one given (--trusted-root)' : "the pack's own (no --trusted-root given)";
  lines.push(`trusted root: ${root}`);
  const cp = report.checkpoint;
  if (cp) {
    const signature = cp.verified ? 'signature verified' : 'signature NOT verified';
    lines.push(`checkpoint: ${cp.origin}, size ${cp.size}, ${signature}`);
  }
  const width = Math.max(0, ...report.steps.map((s) => s.environment.length));
  for (const s of report.steps) {
    const digest = s.digest && s.digest !== report.digest ? ` [${s.digest}]` : '';
    const exception = s.exception ? `, under rebuild exception ${short(s.exception)}` : '';
    const events = `${event('deployment', s.deployment)}, ${event('verdict', s.verdict)}`;
    lines.push(`${s.environment.padEnd(width)}  ${events}${exception}${digest}`);
  }
  for (const b of report.borrowed) {
    const bundles = `${b.attestations.length} bundle${b.attestations.length === 1 ? '' : 's'}`;
    lines.push(`borrowed: ${bundles} about the original ${b.original}, under rebuild exception ${short(b.exception)}`);
  }
  for (const r of report.revocations) {
    const what = `${r.role ?? 'attestation'} ${short(r.attestationId)}`;
    lines.push(`revoked: ${what} at ${r.at} by ${r.revokedBy}: ${r.reason} (revocation ${short(r.id)})`);
  }
  const bad = report.attestations.filter((a) => !a.ok).length;
  const external = report.attestations.filter((a) => a.externallySigned).length;
  const failed = bad ? `, ${bad} FAILED` : '';
  const outside = external ? ` (${external} signed outside waybill: only waybill's log entry checked)` : '';
  lines.push(
    `attestations: ${report.attestations.length}, ${report.attestations.length - bad} verified${failed}${outside}`,
  );
  for (const a of report.attestations.filter((x) => !x.ok)) {
    const n = a.problems.length;
    const where = a.environment ? ` (${a.environment})` : '';
    const more = n > 1 ? ` (and ${n - 1} more)` : '';
    lines.push(`  ✗ ${a.role} ${short(a.id)}${where}: ${a.problems[0] ?? ''}${more}`);
  }
  return `${lines.join('\n')}\n`;
}

async function runAuditVerify(file: string, o: { trustedRoot?: string; json?: boolean }, io: Out): Promise<void> {
  const pack = await readJsonArg(file, 'evidence pack', EXIT.FAILED);
  const trustedRoot = o.trustedRoot ? await readJsonArg(o.trustedRoot, 'trusted root') : undefined;
  if (!o.trustedRoot) {
    io.err(
      "warning: no --trusted-root given: the pack's own trusted root is used, which shows the pack is consistent, " +
        'not that it comes from the waybill you trust\n',
    );
  }
  const report = await verifyPack(pack, trustedRoot === undefined ? {} : { trustedRoot });
  if (o.json) io.out(json(report));
  else io.out(formatReport(report));
  if (report.ok) {
    const n = report.steps.length;
    if (!o.json)
      io.out(`OK: ${file}: ${report.attestations.length} bundles, ${n} step${n === 1 ? '' : 's'} verified offline\n`);
    return;
  }
  if (!o.json) for (const p of report.problems) io.err(`problem: ${p}\n`);
  const n = report.problems.length;
  throw new CliFailure(`evidence pack ${file} NOT verified: ${n} problem${n === 1 ? '' : 's'}`, EXIT.FAILED);
}

export function addAuditCommands(program: Command, io: Out): void {
  const audit = program.command('audit').description('auditors: evidence packs');
  audit
    .command('verify')
    .description('verify an evidence pack offline: every bundle, log proof, the checkpoint and the promotion chain')
    .argument('<pack>', "the evidence pack (JSON; '-' reads standard input)")
    .option(
      '--trusted-root <file>',
      "TrustedRoot JSON obtained independently (GET /v1/trust/root); the pack's must equal it",
    )
    .addOption(jsonOption())
    .action(async (file: string, o: { trustedRoot?: string; json?: boolean }) => runAuditVerify(file, o, io));
}
