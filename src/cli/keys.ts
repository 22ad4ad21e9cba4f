// `waybill keys`: production key material made offline, written with tight modes, and the
// history file that keeps retired keys in the trusted root after a rotation.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateCa } from '../signing/ca.ts';
import { retireAll } from '../signing/trusted-root.ts';
import { CliFailure, EXIT, json, jsonOption, type Out, readJsonArg } from './common.ts';

export function addKeyCommands(program: Command, io: Out): void {
  const keys = program.command('keys').description('key material');
  keys
    .command('generate')
    .description('generate a CA (root + intermediate) and a log key into a new directory (run offline)')
    .requiredOption('--out <dir>', 'a directory that does not exist yet')
    .option('--organization <o>', 'O of the CA certificates', 'waybill')
    .option('--common-name <cn>', 'CN of the root (the intermediate gets <cn>-intermediate)', 'waybill')
    .addOption(jsonOption())
    .action(async (o: { out: string; organization: string; commonName: string; json?: boolean }) => {
      if (existsSync(o.out)) throw new CliFailure(`${o.out} exists; refusing to overwrite key material`, EXIT.USAGE);
      mkdirSync(o.out, { recursive: true, mode: 0o700 });
      const ca = await generateCa({ organization: o.organization, commonName: o.commonName });
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const files: Array<[string, string, number]> = [
        ['ca-key.pem', ca.keyPem, 0o600],
        ['ca-chain.pem', ca.chainPem, 0o644],
        ['ca-root-key.pem', ca.rootKeyPem!, 0o600],
        ['log-key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600],
      ];
      for (const [name, data, mode] of files) writeFileSync(path.join(o.out, name), data, { mode });
      const env = {
        WAYBILL_CA_KEY_FILE: path.join(o.out, 'ca-key.pem'),
        WAYBILL_CA_CHAIN_FILE: path.join(o.out, 'ca-chain.pem'),
        WAYBILL_LOG_KEY_FILE: path.join(o.out, 'log-key.pem'),
      };
      if (o.json) return io.out(json({ dir: o.out, files: files.map((f) => f[0]), env }));
      io.out(
        `wrote ${files.map((f) => f[0]).join(', ')} to ${o.out}\n` +
          `run with ${Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}\n` +
          `and move ca-root-key.pem offline\n`,
      );
    });
  keys
    .command('retire')
    .description(
      'make the history file for a rotation: the trusted root served until now, ' +
        'every CA and log key without an end ending now',
    )
    .requiredOption('--trusted-root <file>', 'the trusted root served before the rotation (GET /v1/trust/root)')
    .requiredOption('--out <file>', 'the history file to write (WAYBILL_TRUST_HISTORY_FILE)')
    .option('--at <time>', 'when the old keys stop signing (RFC 3339; default: now)')
    .addOption(jsonOption())
    .action(async (o: { trustedRoot: string; out: string; at?: string; json?: boolean }) => {
      const at = o.at === undefined ? new Date() : new Date(o.at);
      if (Number.isNaN(at.getTime())) throw new CliFailure(`--at ${o.at}: not a time (RFC 3339)`, EXIT.USAGE);
      let history: ReturnType<typeof retireAll>;
      try {
        history = retireAll(await readJsonArg(o.trustedRoot, 'trusted root'), at);
      } catch (err) {
        if (err instanceof CliFailure) throw err;
        throw new CliFailure(`${o.trustedRoot}: ${(err as Error).message}`, EXIT.USAGE);
      }
      writeFileSync(o.out, json(history));
      const summary = {
        out: o.out,
        end: at.toISOString(),
        certificateAuthorities: history.certificateAuthorities.length,
        tlogs: history.tlogs.length,
      };
      if (o.json) return io.out(json(summary));
      io.out(
        `wrote ${o.out}: ${summary.certificateAuthorities} CA(s) and ${summary.tlogs} log key(s), each ending at ` +
          `its own end or ${summary.end}\n` +
          'restart with the new keys and WAYBILL_TRUST_HISTORY_FILE set to it (keep WAYBILL_LOG_TREE_ID)\n',
      );
    });
}
