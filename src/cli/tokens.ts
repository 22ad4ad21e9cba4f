// `waybill tokens`: caller tokens (admin). The admin token comes from --token, WAYBILL_TOKEN, or
// the file the server's first start wrote.
import { type Command, Option } from 'commander';
import { ROLES } from '../services/tokens.ts';
import { api, resolveToken } from './client.ts';
import { json, jsonOption, type Out, serverOption, table, tokenOption } from './common.ts';

interface TokenJson {
  id: string;
  subject: string;
  roles: string[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt?: string | null;
  token?: string;
}

const dataDirOption = () =>
  new Option('--data-dir <dir>', 'where to find admin-token').env('WAYBILL_DATA_DIR').default('./.waybill');

type Opts = { server: string; token?: string; dataDir: string; json?: boolean };
const common = (cmd: Command) =>
  cmd
    .addOption(serverOption())
    .addOption(tokenOption('an admin token (default: <data dir>/admin-token)'))
    .addOption(dataDirOption())
    .addOption(jsonOption());
const client = (o: Opts) => ({ server: o.server, token: resolveToken(o) });

export function addTokenCommands(program: Command, io: Out): void {
  const tokens = program.command('tokens').description('manage caller tokens (admin)');
  common(tokens.command('create'))
    .description('mint a token; prints its secret once')
    .requiredOption('--subject <uri>', 'URI naming the caller, e.g. https://ci.example.com/pipelines/api')
    .addOption(new Option('--role <role...>', 'one or more roles').choices(ROLES).makeOptionMandatory())
    .option('--expires-in <duration>', 'e.g. 30d, 12h')
    .action(async (o: Opts & { subject: string; role: string[]; expiresIn?: string }) => {
      const created = await api<TokenJson>(client(o), 'POST', 'v1/tokens', {
        subject: o.subject,
        roles: o.role,
        ...(o.expiresIn ? { expiresIn: o.expiresIn } : {}),
      });
      if (o.json) return io.out(json(created));
      io.out(
        `created ${created.id} for ${created.subject} ` +
          `(${created.roles.join(', ')}${created.expiresAt ? `, expires ${created.expiresAt}` : ''})\n` +
          `token (shown once): ${created.token}\n`,
      );
    });
  common(tokens.command('list'))
    .description('list tokens (no secrets)')
    .action(async (o: Opts) => {
      const items: TokenJson[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: TokenJson[]; nextCursor: string | null } = await api(
          client(o),
          'GET',
          `v1/tokens?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (o.json) return io.out(json(items));
      io.out(
        table(
          ['ID', 'SUBJECT', 'ROLES', 'CREATED', 'EXPIRES', 'REVOKED'],
          items.map((t) => [t.id, t.subject, t.roles.join(','), t.createdAt, t.expiresAt, t.revokedAt]),
          '(no tokens)',
        ),
      );
    });
  common(tokens.command('revoke'))
    .description('revoke a token by id')
    .argument('<id>', 'token id (tok_...)')
    .action(async (id: string, o: Opts) => {
      await api(client(o), 'DELETE', `v1/tokens/${encodeURIComponent(id)}`);
      io.out(o.json ? json({ id, revoked: true }) : `revoked ${id}\n`);
    });
}
