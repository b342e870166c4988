import { sql, type Kysely, type RawBuilder, type Selectable, type UpdateObject } from 'kysely';
import type { Database, ReviewJobsTable } from './schema.js';
import type { StoreDialect } from './migrations/index.js';
import type { StatementCache } from './sqlite-statements.js';
import type {
  DeliveryRef,
  DismissInput,
  DismissedFinding,
  EnqueueInput,
  EnqueueOptions,
  EnqueueResult,
  IntentKind,
  Job,
  JobKey,
  JobPayload,
  JobState,
  PostedFinding,
  PostedFindingInput,
  PostingIntent,
  Store,
  Usage,
  UsageCounter,
  UsageDelta,
} from './types.js';

type JobRow = Selectable<ReviewJobsTable>;
type Db = Kysely<Database>;

const COUNTER_COLUMNS = {
  inputTokens: 'input_tokens',
  outputTokens: 'output_tokens',
  reviews: 'reviews',
  budgetTokens: 'budget_tokens',
} as const satisfies Record<UsageCounter, string>;

/**
 * The one Store implementation, over Kysely, for both databases. The SQL is
 * shared; the differences are the clock expression, `FOR UPDATE SKIP LOCKED`
 * / `FOR SHARE`, and the one multi-statement write (claim delivery + enqueue
 * + supersede): PostgreSQL runs it as one server-side function call that
 * serializes per PR with an advisory lock (migration 003), SQLite as a
 * synchronous BEGIN IMMEDIATE transaction. Every other write is a single
 * statement, atomic on its own.
 */
export class SqlStore implements Store {
  constructor(
    readonly kind: StoreDialect,
    private readonly db: Db,
    /** The better-sqlite3 handle under `db` (with its prepared statements), for synchronous write transactions. */
    private readonly sqlite: StatementCache | null = null,
  ) {}

  /** The database's clock in epoch ms, evaluated inside the statement. */
  private now(): RawBuilder<number> {
    return this.kind === 'postgres'
      ? sql<number>`(extract(epoch from now()) * 1000)::bigint`
      : sql<number>`cast((julianday('now') - 2440587.5) * 86400000 as integer)`;
  }

