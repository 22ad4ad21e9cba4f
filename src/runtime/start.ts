// `npm start` and `waybill serve`: parse the configuration and check the policies first, with only
// the parsers loaded, so a mistake is reported in a fraction of a second; then load the server
// (HTTP, database, signing) and run it until SIGTERM or SIGINT. `npm start` turns on Node's
// compile cache first (node_modules/.cache/waybill/compile): the next start skips compiling (and
// type-stripping) the ~1,000 modules it loads again, which is most of a cold start's time.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

export async function serve(env: Record<string, string | undefined>): Promise<void> {
  const { parseConfig } = await import('../config.ts');
  const { preflight } = await import('../preflight.ts');
  const config = parseConfig(env);
  const checked = preflight(config);
  const { runUntilSignal } = await import('./node.ts');
  await runUntilSignal(config, checked);
}

/** Node's module compile cache in this checkout (a cache only: any failure just leaves it off). */
export function enableCompileCache(): void {
  try {
    module.enableCompileCache?.(fileURLToPath(new URL('../../node_modules/.cache/waybill/compile', import.meta.url)));
  } catch {
    // no cache: a slower start, nothing else
  }
}

if (import.meta.main) {
  enableCompileCache();
  try {
    await serve(process.env);
  } catch (err) {
    const { ConfigError } = await import('../config.ts');
    const { PolicyLoadError } = await import('../policy/load.ts');
    if (!(err instanceof ConfigError || err instanceof PolicyLoadError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
}
