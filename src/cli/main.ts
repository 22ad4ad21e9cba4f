// The `waybill` command. Each subcommand is small and talks HTTP to a server, except `serve`
// (which is the server) and the offline verifiers.

import { Command, CommanderError, Option } from 'commander';
import { ConfigError, parseConfig } from '../config.ts';
import { messageOf } from '../errors.ts';
import { ROLES } from '../services/tokens.ts';
import { addAttestCommands } from './attest.ts';
import { addAuditCommands } from './audit.ts';
import { ApiError, api, resolveToken } from './client.ts';
import { addDiffCommand } from './diff.ts';
import { addKeyCommands } from './keys.ts';
import { addPromotionCommands } from './promotion.ts';
import { addVerifyCommands, CliFailure, VerifyError } from './verify.ts';

const serverOption = () =>
  new Option('--server <url>', 'waybill server URL').env('WAYBILL_SERVER').default('http://127.0.0.1:8787');
const tokenOption = () =>
  new Option('--token <token>', 'bearer token (default: <data dir>/admin-token)').env('WAYBILL_TOKEN');
const dataDirOption = () =>
  new Option('--data-dir <dir>', 'where to find admin-token').env('WAYBILL_DATA_DIR').default('./.waybill');

type Out = { out: (s: string) => void; err: (s: string) => void };

export function buildProgram(io: Out): Command {
  const program = new Command('waybill')
    .description('waybill: signed provenance, test evidence and promotion verdicts for build-once-promote-many')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the waybill HTTP service (configuration from the environment, see README)')
    .action(async () => {
      const { runUntilSignal } = await import('../runtime/node.ts');
      await runUntilSignal(parseConfig(process.env));
    });

  const tokens = program.command('tokens').description('manage caller tokens (admin)');
  tokens
    .command('create')
    .description('mint a token; prints the JSON with the secret once')
    .requiredOption('--subject <uri>', 'URI naming the caller, e.g. https://ci.example.com/pipelines/api')
    .addOption(new Option('--role <role...>', 'one or more roles').choices(ROLES).makeOptionMandatory())
    .option('--expires-in <duration>', 'e.g. 30d, 12h')
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .action(async (o) => {
      const created = await api({ server: o.server, token: resolveToken(o) }, 'POST', 'v1/tokens', {
        subject: o.subject,
        roles: o.role,
        ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
      });
      io.out(`${JSON.stringify(created, null, 2)}\n`);
    });
  tokens
    .command('list')
    .description('list tokens (no secrets)')
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .action(async (o) => {
      const client = { server: o.server, token: resolveToken(o) };
      const items: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: unknown[]; nextCursor: string | null } = await api(
          client,
          'GET',
          `v1/tokens?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      io.out(`${JSON.stringify(items, null, 2)}\n`);
    });
  tokens
    .command('revoke')
    .description('revoke a token by id')
    .argument('<id>', 'token id (tok_...)')
    .addOption(serverOption())
    .addOption(tokenOption())
    .addOption(dataDirOption())
    .action(async (id: string, o) => {
      await api({ server: o.server, token: resolveToken(o) }, 'DELETE', `v1/tokens/${encodeURIComponent(id)}`);
      io.out(`revoked ${id}\n`);
    });

  addVerifyCommands(program, io);
  addKeyCommands(program, io);
  addAttestCommands(program, io);
  addPromotionCommands(program, io);
  addDiffCommand(program, io);
  addAuditCommands(program, io);
  return program;
}

export async function main(
  argv: string[],
  io: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 2;
    }
    if (err instanceof CliFailure) {
      io.err(`waybill: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof VerifyError) {
      io.err(`verification failed (${err.code}): ${err.message}\n`);
      return 1;
    }
    if (err instanceof ApiError) {
      io.err(`waybill: server answered ${err.status}: ${err.message}\n`);
      return 1;
    }
    io.err(`waybill: ${messageOf(err)}\n`);
    return 1;
  }
}
