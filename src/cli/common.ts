// What every `waybill` command shares: where output goes, the exit codes, the common options,
// reading JSON files, and the two output forms (aligned text for people, --json for scripts).
import { readFileSync } from 'node:fs';
import { Option } from 'commander';

export type Out = { out: (s: string) => void; err: (s: string) => void };

/** The exit codes, the same for every command. */
export const EXIT = {
  /** Success, or allow. */
  OK: 0,
  /** Deny, or verification failed. */
  FAILED: 1,
  /** A usage error: a missing or contradictory option, an unreadable file named on the command line. */
  USAGE: 2,
  /** The server could not be reached, or answered with a server error (5xx). */
  UNREACHABLE: 3,
  /** The server refused the request (a 4xx other than a deny). */
  REFUSED: 4,
} as const;

export class CliFailure extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.FAILED) {
    super(message);
    this.name = 'CliFailure';
    this.exitCode = exitCode;
  }
}

export const serverOption = () =>
  new Option('--server <url>', 'waybill server URL').env('WAYBILL_SERVER').default('http://127.0.0.1:8787');

export const tokenOption = (who = 'bearer token') => new Option('--token <token>', who).env('WAYBILL_TOKEN');

export const jsonOption = () => new Option('--json', 'print JSON instead of text');

/**
 * Reads and parses a JSON file named on the command line; '-' is standard input. Unreadable is a
 * usage error; content that is not JSON exits with `notJson` (a verifier says: not verified).
 */
export async function readJsonArg(file: string, what: string, notJson: number = EXIT.USAGE): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read ${what} ${file}: ${(err as Error).message}`, EXIT.USAGE);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliFailure(`${what} ${file} is not JSON: ${(err as Error).message}`, notJson);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** `value` as pretty JSON, newline-terminated. */
export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** Rows as aligned columns under a header; an empty table says so. */
export function table(
  header: string[],
  rows: Array<Array<string | number | null | undefined>>,
  empty = '(none)',
): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return `${cells.map(line).join('\n')}\n`;
}

/** sha256:<12 hex>… for tables. */
export const shortDigest = (d: string | null | undefined): string => {
  if (!d) return '-';
  const [alg, hex] = d.split(':');
  return hex && hex.length > 12 ? `${alg}:${hex.slice(0, 12)}…` : d;
};

/** A digest option: sha256:<64 hex>, lower-cased; else a usage error. */
export function digestArg(value: string, option = '--digest'): string {
  const d = value.trim().toLowerCase();
  if (!/^sha256:[0-9a-f]{64}$/.test(d))
    throw new CliFailure(`${option} "${value}": expected sha256:<64 hex>`, EXIT.USAGE);
  return d;
}
