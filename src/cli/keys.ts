// `waybill keys generate`: production key material made offline, written with tight modes.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateCa } from '../signing/ca.ts';
import { CliFailure } from './verify.ts';

export function addKeyCommands(program: Command, io: { out: (s: string) => void }): void {
  program
    .command('keys')
    .description('key material')
    .command('generate')
    .description('generate a CA (root + intermediate) and a log key into a new directory (run offline)')
    .requiredOption('--out <dir>', 'a directory that does not exist yet')
    .option('--organization <o>', 'O of the CA certificates', 'waybill')
    .option('--common-name <cn>', 'CN of the root (the intermediate gets <cn>-intermediate)', 'waybill')
    .action(async (o: { out: string; organization: string; commonName: string }) => {
      if (existsSync(o.out)) throw new CliFailure(`${o.out} exists; refusing to overwrite key material`);
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
      io.out(
        `wrote ${files.map((f) => f[0]).join(', ')} to ${o.out}\n` +
          `run with WAYBILL_CA_KEY_FILE=${path.join(o.out, 'ca-key.pem')} ` +
          `WAYBILL_CA_CHAIN_FILE=${path.join(o.out, 'ca-chain.pem')} ` +
          `WAYBILL_LOG_KEY_FILE=${path.join(o.out, 'log-key.pem')}\n` +
          `and move ca-root-key.pem offline\n`,
      );
    });
}
