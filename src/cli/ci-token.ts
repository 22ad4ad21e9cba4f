// The caller token a CI job presents: `--token` (a waybill token) when given, else the job's own
// OIDC ID token: GitHub Actions' (fetched from ACTIONS_ID_TOKEN_REQUEST_URL with the request
// token, for `--audience`), or GitLab's (`--id-token-env NAME`, an `id_tokens:` variable).
// ID tokens are secrets too: they are never printed.
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliFailure } from './common.ts';

type Env = Record<string, string | undefined>;

export interface CiTokenOptions {
  token?: string | undefined;
  audience?: string | undefined;
  idTokenEnv?: string | undefined;
}

/** Adds --audience and --id-token-env (and leaves --token optional) to a command. */
export function ciTokenOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--audience <aud>', 'audience of the GitHub Actions ID token requested for waybill').default(
        'waybill',
      ),
    )
    .addOption(new Option('--id-token-env <name>', 'take the ID token from this variable (GitLab id_tokens)'));
}

/** GitHub Actions' ID token for `audience`, or undefined outside a job with `id-token: write`. */
export async function githubIdToken(env: Env, audience: string): Promise<string | undefined> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) return undefined;
  const url = new URL(requestUrl);
  url.searchParams.set('audience', audience);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' } });
  } catch (err) {
    throw new CliFailure(`cannot reach the GitHub Actions ID token endpoint: ${(err as Error).message}`, 1);
  }
  if (!res.ok) throw new CliFailure(`the GitHub Actions ID token endpoint answered ${res.status}`, 1);
  const value = ((await res.json().catch(() => ({}))) as { value?: unknown }).value;
  if (typeof value !== 'string' || value === '')
    throw new CliFailure('the GitHub Actions ID token endpoint returned no token', 1);
  return value;
}

/** An ID token from the environment variable `name` (GitLab's `id_tokens:`). */
export function envIdToken(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new CliFailure(`--id-token-env ${name}: the variable is not set (is it in id_tokens:?)`, 2);
  return value;
}

/** The CI job's own ID token for `audience`: GitLab's named variable, else GitHub's. */
export async function ciIdToken(
  o: { idTokenEnv?: string | undefined },
  audience: string,
  env: Env,
): Promise<string | undefined> {
  if (o.idTokenEnv) return envIdToken(env, o.idTokenEnv);
  return githubIdToken(env, audience);
}

/** The bearer token for waybill: --token, else the job's ID token; a usage error when neither. */
export async function callerToken(o: CiTokenOptions, env: Env): Promise<string> {
  if (o.token) return o.token;
  const token = await ciIdToken(o, o.audience ?? 'waybill', env);
  if (token) return token;
  throw new CliFailure(
    'no token: give --token (or WAYBILL_TOKEN), run in GitHub Actions with `permissions: id-token: write`, ' +
      'or name a GitLab ID token with --id-token-env',
    2,
  );
}
