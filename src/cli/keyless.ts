// `--keyless`: the CI machine signs the statement itself with the stock `sigstore` package and
// its own ID token (public-good Fulcio and Rekor by default, or any compatible instance such as
// waybill's /api/v2 and /api/v1), and waybill ingests the bundle (POST /v1/bundles). A team can
// keep public-good transparency and still gate promotions with waybill.
import type { SerializedBundle } from '@sigstore/bundle';
import type { Command } from 'commander';
import { Option } from 'commander';
import * as sigstore from 'sigstore';
import { ciIdToken, envIdToken } from './ci-token.ts';
import { CliFailure } from './common.ts';

type Env = Record<string, string | undefined>;

export interface KeylessOptions {
  keyless?: boolean;
  fulcioUrl?: string;
  rekorUrl?: string;
  signingAudience?: string;
  signingIdTokenEnv?: string;
  audience?: string;
  idTokenEnv?: string;
}

export function keylessOptions(cmd: Command): Command {
  return cmd
    .option('--keyless', 'sign here with the CI identity (sigstore package), then submit the bundle to waybill')
    .option('--fulcio-url <url>', 'Fulcio for --keyless (default: public-good Sigstore)')
    .option('--rekor-url <url>', 'Rekor for --keyless (default: public-good Sigstore)')
    .addOption(
      new Option(
        '--signing-audience <aud>',
        'audience of the ID token Fulcio gets (default: sigstore for public-good, else --audience)',
      ),
    )
    .addOption(new Option('--signing-id-token-env <name>', 'the ID token for Fulcio (GitLab; default --id-token-env)'));
}

/** Sign an in-toto statement as a DSSE bundle with the stock sigstore client. */
export async function signKeyless(statement: unknown, o: KeylessOptions, env: Env): Promise<SerializedBundle> {
  const audience = o.signingAudience ?? (o.fulcioUrl ? (o.audience ?? 'waybill') : 'sigstore');
  const identityToken = o.signingIdTokenEnv
    ? envIdToken(env, o.signingIdTokenEnv)
    : await ciIdToken({ idTokenEnv: o.idTokenEnv }, audience, env);
  if (!identityToken) {
    throw new CliFailure(
      '--keyless needs the CI identity: run in GitHub Actions with `permissions: id-token: write`, ' +
        'or give --id-token-env',
      2,
    );
  }
  try {
    return await sigstore.attest(Buffer.from(JSON.stringify(statement)), 'application/vnd.in-toto+json', {
      identityToken,
      ...(o.fulcioUrl ? { fulcioURL: o.fulcioUrl } : {}),
      ...(o.rekorUrl ? { rekorURL: o.rekorUrl } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new CliFailure(`keyless signing failed: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, 1);
  }
}
