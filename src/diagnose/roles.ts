/**
 * The vocabulary detectors use to describe a hazard to the diagnosis.
 *
 * A detector fills `Candidate.evidence[].role` with one of the roles listed
 * for its failure mode (in program order) and `Candidate.facts` with any of
 * the fact keys below that it knows. Every key is optional: the offline
 * diagnosis falls back to the evidence lines' code text and to
 * `Candidate.entity` when a fact is missing, so fill what you are sure of and
 * leave the rest out (never put "undefined" or "" in a fact).
 */
import type { FailureMode } from '../types.js';

/** Evidence roles per failure mode, with what each line should be. */
export const EVIDENCE_ROLES = {
  toctou: {
    /** The read that decides whether to act: SELECT / findFirst / exists() / cache get. */
    check: 'the read that decides whether to act',
    /** The effect the check was meant to guard: INSERT / create / update / external call. */
    act: 'the write or external call the check guards',
    /** Optional: where a non-deterministic idempotency key is built (Date.now(), uuid(), random). */
    key: 'where a per-call (non-deterministic) idempotency key is built',
  },
  lost_update: {
    /** Loading the current value (SELECT col / findByPk / obj = Model.objects.get). */
    read: 'the read of the current value',
    /** Computing the new value in application code (count++, x + qty). */
    compute: 'the new value computed in application code',
    /** Writing the computed value back (UPDATE SET col = $1 / save()). */
    write: 'the write of the computed value',
  },
  write_skew: {
    /** The aggregate over several rows that checks the invariant (count/sum/exists over the set). */
    check: 'the aggregate over the rows that carry the invariant',
    /** The write to one (other) row of that set. */
    write: 'the write to a single row that the check does not lock',
  },
  deadlock: {
    /** The first lock this path takes (row FOR UPDATE, mutex Lock, advisory lock). */
    'lock-a': 'the first lock taken on this path',
    /** The second lock, taken while still holding lock-a. */
    'lock-b': 'the second lock, taken while lock-a is held',
    /** Optional: the loop whose input order decides the lock order. */
    loop: 'the loop whose input order decides the lock order',
  },
  async_ordering: {
    /** The unawaited call, or the await point where other tasks run. */
    start: 'the unawaited call or the await point where other tasks interleave',
    /** What happens too early: the reply, or a use of a value that is not ready. */
    act: 'the reply or use that runs before the async work is done',
    /** The shared state mutated or iterated across the await. */
    state: 'the shared state touched across the await',
  },
  eventual_consistency: {
    /** The write to the primary (UPDATE / save / create). */
    write: 'the write to the primary',
    /** The read that may be served by a replica, cache or index. */
    'stale-read': 'the read that can be served stale (replica, cache, search index)',
    /** The decision or side effect taken on the read value. */
    act: 'the decision or side effect taken on the stale value',
  },
  phantom_read: {
    /** The range/predicate read: max(position), EXISTS overlapping, count in a window. */
    'range-check': 'the range or predicate read (max, no rows in this range)',
    /** The insert into that range. */
    insert: 'the insert into the range that was checked',
  },
  message_ordering: {
    /** An ack/commit of the message before the work is done. */
    ack: 'the ack or offset commit',
    /** The non-idempotent effect (SMS, email, charge, HTTP call). */
    'side-effect': 'the non-idempotent side effect of handling the message',
    /** The status write applied regardless of order/version. */
    'status-write': 'the status write applied whatever the message order',
    /** Publishing a message (outside the DB transaction). */
    publish: 'the publish to the broker',
    /** The DB commit that the publish should be atomic with. */
    commit: 'the database commit',
  },
} as const satisfies Record<FailureMode, Record<string, string>>;

/** The role names a detector may use for a given mode. */
export type EvidenceRole<M extends FailureMode = FailureMode> = keyof (typeof EVIDENCE_ROLES)[M] & string;

