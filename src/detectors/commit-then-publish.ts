/**
 * commit-then-publish (message_ordering)
 *
 * Rule: one function writes to the database and publishes to a broker, with no transactional outbox:
 * 1. inside a transaction (JS `db.transaction(async trx => …)` / `$transaction`, Python
 *    `with transaction.atomic()` / `session.begin()`, Ruby `transaction do … end`, Go `BeginTx … Commit`)
 *    a write is followed by a broker publish or a job enqueue: consumers can see the message before the
 *    commit (and find no row), or the transaction rolls back after the message went out;
 *    Also unmanaged transactions (`const t = await sequelize.transaction()` … `t.commit()`, `startTransaction`
 *    … `commitTransaction`, `BEGIN` … `COMMIT`), `@transaction.atomic`, `with_lock do`, and in Python
 *    everything before a `session.commit()` / `db.commit()` (rows staged with `db.add` / `flush` are the write);
 * 2. a helper that publishes or enqueues, called from inside a transaction by another function of the diff
 *    (after a write there, or the helper writes first): reported on the helper's publish;
 * 3. after a write, outside any transaction, a broker publish (Kafka, RabbitMQ, SNS, Pub/Sub, NATS,
 *    EventBridge): a crash between the two loses the event while the row is committed;
 * 4. Go: a publish after `tx.Commit()` (sarama SendMessage / Input() <-, kafka-go WriteMessages, NATS / JetStream,
 *    amqp091, SQS, SNS / Pub/Sub, an app event bus) whose failure is only logged or discarded: the committed
 *    change's event is lost for good (a publish whose error is returned is left alone).
 * A module helper of the diff that publishes, called by its module name (`events.publish(…)`), is a publish at the
 * call. JS: a call through a field or parameter typed with a publishing class of the diff, or with a
 * broker client / publisher type (`private readonly events: EventPublisher` → `this.events.publish(…)`), is too.
 * 5. Ruby: an Active Record callback that runs inside the save's transaction (`after_save :m`, `after_update do`)
 *    publishes or enqueues a native job in its body (reported on the publish). A `@transaction.atomic` function whose writes the diff hides (lines between the def and the send not
 * shown) is taken to write from its start.
 * Python rebuilt from hunks: a Django ORM block whose opener the diff hides (shown lines close it back to a
 * body indentation, not with except/else) and that writes before the dispatch is taken for its
 * `transaction.atomic()` block.
 *
 * Confidence: 0.75 for a publish or enqueue inside the transaction; 0.7 through a helper; 0.6 for a hidden
 * block taken for a transaction and for a broker publish after the write (medium). Plain job enqueues after
 * a committed write are not flagged (too common to be useful), nor publishes after the transaction that
 * holds the write has closed (the recommended order).
 *
 * Deliberately left alone: Rails ActiveJob enqueues (`perform_later`, `deliver_later`), which Active Record defers
 * to after the commit since Rails 7.2 (unless the diff turns `enqueue_after_transaction_commit` off); an outbox table or model written in the same function (`outbox`), publishes
 * deferred to after commit (`transaction.on_commit`, `after_commit`, `afterCommit`,
 * `after_all_transactions_commit`), helpers called through `on_commit(lambda: …)`, functions without a
 * database write, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { blockEnd, dedupe, fileCode, isDbWriteLine, familyOf, indentOf, isTestPath, scanTargets, scanned, textOf, type Family } from './lib/flow.js';

const PUBLISH: Record<Family, RegExp> = {
  js: /\b[\w$.]*(?:producer|Producer|publisher|Publisher|eventBus|EventBus|kafka|sns|snsClient|pubsub|PubSub|nats|eventBridge|EventBridge)[\w$.]*\.(?:send|sendBatch|publish|produce|putEvents|publishMessage)\s*\(|\b(?:channel|ch|amqpChannel)\.(?:publish|sendToQueue)\s*\(|new\s+(?:PublishCommand|PutEventsCommand|SendMessageCommand)\s*\(/,
  python: /\b[\w.]*(?:producer|publisher|event_bus|kafka|sns|pubsub|nats)[\w.]*\.(?:send|produce|publish|publish_message)\s*\(|\.basic_publish\s*\(/,
  ruby: /\b(?:Karafka\.producer|\w*Publisher|\w*Producer|EventBus|Hutch|Phobos|WaterDrop)\b[\w.:]*\.(?:publish|produce\w*|deliver_message)\b|\b(?:exchange|channel)\.publish\b/,
  // sarama SyncProducer.SendMessage(s) / AsyncProducer.Input() <-, kafka-go Writer.WriteMessages, NATS / JetStream
  // Publish, amqp091 PublishWithContext, SQS SendMessage, SNS / Pub/Sub Publish, an app's event bus.
  go: /\b[\w.]*(?:producer|Producer|publisher|Publisher|pub|Pub|writer|Writer|js|nc|ch|channel|events|Events|eventBus|EventBus|bus|Bus|broker|Broker|kafka|Kafka|nats|NATS|Nats|jetstream|JetStream|topic|Topic|sqs\w*|SQS|Sqs\w*|sns\w*|SNS|Sns\w*|emitter|Emitter)\.(?:Publish|PublishWithContext|PublishMsg|PublishAsync|WriteMessages|Produce|Send|SendMessage|SendMessages|SendMessageBatch)\s*\(|\b[\w.]*(?:producer|Producer)\.Input\(\)\s*<-/,
  other: /(?!)/,
};

const ENQUEUE: Record<Family, RegExp> = {
  js: /\b[\w$.]*(?:queue|Queue)\.(?:add|addBulk|enqueue)\s*\(/,
  python: /\.(?:delay|apply_async|send_with_options)\s*\(|\bsend_task\s*\(|\b(?:queue|q|\w+_queue|django_rq)\.enqueue(?:_in|_at)?\s*\(/,
  ruby: /\.(?:perform_async|perform_later|perform_in|perform_at|deliver_later|perform_bulk)\b|\bResque\.enqueue\b/,
  go: /(?!)/,
  other: /(?!)/,
};

/**
 * Literal text every PUBLISH / ENQUEUE match contains: tested first, they skip most lines and functions
 * cheaply (the full patterns start with `[\w$.]*`, which is tried at every position).
 */
