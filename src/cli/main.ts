// The `waybill` command. Each subcommand is small and talks HTTP to a server, except `serve`
// (which is the server) and the offline verifiers. Every command prints text by default and JSON
// with --json, and exits with the codes in common.ts's EXIT.
import { Command, CommanderError } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { ConfigError } from '../config.ts';
import { messageOf } from '../errors.ts';
import { PolicyLoadError } from '../policy/load.ts';
import { VerifyError } from '../signing/verify-error.ts';
import { addAttestCommands } from './attest.ts';
import { addAttestationCommands } from './attestations.ts';
import { addAuditCommands } from './audit.ts';
import { ApiError } from './client.ts';
import { CliFailure, EXIT, type Out } from './common.ts';
import { addDiffCommand } from './diff.ts';
import { addExceptionCommands } from './exceptions.ts';
import { addKeyCommands } from './keys.ts';
import { addPromotionCommands } from './promotion.ts';
import { addSnapshotCommands } from './snapshot.ts';
import { addTokenCommands } from './tokens.ts';
import { addVerifyCommands } from './verify.ts';

export const VERSION: string = pkg.version;

export function buildProgram(io: Out): Command {
  const program = new Command('waybill')
    .description('waybill: signed provenance, test evidence and promotion verdicts for build-once-promote-many')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the waybill HTTP service (configuration from the environment, see README)')
    .action(async () => {
      const { serve } = await import('../runtime/start.ts');
      await serve(process.env);
    });

  addTokenCommands(program, io);
  addVerifyCommands(program, io);
  addKeyCommands(program, io);
  addAttestCommands(program, io);
  addPromotionCommands(program, io);
  addExceptionCommands(program, io);
  addAttestationCommands(program, io);
  addDiffCommand(program, io);
  addAuditCommands(program, io);
  addSnapshotCommands(program, io);
  return program;
}

/** Runs one command line; resolves with its exit code (see EXIT), never throws. */
export async function main(
  argv: string[],
  io: Out = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version'
        ? EXIT.OK
        : EXIT.USAGE;
    }
    if (err instanceof ConfigError || err instanceof PolicyLoadError) {
      io.err(`${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof CliFailure) {
      io.err(`waybill: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof VerifyError) {
      io.err(`verification failed (${err.code}): ${err.message}\n`);
      return EXIT.FAILED;
    }
    if (err instanceof ApiError) {
      io.err(`waybill: ${err.status >= 500 ? 'server error' : 'refused'}: ${err.message}\n`);
      return err.exitCode;
    }
    io.err(`waybill: ${messageOf(err)}\n`);
    return EXIT.FAILED;
  }
}
