// A minimal HTTP client for the CLI: the CLI never opens the database (PGlite is
// single-process), it talks to a running server. Every failure names the URL and the cause, and
// carries the exit code its kind has (3 unreachable or a server error, 4 refused).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CliFailure, EXIT } from './common.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly problem: unknown;
  readonly url: string;
  constructor(status: number, problem: unknown, url: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.url = url;
  }

  /** A server error (5xx) is the server's trouble; any other status is a refusal. */
  get exitCode(): number {
    return this.status >= 500 ? EXIT.UNREACHABLE : EXIT.REFUSED;
  }
}

export interface ClientOptions {
  server: string;
  token?: string | undefined;
  headers?: Record<string, string>;
}

/** The admin token: --token / WAYBILL_TOKEN, else the file the first start wrote. */
export function resolveToken(opts: { token?: string | undefined; dataDir?: string | undefined }): string | undefined {
  if (opts.token) return opts.token;
  const file = path.join(opts.dataDir ?? '.waybill', 'admin-token');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The server URL as given, checked: a usage error names it when it is not an http(s) URL. */
export function urlFor(server: string, route: string): URL {
  let base: URL;
  try {
    base = new URL(server.endsWith('/') ? server : `${server}/`);
  } catch {
    throw new CliFailure(
      `--server ${JSON.stringify(server)} is not a URL (for example http://127.0.0.1:8787)`,
      EXIT.USAGE,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new CliFailure(`--server ${server}: not an http(s) URL`, EXIT.USAGE);
  return new URL(route, base);
}

/** Why fetch failed, from its cause chain (undici says only "fetch failed"). */
function causeOf(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e instanceof Error && parts.length < 4) {
    const code = (e as { code?: unknown }).code;
    if (e.message && e.message !== 'fetch failed') parts.push(e.message);
    else if (typeof code === 'string') parts.push(code);
    e = e.cause;
  }
  return parts.join(': ') || String(err);
}

/** One request; the raw response, or a failure that names the URL and why it could not be made. */
export async function request(opts: ClientOptions, method: string, route: string, body?: unknown): Promise<Response> {
  const url = urlFor(opts.server, route);
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch (err) {
    throw new CliFailure(`cannot reach ${url.href}: ${causeOf(err)}`, EXIT.UNREACHABLE);
  }
}

/** A JSON request; a non-2xx answer throws an ApiError with the problem's detail and field errors. */
export async function api<T>(opts: ClientOptions, method: string, route: string, body?: unknown): Promise<T> {
  const res = await request(opts, method, route, body);
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw new CliFailure(`${method} ${res.url}: the answer broke off: ${causeOf(err)}`, EXIT.UNREACHABLE);
  }
  let parsed: unknown;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const p = parsed as { detail?: string; errors?: Array<{ path: string; message: string }> } | undefined;
    const detail = typeof p === 'object' && p?.detail ? p.detail : res.statusText || 'no detail';
    const fields = (typeof p === 'object' && p?.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('')) || '';
    throw new ApiError(res.status, parsed, res.url, `${method} ${res.url}: HTTP ${res.status}: ${detail}${fields}`);
  }
  return parsed as T;
}