const PUBLISH_HINT: Record<Family, RegExp> = {
  js: /\.(?:send|publish|produce|putEvents)|Command/,
  python: /\.(?:send|produce|publish|basic_publish)/,
  ruby: /\.(?:publish|produce|deliver_message)/,
  go: /\.(?:Publish|WriteMessages|Produce|Send|Input\(\))/,
  other: /(?!)/,
};
const ENQUEUE_HINT: Record<Family, RegExp> = {
  js: /ueue\.(?:add|enqueue)/,
  python: /\.(?:delay|apply_async|send_with_options|send_task|enqueue)/,
  ruby: /\.(?:perform_|deliver_later|enqueue)/,
  go: /(?!)/,
  other: /(?!)/,
};

/**
 * ActiveJob enqueues (`perform_later`, `deliver_later`): since Rails 7.2 (`enqueue_after_transaction_commit`)
 * Active Record defers them until the surrounding transaction commits and drops them on rollback. Native
 * Sidekiq `perform_async`, Resque and broker publishes still go out at once.
 */
const ACTIVE_JOB = /\.(?:perform_later|deliver_later|perform_all_later)\b/;
const ACTIVE_JOB_IMMEDIATE = /enqueue_after_transaction_commit\s*=\s*(?:false|:never)/;

const SAFE = /outbox|Outbox|on_commit|after_commit|afterCommit|after_commit_everywhere|after_all_transactions_commit|enqueue_after_transaction_commit/;

/** Names too generic to follow from a call site to this function's body. */
const GENERIC_NAME = /^(?:save|send|call|run|perform|handle|execute|process|create|update|delete|remove|apply|emit|publish|dispatch|notify|enqueue|schedule|init|main|start|stop|get|set|add|put|post|push|load|sync|flush|commit|close|open|write|read|__call__|__init__|<hunk>|<anonymous>)$/;