/** Fact keys every mode understands. */
export const COMMON_FACTS = {
  /** Table (or collection) name as written in SQL/schema, e.g. "charges". */
  table: 'table or collection name',
  /** Model/class name when an ORM is used, e.g. "CouponRedemption", "prisma.user". */
  model: 'ORM model name',
  /** Comma-separated columns that identify "the same thing", e.g. "user_id, product_id". */
  keyColumns: 'columns that identify the same business key',
  /** The column being read/written, e.g. "seats_sold". */
  column: 'the column at stake',
  /** Data-access library: prisma | typeorm | sequelize | knex | drizzle | mongoose | pg | django | sqlalchemy | activerecord | database/sql | bullmq | sidekiq | celery | … */
  orm: 'data-access library',
  /** Test framework hint: vitest | jest | pytest | rspec | minitest | go. */
  testFramework: 'test framework the repository uses',
  /** Isolation level in force, e.g. "read committed" (default) or "serializable". */
  isolation: 'transaction isolation level',
  /** "yes" when the statements run inside one transaction, "no" for autocommit. */
  inTransaction: 'whether the statements share a transaction',
  /** Who calls this concurrently: "request" | "worker" | "job" | "consumer" | "goroutine" | "task" | "coroutine" | "transaction". */
  actor: 'what runs concurrently',
  /** Comma-separated argument expressions to use in the generated test, e.g. "userId, 4999, productId". */
  args: 'arguments for the concurrent test call',
  /** HTTP route, e.g. "POST /v1/feedback". */
  route: 'HTTP route that reaches the code',
} as const;

