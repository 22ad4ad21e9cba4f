// A minimal HTTP client for the CLI: the CLI never opens the database (PGlite is
// single-process), it talks to a running server.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export class ApiError extends Error {
  readonly status: number;
  readonly problem: unknown;
  constructor(status: number, problem: unknown, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
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

export async function api<T>(opts: ClientOptions, method: string, route: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(route, opts.server.endsWith('/') ? opts.server : `${opts.server}/`), {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
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
    const detail = p?.detail ?? `HTTP ${res.status}`;
    const fields = p?.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
    throw new ApiError(res.status, parsed, `${detail}${fields}`);
  }
  return parsed as T;
}