export default createDetector(
  {
    id: 'commit-then-publish',
    failureMode: 'message_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby', 'go'],
    description: 'A database write and a broker publish that are not atomic (no outbox): inside the transaction, or right after it.',
    defaultSeverity: 'medium',
    docs: 'docs/detectors/commit-then-publish.md',
  },
  (ctx) => {
    const file = ctx.file;
    if (isTestPath(file.path)) return [];
    const fam = familyOf(file.language);
    const { code } = scanned(file);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      const fnText = code.slice(span.startLine - 1, span.endLine).join('\n');
      if (SAFE.test(fnText)) continue;
      // Reports need a publish or an enqueue; the patterns have no anchors, so a line's match is also a match
      // in the joined text: without one there, skip the per-line write classification.
      const helpers = joinRe(moduleHelperCalls(ctx.files, fam, fnText), typedPublisherCalls(ctx.files, file, fam, fnText));
      if (!PUBLISH_HINT[fam].test(fnText) && !ENQUEUE_HINT[fam].test(fnText) && !helpers) continue;
      const regions = txRegions(file, fam, span.startLine, span.endLine);
      // `@transaction.atomic` on the function: its body is one transaction, which it exists to hold writes in.
      const atomicFn = fam === 'python' && regions.some(([a, b]) => a === span.startLine && b === span.endLine);
      let write: number | undefined;
      let reported = false;
      let firstSend: number | undefined;
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        const t = code[l - 1] ?? '';
        const pub = (PUBLISH_HINT[fam].test(t) && PUBLISH[fam].test(t)) || (helpers !== undefined && helpers.test(t));
        const enq = ENQUEUE_HINT[fam].test(t) && ENQUEUE[fam].test(t) && !deferredJob(ctx.files, fam, t);
        if ((pub || enq) && firstSend === undefined) firstSend = l;
        if ((pub || enq) && write === undefined && fam === 'python' && hiddenTxBlock(file, l)) write = hiddenBlockWrite(file, l);
        // The decorated body's writes lie in lines the diff does not show: the transaction still holds them.
        if ((pub || enq) && write === undefined && atomicFn && file.added.has(l) && hiddenBefore(file, span.startLine, l)) write = span.startLine;
        if ((pub || enq) && write !== undefined) {
          const w = write;
          const shownRegion = regions.find(([a, b]) => a <= l && l <= b);
          const region = shownRegion ?? (fam === 'python' ? hiddenTxBlock(file, l) : undefined);
          const inside = region !== undefined && region[0] <= w;
          const guessed = inside && shownRegion === undefined;
          // The write sat in a transaction that closed before this publish: publishing after the commit is
          // the recommended order, not a finding.
          const closed = inside ? undefined : regions.find(([a, b]) => a <= w && w <= b && b < l);
          const afterCommit = closed !== undefined;
          // Go: committed, then published with the failure only logged or ignored: nothing ever sends it again.
          if (afterCommit && pub && fam === 'go' && file.added.has(l) && goSendErrorDropped(code, l, span.endLine)) {
            reported = true;
            const call = sentCall(t);
            const commit = closed[1];
            out.push({
              line: commit,
              endLine: l,
              severity: 'medium',
              confidence: 0.6,
              title: `${span.name} commits the write on line ${w}, then publishes ${call} and only logs or ignores a failed send, with no outbox: the committed change's event is lost for good`,
              functionName: span.name,
              entity: call,
              evidence: [
                { line: w, text: textOf(file, w), role: 'commit' },
                { line: commit, text: textOf(file, commit), role: 'commit' },
                { line: l, text: textOf(file, l), role: 'publish' },
              ],
              facts: { pattern: 'publish-before-commit', inTransaction: 'no', actor: 'request' },
              variant: 'distributed',
            });
            break;
          }
          if ((inside || (pub && !afterCommit)) && (file.added.has(l) || file.added.has(write))) {
            reported = true;
            const call = sentCall(t);
            out.push({
              line: write,
              endLine: l,
              severity: inside && !guessed ? 'high' : 'medium',
              confidence: guessed ? 0.6 : inside ? 0.75 : 0.6,
              title: inside
                ? `${span.name} ${pub ? 'publishes' : 'enqueues'} ${call} inside the transaction that writes on line ${write}: the message can go out before the commit, or for a rolled-back write`
                : `${span.name} publishes ${call} after the write on line ${write} with no outbox: a crash between them loses the event`,
              functionName: span.name,
              entity: call,
              evidence: [
                { line: write, text: textOf(file, write), role: inside ? 'commit' : 'commit' },
                { line: l, text: textOf(file, l), role: 'publish' },
              ],
              facts: { pattern: 'publish-before-commit', inTransaction: inside ? 'yes' : 'no', actor: 'request' },
              variant: 'distributed',
            });
            break;
          }
        }
        if (write === undefined && !pub && !enq && (isDbWriteLine(file, l) || (fam === 'python' && PY_SESSION_WRITE.test(t)))) write = l;
      }
      // The enqueue is in a helper; a caller elsewhere in the diff runs the helper inside its transaction.
      if (!reported && firstSend !== undefined) {
        const r = calledInsideTransaction(ctx.files, file, fam, span, firstSend, write);
        if (r) out.push(r);
      }
    }
    if (fam === 'ruby') out.push(...modelCallbackReports(ctx.files, file));
    return dedupe(out);
  },
);

function joinRe(a: RegExp | undefined, b: RegExp | undefined): RegExp | undefined {
  if (!a || !b) return a ?? b;
  return new RegExp(`${a.source}|${b.source}`);
}

// ------------------------------------------------------------------ JS: publishes through an injected publisher

/** Type names of broker clients and publisher services: `events: EventPublisher`, `producer: KafkaProducer`. */
const PUBLISHER_TYPE = /(?:Publisher|Producer|MessageBus|Broker|Kafka\w*|Rabbit\w*|Amqp\w*|Sns\w*|PubSub\w*|Nats\w*)$/;
const PUBLISH_METHOD = /^(?:publish\w*|send|sendMessage|sendBatch|produce|emit\w*|dispatch\w*)$/;
const publisherClassCache = new WeakMap<readonly SourceFile[], Map<string, Set<string>>>();

