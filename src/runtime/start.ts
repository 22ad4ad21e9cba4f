// `npm start` and `waybill serve`: parse the configuration and check the policies first, with only
// the parsers loaded, so a mistake is reported in a fraction of a second; then load the server
// (HTTP, database, signing) and run it until SIGTERM or SIGINT.
import { ConfigError, parseConfig } from '../config.ts';
import { PolicyLoadError } from '../policy/load.ts';
import { preflight } from '../preflight.ts';

export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = parseConfig(env);
  const checked = preflight(config);
  const { runUntilSignal } = await import('./node.ts');
  await runUntilSignal(config, checked);
}

if (import.meta.main) {
  try {
    await serve(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof PolicyLoadError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
}
