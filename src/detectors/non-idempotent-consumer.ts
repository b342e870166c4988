/**
 * non-idempotent-consumer (message_ordering)
 *
 * Rule: a queue job or message consumer (BullMQ Worker processor, kafkajs eachMessage, amqplib consume
 * callback, SQS handler, Celery/Dramatiq task, Sidekiq/ActiveJob perform, Karafka/Shoryuken consumer)
 * performs an external side effect (SMS, email, payment, HTTP POST, push) and, if at all, only records it
 * afterwards, while the job can run again: explicit retries (`attempts: 5`, Sidekiq's default retries,
 * Celery `autoretry_for`/`self.retry`/`acks_late`) or an at-least-once broker. Nothing before the effect
 * claims the message (unique insert, ON CONFLICT / skipDuplicates, get_or_create, SET NX, processed-messages
 * table) and no idempotency key goes to the external API.
 * Second shape: the consumer moves a counter by the message's amount (knex/Sequelize/TypeORM `.increment`,
 * Prisma `{ increment: n }`, Mongoose `$inc`, SQL `SET x = x + $1`, Django `F('x') + n`, SQLAlchemy
 * `Model.x + n`, ActiveRecord `increment!` / `update_counters`) with nothing keyed on the message: the update
 * is atomic, but each redelivery applies it again (also an accumulating upsert `ON CONFLICT … DO UPDATE SET
 * n = t.n + EXCLUDED.n`, which claims nothing). Python handlers run by a hand-written consume loop of the file
 * (`async for msg in self._consumer`, `consumer.poll(…)`, aio-pika iterators, pika / kombu callbacks) or by a
 * retried task, up to one call further, count as consumers; so do JS functions typed as broker handlers
 * (`EachMessagePayload`, `ConsumeMessage`, `SQSEvent`) and the named functions of their file they call. A call from a
 * consumer to a helper of the diff whose body moves a counter (`repo.addPages(…)` over `SET n = n + $3`) counts
 * as the counter move.
 * Go (counter shape only): a function of a broker-client file that runs a consume loop (kafka-go FetchMessage /
 * ReadMessage, sarama `claim.Messages()`, amqp091 `range deliveries`, NATS / Pub/Sub callbacks) and the functions
 * of the file it calls, two deep; raw SQL `SET n = n + $1` (multi-line backtick strings) or GORM `gorm.Expr`.
 *
 * Confidence: 0.85 when a record write follows the effect and retries are explicit or certain; 0.75 when
 * the job is only at-least-once (BullMQ stalls); 0.65 with no record at all (medium); minus 0.2 when a
 * read-check of an "already sent/processed" flag precedes the effect (it narrows, but does not close, the
 * window: a crash between effect and record still repeats the effect). Counters: 0.75 when redelivery is
 * certain, 0.65 for BullMQ's stalled-job redelivery.
 *
 * Deliberately left alone: consumers that claim first (unique row, ON CONFLICT DO NOTHING, skipDuplicates,
 * get_or_create, create_or_find_by, SET NX), deterministic BullMQ jobIds, idempotency keys, Celery tasks
 * without any retry setting, Sidekiq jobs with `retry: false`, consumers whose only writes are conditional
 * UPDATE state transitions, test files. For counters also: a claim anywhere in the file (DEDUP, a caught
 * unique violation), an insert in the consumer into a table the diff gives a unique key, a lookup or guard
 * keyed by the message id or an "already applied" flag, a status condition in the same statement, and
 * counters of attempts/retries/versions or metrics clients. Both shapes: a claim gated on its affected-row count
 * before the effect (`update_all(…) == 1`, `rowCount === 1`, `.update(…) == 1`, `RowsAffected()`), directly or
 * through a function of the diff whose body is one (`unless record.claim!`).
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import {
  consumerOf,
  dedupe,
  isDbWriteLine,
  DEDUP,
  deterministicJobId,
  familyOf,
  fileCode,
  isTestPath,
  jsStatementAt,
  scanTargets,
  scanned,
  SIDE_EFFECT,
  textOf,
  type ConsumerInfo,
  type JsStatement,
  type Family,
} from './lib/flow.js';

export default createDetector(
  {
    id: 'non-idempotent-consumer',
    failureMode: 'message_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby', 'go'],
    description: 'A retried job or consumer performs an external side effect before recording it, with no claim or idempotency key.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/non-idempotent-consumer.md',
  },
  (ctx) => {
    const file = ctx.file;
    if (isTestPath(file.path)) return [];
    const fam = familyOf(file.language);
    const { code } = scanned(file);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      if (fam === 'go') {
        // Go: only the counter shape, in a hand-written consume loop or a function it calls.
        const info = goConsumerOf(file, span);
        const r = info ? relativeWriteReport(ctx, span, info) : undefined;
        if (r) out.push(r);
        continue;
      }
      const info = consumerOf(file, span, ctx.files) ?? loopConsumerOf(file, span) ?? jsConsumerOf(ctx, span);
      if (!info || !info.retries) continue;
      if (info.broker === 'bullmq' && deterministicJobId(ctx.files)) continue;
      let effect: number | undefined;
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        if (SIDE_EFFECT[fam].test(code[l - 1] ?? '')) {
          effect = l;
          break;
        }
      }
      if (effect === undefined) {
        const r = relativeWriteReport(ctx, span, info) ?? insertThenCallReport(ctx, span, info);
        if (r) out.push(r);
        continue;
      }
      const beforeEffect = code.slice(span.startLine - 1, effect).join('\n');
      if (DEDUP.test(beforeEffect) || DEDUP.test(effectCall(code, effect, span.endLine)) || rowCountClaim(ctx.files, beforeEffect)) continue;
      // A counter moved per delivery before the effect is the first thing a redelivery repeats.
      const counter = relativeWriteReport(ctx, span, info, effect);
      if (counter) {
        out.push(counter);
        continue;
      }
      let record: number | undefined;
      for (let l = effect + 1; l <= span.endLine; l++) {
        if (isDbWriteLine(file, l)) {
          record = l;
          break;
        }
      }
      if (!file.added.has(effect) && !(record !== undefined && file.added.has(record))) continue;
      const readGuard = /\b(?:if|unless|return\s+if|return\s+unless)\b[^\n]*(?:sent|processed|notified|delivered|charged|reminded|handled)\w*/i.test(beforeEffect);
      let confidence = record === undefined ? 0.65 : info.retriesExplicit ? 0.85 : 0.75;
      if (readGuard) confidence -= 0.2;
      const effectText = textOf(file, effect);
      const sideEffectCall = /([\w$.:]+)\s*\(/.exec(effectText.replace(/^(?:await|return|const\s+\w+\s*=\s*await)\s+/, ''))?.[1] ?? effectText;
      const evidence = [{ line: effect, text: effectText, role: 'side-effect' }];
      if (record !== undefined) evidence.push({ line: record, text: textOf(file, record), role: 'status-write' });
      const facts: Record<string, string> = {
        pattern: 'side-effect-before-record',
        consumer: info.consumer,
        sideEffectCall,
        broker: info.broker,
        actor: 'job',
      };
      if (info.retries) facts.retries = info.retries;
      if (info.queue) facts.queue = info.queue;
      if (info.messageId) facts.messageId = info.messageId;
      out.push({
        line: effect,
        endLine: record ?? effect,
        severity: record === undefined || readGuard ? 'medium' : 'high',
        confidence: Math.round(confidence * 100) / 100,
        title: `${info.consumer} calls ${sideEffectCall} ${record !== undefined ? 'before recording it' : 'with no record of it'}; a redelivered job (${info.retries}) repeats it`,
        functionName: span.name,
        entity: info.queue ?? info.consumer,
        evidence,
        facts,
        variant: 'queue',
      });
    }
    return dedupe(out);
  },
);