/** Classes of the diff (JS) with methods that publish to a broker: class name → those methods' names. */
function publisherClasses(files: readonly SourceFile[]): Map<string, Set<string>> {
  let map = publisherClassCache.get(files);
  if (map) return map;
  map = new Map();
  for (const f of files) {
    if (isTestPath(f.path) || familyOf(f.language) !== 'js') continue;
    const whole = fileCode(f);
    if (!PUBLISH_HINT.js.test(whole)) continue;
    const { code } = scanned(f);
    for (const fn of f.functions) {
      const [cls, method] = fn.name.split('.');
      if (!cls || !method || !/^[A-Z]/.test(cls) || method === 'constructor') continue;
      const body = code.slice(fn.startLine - 1, fn.endLine).join('\n');
      if (SAFE.test(body) || !PUBLISH_HINT.js.test(body) || !PUBLISH.js.test(body)) continue;
      const set = map.get(cls) ?? new Set<string>();
      set.add(method);
      map.set(cls, set);
    }
  }
  publisherClassCache.set(files, map);
  return map;
}

const typedCache = new WeakMap<SourceFile, Map<string, Set<string> | undefined>>();

/**
 * JS fields and parameters typed as a publisher (`private readonly events: EventPublisher`): a class of the diff
 * whose methods publish (those methods), or a broker client / publisher type by name (its publish-like methods).
 * A pattern over such calls in `fnText`, or undefined.
 */
