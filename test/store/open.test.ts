import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore, parseDatabaseUrl } from '../../src/store/index.js';
import { createTestDatabase } from '../support/postgres.js';

describe('parseDatabaseUrl', () => {
  it.each([
    ['sqlite:./concdbg.sqlite', { kind: 'sqlite', path: './concdbg.sqlite' }],
    ['sqlite:/var/lib/concdbg.db', { kind: 'sqlite', path: '/var/lib/concdbg.db' }],
    ['sqlite:///var/lib/concdbg.db', { kind: 'sqlite', path: '/var/lib/concdbg.db' }],
    ['sqlite::memory:', { kind: 'sqlite', path: ':memory:' }],
    ['postgres://u:p@db:5432/concdbg', { kind: 'postgres', connectionString: 'postgres://u:p@db:5432/concdbg' }],
    ['postgresql://u@db/concdbg', { kind: 'postgres', connectionString: 'postgresql://u@db/concdbg' }],
  ])('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  it.each([
    ['mysql://u:secret@db/x', 'unsupported scheme "mysql:"'],
    ['', 'is empty'],
    ['./concdbg.sqlite', 'is not a database URL'],
    ['sqlite:', 'names no file'],
  ])('rejects %j, naming DATABASE_URL and what to set', (url, message) => {
    expect(() => parseDatabaseUrl(url)).toThrow(message);
    try {
      parseDatabaseUrl(url);
    } catch (err) {
      expect((err as Error).message).toContain('DATABASE_URL');
      expect((err as Error).message).toContain('set DATABASE_URL to sqlite:PATH');
      expect((err as Error).message).not.toContain('secret');
    }
  });
});

describe('openStore', () => {
  it('opens an in-memory SQLite store and answers ping', async () => {
    const store = await openStore('sqlite::memory:');
    expect(store.kind).toBe('sqlite');
    await store.ping();
    expect(await store.claimDelivery('x', 'ping')).toBe(true);
    await store.close();
  });

  it('keeps data in a SQLite file across reopening (migrations run once)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concdbg-open-'));
    try {
      const url = `sqlite:${join(dir, 'db.sqlite')}`;
      const a = await openStore(url);
      await a.enqueueJob({ repo: 'a/b', prNumber: 1, headSha: 's', trigger: 't', installationId: 1 });
      await a.close();
      const b = await openStore(url);
      expect(await b.listJobs()).toHaveLength(1);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names DATABASE_URL when the SQLite directory does not exist', async () => {
    await expect(openStore('sqlite:/nonexistent-dir-concdbg/x.sqlite')).rejects.toThrow(/DATABASE_URL/);
  });

  it('names DATABASE_URL, without the password, when PostgreSQL cannot be reached', async () => {
    await expect(openStore('postgres://u:hunter2@127.0.0.1:1/none')).rejects.toThrow(/DATABASE_URL/);
    await expect(openStore('postgres://u:hunter2@127.0.0.1:1/none')).rejects.not.toThrow(/hunter2/);
  });

  it('lets several PostgreSQL stores migrate one fresh database at the same time', async () => {
    const db = await createTestDatabase();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(db.url, { poolSize: 2 })));
      await Promise.all(stores.map((s) => s.ping()));
      expect(stores[0]!.kind).toBe('postgres');
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await db.drop();
    }
  });

  it('opens poolMin PostgreSQL connections at start (at most poolSize) and closes them with the store', async () => {
    const db = await createTestDatabase();
    const connections = async () => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const r = await client.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
        return Number(r.rows[0]!.n);
      } finally {
        await client.end();
      }
    };
    try {
      const a = await openStore(db.url, { poolSize: 10, poolMin: 3 });
      expect(await connections()).toBe(3);
      const b = await openStore(db.url, { poolSize: 2, poolMin: 5 });
      expect(await connections()).toBe(5);
      await a.close();
      await b.close();
      // Backends end shortly after their client disconnects.
      for (let i = 0; i < 50 && (await connections()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await connections()).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
