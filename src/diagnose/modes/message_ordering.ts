/** Message ordering / delivery: at-least-once redelivery, out-of-order status updates, ack before work, publish outside the commit. */
import { code, concurrentTest, fenced, singular, snake, spyOn, type Ctx, type ModeText } from '../common.js';

type Pattern = 'side-effect-before-record' | 'ack-before-work' | 'out-of-order-status' | 'publish-before-commit';

function patternOf(x: Ctx): Pattern {
  const p = x.fact('pattern', '') as Pattern;
  if (p) return p;
  if (x.ev('status-write')) return 'out-of-order-status';
  if (x.ev('ack')) return 'ack-before-work';
  if (x.ev('publish') && x.ev('commit')) return 'publish-before-commit';
  return 'side-effect-before-record';
}

export function diagnose(x: Ctx): ModeText {
  const pattern = patternOf(x);
  const broker = x.fact('broker', x.orm && ['bullmq', 'sidekiq', 'celery'].includes(x.orm) ? x.orm : '');
  const consumer = x.fact('consumer', x.c.functionName ?? 'the consumer');
  const queue = x.fact('queue', '');
  const where = `${code(consumer)}${queue ? ` on ${code(queue)}` : ''}`;
  const side = x.ev('side-effect', 0);
  const statusWritesAll = x.c.evidence.filter((e) => e.role === 'status-write');
  // Prefer the status write that actually writes (update/save/SET) over a dispatching line such as `case event.kind`.
  const record = statusWritesAll.find((e) => /update|save|\bset\b|SET\b|write/i.test(e.text)) ?? x.ev(['status-write', 'write', 'commit'], -1);
  const ack = x.ev('ack');
  const publish = x.ev('publish');
  const commit = x.ev('commit');
  const statusWrites = x.c.evidence.filter((e) => e.role === 'status-write');
  const sideCall = x.callOn(side, 'sideEffectCall', 'the side effect');
  const recordCall = x.callOn(record, 'writeCall', 'the write');
  const statusCol = x.fact('statusColumn', 'status');
  const msgId = x.fact('messageId', x.fam === 'ruby' ? 'event.id' : x.fam === 'python' ? 'message.id' : 'job.id');
  const retries = x.fact('retries', '');
  const deliveryLabel = broker ? `${broker} delivers at least once` : 'the queue delivers at least once';
  const thing = x.thing;

  const what: Record<Pattern, string> = {
    'side-effect-before-record': `${x.cite(side)} performs ${code(sideCall)}, and only afterwards ${x.cite(record)} records that it happened. ${deliveryLabel}${retries ? ` (${retries})` : ''}: if anything fails after the side effect, or the worker stalls past its lease, the message is delivered again and nothing tells the second delivery that ${sideCall} already ran. Unless the producer sets a deterministic job id, re-enqueueing the same ${thing} adds duplicate jobs too.`,
    'ack-before-work': `${x.cite(ack)} acknowledges the message before the work at ${x.cite(side ?? record)} is done. A crash or error in between loses the message: the broker considers it handled and never redelivers it.`,
    'out-of-order-status': `${statusWrites.length > 1 ? statusWrites.map((e) => x.cite(e)).join(' and ') : x.cite(record)} ${statusWrites.length > 1 ? 'write' : 'writes'} the message's ${statusCol} unconditionally. Messages for the same ${thing} are processed concurrently and retried later, so an older event can be applied after a newer one and move ${thing}.${statusCol} backwards; nothing compares the event's sequence or timestamp with the state already applied.`,
    'publish-before-commit': `${x.cite(publish)} publishes the message, and ${x.cite(commit)} commits the database change separately. If the commit fails the consumers act on a change that never happened; if the publish fails after the commit, consumers never hear about it. Consumers may also receive the message before the commit is visible.`,
  };

  const explanation = [
    `This is a message ordering / delivery hazard (${pattern.replace(/-/g, ' ')}) in ${where}. ${what[pattern]}`,
    '',
    'Why not the nearest other modes:',
    `- Not toctou: the duplicate ${pattern === 'out-of-order-status' ? 'or late message' : 'delivery'} comes from the broker redelivering or reordering the same logical message, not from two independent requests racing a check; the fix keys on the message identity.`,
    `- Not lost_update: ${pattern === 'out-of-order-status' ? `the later write does not recompute from a stale read; it applies a stale message — a version/sequence check, not an atomic increment, is the fix` : 'no value is read and written back; the problem is an effect performed twice (or not at all)'}.`,
    `- Not eventual_consistency: the data is read from the primary; the problem is delivery semantics (at-least-once, no ordering across retries), not replication lag.`,
  ].join('\n');

  const steps: Record<Pattern, string[]> = {
    'side-effect-before-record': [
      x.step(0, 'a', side, `${sideCall} succeeds (the external effect happened)`),
      x.step(1, 'a', record, `${recordCall} fails, or the worker stalls past its lock/lease`),
      x.step(2, 'a', undefined, `message ${msgId} is not completed → ${broker || 'the broker'} schedules a retry / moves it back to wait`),
      x.step(3, 'b', side, `the same ${msgId} again: nothing records that ${sideCall} ran`),
      x.step(4, 'b', side, `${sideCall} runs a second time`),
      x.step(5, 'b', record, `${recordCall} succeeds`),
      `Result: the ${thing} got ${sideCall} twice for one message (and again on every further retry).`,
    ],
    'ack-before-work': [
      x.step(0, 'a', ack, 'acks the message'),
      x.step(1, 'a', side ?? record, 'starts the work'),
      x.step(2, 'a', undefined, 'crashes / throws before the work completes'),
      x.step(3, 'b', undefined, 'never arrives: the broker already forgot the message'),
      x.step(4, 'both', undefined, 'no retry, no dead letter'),
      `Result: the message is lost silently.`,
    ],
    'out-of-order-status': [
      x.step(0, 'a', record, `takes the older event (e.g. "processing") and fails once → retried later`),
      x.step(1, 'b', record, `takes the newer event (e.g. "verified") → ${recordCall} sets ${statusCol} = verified`),
      x.step(2, 'a', record, `retry of the older event → ${recordCall} sets ${statusCol} = processing`),
      x.step(3, 'a', undefined, 'completes normally: nothing compares event order'),
      x.step(4, 'b', undefined, 'is done; no further event will arrive'),
      `Result: ${thing}.${statusCol} is stuck at an older state than the provider's (e.g. a verified account back to pending).`,
    ],
    'publish-before-commit': [
      x.step(0, 'a', publish, 'publishes the message'),
      x.step(1, 'b', undefined, `consumer receives it and reads the ${thing} → not committed yet / missing`),
      x.step(2, 'a', commit, 'COMMIT fails (or runs after the consumer)'),
      x.step(3, 'b', undefined, 'has already acted on a change that does not exist'),
      `Result: consumers and the database disagree, with no way to reconcile.`,
    ],
  };

  const missingTest =
    pattern === 'out-of-order-status'
      ? concurrentTest(x, {
          should: `keeps the newest ${statusCol} whatever order the events run in`,
          n: 2,
          setup: {
            js: `const newer = makeEvent({ ${statusCol}: 'newer', createdAt: 2 });\nconst older = makeEvent({ ${statusCol}: 'older', createdAt: 1 });`,
            python: `newer = make_event(${statusCol}="newer", created=2)\nolder = make_event(${statusCol}="older", created=1)`,
            ruby: `newer = create(:webhook_event, created: 2.minutes.ago)\nolder = create(:webhook_event, created: 3.minutes.ago)\n# process the newer event first, then the older one (a retry)`,
            go: `events := []Event{newer, older} // newer first, then the late retry`,
          },
          call: {
            js: `${x.fnName}(i === 0 ? newer : older)`,
            python: `${x.fnName}((newer, older)[i])`,
            ruby: `${x.sig.owner ? `${x.sig.owner}.new.` : ''}${x.fnName}([newer, older][i].id)`,
            go: `return ${x.sig.owner ? 's.' : ''}${x.fnName}(ctx, events[i])`,
          },
          assert: {
            js: `expect((await load${x.model}()).${statusCol}).toBe('newer');`,
            python: `assert reload().${snake(statusCol)} == "newer"`,
            ruby: `expect(${x.model}.last.reload.${snake(statusCol)}).to eq(newer_status)`,
            go: `// the stored ${statusCol} must be the newer event's, in either execution order`,
          },
        })
      : concurrentTest(x, {
          should: pattern === 'ack-before-work' ? `does not lose the message when the work fails` : `performs ${sideCall} once for one message delivered repeatedly`,
          n: 10,
          setup: {
            js: `const effect = ${spyOn(x, sideCall)};\nconst job = makeJob({ id: 'msg-1' }); // one message, delivered repeatedly`,
            python: `message = make_message(id="msg-1")  # one message, delivered repeatedly\n# patch ${sideCall} with unittest.mock and count calls`,
            ruby: `message_id = create(:webhook_event).id # one message, delivered repeatedly\nallow(${sideCall.split('.')[0] || 'Notifier'}).to receive(:${sideCall.split('.').pop()}).and_call_original`,
            go: `msg := Message{ID: "msg-1"} // one message, delivered repeatedly`,
          },
          call: {
            js: `${x.fnName}(job)`,
            python: `${x.fnName}(message)`,
            ruby: `${x.sig.owner ? `${x.sig.owner}.new.` : ''}${x.fnName}(message_id)`,
            go: `return ${x.sig.owner ? 's.' : ''}${x.fnName}(ctx, msg)`,
          },
          assert: {
            js: `expect(effect).toHaveBeenCalledTimes(1);`,
            python: `assert fake_${snake(sideCall.split('.').pop() ?? 'effect')}.call_count == 1`,
            ruby: `expect(${sideCall.split('.')[0] || 'Notifier'}).to have_received(:${sideCall.split('.').pop()}).once`,
            go: `if got := fake.Calls(); got != 1 {\n\tt.Fatalf("${sideCall} ran %d times for one message", got)\n}`,
          },
        });

  const fix = buildFix(x, pattern, { msgId, statusCol, sideCall, broker, thing });

  const whatNotToDo = [
    `Don't rely on the broker for exactly-once: ${broker || 'the queue'} does not guarantee it end to end; retries, stalls and redeliveries are normal.`,
    pattern === 'side-effect-before-record'
      ? `Don't check "already sent?" with a SELECT before ${sideCall}: two deliveries race that check (a toctou); claim with an INSERT on a unique key instead.`
      : `Don't sort messages in memory in one worker: order is lost across retries, processes and partitions.`,
    `Don't set retries to 0 to avoid duplicates: you trade duplicates for lost messages.`,
    pattern === 'ack-before-work' ? `Don't ack early "to avoid redelivery": make the handler idempotent and ack after the work.` : `Don't ack/complete before the effect and its record are durable.`,
  ];
  return { explanation, interleaving: steps[pattern], missingTest, fix, whatNotToDo };
}