/** Mode-specific fact keys (all optional, in addition to COMMON_FACTS). */
export const MODE_FACTS = {
  toctou: {
    /** The check call, e.g. "prisma.user.findFirst" or "CouponRedemption.objects.filter(...).exists". */
    checkCall: 'the check call',
    /** The act call, e.g. "prisma.user.update" or "stripe.paymentIntents.create". */
    actCall: 'the act call',
    /** An external API called as part of the act, e.g. "stripe.paymentIntents.create". */
    externalCall: 'external API call in the act',
    /** The idempotency key expression when it is non-deterministic, e.g. "`${userId}-${Date.now()}`". */
    idempotencyKey: 'non-deterministic idempotency key expression',
    /** Dedup window in the check, e.g. "5 minutes". */
    window: 'time window of the dedup check',
    /** What the schema has on keyColumns: "none" | "non-unique index". */
    existingIndex: 'index on the key columns, if not unique',
    /** "nondeterministic-key" when the finding is a per-call idempotency key alone, with no check in sight. */
    pattern: 'which toctou text to write',
    /** The variable or option holding that key, e.g. "idempotencyKey" or "jobId". */
    keyName: 'name of the per-call key',
  },
  lost_update: {
    readCall: 'the read call',
    writeCall: 'the write call',
    /** The increment expression or amount, e.g. "1", "quantity". */
    delta: 'the amount added/subtracted',
    /** Optional guard on the new value, e.g. "seatsSold + quantity <= capacity". */
    guard: 'a bound the new value must respect',
    /** The primary key column/expression, e.g. "id". */
    idColumn: 'primary key column',
  },
  write_skew: {
    /** The aggregate, e.g. "count of approved overlapping leave_requests". */
    checkCall: 'the aggregate check call',
    writeCall: 'the write call',
    /** The invariant in words, e.g. "at least min_on_duty people on duty". */
    invariant: 'the invariant over several rows',
    /** The parent row that owns the set, e.g. "teams" / "stores". */
    parentTable: 'parent table owning the checked set',
    /** Column linking the set to the parent, e.g. "team_id". */
    parentKey: 'foreign key to the parent',
  },
  deadlock: {
    /** First lock on this path, e.g. "s.mu" or "products row (sku = change.sku)". */
    lockA: 'first lock on this path',
    /** Second lock on this path, e.g. "s.hub.mu". */
    lockB: 'second lock on this path',
    /** Function on the other path taking the locks in reverse order, e.g. "Hub.Broadcast". */
    otherFunction: 'function taking the locks in the opposite order',
    otherFile: 'file of otherFunction',
    otherLine: 'line of otherFunction',
    /** "row" | "mutex" | "advisory" | "table". */
    lockKind: 'kind of lock',
    /** Key that gives a global order, e.g. "sku". */
    sortKey: 'key to sort by for a global lock order',
    /** The collection iterated while locking, e.g. "changes". */
    collection: 'collection iterated while locking',
  },
  async_ordering: {
    /** "floating-promise" | "reply-before-write" | "foreach-async" | "mutate-across-await" | "iterate-across-await". */
    pattern: 'which async ordering pattern',
    /** The call not awaited, e.g. "repo.save(feedback)". */
    unawaitedCall: 'the unawaited call',
    /** The reply, e.g. "reply.code(201).send". */
    replyCall: 'the reply call',
    /** The shared collection/variable, e.g. "self._rooms". */
    state: 'the shared state',
    /** The awaited call inside the loop/critical section, e.g. "ws.send_json". */
    awaitCall: 'the awaited call',
  },
  eventual_consistency: {
    writeCall: 'the write call',
    readCall: 'the read call that may be stale',
    /** "replica" | "cache" | "search" | "cdn". */
    staleSource: 'where the stale read comes from',
    /** Replica alias/router, e.g. "replica" or "PrimaryReplicaRouter". */
    replica: 'replica name or router',
    /** Cache key pattern, e.g. "account:{id}". */
    cacheKey: 'cache key',
    /** Cache TTL, e.g. "10 minutes". */
    cacheTtl: 'cache TTL',
  },
  phantom_read: {
    /** "max-plus-one" | "no-overlap" | "count-in-range". */
    pattern: 'which range pattern',
    rangeCall: 'the range/aggregate read',
    insertCall: 'the insert call',
    /** Columns bounding a time range, e.g. "pickup_at, return_at". */
    rangeColumns: 'range bounds columns',
    /** The column that scopes the range, e.g. "vehicle_id" / "playlistId". */
    scopeColumn: 'column scoping the range',
  },
  message_ordering: {
    /** "side-effect-before-record" | "ack-before-work" | "out-of-order-status" | "publish-before-commit". */
    pattern: 'which delivery hazard',
    queue: 'queue / topic name',
    /** Consumer/worker/job class, e.g. "reminderWorker" / "IdentityWebhookJob". */
    consumer: 'consumer, worker or job',
    /** The non-idempotent call, e.g. "sms.send". */
    sideEffectCall: 'the non-idempotent call',
    /** The status column written, e.g. "kyc_status". */
    statusColumn: 'status column written per message',
    /** Message id expression, e.g. "job.id" / "event.id". */
    messageId: 'message id expression',
    /** Retry policy, e.g. "attempts: 5". */
    retries: 'retry policy',
    /** Broker/queue library: bullmq | sidekiq | celery | kafka | sqs | rabbitmq | pubsub. */
    broker: 'broker or job library',
  },
} as const satisfies Record<FailureMode, Record<string, string>>;

export type CommonFactKey = keyof typeof COMMON_FACTS;
export type ModeFactKey<M extends FailureMode> = keyof (typeof MODE_FACTS)[M] & string;
/** Every fact key the diagnosis for mode M reads. */
export type FactKey<M extends FailureMode = FailureMode> = CommonFactKey | ModeFactKey<M>;

/** Known values of `facts.orm`. */
export const ORMS = [
  'prisma',
  'typeorm',
  'sequelize',
  'knex',
  'drizzle',
  'mongoose',
  'pg',
  'mysql',
  'django',
  'sqlalchemy',
  'activerecord',
  'database/sql',
  'pgx',
  'gorm',
  'bullmq',
  'sidekiq',
  'celery',
] as const;
export type Orm = (typeof ORMS)[number];