function typedPublisherCalls(files: readonly SourceFile[], file: SourceFile, fam: Family, fnText: string): RegExp | undefined {
  if (fam !== 'js') return undefined;
  let typed = typedCache.get(file);
  if (!typed) {
    typed = new Map();
    typedCache.set(file, typed);
    const classes = publisherClasses(files);
    for (const m of fileCode(file).matchAll(/(?:^|[\s(,])(?:(?:private|public|protected|readonly)\s+)*([A-Za-z_$][\w$]*)\s*[?!]?:\s*([A-Z][\w$]*)\b/g)) {
      const [, name, type] = m;
      if (classes.has(type!)) typed.set(name!, classes.get(type!));
      else if (PUBLISHER_TYPE.test(type!) && !typed.has(name!)) typed.set(name!, undefined);
    }
  }
  const calls: string[] = [];
  for (const [name, methods] of typed) {
    if (!fnText.includes(`${name}.`)) continue;
    for (const m of fnText.matchAll(new RegExp(`(?<![\\w$])${escapeRe(name)}\\.([A-Za-z_$][\\w$]*)\\s*\\(`, 'g'))) {
      const method = m[1]!;
      if (methods ? methods.has(method) : PUBLISH_METHOD.test(method)) calls.push(`${escapeRe(name)}\\.${escapeRe(method)}`);
    }
  }
  if (calls.length === 0) return undefined;
  return new RegExp(`(?<![\\w$])(?:this\\.)?(?:${[...new Set(calls)].join('|')})\\s*\\(`);
}

// ------------------------------------------------------------------ Ruby: model callbacks that run inside the save's transaction

/** Active Record callbacks that run inside the transaction `save` / `destroy` opens (the `*_commit` ones run after it). */
const RB_TX_CALLBACK = /^\s*(after_(?:save|create|update|destroy|touch)|before_(?:save|create|update|destroy)|around_(?:save|create|update))\b(?!_)\s*(.*)$/;

/**
 * A model registers an in-transaction callback (`after_save :publish_change`, `after_update do … end`) whose body
 * publishes to a broker or enqueues a non-ActiveJob job: the message leaves before the save commits (a consumer
 * reads the old row), or for a save the surrounding transaction rolls back. Reported on the publish.
 */
function modelCallbackReports(files: readonly SourceFile[], file: SourceFile): DetectorReport[] {
  const whole = fileCode(file);
  if (!/\b(?:after|before|around)_(?:save|create|update|destroy|touch)\b/.test(whole)) return [];
  if (!/<\s*(?:ApplicationRecord|ActiveRecord::Base)\b/.test(whole) && !/(?:^|\/)app\/models\//.test(file.path)) return [];
  const { code } = scanned(file);
  const out: DetectorReport[] = [];
  const sends = (from: number, to: number): number | undefined => {
    const body = code.slice(from - 1, to).join('\n');
    if (SAFE.test(body)) return undefined;
    for (let k = from; k <= to; k++) {
      const t = code[k - 1] ?? '';
      const pub = PUBLISH_HINT.ruby.test(t) && PUBLISH.ruby.test(t);
      const enq = ENQUEUE_HINT.ruby.test(t) && ENQUEUE.ruby.test(t) && !deferredJob(files, 'ruby', t);
      if (pub || enq) return k;
    }
    return undefined;
  };
  for (let l = 1; l <= code.length; l++) {
    const t = code[l - 1] ?? '';
    const m = RB_TX_CALLBACK.exec(t);
    if (!m) continue;
    const targets: Array<[number, number, string]> = [];
    if (/^(?:do\b|\{|->|lambda\b|proc\b)/.test(m[2]!.trim()) || /\bdo\s*(?:\|[^|]*\|)?\s*$/.test(t)) {
      // Block form: the block's lines.
      let e = l;
      if (/\bdo\b/.test(t)) {
        const ind = indentOf(t);
        for (let k = l + 1; k <= Math.min(code.length, l + 60); k++) {
          const n = code[k - 1] ?? '';
          if (/^\s*end\b/.test(n) && indentOf(n) <= ind) {
            e = k;
            break;
          }
        }
      }
      targets.push([l, e, m[1]!]);
    } else {
      for (const sym of m[2]!.matchAll(/(?:^|,)\s*:(\w+[!?]?)(?=\s*(?:,|$))/g)) {
        const fn = file.functions.find((f) => (f.name.split(/[.#]/).pop() ?? '') === sym[1]);
        if (fn) targets.push([fn.startLine + 1, fn.endLine, m[1]!]);
      }
    }
    for (const [a, b, cb] of targets) {
      const send = sends(a, b);
      if (send === undefined || (!file.added.has(send) && !file.added.has(l))) continue;
      const call = sentCall(textOf(file, send));
      const pub = PUBLISH.ruby.test(code[send - 1] ?? '');
      out.push({
        line: send,
        endLine: send,
        severity: 'high',
        confidence: 0.7,
        title: `${cb} (line ${l}) ${pub ? 'publishes' : 'enqueues'} ${call} inside the transaction that saves the record: the message can go out before the commit, or for a save that is rolled back (use after_commit or an outbox)`,
        functionName: file.functions.find((f) => f.startLine <= send && send <= f.endLine && f.name !== '<hunk>')?.name ?? cb,
        entity: call,
        evidence: [
          { line: l, text: textOf(file, l), role: 'commit' },
          { line: send, text: textOf(file, send), role: 'publish' },
        ],
        facts: { pattern: 'publish-before-commit', inTransaction: 'yes', actor: 'request' },
        variant: 'distributed',
      });
    }
  }
  return out;
}

/** The call a publishing line makes: `if _, err := s.bus.Publish(` and `await queue.add(` give `s.bus.Publish`, `queue.add`. */
function sentCall(line: string): string {
  const t = line.trim();
  const stmt = t.replace(/^(?:if\s+)?(?:[\w\s,]*:?=(?!=)\s*)?/, '').replace(/^(?:await|return)\s+/, '');
  return /([\w$.:]+)\s*\(?/.exec(stmt)?.[1] ?? t;
}

/**
 * Go: whether the publish at `line` drops its error: the result is discarded (a bare call, `_ =`, an async
 * producer's `Input() <-`), or the `if err != nil { … }` that checks it neither returns the error nor panics
 * (it logs and carries on).
 */
function goSendErrorDropped(code: readonly string[], line: number, end: number): boolean {
  const t = code[line - 1] ?? '';
  if (/<-/.test(t)) return true;
  // The call's last line (parentheses balanced).
  let depth = 0;
  let last = line;
  for (let k = line; k <= Math.min(end, line + 30); k++) {
    for (const ch of code[k - 1] ?? '') {
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    last = k;
    if (depth <= 0) break;
  }
  let check: number | undefined;
  if (/^\s*if\b/.test(t)) check = last;
  else if (/^\s*(?:return|defer)\b/.test(t)) return false;
  // `go p.Publish(…)`, `_ = p.Publish(…)`, a bare `p.Publish(…)`: the error is never looked at.
  else if (/^\s*(?:go\s|(?:_\s*,\s*)*_\s*=|[\w$.]+\()/.test(t)) return true;
  else {
    // `err = p.Publish(…)` / `_, _, err := …` followed by `if err != nil {`.
    for (let k = last + 1; k <= Math.min(end, last + 3); k++) {
      const n = code[k - 1] ?? '';
      if (!n.trim()) continue;
      if (/^\s*if\b[^\n]*\berr\w*\s*!=\s*nil/.test(n)) check = k;
      break;
    }
    if (check === undefined) return false;
  }
  if (!/!=\s*nil\s*\{\s*$/.test(code[check - 1] ?? '')) return false;
  const ind = (code[check - 1] ?? '').search(/\S/);
  const ifInd = (code[(/^\s*if\b/.test(t) ? line : check) - 1] ?? '').search(/\S/);
  for (let k = check + 1; k <= Math.min(end, check + 40); k++) {
    const n = code[k - 1] ?? '';
    if (!n.trim()) continue;
    if (n.search(/\S/) <= Math.min(ind, ifInd) && /^\s*\}/.test(n)) return true;
    if (/\breturn\b[^\n]*\berr\w*\b|\bpanic\(|\.Fatal\w*\(|\bErrorf\(|\bretry\b|\bRetry\w*\(/.test(n)) return false;
  }
  return false;
}

/** A Rails ActiveJob enqueue, which Active Record holds back until the transaction commits (unless the diff turns that off). */
function deferredJob(files: readonly SourceFile[], fam: Family, line: string): boolean {
  if (fam !== 'ruby' || !ACTIVE_JOB.test(line)) return false;
  return !files.some((f) => f.lines.some((x) => x.includes('enqueue_after_transaction_commit') && ACTIVE_JOB_IMMEDIATE.test(x)));
}

/** Line ranges of transactions opened inside [start, end]. */
function txRegions(file: SourceFile, fam: Family, start: number, end: number): Array<[number, number]> {
  const { code } = scanned(file);
  const out: Array<[number, number]> = [];
  /** The first line after `from` (up to `end`) matching `re`, or `end`. */
  const until = (from: number, re: RegExp): number => {
    for (let k = from + 1; k <= end; k++) if (re.test(code[k - 1] ?? '')) return k;
    return end;
  };
  if (fam === 'python') {
    // @transaction.atomic on the function: the whole body is one transaction.
    for (let k = start - 1; k >= Math.max(1, start - 4); k--) {
      if (/^\s*@(?:transaction\.)?atomic\b/.test(code[k - 1] ?? '')) out.push([start, end]);
    }
  }
  for (let l = start; l <= end; l++) {
    const t = code[l - 1] ?? '';
    if (fam === 'js' && /\.\$?transaction\s*\(/.test(t)) {
      const cb = file.functions.filter((f) => f.startLine === l || f.startLine === l + 1).sort((a, b) => b.endLine - a.endLine)[0];
      if (cb) out.push([l, cb.endLine]);
      // Unmanaged: const trx = await knex.transaction(); … await trx.commit()
      else if (/\.\$?transaction\s*\(\s*\)/.test(t)) out.push([l, until(l, /\.commit\s*\(/)]);
    } else if (fam === 'js' && /\bstartTransaction\s*\(|\.query\(\s*['"`]\s*BEGIN\b/i.test(t)) {
      out.push([l, until(l, /\bcommitTransaction\s*\(|\.query\(\s*['"`]\s*COMMIT\b|\.commit\s*\(/i)]);
    } else if (fam === 'python' && /^\s*(?:async\s+)?with\s+[^\n]*(?:atomic\(|\.begin\(|\.transaction\()/.test(t)) {
      out.push([l, blockEnd(code, l, end)]);
    } else if (fam === 'ruby' && /\b(?:transaction|with_lock)\b[^\n]*\bdo\b/.test(t)) {
      const ind = indentOf(t);
      let e = end;
      for (let k = l + 1; k <= end; k++) {
        const n = code[k - 1] ?? '';
        if (/^\s*end\b/.test(n) && indentOf(n) <= ind) {
          e = k;
          break;
        }
      }
      out.push([l, e]);
    } else if (fam === 'go' && /\bBegin(?:Tx)?\s*\(/.test(t)) {
      out.push([l, until(l, /\.Commit\s*\(/)]);
    }
  }
  if (fam === 'python' && out.length === 0) {
    // SQLAlchemy / DB-API without a block: everything before session.commit() is still uncommitted.
    for (let l = start; l <= end; l++) {
      if (PY_COMMIT.test(code[l - 1] ?? '')) {
        out.push([start, l]);
        break;
      }
    }
  }
  return out;
}

/**
 * A SQLAlchemy / DB-API commit: `session.commit()`, `await db.commit()`, `self._session.commit()`, `conn.commit()`
 * (FastAPI's `db: Session = Depends(get_db)` names the session `db`).
 */
const PY_COMMIT = /\b(?:\w*session|db\.session|\w*_db|db|conn|connection|cursor|transaction|uow)\.commit\s*\(\s*\)/;
/** Rows staged in a SQLAlchemy session (`db.add(x)`, `session.add_all(…)`, `await db.flush()`): written at the next commit. */
const PY_SESSION_WRITE = /\b(?:\w*session|\w*_db|db)\.(?:add|add_all|merge|flush|bulk_save_objects|bulk_insert_mappings)\s*\(/;

/** Django ORM code: its multi-write service blocks are the ones wrapped in `transaction.atomic()`. */
const DJANGO = /\bfrom\s+django\b|\bimport\s+django\b|\.objects\.\w+\(|\btransaction\.atomic\b/;

/**
 * Python code rebuilt from hunks often starts inside a block whose opener the diff does not show. When the
 * file is Django ORM code, `line` sits in such a block (its opener is above a hidden gap and a shown
 * line further down closes the block back to a body indentation > 0) and the block writes to the database
 * before `line`, the block is taken for the `with transaction.atomic():` it almost always is. Returns the
 * shown part of that block.
 */
function hiddenTxBlock(file: SourceFile, line: number): [number, number] | undefined {
  if (file.whole || !file.shown.has(line)) return undefined;
  const { code } = scanned(file);
  if (!DJANGO.test(fileCode(file))) return undefined;
  const ind = indentOf(code[line - 1] ?? '');
  if (ind === 0) return undefined;
  let top: number | undefined;
  for (let k = line - 1; k >= Math.max(1, line - 200); k--) {
    if (!file.shown.has(k)) {
      top = k + 1;
      break;
    }
    const t = code[k - 1] ?? '';
    if (!t.trim()) continue;
    if (indentOf(t) < ind) return undefined;
  }
  if (top === undefined) return undefined;
  let bottom: number | undefined;
  for (let k = line + 1; k <= Math.min(code.length, line + 200); k++) {
    if (!file.shown.has(k)) break;
    const t = code[k - 1] ?? '';
    if (!t.trim()) continue;
    const i = indentOf(t);
    if (i >= ind) continue;
    // `except` / `else` / `finally` close a try or an if, not a `with` block.
    if (i > 0 && !/^\s*(?:def|class|async\s+def|@|except\b|else\b|elif\b|finally\b)/.test(t)) bottom = k - 1;
    break;
  }
  if (bottom === undefined) return undefined;
  for (let k = top; k < line; k++) if (isDbWriteLine(file, k)) return [top, bottom];
  return undefined;
}

/** The first database write of the hidden-opener block that holds `line`. */
function hiddenBlockWrite(file: SourceFile, line: number): number | undefined {
  const block = hiddenTxBlock(file, line);
  if (!block) return undefined;
  for (let k = block[0]; k < line; k++) if (isDbWriteLine(file, k)) return k;
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[$.*+?^(){}[\]|\\]/g, '\\$&');
}

const callSiteCache = new WeakMap<readonly SourceFile[], Map<string, Map<SourceFile, number[]>>>();

/**
 * Every call `name(` of a function defined in the review's files, by name: file and 1-based lines. Built once per review, so finding the callers
 * of a publishing helper costs a lookup, not a scan of every file per helper.
 */
function callSites(files: readonly SourceFile[]): Map<string, Map<SourceFile, number[]>> {
  let index = callSiteCache.get(files);
  if (index) return index;
  index = new Map();
  // Only calls of functions the review defines can reach a publishing helper.
  const defined = new Set(files.flatMap((f) => f.functions.map((fn) => fn.name.split('.').pop() ?? '')));
  const call = /([A-Za-z_$][\w$]*)\s*\(/g;
  for (const f of files) {
    f.lines.forEach((line, i) => {
      if (line.indexOf('(') < 0) return;
      for (const m of line.matchAll(call)) {
        if (!defined.has(m[1]!)) continue;
        // A definition is not a call: `function name(`, `def name(`, `func name(`, a method header `name(…) {`.
        const before = line.slice(0, m.index);
        if (/\b(?:function\*?|def|func)\s*$/.test(before) || (/^\s*(?:async\s+)?$/.test(before) && /\)\s*(?::[^{]*)?[{:]\s*$/.test(line))) continue;
        let byFile = index!.get(m[1]!);
        if (!byFile) index!.set(m[1]!, (byFile = new Map()));
        const lines = byFile.get(f) ?? [];
        if (lines[lines.length - 1] !== i + 1) lines.push(i + 1);
        byFile.set(f, lines);
      }
    });
  }
  callSiteCache.set(files, index);
  return index;
}

/**
 * `span` publishes or enqueues at `send` but opens no transaction itself; some function of the diff calls it
 * from inside a transaction (after a write there, or `span` writes before `send`). The message then leaves
 * before that caller commits. Reported on the helper, where the publish is.
 */
function calledInsideTransaction(
  files: readonly SourceFile[],
  file: SourceFile,
  fam: Family,
  span: FunctionSpan,
  send: number,
  ownWrite: number | undefined,
): DetectorReport | undefined {
  const name = span.name.split('.').pop() ?? '';
  if (!/^[A-Za-z_$][\w$]{3,}$/.test(name) || GENERIC_NAME.test(name)) return undefined;
  const sites = callSites(files).get(name);
  if (!sites) return undefined;
  const callRe = new RegExp(`(?<![\\w$])${escapeRe(name)}\\s*\\(`);
  const defRe = new RegExp(`\\b(?:def|function|func)\\s+${escapeRe(name)}\\b|^\\s*(?:async\\s+)?${escapeRe(name)}\\s*\\([^)]*\\)\\s*[:{]`);
  for (const [f, lines] of sites) {
    if (isTestPath(f.path) || familyOf(f.language) !== fam) continue;
    const { code } = scanned(f);
    for (const c of lines) {
      const t = code[c - 1] ?? '';
      if (!callRe.test(t) || defRe.test(t)) continue;
      if (f === file && span.startLine <= c && c <= span.endLine) continue;
      if (SAFE.test(t) || SAFE.test(code[c - 2] ?? '')) continue;
      if (!file.added.has(send) && !f.added.has(c)) continue;
      const outer = f.functions.filter((fn) => fn.startLine <= c && c <= fn.endLine).sort((a, b) => a.startLine - b.startLine)[0];
      const [lo, hi] = outer ? [outer.startLine, outer.endLine] : [1, code.length];
      if (/on_commit|after_commit|afterCommit/.test(code.slice(Math.max(0, c - 3), c).join('\n'))) continue;
      const visible = txRegions(f, fam, lo, hi).find(([a, b]) => a <= c && c <= b);
      const region = visible ?? (fam === 'python' ? hiddenTxBlock(f, c) : undefined);
      if (!region) continue;
      let callerWrite: number | undefined;
      for (let k = region[0]; k < c; k++) {
        if (isDbWriteLine(f, k)) {
          callerWrite = k;
          break;
        }
      }
      if (callerWrite === undefined && ownWrite === undefined) continue;
      const sendText = textOf(file, send);
      const call = sentCall(sendText);
      const caller = outer?.name && !/^<|callback$/.test(outer.name) ? outer.name : 'its caller';
      const where = `${f.path}:${c}`;
      const evidence = [];
      if (ownWrite !== undefined) evidence.push({ line: ownWrite, text: textOf(file, ownWrite), role: 'commit' });
      evidence.push({ line: send, text: sendText, role: 'publish' });
      return {
        line: ownWrite ?? send,
        endLine: send,
        severity: 'high',
        confidence: visible ? 0.7 : 0.6,
        title: `${span.name} ${PUBLISH[fam].test(scanned(file).code[send - 1] ?? '') ? 'publishes' : 'enqueues'} ${call}, and ${caller} calls it inside a transaction (${where}): the message can go out before the commit, or for a rolled-back write`,
        functionName: span.name,
        entity: call,
        evidence,
        facts: { pattern: 'publish-before-commit', inTransaction: 'yes', actor: 'request' },
        variant: 'distributed',
      };
    }
  }
  return undefined;
}

/** Whether some line of (from, to) is not shown by the diff. */
function hiddenBefore(file: SourceFile, from: number, to: number): boolean {
  if (file.whole) return false;
  for (let k = from + 1; k < to; k++) if (!file.shown.has(k)) return true;
  return false;
}

const moduleHelperCache = new WeakMap<readonly SourceFile[], Map<Family, Array<[string, string]>>>();

/**
 * Module-level helpers of the diff that publish to a broker, called through their module
 * (`events.publish(…)` for `events.py`'s `def publish`, `bus.emitOrderPaid(…)` for `bus.ts`): a pattern over the
 * calls that `fnText` makes, or undefined when it makes none.
 */
function moduleHelperCalls(files: readonly SourceFile[], fam: Family, fnText: string): RegExp | undefined {
  let byFam = moduleHelperCache.get(files);
  if (!byFam) {
    byFam = new Map();
    for (const f of files) {
      if (isTestPath(f.path)) continue;
      const fm = familyOf(f.language);
      if (fm !== 'python' && fm !== 'js') continue;
      const whole = fileCode(f);
      if (!PUBLISH_HINT[fm].test(whole) || !PUBLISH[fm].test(whole)) continue;
      const mod = /([A-Za-z_]\w*)\.\w+$/.exec(f.path)?.[1];
      if (!mod || /^(?:index|__init__|main|utils?|helpers?)$/.test(mod)) continue;
      const { code } = scanned(f);
      for (const fn of f.functions) {
        if (fn.name.includes('.') || fn.name.startsWith('<') || /callback$/.test(fn.name)) continue;
        const body = code.slice(fn.startLine - 1, fn.endLine).join('\n');
        if (SAFE.test(body) || !PUBLISH[fm].test(body)) continue;
        const list = byFam.get(fm) ?? [];
        list.push([mod, fn.name]);
        byFam.set(fm, list);
      }
    }
    moduleHelperCache.set(files, byFam);
  }
  const calls = (byFam.get(fam) ?? []).filter(([mod, name]) => fnText.includes(`${mod}.${name}(`));
  if (calls.length === 0) return undefined;
  return new RegExp(`(?<![\\w$.])(?:${calls.map(([m, n]) => `${escapeRe(m)}\\.${escapeRe(n)}`).join('|')})\\s*\\(`);
}
