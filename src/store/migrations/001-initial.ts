import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from './index.js';

/**
 * The first schema. Times are BIGINT epoch milliseconds on both databases so
 * one set of queries serves both; JSON payloads are TEXT.
 * Every "only once" rule of the pipeline is a PRIMARY KEY or UNIQUE here.
 */
export function initialSchema(dialect: StoreDialect): Migration {
  const id =
    dialect === 'postgres'
      ? 'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'
      : 'id INTEGER PRIMARY KEY AUTOINCREMENT';
  const statements = [
    `CREATE TABLE deliveries (
       delivery_id TEXT PRIMARY KEY,
       event TEXT NOT NULL,
       received_at BIGINT NOT NULL
     )`,
    `CREATE INDEX deliveries_received_at ON deliveries (received_at)`,
    `CREATE TABLE review_jobs (
       ${id},
       repo TEXT NOT NULL,
       pr_number INTEGER NOT NULL,
       head_sha TEXT NOT NULL,
       trigger TEXT NOT NULL,
       installation_id BIGINT NOT NULL,
       state TEXT NOT NULL DEFAULT 'queued'
         CHECK (state IN ('queued', 'running', 'done', 'failed', 'superseded')),
       attempts INTEGER NOT NULL DEFAULT 0,
       last_error TEXT,
       lease_owner TEXT,
       lease_expires_at BIGINT,
       not_before BIGINT NOT NULL DEFAULT 0,
       check_run_id BIGINT,
       review_id BIGINT,
       payload TEXT NOT NULL DEFAULT '{}',
       superseded_by TEXT,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       CONSTRAINT review_jobs_key UNIQUE (repo, pr_number, head_sha, trigger)
     )`,
    // The claim query scans only live jobs, oldest first.
    `CREATE INDEX review_jobs_claimable ON review_jobs (created_at, id)
       WHERE state IN ('queued', 'running')`,
    `CREATE INDEX review_jobs_pr ON review_jobs (repo, pr_number, state)`,
    `CREATE TABLE posting_intents (
       job_id BIGINT NOT NULL REFERENCES review_jobs (id) ON DELETE CASCADE,
       kind TEXT NOT NULL,
       state TEXT NOT NULL DEFAULT 'intended' CHECK (state IN ('intended', 'done')),
       external_id BIGINT,
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (job_id, kind)
     )`,
    `CREATE TABLE posted_findings (
       repo TEXT NOT NULL,
       pr_number INTEGER NOT NULL,
       fingerprint TEXT NOT NULL,
       comment_id BIGINT,
       first_job_id BIGINT NOT NULL,
       status TEXT NOT NULL DEFAULT 'posted' CHECK (status IN ('posted', 'resolved')),
       created_at BIGINT NOT NULL,
       updated_at BIGINT NOT NULL,
       PRIMARY KEY (repo, pr_number, fingerprint)
     )`,
    `CREATE TABLE dismissed_findings (
       repo TEXT NOT NULL,
       pr_number INTEGER NOT NULL,
       fingerprint TEXT NOT NULL,
       dismissed_by TEXT NOT NULL,
       reason TEXT,
       created_at BIGINT NOT NULL,
       PRIMARY KEY (repo, pr_number, fingerprint)
     )`,
    `CREATE TABLE usage_counters (
       installation_id BIGINT NOT NULL,
       day TEXT NOT NULL,
       input_tokens BIGINT NOT NULL DEFAULT 0,
       output_tokens BIGINT NOT NULL DEFAULT 0,
       reviews BIGINT NOT NULL DEFAULT 0,
       PRIMARY KEY (installation_id, day)
     )`,
  ];
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of statements) await sql.raw(statement).execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const table of ['usage_counters', 'dismissed_findings', 'posted_findings', 'posting_intents', 'review_jobs', 'deliveries']) {
        await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
      }
    },
  };
}
