import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from './index.js';

/**
 * PostgreSQL: the webhook side's write (claim the delivery, then insert the
 * review job and supersede older SHAs of the PR) as one server-side function,
 * so a webhook costs one round trip instead of six (claim, BEGIN, advisory
 * lock, insert, update, COMMIT), each of which waited for a backend process
 * to be scheduled.
 *
 * The guarantees are the same as the statements it replaces:
 * - the delivery and the job are claimed by INSERT … ON CONFLICT DO NOTHING
 *   (unique constraints), never by a read first;
 * - a delivery already claimed returns {"claimed": false} and writes nothing;
 * - the whole call is one transaction: a failure leaves no claimed delivery
 *   without its job (GitHub's redelivery can retry it);
 * - with p_supersede the insert and the supersede run under the PR's
 *   transaction-scoped advisory lock (the same key as SqlStore's pgTx), and a
 *   VOLATILE plpgsql function takes a fresh snapshot per statement, so after
 *   the lock the insert and the update see every job committed by the
 *   previous holder: two racing pushes cannot both stay live nor cancel each
 *   other.
 *
 * Result: {"claimed": true, "created": bool, "job": {…row…}, "superseded": [{…row…}]}.
 * SQLite needs nothing here (its store runs the same steps in one
 * synchronous BEGIN IMMEDIATE transaction).
 */
export function enqueueFunction(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql
        .raw(
          `CREATE OR REPLACE FUNCTION concdbg_enqueue_job(
             p_delivery_id text, p_event text,
             p_repo text, p_pr_number integer, p_head_sha text, p_trigger text,
             p_installation_id bigint, p_payload text, p_supersede boolean
           ) RETURNS json LANGUAGE plpgsql VOLATILE AS $fn$
           DECLARE
             v_now bigint := (extract(epoch from now()) * 1000)::bigint;
             v_job review_jobs;
             v_superseded json := '[]'::json;
           BEGIN
             IF p_delivery_id IS NOT NULL THEN
               INSERT INTO deliveries (delivery_id, event, received_at)
                 VALUES (p_delivery_id, p_event, v_now)
                 ON CONFLICT (delivery_id) DO NOTHING;
               IF NOT FOUND THEN
                 RETURN json_build_object('claimed', false);
               END IF;
             END IF;
             IF p_supersede THEN
               PERFORM pg_advisory_xact_lock(hashtextextended('concdbg:pr:' || p_repo || '#' || p_pr_number::text, 0));
             END IF;
             INSERT INTO review_jobs AS j (repo, pr_number, head_sha, trigger, installation_id, state, attempts, not_before, payload, created_at, updated_at)
               VALUES (p_repo, p_pr_number, p_head_sha, p_trigger, p_installation_id, 'queued', 0, 0, p_payload, v_now, v_now)
               ON CONFLICT (repo, pr_number, head_sha, trigger) DO NOTHING
               RETURNING j.* INTO v_job;
             IF NOT FOUND THEN
               -- The job that won the key is committed (ON CONFLICT waited for it) and this
               -- statement's snapshot is newer, so it is seen.
               SELECT * INTO v_job FROM review_jobs j
                WHERE j.repo = p_repo AND j.pr_number = p_pr_number AND j.head_sha = p_head_sha AND j.trigger = p_trigger;
               RETURN json_build_object('claimed', true, 'created', false, 'job', CASE WHEN v_job.id IS NULL THEN NULL ELSE row_to_json(v_job) END, 'superseded', '[]'::json);
             END IF;
             IF p_supersede THEN
               WITH s AS (
                 UPDATE review_jobs j
                    SET state = 'superseded', superseded_by = p_head_sha, updated_at = v_now
                  WHERE j.repo = p_repo AND j.pr_number = p_pr_number AND j.head_sha <> p_head_sha
                    AND j.state IN ('queued', 'running')
                 RETURNING j.*
               )
               SELECT coalesce(json_agg(row_to_json(s) ORDER BY s.id), '[]'::json) INTO v_superseded FROM s;
             END IF;
             RETURN json_build_object('claimed', true, 'created', true, 'job', row_to_json(v_job), 'superseded', v_superseded);
           END
           $fn$`,
        )
        .execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      if (dialect !== 'postgres') return;
      await sql.raw('DROP FUNCTION IF EXISTS concdbg_enqueue_job(text, text, text, integer, text, text, bigint, text, boolean)').execute(db);
    },
  };
}
