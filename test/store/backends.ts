/**
 * The two Store backends every contract test runs against: SQLite on a file
 * in a temp dir, and PostgreSQL (a fresh database per test file, truncated
 * between tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openStore, type OpenStoreOptions, type Store } from '../../src/store/index.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A URL to an empty, migrated database for one test. */
  freshUrl(): Promise<string>;
  /** Open a store on `url` (several stores on one URL = several connections/processes' worth). */
  open(url: string, opts?: OpenStoreOptions): Promise<Store>;
  /** Release everything this backend made. */
  cleanup(): Promise<void>;
}

const TABLES = ['posting_intents', 'posted_findings', 'dismissed_findings', 'usage_counters', 'review_jobs', 'deliveries'];

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    async freshUrl() {
      const dir = mkdtempSync(join(tmpdir(), 'concdbg-store-'));
      dirs.push(dir);
      return `sqlite:${join(dir, 'test.sqlite')}`;
    },
    open: (url, opts) => openStore(url, opts),
    async cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  let db: TestDatabase | null = null;
  return {
    name: 'postgres',
    async freshUrl() {
      if (!db) {
        db = await createTestDatabase();
        // Create the schema once; later tests only empty the tables.
        const store = await openStore(db.url);
        await store.close();
      } else {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          await client.query(`TRUNCATE ${TABLES.join(', ')} RESTART IDENTITY CASCADE`);
        } finally {
          await client.end();
        }
      }
      return db.url;
    },
    open: (url, opts) => openStore(url, opts),
    async cleanup() {
      if (db) await db.drop();
      db = null;
    },
  };
}

export const BACKENDS: Array<{ name: string; make: () => Backend }> = [
  { name: 'sqlite', make: sqliteBackend },
  { name: 'postgres', make: postgresBackend },
];

/**
 * Register the hooks for one backend in a describe block. `fresh()` opens a
 * store on an empty database; `another()` opens one more store (more
 * connections) on the database of the last `fresh()`. All are closed after
 * each test.
 */
export function useBackend(make: () => Backend): {
  fresh(opts?: OpenStoreOptions): Promise<Store>;
  another(opts?: OpenStoreOptions): Promise<Store>;
  url(): string;
} {
  let backend: Backend;
  let currentUrl = '';
  const stores: Store[] = [];
  beforeAll(() => {
    backend = make();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  afterAll(async () => {
    await backend.cleanup();
  });
  return {
    async fresh(opts) {
      currentUrl = await backend.freshUrl();
      const store = await backend.open(currentUrl, opts);
      stores.push(store);
      return store;
    },
    async another(opts) {
      const store = await backend.open(currentUrl, opts);
      stores.push(store);
      return store;
    },
    url: () => currentUrl,
  };
}
