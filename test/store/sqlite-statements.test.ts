import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { StatementCache } from '../../src/store/sqlite-statements.js';

describe('StatementCache', () => {
  const open: Database.Database[] = [];
  afterEach(() => {
    for (const d of open.splice(0)) if (d.open) d.close();
  });
  const db = () => {
    const d = new Database(':memory:');
    open.push(d);
    d.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)');
    return d;
  };

  it('prepares each SQL string once and hands back the same statement', () => {
    const cache = new StatementCache(db());
    const a = cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const b = cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    expect(b).toBe(a);
    b.run('x', 1);
    a.run('y', 2);
    expect(cache.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 });
    expect(cache.size).toBe(2);
  });

  it('keeps at most `max` statements, dropping the least recently used', () => {
    const cache = new StatementCache(db(), 2);
    const one = cache.prepare('SELECT 1');
    cache.prepare('SELECT 2');
    expect(cache.prepare('SELECT 1')).toBe(one); // now the most recent
    cache.prepare('SELECT 3'); // drops SELECT 2
    expect(cache.size).toBe(2);
    expect(cache.prepare('SELECT 1')).toBe(one);
  });

  it('serves Kysely: repeated queries with different parameters read their own values, and close closes the database', async () => {
    const raw = db();
    const cache = new StatementCache(raw);
    const k = new Kysely<{ t: { k: string; v: number } }>({ dialect: new SqliteDialect({ database: cache.forKysely() }) });
    for (let i = 0; i < 5; i++) await k.insertInto('t').values({ k: `k${i}`, v: i }).execute();
    for (let i = 0; i < 5; i++) expect(await k.selectFrom('t').select('v').where('k', '=', `k${i}`).executeTakeFirst()).toEqual({ v: i });
    expect((await sql<{ n: number }>`select count(*) as n from t`.execute(k)).rows[0]!.n).toBe(5);
    expect(cache.size).toBe(3);
    await k.destroy();
    expect(raw.open).toBe(false);
  });
});