/** The effect's whole call, over the lines its parentheses span (an idempotency key is often a later argument). */
function effectCall(code: readonly string[], line: number, end: number): string {
  let depth = 0;
  const out: string[] = [];
  for (let l = line; l <= Math.min(end, line + 15); l++) {
    const t = code[l - 1] ?? '';
    out.push(t);
    for (const ch of t) {
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') depth--;
    }
    if (depth <= 0) break;
  }
  return out.join('\n');
}

// ------------------------------------------------------------------ handlers of a hand-written consume loop

/**
 * Python consume loops: `async for msg in self._consumer` / `for msg in consumer` (aiokafka, kafka-python),
 * `consumer.poll(` / `getmany(` / `getone(` (confluent-kafka, aiokafka), `queue.iterator()` (aio-pika),
 * `receive_message(s)(` (SQS), `sub.fetch(` (NATS JetStream).
 */
const PY_LOOP =
  /^\s*(?:async\s+)?for\s+\w+\s+in\s+(?:await\s+)?(?:[\w.]*(?:consumer|Consumer|_iter\b|iterator\(\)|subscription)|(?:\w+_)?(?:it|iter|iterator)\b)|\bwith\s+\w*(?:message|msg)\w*\.process\(|\b[\w.]*(?:consumer|Consumer|sub|queue|sqs\w*|client)\.(?:poll|getmany|getone|consume|receive_messages?|fetch)\s*\(/;
/** Callbacks handed to a broker client: pika `on_message_callback=`, kombu `callbacks=[…]`, aio-pika / Pub/Sub / NATS `consume(cb)` / `callback=` / `cb=`. */
const PY_CALLBACK = /\b(?:on_message_callback|callbacks?|cb|message_handler)\s*=\s*\[?\s*(?:self\.)?(\w+)|\.(?:consume|basic_consume)\(\s*(?:self\.)?([a-z_]\w*)\s*[,)]/;
const BROKER_HINT = /kafka|pika|kombu|amqp|rabbit|sqs|pubsub|pub_sub|nats|celery|dramatiq|shared_task|xreadgroup|redis\.streams?/i;
const loopHandlerCache = new WeakMap<SourceFile, Set<string>>();

/**
 * Methods and functions a hand-written consume loop of this file runs for each message, directly or one call
 * further (`async for msg in self._consumer: await self.handle(msg)` → `handle`, and what `handle` calls).
 */
function loopHandlers(file: SourceFile): Set<string> {
  let names = loopHandlerCache.get(file);
  if (names) return names;
  names = new Set();
  const { code } = scanned(file);
  const short = (n: string): string => n.split('.').pop() ?? n;
  const defined = new Map(file.functions.map((f) => [short(f.name), f] as const));
  const calls = (from: number, to: number, into: Set<string>): void => {
    for (let l = from; l <= to; l++) {
      const t = code[l - 1] ?? '';
      for (const m of t.matchAll(/(?<![\w.])(?:self\.|cls\.)?([a-z_]\w*)\s*\(/g)) if (defined.has(m[1]!)) into.add(m[1]!);
      const cb = PY_CALLBACK.exec(t);
      const name = cb?.[1] ?? cb?.[2];
      if (name && defined.has(name)) into.add(name);
    }
  };
  const whole = fileCode(file);
  // Only files that talk to a broker or a task queue.
  if (BROKER_HINT.test(whole) && /\b(?:for|poll|getmany|getone|consume|basic_consume|receive_messages?|fetch|callbacks?|cb|on_message_callback|message_handler|process|task|shared_task|actor|subscriber|consumer)\b/.test(whole)) {
    for (const fn of file.functions) {
      if (fn.name.startsWith('<')) continue;
      for (let l = fn.startLine + 1; l <= fn.endLine; l++) {
        const t = code[l - 1] ?? '';
        if (PY_LOOP.test(t)) {
          names.add(short(fn.name));
          calls(l + 1, fn.endLine, names);
          break;
        }
        const cb = PY_CALLBACK.exec(t);
        const name = cb?.[1] ?? cb?.[2];
        if (name && defined.has(name)) names.add(name);
      }
    }
    // A retried task or subscriber (`@shared_task(autoretry_for=…)`, `@actor`) runs its helpers per delivery too.
    if (/@[\w.]*(?:task|shared_task|actor|subscriber|consumer)\b/.test(whole)) {
      for (const fn of file.functions) {
        if (!fn.name.startsWith('<') && consumerOf(file, fn, [file])?.retries) calls(fn.startLine + 1, fn.endLine, names);
      }
    }
    // One call further: the handler's own helpers run per message too.
    for (const n of [...names]) {
      const fn = defined.get(n);
      if (fn) calls(fn.startLine + 1, fn.endLine, names);
    }
    for (const n of ['__init__', 'start', 'stop', 'close']) names.delete(n);
  }
  loopHandlerCache.set(file, names);
  return names;
}

/** A Python function run per message by a consume loop the file writes by hand: delivery is at least once. */
function loopConsumerOf(file: SourceFile, span: FunctionSpan): ConsumerInfo | undefined {
  if (familyOf(file.language) !== 'python') return undefined;
  const name = span.name.split('.').pop() ?? '';
  if (name.startsWith('<') || !loopHandlers(file).has(name)) return undefined;
  const whole = fileCode(file);
  const broker = /kafka/i.test(whole) ? 'kafka' : /pika|kombu|amqp|rabbit/i.test(whole) ? 'rabbitmq' : /sqs/i.test(whole) ? 'sqs' : /pubsub/i.test(whole) ? 'pubsub' : /nats/i.test(whole) ? 'nats' : 'queue';
  return { broker, consumer: span.name, retries: 'at-least-once delivery', retriesExplicit: true };
}

// ------------------------------------------------------------------ Go consume loops

/**
 * Go consume loops: kafka-go `reader.FetchMessage(` / `ReadMessage(`, sarama `claim.Messages()` (ConsumeClaim),
 * confluent-kafka-go `consumer.ReadMessage(` / `Poll(`, amqp091 / streadway `range deliveries` after `.Consume(`,
 * NATS `Subscribe(` / `Fetch(`, SQS `ReceiveMessage(`, Pub/Sub `Receive(`.
 */
const GO_LOOP =
  /\.(?:FetchMessage|ReadMessage|ReceiveMessage|Poll)\s*\(|\bclaim\.Messages\(\)|\bfunc\s*\([^)]*\)\s*ConsumeClaim\s*\(|\.(?:QueueSubscribe|Subscribe|PullSubscribe)\s*\([^\n]*func\s*\(|\.Receive\s*\(\s*ctx\s*,\s*func\s*\(|\brange\s+\w*(?:deliveries|msgs|messages|Deliveries|Messages)\b/;
const GO_BROKER = /segmentio\/kafka-go|sarama|confluent-kafka-go|amqp091-go|streadway\/amqp|nats\.go|service\/sqs|cloud\.google\.com\/go\/pubsub|franz-go|kgo\./;
const goHandlerCache = new WeakMap<SourceFile, Set<string>>();

/** Functions of a Go file that a consume loop runs per message: the loop's function and what it calls, two calls deep. */
function goConsumerOf(file: SourceFile, span: FunctionSpan): ConsumerInfo | undefined {
  let names = goHandlerCache.get(file);
  if (!names) {
    names = new Set();
    goHandlerCache.set(file, names);
    const whole = fileCode(file);
    if (GO_BROKER.test(whole)) {
      const { code } = scanned(file);
      const short = (n: string): string => n.split('.').pop() ?? n;
      const defined = new Map(file.functions.filter((f) => !f.name.startsWith('<')).map((f) => [short(f.name), f] as const));
      const calls = (fn: FunctionSpan): void => {
        for (let l = fn.startLine + 1; l <= fn.endLine; l++) {
          const t = code[l - 1] ?? '';
          if (!t.includes('(')) continue;
          for (const m of t.matchAll(/(?:^|[^\w.]|\b\w+\.)([A-Za-z_]\w*)\s*\(/g)) if (defined.has(m[1]!)) names!.add(m[1]!);
        }
      };
      for (const fn of defined.values()) {
        if (code.slice(fn.startLine - 1, fn.endLine).some((t) => GO_LOOP.test(t))) {
          names.add(short(fn.name));
          calls(fn);
        }
      }
      for (const n of [...names]) calls(defined.get(n)!);
      for (const n of ['main', 'Close', 'Stop', 'Start']) names.delete(n);
      for (const fn of file.functions) if (/^New[A-Z]/.test(short(fn.name))) names.delete(short(fn.name));
    }
  }
  const name = span.name.split('.').pop() ?? '';
  if (!names.has(name)) return undefined;
  const whole = fileCode(file);
  const broker = /kafka|sarama|kgo\./i.test(whole) ? 'kafka' : /amqp/i.test(whole) ? 'rabbitmq' : /sqs/i.test(whole) ? 'sqs' : /pubsub/i.test(whole) ? 'pubsub' : /nats/i.test(whole) ? 'nats' : 'queue';
  return { broker, consumer: span.name, retries: 'at-least-once delivery', retriesExplicit: true };
}

// ------------------------------------------------------------------ non-idempotent database effects

/**
 * A counter moved by a delta in SQL text: `SET points = points + $1`, `"balance" = "balance" - ?`,
 * `update_all("n = n + #{k}")`. The right-hand side must end in a placeholder, a number or an interpolation,
 * and the match must lie inside a string literal (checked by the caller), so `x = x + 1` in code is not one.
 */
const SQL_RELATIVE = /\b([A-Za-z_]\w*)["`\]]?\s*=\s*["`[]?(?:[A-Za-z_]\w*\.)?["`]?\1["`\]]?\s*[+-]\s*(?:\$\d|\?|%s|%\(\w+\)s|:\w|@\w|\d|\$\{|#\{|\{|excluded\.|EXCLUDED\.|VALUES\(|values\()/;

/** `ON CONFLICT (…) DO UPDATE` / SQLAlchemy `on_conflict_do_update`: an upsert that writes on a repeat, no claim. */
const ACCUMULATING_UPSERT = /\bon\s+conflict\b(?:\s*\([^)]{0,200}\))?(?:\s+on\s+constraint\s+\w+)?\s+do\s+update\b|\bon_conflict_do_update\b/gi;

const ACCUMULATING_UPSERT_ONE = new RegExp(ACCUMULATING_UPSERT.source, 'i');

/** Relative updates written with the data-access library, per family (one line). */
const ORM_RELATIVE: Record<Family, RegExp> = {
  // knex / Sequelize / TypeORM .increment(…), Prisma { increment: n }, Mongoose $inc
  js: /\.(?:increment|decrement)\s*\(|\b(?:increment|decrement)\s*:\s*[\w$(-]|\$inc\b/,
  // Django F('col') + n, SQLAlchemy .values(col=Model.col + n) / {Model.col: Model.col + n}
  python: /\bF\(\s*['"](\w+)['"]?\s*\)\s*[+-]|[(,]\s*(\w+)\s*=\s*[A-Z]\w*\.\2\s*[+-]|\b([A-Z]\w*\.\w+)\s*:\s*\3\s*[+-]/,
  // ActiveRecord increment!/decrement!, increment_counter, update_counters
  ruby: /\.(?:increment|decrement)!\s*\(?\s*:|\.(?:increment_counter|decrement_counter|update_counters)\b/,
  // GORM / sqlx-style expression updates: Update("balance", gorm.Expr("balance + ?", n)), UpdateColumn(…)
  go: /\.Update(?:Column)?\(\s*"(\w+)"\s*,\s*(?:gorm\.)?Expr\(\s*"\s*\1\s*[+-]/,
  other: /(?!)/,
};

/** Counters that count deliveries or versions on purpose: moving them once per delivery is the intent. */
const DELIVERY_COUNTER = /attempt|retr(?:y|ies)|tries|fail|error|redeliver|deliver(?:y|ies)_?count|version|revision|seq(?:uence)?\b|lock_?version|metric|stat(?:s|sd)\b|telemetry|counter\b|gauge|histogram|meter|tracer/i;

/** A guard or lookup keyed by the message's own identity, or a unique violation handled: the consumer dedupes. */
const MESSAGE_KEY =
  /\b(?:message|msg|event|evt|delivery)[_]?(?:id|Id|ID|key|Key)\b|\b(?:message|msg|event|evt|delivery|job)\.(?:id|messageId|message_id|event_id|eventId)\b|\bdedup\w*|\bdedupe\w*|\bseen_?\w*\b/;
const UNIQUE_VIOLATION = /P2002|UniqueViolation|IntegrityError|unique_violation|\b23505\b|RecordNotUnique|UniqueConstraintError|ER_DUP_ENTRY|duplicate key|DuplicateKey|E11000/;
const READ_GUARD = /\b(?:if|unless|return\s+if|return\s+unless)\b[^\n]*(?:already|processed|handled|applied|credited|debited|awarded|granted|duplicate|exists\b|\.exists\(|\.exists\?)/i;
/** A conditional transition in the same statement makes the update apply once. */
const CONDITIONAL = /\b(?:status|state)\b|\bis\s+null\b|whereNull|isnull|processed|applied|credited|awarded/i;

/**
 * A consumer that moves a counter (points, balance, stock, usage) by the message's delta, with nothing keyed on
 * the message: every redelivery moves it again. The increment is atomic, so this is not a lost update; the
 * effect simply is not idempotent.
 */
function relativeWriteReport(ctx: DetectorContext, span: FunctionSpan, info: ConsumerInfo, before?: number): DetectorReport | undefined {
  const file = ctx.file;
  const fam = familyOf(file.language);
  if (fam !== 'js' && fam !== 'python' && fam !== 'ruby' && fam !== 'go') return undefined;
  const { code, masked } = scanned(file);
  const whole = fileCode(file);
  // An upsert that adds to the existing row (`ON CONFLICT (…) DO UPDATE SET n = t.n + EXCLUDED.n`) claims nothing.
  if (DEDUP.test(whole.replace(ACCUMULATING_UPSERT, '')) || UNIQUE_VIOLATION.test(whole)) return undefined;
  const spanText = code.slice(span.startLine - 1, span.endLine).join('\n');
  if (READ_GUARD.test(spanText)) return undefined;
  for (let l = span.startLine; l <= span.endLine; l++) {
    const t = code[l - 1] ?? '';
    if (MESSAGE_KEY.test(t) && /\b(?:where|find\w*|exists|filter|get|insert|create|if|unless|has|sismember|includes)\b/i.test(t)) return undefined;
  }
  if (claimsUnique(ctx, span)) return undefined;

  const last = before ?? span.endLine;
  for (let l = span.startLine + 1; l <= last; l++) {
    const t = code[l - 1] ?? '';
    const m = masked[l - 1] ?? '';
    let column: string | undefined;
    const sql = SQL_RELATIVE.exec(t);
    const inString = sql !== null && m[sql.index] === ' ' && /\w/.test(t[sql.index] ?? '');
    const orm = ORM_RELATIVE[fam].exec(t);
    // A repository or helper of the diff that moves the counter (`await repo.addPoints(userId, evt.points)`).
    const helper = !inString && !orm && fam === 'js' && t.includes('(') ? counterHelperCall(ctx, span, t) : undefined;
    if (!inString && !orm && !helper) continue;
    if (inString) column = sql![1];
    else if (orm) column = orm.slice(1).find(Boolean) ?? /\(\s*['":]?(\w+)/.exec(t.slice(orm.index))?.[1];
    else if (helper) column = helper.column;
    let start = l;
    let end = l;
    // A chained call continued from the line above (`Model.objects.filter(state=…)\n    .update(n=F("n") + 1)`).
    let stmtText = fam !== 'js' && /^\s*[.)]/.test(t) ? `${code[l - 2] ?? ''}\n${t}` : t;
    let call: string | undefined = helper?.call;
    if (fam === 'js' && !helper) {
      // The statement the increment belongs to: a database write chain starting on this line or a few above.
      let found = false;
      for (let k = l; k >= Math.max(span.startLine, l - 20); k--) {
        const st = jsStatementAt(file, k);
        if (!st || st.endLine < l) continue;
        const dbCall = st.cls?.kind === 'db-write' ? st.cls.call : (knexCall(st) ?? ormIncrementCall(st, whole));
        if (!dbCall) break;
        start = k;
        end = st.endLine;
        stmtText = st.text;
        call = dbCall;
        found = true;
        break;
      }
      if (!found && !inString) continue;
      if (!column) column = /\b(?:increment|decrement)\s*\(\s*['"`](\w+)/.exec(stmtText)?.[1] ?? /(\w+)\s*:\s*\{\s*(?:increment|decrement)\b/.exec(stmtText)?.[1];
    } else if (!inString && fam === 'python' && !/\.(?:update|values|execute)\s*\(|\bsession\b/.test(t + (code[l - 2] ?? '') + (code[l] ?? ''))) {
      continue;
    }
    if (fam === 'go' && inString && !/`/.test(m.slice(sql!.index))) {
      // The rest of a multi-line raw SQL string: its WHERE may hold a state condition.
      for (let k = l + 1; k <= Math.min(span.endLine, l + 10); k++) {
        stmtText += `\n${code[k - 1] ?? ''}`;
        if ((masked[k - 1] ?? '').includes('`')) break;
      }
    }
    if (DELIVERY_COUNTER.test(column ?? '') || DELIVERY_COUNTER.test(call ?? '')) continue;
    if (CONDITIONAL.test(stmtText.replace(/\b(?:increment|decrement)\b/g, ''))) continue;
    if (!file.added.has(l) && !file.added.has(start)) continue;
    // A claim gated on its affected-row count before the counter (`unless claim!`, `if (rowCount !== 1) return`).
    if (rowCountClaim(ctx.files, code.slice(span.startLine - 1, start).join('\n'))) return undefined;
    let record: number | undefined;
    for (let k = end + 1; k <= span.endLine; k++) {
      if (isDbWriteLine(file, k) || (fam === 'js' && /\b(?:insert|update|upsert)\b/.test(code[k - 1] ?? '') && knexCall(jsStatementAt(file, k)))) {
        record = k;
        break;
      }
    }
    const effectCall = call ?? (column ? `${column} += delta` : textOf(file, l));
    const evidence = [{ line: start, text: textOf(file, start), role: 'side-effect' }];
    if (record !== undefined) evidence.push({ line: record, text: textOf(file, record), role: 'status-write' });
    const facts: Record<string, string> = {
      pattern: 'side-effect-before-record',
      consumer: info.consumer,
      sideEffectCall: effectCall,
      broker: info.broker,
      actor: 'consumer',
    };
    if (column) facts.column = column;
    if (info.retries) facts.retries = info.retries;
    if (info.queue) facts.queue = info.queue;
    if (info.messageId) facts.messageId = info.messageId;
    return {
      line: start,
      endLine: record ?? end,
      severity: 'high',
      confidence: info.retriesExplicit ? 0.75 : 0.65,
      title: `${info.consumer} adds to ${column ?? 'a counter'} for every delivery, with no claim on the message: a redelivery (${info.retries}) applies it again`,
      functionName: span.name,
      entity: column ?? info.queue ?? info.consumer,
      evidence,
      facts,
      variant: 'queue',
    };
  }
  return undefined;
}

/**
 * A knex query-builder write, `trx('accounts').where(…).increment('points', n)`, read off the chain itself
 * (the table argument is a string literal on a root named like a knex instance or transaction).
 */
function knexCall(st: JsStatement | undefined): string | undefined {
  const first = st?.chain.calls[0];
  if (!first || first.path.includes('.') || !/^(?:knex|db|trx|tx|database|\w*(?:Trx|Db|DB|Knex))$/.test(first.name)) return undefined;
  if (!st || !/^\s*['"`]\w/.test(st.text.slice(first.open - st.chain.start + 1))) return undefined;
  const w = st.chain.calls.slice(1).find((k) => /^(?:insert|update|del|delete|increment|decrement|upsert|merge)$/.test(k.name));
  return w ? `${first.name}(…).${w.name}` : undefined;
}

/**
 * `Account.increment('credits', { by })`, `walletRepo.increment(where, 'balance', n)`, `wallet.increment(…)` with
 * an ORM imported: a model, repository or (with an ORM in the file) an instance receiver; metrics clients are
 * left out by name.
 */
function ormIncrementCall(st: JsStatement, whole: string): string | undefined {
  const last = st.chain.calls[st.chain.calls.length - 1];
  if (!last || st.chain.calls.length !== 1 || !/^(?:increment|decrement)$/.test(last.name)) return undefined;
  const segs = last.path.split('.').filter((x) => x !== 'this');
  const recv = segs[segs.length - 2];
  if (!recv || DELIVERY_COUNTER.test(recv) || /^(?:stats?d?|dogstatsd|dd|metrics?|client|prom|otel|meter|counter|histogram|gauge|redis\w*|cache\w*)$/i.test(recv)) return undefined;
  if (/^[A-Z][a-z]\w*$/.test(recv) || /repo|Repo|repository|Repository|manager|Manager|^em$|Model$/.test(recv)) return last.path;
  return ORM_HINT.test(whole) ? last.path : undefined;
}
const ORM_HINT = /\b(?:sequelize|typeorm|mongoose|objection|mikro-orm|BaseEntity|getRepository)\b|['"][./]*models?\b/i;

/** An insert in the consumer into a table the diff gives a unique key (besides its surrogate id): a claim. */
function claimsUnique(ctx: DetectorContext, span: FunctionSpan): boolean {
  const file = ctx.file;
  const fam = familyOf(file.language);
  const { code } = scanned(file);
  for (let l = span.startLine; l <= span.endLine; l++) {
    const t = code[l - 1] ?? '';
    let table: string | undefined;
    if (fam === 'js') {
      const st = /\b(?:insert|create|createMany|bulkCreate|save)\b/.test(t) ? jsStatementAt(file, l) : undefined;
      if (st?.cls?.kind === 'db-write' && /\b(?:insert|create|createMany|bulkCreate|save)\b/.test(st.cls.call)) table = st.cls.entity;
      else if (st && /\binsert\b/.test(knexCall(st) ?? '')) table = /^\s*['"`]([\w.]+)/.exec(st.text.slice(st.chain.calls[0]!.open - st.chain.start + 1))?.[1];
      table ??= /\binsert\s+into\s+["`]?(\w+)/i.exec(t)?.[1];
    } else if (fam === 'python') {
      table = /\b(\w+)\.objects\.(?:create|bulk_create)\(/.exec(t)?.[1] ?? /\binsert\s+into\s+["`]?(\w+)/i.exec(t)?.[1] ?? /\binsert\(\s*(\w+)\s*\)/.exec(t)?.[1];
    } else if (fam === 'ruby') {
      table = /\b([A-Z]\w*)\.create!?\b/.exec(t)?.[1] ?? /\binsert\s+into\s+["`]?(\w+)/i.exec(t)?.[1];
    } else if (fam === 'go') {
      table = /\binsert\s+into\s+["`]?(\w+)/i.exec(t)?.[1];
    }
    // An upsert that updates on conflict writes on every delivery: it claims nothing.
    if (table && ACCUMULATING_UPSERT_ONE.test(code.slice(l - 1, Math.min(span.endLine, l + 8)).join('\n'))) continue;
    if (table && uniqueBeyondId(ctx, table)) return true;
  }
  return false;
}

function uniqueBeyondId(ctx: DetectorContext, table: string): boolean {
  const key = table.toLowerCase();
  const sets = ctx.schema.unique.get(key) ?? ctx.schema.unique.get(key.replace(/s$/, '')) ?? ctx.schema.unique.get(`${key}s`);
  if (sets?.some((cs) => !(cs.length === 1 && cs[0] === 'id'))) return true;
  return ctx.files.some((f) => knexUnique(f, table));
}

/**
 * A knex migration that gives `table` a unique index: `.unique([...])`, `.unique()` or a composite primary key.
 */
function knexUnique(f: SourceFile, table: string): boolean {
  const text = fileCode(f);
  const at = text.search(new RegExp(`\\b(?:createTable|alterTable|table)\\(\\s*['"\`]${table.replace(/[^\w]/g, '')}\\b`));
  if (at < 0) return false;
  const rest = text.slice(at, at + 4000);
  const end = rest.search(/\n\s*\}\s*\)/);
  const body = end < 0 ? rest : rest.slice(0, end);
  return /\.unique\(|\.primary\(\s*\[/.test(body);
}

// ------------------------------------------------------------------ a row inserted before a retried call

/** An unconditional insert: Django `Model.objects.create(`, SQLAlchemy `session.add(`, Prisma/Sequelize/TypeORM `create(`, SQL INSERT. */
const INSERT: Record<'js' | 'python', RegExp> = {
  python: /\b[A-Z]\w*\.objects\.create\(|\b(?:db\.)?session\.add\(|\binsert\s+into\b/i,
  js: /\bprisma\.\w+\.create\(|\b[A-Z]\w*\.create\(|\.insert\(|\binsert\s+into\b/i,
};
/** Modules and receivers that are the database, logging or local helpers rather than a remote service. */
const LOCAL_MODULE = /\bmodels?\b|\bdb\b|database|repositor|schema|entities|\blog|setting|config|util|helper|const|enum|type|format/i;
const LOCAL_RECV = /^(?:log|logger|logging|console|cache|redis|metrics|stats|statsd|json|JSON|math|Math|os|re|time|datetime|date|Date|self|this|settings|config|prisma|db|session|transaction|models?)$/i;

/** Names a file imports from a module that is not the database or a local utility: `from .partner import partner`. */
function remoteImports(whole: string, fam: 'js' | 'python'): Set<string> {
  const out = new Set<string>();
  const re = fam === 'python' ? /^\s*from\s+([\w.]+)\s+import\s+\(?([\w, ]+)/gm : /^\s*import\s+(?:\{([^}]{0,300})\}|([\w$]+))\s+from\s+['"]([^'"]+)['"]/gm;
  for (let m; (m = re.exec(whole)); ) {
    const mod = fam === 'python' ? m[1]! : m[3]!;
    if (LOCAL_MODULE.test(mod)) continue;
    for (const part of (fam === 'python' ? m[2]! : m[1] ?? m[2]!).split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()!.trim();
      if (/^[a-z_$][\w$]*$/.test(name)) out.add(name);
    }
  }
  return out;
}

/**
 * A task retried on errors (Celery `autoretry_for`, BullMQ `attempts`) inserts a row with nothing claiming the
 * message, then calls a remote service imported by the module (`partner.report(…)`): when that call fails and the
 * task runs again, the insert runs again (a second invoice, a second ledger line).
 */
function insertThenCallReport(ctx: DetectorContext, span: FunctionSpan, info: ConsumerInfo): DetectorReport | undefined {
  const file = ctx.file;
  const fam = familyOf(file.language);
  if ((fam !== 'js' && fam !== 'python') || !info.retriesExplicit) return undefined;
  const { code } = scanned(file);
  const whole = fileCode(file);
  if (DEDUP.test(whole) || UNIQUE_VIOLATION.test(whole)) return undefined;
  const spanText = code.slice(span.startLine - 1, span.endLine).join('\n');
  if (READ_GUARD.test(spanText) || !INSERT[fam].test(spanText)) return undefined;
  let insert: number | undefined;
  let remote: Set<string> | undefined;
  for (let l = span.startLine + 1; l <= span.endLine; l++) {
    const t = code[l - 1] ?? '';
    if (MESSAGE_KEY.test(t) && /\b(?:where|find\w*|exists|filter|get|if|unless|has)\b/i.test(t)) return undefined;
    if (insert === undefined) {
      if (INSERT[fam].test(t) && file.added.has(l)) insert = l;
      continue;
    }
    const m = /(?:^|[^\w$.])([a-z_$][\w$]*)\.([A-Za-z_]\w*)\s*\(/.exec(t);
    if (!m || LOCAL_RECV.test(m[1]!) || /^(?:delay|apply_async|s|si|send_task|add|save|create|update|delete)$/.test(m[2]!)) continue;
      if (!(remote ??= remoteImports(whole, fam)).has(m[1]!) || isDbWriteLine(file, l)) continue;
    const insertText = textOf(file, insert);
    const insertCall = /([\w$.]+)\s*\(/.exec(insertText.replace(/^\s*(?:\w+\s*=\s*)?(?:const\s+\w+\s*=\s*)?(?:await\s+)?/, ''))?.[1] ?? insertText.trim();
    const callText = textOf(file, l);
    return {
      line: insert,
      endLine: l,
      severity: 'high',
      confidence: 0.75,
      title: `${info.consumer} calls ${insertCall} and then ${m[1]}.${m[2]}; a retried run (${info.retries}) inserts the row again`,
      functionName: span.name,
      entity: info.queue ?? info.consumer,
      evidence: [
        { line: insert, text: insertText, role: 'side-effect' },
        { line: l, text: callText, role: 'retried-call' },
      ],
      facts: {
        pattern: 'side-effect-before-record',
        consumer: info.consumer,
        sideEffectCall: insertCall,
        retriedCall: `${m[1]}.${m[2]}`,
        broker: info.broker,
        actor: 'job',
        ...(info.retries ? { retries: info.retries } : {}),
      },
      variant: 'queue',
    };
  }
  return undefined;
}

// ------------------------------------------------------------------ claims gated on the affected-row count

/**
 * An affected-row count that gates what follows: `update_all(…) == 1`, `.update(…) > 0`, `rowCount === 1`,
 * `if (!res.rowCount) return`, `RowsAffected() == 1`, `result.rowcount == 1`, `modifiedCount !== 1`.
 */
const ROW_COUNT_GATE =
  /\.(?:update_all|update|updateMany|update_many|execute|exec)\s*\([^\n]*\)\s*(?:[=!]==?\s*[01]\b|>=?\s*[01]\b|\.(?:zero|positive|nonzero)\?)|\b(?:rowCount|rowcount|affectedRows|affected_rows|numUpdatedRows|numAffectedRows|modifiedCount|nModified|changedRows|RowsAffected\(\))\s*(?:\)\s*)?(?:[=!]==?\s*[01]\b|>=?\s*[01]\b|<\s*1\b)|(?:!|\bnot\s+)\(?\s*[\w$.]*\b(?:rowCount|rowcount|affectedRows|affected_rows|numUpdatedRows|modifiedCount|changedRows)\b/;
/** A variable holding the count of an UPDATE (`updated = Claim.objects.filter(…).update(…)`, `n = Model.where(…).update_all(…)`). */
const ROW_COUNT_VAR = /(?:^|[^\w$.])(?:const\s+|let\s+)?([A-Za-z_]\w*)\s*=\s*(?:await\s+)?[\w$.]+(?:\([^\n]*\))?[\w$.()]*\.(?:update_all|update)\s*\(/;

const gateNamesCache = new WeakMap<readonly SourceFile[], Set<string>>();

/** Whether `text` performs a claim gated on its affected-row count (directly, or by calling a function of the diff that does). */
function rowCountClaim(files: readonly SourceFile[], text: string): boolean {
  if (gatedByRowCount(text)) return true;
  const names = gateNames(files);
  if (names.size === 0) return false;
  for (const m of text.matchAll(/([A-Za-z_$][\w$]*[!?]?)\s*[(!?]?/g)) if (names.has(m[1]!)) return true;
  return false;
}

function gatedByRowCount(text: string): boolean {
  if (ROW_COUNT_GATE.test(text)) return true;
  if (!/\.update(?:_all)?\s*\(/.test(text)) return false;
  for (const line of text.split('\n')) {
    const v = ROW_COUNT_VAR.exec(line)?.[1];
    if (!v) continue;
    const re = new RegExp(`\\b(?:if|unless|return\\s+(?:if|unless))\\s+(?:not\\s+)?!?\\(?\\s*${v}\\b(?!\\.)|\\b${v}\\s*(?:[=!]==?\\s*[01]\\b|>\\s*0)|\\b${v}\\.(?:zero|positive)\\?`);
    if (re.test(text)) return true;
  }
  return false;
}

/** Functions of the diff whose body is such a gated claim (`def claim_reminder!`, `async claimSlot(…)`), by short name. */
function gateNames(files: readonly SourceFile[]): Set<string> {
  let names = gateNamesCache.get(files);
  if (names) return names;
  names = new Set();
  for (const f of files) {
    if (isTestPath(f.path)) continue;
    const whole = fileCode(f);
    if (!/rowCount|rowcount|affected|RowsAffected|modifiedCount|nModified|changedRows|numUpdatedRows|\.update(?:_all)?\s*\(/.test(whole)) continue;
    const { code } = scanned(f);
    for (const fn of f.functions) {
      const short = fn.name.split('.').pop() ?? '';
      if (short.startsWith('<') || short.length < 4 || fn.endLine - fn.startLine > 60) continue;
      if (gatedByRowCount(code.slice(fn.startLine - 1, fn.endLine).join('\n'))) names.add(short);
    }
  }
  gateNamesCache.set(files, names);
  return names;
}

// ------------------------------------------------------------------ JS consumers seen through their payload type or a caller

/** kafkajs / amqplib / AWS Lambda payload types in a handler's parameters. */
const JS_PAYLOAD = /\b(?:EachMessagePayload|EachBatchPayload|KafkaMessage|ConsumeMessage|SQSEvent|SQSRecord|SNSEvent|SQSHandler)\b/;
const jsConsumerCache = new WeakMap<SourceFile, Map<FunctionSpan, ConsumerInfo>>();

/**
 * A JS function typed as a broker handler (`async ({ message }: EachMessagePayload) => …`, `(msg: ConsumeMessage)`),
 * or a named function of the same file that such a handler (or a registered consumer) calls: it runs per delivery.
 */
function jsConsumerOf(ctx: DetectorContext, span: FunctionSpan): ConsumerInfo | undefined {
  const file = ctx.file;
  if (familyOf(file.language) !== 'js') return undefined;
  let map = jsConsumerCache.get(file);
  if (!map) {
    map = new Map();
    jsConsumerCache.set(file, map);
    const { code } = scanned(file);
    const whole = fileCode(file);
    const roots: Array<[FunctionSpan, ConsumerInfo]> = [];
    if (JS_PAYLOAD.test(whole) || /\beach(?:Message|Batch)\b|\.consume\(/.test(whole)) {
      for (const fn of file.functions) {
        if (fn.name === '<hunk>') continue;
        const header = code.slice(fn.startLine - 1, fn.startLine + 1).join(' ');
        const p = JS_PAYLOAD.exec(header)?.[0];
        const info = p
          ? { broker: /Each|Kafka/.test(p) ? 'kafka' : /Consume/.test(p) ? 'rabbitmq' : 'sqs', consumer: fn.name.startsWith('<') ? 'consumer' : fn.name, retries: 'at-least-once delivery', retriesExplicit: true }
          : consumerOf(file, fn, ctx.files);
        if (info?.retries && info.retriesExplicit) roots.push([fn, info]);
      }
    }
    const named = new Map<string, FunctionSpan>();
    for (const fn of file.functions) if (/^[A-Za-z_$][\w$]{3,}$/.test(fn.name)) named.set(fn.name, fn);
    for (const [root, info] of roots) {
      map.set(root, info);
      for (let l = root.startLine; l <= root.endLine; l++) {
        const t = code[l - 1] ?? '';
        if (!t.includes('(')) continue;
        for (const m of t.matchAll(/(?<![\w$.])([A-Za-z_$][\w$]*)\s*\(/g)) {
          const fn = named.get(m[1]!);
          if (fn && fn !== root && !map.has(fn)) map.set(fn, { ...info, consumer: fn.name });
        }
      }
    }
  }
  return map.get(span);
}

// ------------------------------------------------------------------ counters moved by a helper of the diff

interface CounterHelper {
  call: string;
  column?: string;
}
const counterHelperCache = new WeakMap<readonly SourceFile[], Map<string, string | undefined>>();

/**
 * Functions of the diff (repository methods, helpers) whose body moves a counter by a delta with nothing claiming
 * anything: `UPDATE … SET pages = pages + $3`, `.increment('points', n)`. Short name → column.
 */
function counterHelpers(files: readonly SourceFile[]): Map<string, string | undefined> {
  let map = counterHelperCache.get(files);
  if (map) return map;
  map = new Map();
  for (const f of files) {
    if (isTestPath(f.path) || familyOf(f.language) !== 'js') continue;
    const whole = fileCode(f);
    if (!/[+-]|increment|decrement|\$inc/.test(whole)) continue;
    const { code, masked } = scanned(f);
    for (const fn of f.functions) {
      const short = fn.name.split('.').pop() ?? '';
      if (!/^[A-Za-z_$][\w$]{3,}$/.test(short) || fn.endLine - fn.startLine > 40) continue;
      const body = code.slice(fn.startLine - 1, fn.endLine).join('\n');
      if (DEDUP.test(body) || UNIQUE_VIOLATION.test(body) || READ_GUARD.test(body) || gatedByRowCount(body) || CONDITIONAL.test(body.replace(/\b(?:increment|decrement)\b/g, ''))) continue;
      for (let l = fn.startLine; l <= fn.endLine; l++) {
        const t = code[l - 1] ?? '';
        const sql = SQL_RELATIVE.exec(t);
        const inString = sql !== null && (masked[l - 1] ?? '')[sql.index] === ' ' && /\w/.test(t[sql.index] ?? '');
        const column = inString ? sql![1] : /\.(?:increment|decrement)\s*\(\s*['"`](\w+)/.exec(t)?.[1] ?? /(\w+)\s*:\s*\{\s*(?:increment|decrement)\b/.exec(t)?.[1];
        if (!column || DELIVERY_COUNTER.test(column)) continue;
        map.set(short, column);
        break;
      }
    }
  }
  counterHelperCache.set(files, map);
  return map;
}

/** A call on this line to a counter-moving helper of the diff (not the span itself). */
function counterHelperCall(ctx: DetectorContext, span: FunctionSpan, line: string): CounterHelper | undefined {
  const helpers = counterHelpers(ctx.files);
  if (helpers.size === 0) return undefined;
  const self = span.name.split('.').pop();
  for (const m of line.matchAll(/(?<![\w$])((?:[\w$]+\.)*)([A-Za-z_$][\w$]{3,})\s*\(/g)) {
    const name = m[2]!;
    // Helpers of this file are consumers themselves (reached from the handler) and report their own counter.
    if (name === self || !helpers.has(name) || ctx.file.functions.some((f) => f.name === name)) continue;
    return { call: `${m[1] ?? ''}${name}`, column: helpers.get(name) };
  }
  return undefined;
}