  /**
   * PostgreSQL: run `fn` in a transaction holding a transaction-scoped
   * advisory lock on `lockKey`, which serializes writers of one key (one PR)
   * without blocking anyone else.
   */
  private async pgTx<T>(lockKey: string, fn: (db: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`.execute(trx);
      return fn(trx);
    });
  }

  // ── webhook side ──────────────────────────────────────────────────────────

  async claimDelivery(deliveryId: string, event: string): Promise<boolean> {
    const row = await this.db
      .insertInto('deliveries')
      .values({ delivery_id: deliveryId, event, received_at: this.now() })
      .onConflict((oc) => oc.column('delivery_id').doNothing())
      .returning('delivery_id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async pruneDeliveries(olderThanMs: number): Promise<number> {
    const result = await this.db
      .deleteFrom('deliveries')
      .where('received_at', '<', sql<number>`${this.now()} - ${olderThanMs}`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async enqueueJob(input: EnqueueInput, opts: EnqueueOptions = {}): Promise<EnqueueResult> {
    const result = await this.enqueue(null, input, opts.supersede === true);
    if (!result) throw new Error('enqueueJob without a delivery cannot be a duplicate delivery');
    return result;
  }

  enqueueForDelivery(delivery: DeliveryRef, input: EnqueueInput, opts: EnqueueOptions = {}): Promise<EnqueueResult | null> {
    return this.enqueue(delivery, input, opts.supersede === true);
  }

  /**
   * Claim the delivery (when given), insert the job, and with `supersede`
   * supersede the PR's older SHAs, all in one transaction. With supersede the
   * transaction is serialized per PR, so two pushes racing each other cannot
   * supersede each other; a redelivered old event (created: false) supersedes
   * nothing. PostgreSQL: one call of the concdbg_enqueue_job function
   * (migration 003), one round trip. SQLite: one synchronous BEGIN IMMEDIATE
   * transaction over prepared statements.
   */
  private async enqueue(delivery: DeliveryRef | null, input: EnqueueInput, supersede: boolean): Promise<EnqueueResult | null> {
    if (this.kind === 'postgres') return this.pgEnqueue(delivery, input, supersede);
    const out = this.sqliteEnqueueTx()(delivery, input, supersede);
    if (!out) return null;
    if (!out.row) throw new Error(`review job ${describeKey(input)} conflicted on insert but cannot be read`);
    return { job: toJob(out.row), created: out.created, superseded: out.superseded.map(toJob) };
  }

  private sqliteEnqueue: SqliteEnqueueTx | null = null;

  /**
   * SQLite's enqueue as one synchronous BEGIN IMMEDIATE transaction. Taking
   * the writer lock up front means no other process can write between our
   * statements, and running it synchronously means no other code in this
   * process can interleave (an async transaction held across awaits would
   * block other connections of this process on busy_timeout). The SQL is
   * fixed and prepared once: this runs for every webhook, and building and
   * compiling Kysely queries cost more than running them. The statements
   * match claimDelivery, findJob and supersedeQuery.
   */
  private sqliteEnqueueTx(): SqliteEnqueueTx {
    if (this.sqliteEnqueue) return this.sqliteEnqueue;
    const cache = this.sqlite;
    if (!cache) throw new Error('the SQLite enqueue needs the SQLite handle');
    const now = `cast((julianday('now') - 2440587.5) * 86400000 as integer)`;
    const claim = cache.prepare(`insert into deliveries (delivery_id, event, received_at) values (?, ?, ${now}) on conflict (delivery_id) do nothing`);
    const insert = cache.prepare(
      `insert into review_jobs (repo, pr_number, head_sha, "trigger", installation_id, state, attempts, not_before, payload, created_at, updated_at)
       values (?, ?, ?, ?, ?, 'queued', 0, 0, ?, ${now}, ${now})
       on conflict (repo, pr_number, head_sha, "trigger") do nothing returning *`,
    );
    const find = cache.prepare(`select * from review_jobs where repo = ? and pr_number = ? and head_sha = ? and "trigger" = ?`);
    const supersede = cache.prepare(
      `update review_jobs set state = 'superseded', superseded_by = ?, updated_at = ${now}
        where repo = ? and pr_number = ? and head_sha <> ? and state in ('queued', 'running') returning *`,
    );
    const tx = cache.db.transaction((delivery: DeliveryRef | null, input: EnqueueInput, withSupersede: boolean) => {
      if (delivery && claim.run(delivery.id, delivery.event).changes === 0) return null;
      const inserted = insert.get(input.repo, input.prNumber, input.headSha, input.trigger, input.installationId, JSON.stringify(input.payload ?? {})) as JobRow | undefined;
      if (!inserted) return { row: find.get(input.repo, input.prNumber, input.headSha, input.trigger) as JobRow | undefined, created: false, superseded: [] };
      const superseded = withSupersede ? (supersede.all(input.headSha, input.repo, input.prNumber, input.headSha) as JobRow[]) : [];
      return { row: inserted, created: true, superseded };
    });
    this.sqliteEnqueue = (delivery, input, withSupersede) => tx.immediate(delivery, input, withSupersede);
    return this.sqliteEnqueue;
  }

  private async pgEnqueue(delivery: DeliveryRef | null, input: EnqueueInput, supersede: boolean): Promise<EnqueueResult | null> {
    const { rows } = await sql<{ r: PgEnqueueResult }>`
      select concdbg_enqueue_job(
        ${delivery?.id ?? null}::text, ${delivery?.event ?? null}::text,
        ${input.repo}::text, ${input.prNumber}::integer, ${input.headSha}::text, ${input.trigger}::text,
        ${input.installationId}::bigint, ${JSON.stringify(input.payload ?? {})}::text, ${supersede}::boolean
      ) as r`.execute(this.db);
    const r = rows[0]?.r;
    if (!r) throw new Error('concdbg_enqueue_job returned nothing');
    if (!r.claimed) return null;
    if (!r.job) throw new Error(`review job ${describeKey(input)} conflicted on insert but cannot be read`);
    return { job: toJob(r.job), created: r.created === true, superseded: (r.superseded ?? []).map(toJob) };
  }

  async supersedeOlder(repo: string, prNumber: number, newHeadSha: string): Promise<Job[]> {
    // One statement on SQLite (atomic under the writer lock); on PostgreSQL
    // under the PR's advisory lock, to serialize with enqueueJob(supersede).
    if (this.kind === 'sqlite') return (await this.supersedeQuery(this.db, repo, prNumber, newHeadSha).execute()).map(toJob);
    return this.pgTx(prLockKey(repo, prNumber), async (trx) =>
      (await this.supersedeQuery(trx, repo, prNumber, newHeadSha).execute()).map(toJob),
    );
  }

  private supersedeQuery(db: Db, repo: string, prNumber: number, newHeadSha: string) {
    return db
      .updateTable('review_jobs')
      .set({ state: 'superseded', superseded_by: newHeadSha, updated_at: this.now() })
      .where('repo', '=', repo)
      .where('pr_number', '=', prNumber)
      .where('head_sha', '<>', newHeadSha)
      .where('state', 'in', ['queued', 'running'])
      .returningAll();
  }

  // ── worker side ───────────────────────────────────────────────────────────

  async claimJob(owner: string, leaseMs: number): Promise<Job | null> {
    const now = this.now();
    const lock = this.kind === 'postgres' ? sql`for update skip locked` : sql``;
    const claim = sql<JobRow>`
      update review_jobs
         set state = 'running',
             lease_owner = ${owner},
             lease_expires_at = ${now} + ${leaseMs},
             attempts = attempts + 1,
             updated_at = ${now}
       where id = (
         select id from review_jobs
          where state in ('queued', 'running')
            and ((state = 'queued' and not_before <= ${now})
                 or (state = 'running' and lease_expires_at < ${now}))
          order by created_at, id
          limit 1
          ${lock}
       )
      returning *`;
    // One statement. On SQLite an autocommit write statement takes the single
    // writer lock before it reads (an implicit BEGIN IMMEDIATE, waiting up to
    // busy_timeout), so the pick and the update are one short write
    // transaction and two processes cannot pick one job.
    const result = await claim.execute(this.db);
    const row = result.rows[0];
    return row ? toJob(row) : null;
  }

  async renewLease(jobId: number, owner: string, leaseMs: number): Promise<boolean> {
    const row = await this.db
      .updateTable('review_jobs')
      .set({ lease_expires_at: sql<number>`${this.now()} + ${leaseMs}`, updated_at: this.now() })
      .where('id', '=', jobId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'running')
      // An expired lease is lost even if nobody has reclaimed it yet: a claimer
      // may be doing so right now, and two workers must never both believe they hold it.
      .where('lease_expires_at', '>', this.now())
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async isJobActive(jobId: number, owner: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('review_jobs')
      .select('id')
      .where('id', '=', jobId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>', this.now())
      .executeTakeFirst();
    return row !== undefined;
  }

  async completeJob(jobId: number, owner: string): Promise<boolean> {
    return this.finishRunning(jobId, owner, { state: 'done', lease_expires_at: null, updated_at: this.now() });
  }

  async failJob(jobId: number, owner: string, error: string, retryAfterMs?: number): Promise<boolean> {
    const lastError = error.slice(0, 4000);
    if (retryAfterMs === undefined) {
      return this.finishRunning(jobId, owner, { state: 'failed', last_error: lastError, lease_expires_at: null, updated_at: this.now() });
    }
    return this.finishRunning(jobId, owner, {
      state: 'queued',
      last_error: lastError,
      lease_owner: null,
      lease_expires_at: null,
      not_before: sql<number>`${this.now()} + ${Math.max(0, Math.round(retryAfterMs))}`,
      updated_at: this.now(),
    });
  }

  async releaseJob(jobId: number, owner: string): Promise<boolean> {
    return this.finishRunning(jobId, owner, {
      state: 'queued',
      attempts: sql<number>`case when attempts > 0 then attempts - 1 else 0 end`,
      lease_owner: null,
      lease_expires_at: null,
      updated_at: this.now(),
    });
  }

  /** Apply `set` to a running job only while `owner` holds it. */
  private async finishRunning(
    jobId: number,
    owner: string,
    set: UpdateObject<Database, 'review_jobs'>,
  ): Promise<boolean> {
    const row = await this.db
      .updateTable('review_jobs')
      .set(set)
      .where('id', '=', jobId)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'running')
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async getJob(jobId: number): Promise<Job | null> {
    const row = await this.db.selectFrom('review_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  findJob(key: JobKey): Promise<Job | null> {
    return this.findJobIn(this.db, key);
  }

  private async findJobIn(db: Db, key: JobKey): Promise<Job | null> {
    const row = await db
      .selectFrom('review_jobs')
      .selectAll()
      .where('repo', '=', key.repo)
      .where('pr_number', '=', key.prNumber)
      .where('head_sha', '=', key.headSha)
      .where('trigger', '=', key.trigger)
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  async listJobs(filter: { repo?: string; prNumber?: number; state?: JobState } = {}): Promise<Job[]> {
    let query = this.db.selectFrom('review_jobs').selectAll();
    if (filter.repo !== undefined) query = query.where('repo', '=', filter.repo);
    if (filter.prNumber !== undefined) query = query.where('pr_number', '=', filter.prNumber);
    if (filter.state !== undefined) query = query.where('state', '=', filter.state);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toJob);
  }

  async setCheckRunId(jobId: number, checkRunId: number): Promise<number> {
    await this.db
      .updateTable('review_jobs')
      .set({ check_run_id: checkRunId, updated_at: this.now() })
      .where('id', '=', jobId)
      .where('check_run_id', 'is', null)
      .execute();
    const row = await this.db.selectFrom('review_jobs').select('check_run_id').where('id', '=', jobId).executeTakeFirst();
    if (!row || row.check_run_id === null) throw new Error(`review job ${jobId} does not exist`);
    return row.check_run_id;
  }

  async setReviewId(jobId: number, reviewId: number): Promise<void> {
    await this.db.updateTable('review_jobs').set({ review_id: reviewId, updated_at: this.now() }).where('id', '=', jobId).execute();
  }

  // ── idempotent posting ────────────────────────────────────────────────────

  async beginIntent(
    jobId: number,
    owner: string,
    kind: IntentKind,
  ): Promise<{ intent: PostingIntent; created: boolean } | null> {
    const now = this.now();
    // PostgreSQL: FOR SHARE makes a concurrent supersede wait for this insert
    // (or makes this insert see the supersede and insert nothing).
    const share = this.kind === 'postgres' ? sql`for share` : sql``;
    const inserted = await sql<IntentRow>`
      insert into posting_intents (job_id, kind, state, created_at, updated_at)
      select id, ${kind}, 'intended', ${now}, ${now}
        from review_jobs
       where id = ${jobId} and lease_owner = ${owner} and state = 'running' and lease_expires_at > ${now}
       ${share}
      on conflict (job_id, kind) do nothing
      returning *`.execute(this.db);
    const row = inserted.rows[0];
    if (row) return { intent: toIntent(row), created: true };
    if (!(await this.isJobActive(jobId, owner))) return null;
    const existing = await this.getIntent(jobId, kind);
    return existing ? { intent: existing, created: false } : null;
  }

  async completeIntent(jobId: number, kind: IntentKind, externalId: number | null): Promise<void> {
    await this.db
      .updateTable('posting_intents')
      .set({ state: 'done', external_id: externalId, updated_at: this.now() })
      .where('job_id', '=', jobId)
      .where('kind', '=', kind)
      .execute();
  }

  async getIntent(jobId: number, kind: IntentKind): Promise<PostingIntent | null> {
    const row = await this.db
      .selectFrom('posting_intents')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('kind', '=', kind)
      .executeTakeFirst();
    return row ? toIntent(row) : null;
  }

  // ── findings ──────────────────────────────────────────────────────────────

  async recordPostedFinding(input: PostedFindingInput): Promise<boolean> {
    const row = await this.db
      .insertInto('posted_findings')
      .values({
        repo: input.repo,
        pr_number: input.prNumber,
        fingerprint: input.fingerprint,
        comment_id: input.commentId,
        first_job_id: input.jobId,
        status: 'posted',
        created_at: this.now(),
        updated_at: this.now(),
      })
      .onConflict((oc) => oc.columns(['repo', 'pr_number', 'fingerprint']).doNothing())
      .returning('fingerprint')
      .executeTakeFirst();
    return row !== undefined;
  }

  async listPostedFindings(repo: string, prNumber: number): Promise<PostedFinding[]> {
    const rows = await this.db
      .selectFrom('posted_findings')
      .selectAll()
      .where('repo', '=', repo)
      .where('pr_number', '=', prNumber)
      .orderBy('created_at')
      .orderBy('fingerprint')
      .execute();
    return rows.map((r) => ({
      repo: r.repo,
      prNumber: r.pr_number,
      fingerprint: r.fingerprint,
      commentId: r.comment_id,
      jobId: r.first_job_id,
      status: r.status as PostedFinding['status'],
      createdAt: r.created_at,
    }));
  }

  async resolvePostedFinding(repo: string, prNumber: number, fingerprint: string): Promise<boolean> {
    const row = await this.db
      .updateTable('posted_findings')
      .set({ status: 'resolved', updated_at: this.now() })
      .where('repo', '=', repo)
      .where('pr_number', '=', prNumber)
      .where('fingerprint', '=', fingerprint)
      .returning('fingerprint')
      .executeTakeFirst();
    return row !== undefined;
  }

  async dismissFinding(input: DismissInput): Promise<boolean> {
    const row = await this.db
      .insertInto('dismissed_findings')
      .values({
        repo: input.repo,
        pr_number: input.prNumber,
        fingerprint: input.fingerprint,
        dismissed_by: input.by,
        reason: input.reason,
        created_at: this.now(),
      })
      .onConflict((oc) => oc.columns(['repo', 'pr_number', 'fingerprint']).doNothing())
      .returning('fingerprint')
      .executeTakeFirst();
    return row !== undefined;
  }

  async listDismissedFindings(repo: string, prNumber: number): Promise<DismissedFinding[]> {
    const rows = await this.db
      .selectFrom('dismissed_findings')
      .selectAll()
      .where('repo', '=', repo)
      .where('pr_number', '=', prNumber)
      .orderBy('created_at')
      .orderBy('fingerprint')
      .execute();
    return rows.map((r) => ({
      repo: r.repo,
      prNumber: r.pr_number,
      fingerprint: r.fingerprint,
      by: r.dismissed_by,
      reason: r.reason,
      createdAt: r.created_at,
    }));
  }

  // ── budgets ───────────────────────────────────────────────────────────────

  async addUsage(installationId: number, day: string, delta: UsageDelta): Promise<Usage> {
    const row = await this.db
      .insertInto('usage_counters')
      .values({
        installation_id: installationId,
        day,
        input_tokens: delta.inputTokens ?? 0,
        output_tokens: delta.outputTokens ?? 0,
        reviews: delta.reviews ?? 0,
        budget_tokens: delta.budgetTokens ?? 0,
      })
      .onConflict((oc) =>
        oc.columns(['installation_id', 'day']).doUpdateSet({
          input_tokens: sql<number>`usage_counters.input_tokens + excluded.input_tokens`,
          output_tokens: sql<number>`usage_counters.output_tokens + excluded.output_tokens`,
          reviews: sql<number>`usage_counters.reviews + excluded.reviews`,
          budget_tokens: sql<number>`usage_counters.budget_tokens + excluded.budget_tokens`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return toUsage(row);
  }

  async getUsage(installationId: number, day: string): Promise<Usage> {
    const row = await this.db
      .selectFrom('usage_counters')
      .selectAll()
      .where('installation_id', '=', installationId)
      .where('day', '=', day)
      .executeTakeFirst();
    return row ? toUsage(row) : { installationId, day, inputTokens: 0, outputTokens: 0, reviews: 0, budgetTokens: 0 };
  }

  async reserveUsage(
    installationId: number,
    day: string,
    counter: UsageCounter,
    amount: number,
    limit: number,
  ): Promise<boolean> {
    const column = COUNTER_COLUMNS[counter];
    // Make sure the row exists (idempotent), then one conditional UPDATE: the
    // check and the increment are one statement, so no two callers can both
    // pass a check that only one of them fits under.
    await this.db
      .insertInto('usage_counters')
      .values({ installation_id: installationId, day, input_tokens: 0, output_tokens: 0, reviews: 0, budget_tokens: 0 })
      .onConflict((oc) => oc.columns(['installation_id', 'day']).doNothing())
      .execute();
    const row = await this.db
      .updateTable('usage_counters')
      .set({ [column]: sql<number>`${sql.ref(column)} + ${amount}` })
      .where('installation_id', '=', installationId)
      .where('day', '=', day)
      .where(sql<boolean>`${sql.ref(column)} + ${amount} <= ${limit}`)
      .returning('day')
      .executeTakeFirst();
    return row !== undefined;
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

type SqliteEnqueueTx = (
  delivery: DeliveryRef | null,
  input: EnqueueInput,
  supersede: boolean,
) => { row: JobRow | undefined; created: boolean; superseded: JobRow[] } | null;

/** What concdbg_enqueue_job returns (json; rows as row_to_json makes them). */
interface PgEnqueueResult {
  claimed: boolean;
  created?: boolean;
  job?: JobRow | null;
  superseded?: JobRow[];
}

interface IntentRow {
  job_id: number;
  kind: string;
  state: string;
  external_id: number | null;
  created_at: number;
  updated_at: number;
}

function prLockKey(repo: string, prNumber: number): string {
  return `concdbg:pr:${repo}#${prNumber}`;
}

function describeKey(key: JobKey): string {
  return `${key.repo}#${key.prNumber}@${key.headSha} (${key.trigger})`;
}

function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    repo: row.repo,
    prNumber: Number(row.pr_number),
    headSha: row.head_sha,
    trigger: row.trigger,
    installationId: Number(row.installation_id),
    state: row.state as JobState,
    attempts: Number(row.attempts),
    lastError: row.last_error,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    notBefore: Number(row.not_before),
    checkRunId: row.check_run_id === null ? null : Number(row.check_run_id),
    reviewId: row.review_id === null ? null : Number(row.review_id),
    payload: parsePayload(row.payload),
    supersededBy: row.superseded_by,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function parsePayload(text: string): JobPayload {
  const value: unknown = JSON.parse(text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JobPayload) : {};
}

function toIntent(row: IntentRow): PostingIntent {
  return {
    jobId: Number(row.job_id),
    kind: row.kind,
    state: row.state as PostingIntent['state'],
    externalId: row.external_id === null ? null : Number(row.external_id),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toUsage(row: Selectable<Database['usage_counters']>): Usage {
  return {
    installationId: Number(row.installation_id),
    day: row.day,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    reviews: Number(row.reviews),
    budgetTokens: Number(row.budget_tokens),
  };
}
