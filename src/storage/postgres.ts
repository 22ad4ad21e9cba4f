// PostgreSQL through postgres.js: the driver of a Node instance with DATABASE_URL and of every
// Workers request (over Hyperdrive; postgres.js has a workerd build on cloudflare:sockets).
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { common, type Database, DatabaseError, type Db, type SqlClient, sqlStateOf } from './driver.ts';
import { applyMigrations } from './migrate.ts';
import * as schema from './schema.ts';

export async function openPostgres(opts: { url: string; max?: number }): Promise<Database> {
  const client = postgres(opts.url, {
    max: opts.max ?? 10,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  // `prepare: true` makes a named statement per text and connection; `simple: false` keeps even
  // parameterless queries on the extended protocol, so they are prepared too.
  const options = { prepare: true, simple: false } as postgres.UnsafeQueryOptions;
  const on = (q: Pick<postgres.Sql, 'unsafe'>): SqlClient => ({
    query: <T extends Record<string, unknown>>(text: string, params: readonly unknown[] = []) =>
      q.unsafe<T[]>(text, params as postgres.ParameterOrJSON<never>[], options) as unknown as Promise<T[]>,
  });
  return {
    ...common('postgres', db),
    sql: on(client),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>) => client.begin((tx) => fn(on(tx))) as Promise<T>,
    async atomic(statements) {
      const conn = await client.reserve();
      try {
        // Issued without awaiting each other, so postgres.js writes them out together.
        const settled = await Promise.allSettled([
          conn.unsafe('begin'),
          ...statements.map(([text, params]) =>
            conn.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[], options),
          ),
          conn.unsafe('commit'),
        ]);
        // A failed statement aborts the transaction: the later ones fail with 25P02 and the
        // pipelined COMMIT answers ROLLBACK. Report the statement that failed first.
        const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
        if (failures.length > 0) throw failures.find((e) => sqlStateOf(e) !== '25P02') ?? failures[0];
        const commit = settled[settled.length - 1] as PromiseFulfilledResult<{ command?: string }>;
        if (commit.value.command !== 'COMMIT')
          throw new DatabaseError(`the transaction ended with ${commit.value.command}`, undefined, undefined);
        return settled.slice(1, -1).map((r) => [...(r as PromiseFulfilledResult<Record<string, unknown>[]>).value]);
      } finally {
        conn.release();
      }
    },
    async migrate() {
      await applyMigrations(db);
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
