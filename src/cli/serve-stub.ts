// Stands in for src/runtime/start.ts in the installed CLI (scripts/build-cli.ts): the server, with
// its embedded database, runs from a checkout of waybill, not from the package.
import { CliFailure, EXIT } from './common.ts';

export async function serve(): Promise<void> {
  throw new CliFailure(
    'the installed waybill CLI does not include the server: ' +
      'run it from a checkout of waybill (npm install && npm start)',
    EXIT.USAGE,
  );
}
