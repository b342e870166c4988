/**
 * commit-then-publish (message_ordering)
 *
 * Rule: one function writes to the database and publishes to a broker, with no transactional outbox:
 * 1. inside a transaction (JS `db.transaction(async trx => …)` / `$transaction`, Python
 *    `with transaction.atomic()` / `session.begin()`, Ruby `transaction do … end`, Go `BeginTx … Commit`)
 *    a write is followed by a broker publish or a job enqueue: consumers can see the message before the
 *    commit (and find no row), or the transaction rolls back after the message went out;
 * 2. after a write, outside any transaction, a broker publish (Kafka, RabbitMQ, SNS, Pub/Sub, NATS,
 *    EventBridge): a crash between the two loses the event while the row is committed.
 *
 * Confidence: 0.75 for a publish or enqueue inside the transaction; 0.6 for a broker publish after the
 * write (medium). Plain job enqueues after a committed write are not flagged (too common to be useful).
 *
 * Deliberately left alone: an outbox table or model written in the same function (`outbox`), publishes
 * deferred to after commit (`transaction.on_commit`, `after_commit`, `afterCommit`), functions without a
 * database write, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import type { SourceFile } from '../parse/types.js';
import { blockEnd, dedupe, isDbWriteLine, familyOf, indentOf, isTestPath, scanTargets, scanned, textOf, type Family } from './lib/flow.js';

const PUBLISH: Record<Family, RegExp> = {
  js: /\b[\w$.]*(?:producer|Producer|publisher|Publisher|eventBus|EventBus|kafka|sns|snsClient|pubsub|PubSub|nats|eventBridge|EventBridge)[\w$.]*\.(?:send|sendBatch|publish|produce|putEvents|publishMessage)\s*\(|\b(?:channel|ch|amqpChannel)\.(?:publish|sendToQueue)\s*\(|new\s+(?:PublishCommand|PutEventsCommand|SendMessageCommand)\s*\(/,
  python: /\b[\w.]*(?:producer|publisher|event_bus|kafka|sns|pubsub|nats)[\w.]*\.(?:send|produce|publish|publish_message)\s*\(|\.basic_publish\s*\(/,
  ruby: /\b(?:Karafka\.producer|\w*Publisher|\w*Producer|EventBus|Hutch|Phobos|WaterDrop)\b[\w.:]*\.(?:publish|produce\w*|deliver_message)\b|\b(?:exchange|channel)\.publish\b/,
  go: /\b[\w.]*(?:producer|Producer|publisher|Publisher|writer|Writer|js|nc|ch|channel)\.(?:Publish|PublishWithContext|PublishMsg|WriteMessages|Produce|Send)\s*\(/,
  other: /(?!)/,
};

const ENQUEUE: Record<Family, RegExp> = {
  js: /\b[\w$.]*(?:queue|Queue)\.(?:add|addBulk|enqueue)\s*\(/,
  python: /\.(?:delay|apply_async)\s*\(|\bsend_task\s*\(/,
  ruby: /\.(?:perform_async|perform_later|perform_in|perform_at|deliver_later)\b/,
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
  go: /\.(?:Publish|WriteMessages|Produce|Send)/,
  other: /(?!)/,
};
const ENQUEUE_HINT: Record<Family, RegExp> = {
  js: /ueue\.(?:add|enqueue)/,
  python: ENQUEUE.python,
  ruby: ENQUEUE.ruby,
  go: /(?!)/,
  other: /(?!)/,
};

const SAFE = /outbox|Outbox|on_commit|after_commit|afterCommit|after_commit_everywhere/;

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
      if (!PUBLISH_HINT[fam].test(fnText) && !ENQUEUE_HINT[fam].test(fnText)) continue;
      const regions = txRegions(file, fam, span.startLine, span.endLine);
      let write: number | undefined;
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        const t = code[l - 1] ?? '';
        const pub = PUBLISH_HINT[fam].test(t) && PUBLISH[fam].test(t);
        const enq = ENQUEUE_HINT[fam].test(t) && ENQUEUE[fam].test(t);
        if ((pub || enq) && write !== undefined) {
          const region = regions.find(([a, b]) => a <= l && l <= b);
          const inside = region !== undefined && region[0] <= write;
          if ((inside || pub) && (file.added.has(l) || file.added.has(write))) {
            const call = /([\w$.:]+)\s*\(?/.exec(t.trim().replace(/^(?:await|return)\s+/, ''))?.[1] ?? t.trim();
            out.push({
              line: write,
              endLine: l,
              severity: inside ? 'high' : 'medium',
              confidence: inside ? 0.75 : 0.6,
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
        if (write === undefined && !pub && !enq && isDbWriteLine(file, l)) write = l;
      }
    }
    return dedupe(out);
  },
);

/** Line ranges of transactions opened inside [start, end]. */
function txRegions(file: SourceFile, fam: Family, start: number, end: number): Array<[number, number]> {
  const { code } = scanned(file);
  const out: Array<[number, number]> = [];
  for (let l = start; l <= end; l++) {
    const t = code[l - 1] ?? '';
    if (fam === 'js' && /\.\$?transaction\s*\(/.test(t)) {
      const cb = file.functions.filter((f) => f.startLine === l || f.startLine === l + 1).sort((a, b) => b.endLine - a.endLine)[0];
      if (cb) out.push([l, cb.endLine]);
    } else if (fam === 'python' && /^\s*(?:async\s+)?with\s+[^\n]*(?:atomic\(|\.begin\(|\.transaction\()/.test(t)) {
      out.push([l, blockEnd(code, l, end)]);
    } else if (fam === 'ruby' && /\btransaction\s+do\b/.test(t)) {
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
      let e = end;
      for (let k = l + 1; k <= end; k++) {
        if (/\.Commit\s*\(/.test(code[k - 1] ?? '')) {
          e = k;
          break;
        }
      }
      out.push([l, e]);
    }
  }
  return out;
}