function buildFix(x: Ctx, p: Pattern, b: { msgId: string; statusCol: string; sideCall: string; broker: string; thing: string }): string {
  if (p === 'out-of-order-status') {
    const col = snake(b.statusCol);
    const sql = `UPDATE ${x.table} SET ${col} = $1, ${col}_event_at = $2 WHERE id = $3 AND (${col}_event_at IS NULL OR ${col}_event_at < $2);`;
    const orm =
      x.fam === 'ruby'
        ? `updated = ${x.model}.where(id: ${snake(x.model)}.id)\n  .where("${col}_event_at IS NULL OR ${col}_event_at < ?", event_created_at)\n  .update_all(${col}: new_status, ${col}_event_at: event_created_at)\n# updated == 0: a newer event was already applied; this one is a no-op`
        : x.fam === 'python'
          ? `${x.model}.objects.filter(pk=pk).filter(Q(${col}_event_at__isnull=True) | Q(${col}_event_at__lt=event_created)).update(${col}=new_status, ${col}_event_at=event_created)`
          : x.fam === 'go'
            ? `res, err := tx.ExecContext(ctx, \`${sql}\`, status, eventAt, id)`
            : `await db.query('${sql}', [status, eventAt, id]);`;
    return [
      `Make status updates order-aware: store the provider's event timestamp (or sequence/version) next to ${b.statusCol} and apply an event only when it is newer, in one conditional UPDATE, so late and repeated events become no-ops.`,
      fenced('sql', `ALTER TABLE ${x.table} ADD COLUMN ${col}_event_at timestamptz;\n${sql}`),
      fenced(x.fence, orm),
    ].join('\n\n');
  }
  if (p === 'publish-before-commit') {
    return [
      `Use a transactional outbox: write the message into an outbox table in the same transaction as the change, and let a relay publish committed outbox rows (deleting or marking them after the broker confirms). Consumers stay idempotent by message id.`,
      fenced('sql', `CREATE TABLE outbox (id bigserial PRIMARY KEY, topic text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);\n-- in the business transaction:\nINSERT INTO outbox (topic, payload) VALUES ($1, $2);`),
    ].join('\n\n');
  }
  const claimSql = `CREATE TABLE processed_messages (\n  message_id text PRIMARY KEY,\n  processed_at timestamptz NOT NULL DEFAULT now()\n);`;
  const claim =
    x.fam === 'js'
      ? `${b.broker === 'bullmq' ? `// producer: a deterministic jobId makes re-enqueueing the same logical job a no-op\nawait queue.add('job', data, { jobId: \`${b.thing}:\${id}:\${scheduledFor}\` });\n\n` : ''}// consumer: claim first, then act
const { rowCount } = await db.query(
  'INSERT INTO processed_messages (message_id) VALUES ($1) ON CONFLICT DO NOTHING',
  [${b.msgId}],
);
if (rowCount === 0) return; // already handled by an earlier delivery
try {
  await ${b.sideCall}(/* … */${/stripe|pay|charge/i.test(b.sideCall) ? `, { idempotencyKey: String(${b.msgId}) }` : ''});
} catch (err) {
  await db.query('DELETE FROM processed_messages WHERE message_id = $1', [${b.msgId}]); // definitely failed: allow the retry
  throw err;
}`
      : x.fam === 'python'
        ? `with transaction.atomic():\n    _, created = ProcessedMessage.objects.get_or_create(message_id=${b.msgId})  # unique message_id\nif not created:\n    return  # already handled\n${b.sideCall}(...)`
        : x.fam === 'ruby'
          ? `claimed = ProcessedMessage.insert({ message_id: ${b.msgId} }, unique_by: :message_id).rows.any?\nreturn unless claimed # already handled by an earlier delivery\n${b.sideCall}(...)`
          : `res, err := tx.ExecContext(ctx, \`INSERT INTO processed_messages (message_id) VALUES ($1) ON CONFLICT DO NOTHING\`, ${b.msgId})\nif n, _ := res.RowsAffected(); n == 0 {\n\treturn nil // already handled\n}`;
  return [
    `Make the consumer idempotent, keyed by the message: claim a row with a unique message id before the side effect (or in the same transaction as a database effect), skip when the claim exists, and pass the same id as idempotency key to external APIs that accept one.${p === 'ack-before-work' ? ' Then ack only after the work and the claim are durable.' : ''}`,
    fenced('sql', claimSql),
    fenced(x.fence, claim),
  ].join('\n\n');
}
