// Every storage test runs against PGlite, and also against PostgreSQL when TEST_DATABASE_URL
// is set (CI sets it). Each PostgreSQL handle gets a fresh database, dropped on close, so
// test files never see each other's rows.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { type Database, openDatabase } from '../../src/storage/database.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated database. */
  open(): Promise<Database>;
  /** A fresh, empty database URL (postgres only), dropped by the returned cleanup. */
  freshUrl?(): Promise<{ url: string; drop(): Promise<void> }>;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

async function freshPostgres(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `waybill_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export const backends: Backend[] = [
  {
    name: 'pglite',
    async open() {
      const db = await openDatabase({ driver: 'pglite', memory: true });
      await db.migrate();
      return db;
    },
  },
  ...(TEST_DATABASE_URL
    ? [
        {
          name: 'postgres' as const,
          freshUrl: () => freshPostgres(TEST_DATABASE_URL),
          async open() {
            const fresh = await freshPostgres(TEST_DATABASE_URL);
            const db = await openDatabase({ driver: 'postgres', url: fresh.url });
            await db.migrate();
            const close = db.close.bind(db);
            return Object.assign(db, {
              async close() {
                await close();
                await fresh.drop();
              },
            });
          },
        },
      ]
    : []),
];
