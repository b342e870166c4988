/**
 * ack-before-processing (message_ordering)
 *
 * Rule: a consumer acknowledges a message (amqplib `channel.ack(msg)`, Pub/Sub `message.ack()`, kafkajs
 * `commitOffsets`/`resolveOffset`, SQS `DeleteMessage`, Redis `XACK`, pika `basic_ack`, kafka-python
 * `consumer.commit()`, Go `d.Ack(false)` / `CommitMessages`) and only then does the work the message asks
 * for (a database write, an external side effect, a handle/process call). If the process dies or the work
 * throws after the ack, the broker has already forgotten the message: it is lost, never redelivered.
 * A webhook handler that replies 2xx before doing the work is the HTTP form of the same hazard (the
 * provider stops retrying).
 *
 * Confidence: 0.85 when a database write or external side effect follows the ack; 0.7 when a generic
 * handle/process call follows; 0.6 for a webhook's early 2xx (some providers ask for fast replies, so
 * it is only a finding when the work after it can fail).
 *
 * Deliberately left alone: acks after the work (the fixed order), acks on an early-exit path (`ack; return`,
 * inside `catch`/`except`/`rescue` or an `if` branch that drops a poison message), `nack`, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import type { SourceFile } from '../parse/types.js';
import {
  dedupe,
  isDbWriteLine,
  familyOf,
  fileCode,
  indentOf,
  innermost,
  isTestPath,
  isWebhookHandler,
  JS_REPLY,
  replyStatus,
  scanTargets,
  scanned,
  SIDE_EFFECT,
  textOf,
  type Family,
} from './lib/flow.js';

const ACK: Record<Family, RegExp> = {
  js: /\b(?:channel|ch|chan|amqpChannel|this\.channel|this\.ch)\.ack\s*\(|\b(?:msg|message|m)\.ack\s*\(\s*\)|\bcommitOffsets\s*\(|new\s+DeleteMessageCommand\s*\(|\.deleteMessage\s*\(|\.xack\s*\(|\bresolveOffset\s*\(/,
  python: /\.basic_ack\s*\(|\b(?:msg|message|m)\.ack\s*\(\s*\)|\bconsumer\.commit\s*\(|\.delete_message\s*\(|\.xack\s*\(/,
  ruby: /\b(?:channel|ch)\.ack\s*\(|\backnowledge!?\b|\.delete_message\s*\(|\bmark_as_consumed\b/,
  go: /\b(?:msg|m|d|delivery|message)\.Ack\s*\(|\bCommitMessages\s*\(|\bDeleteMessage(?:WithContext)?\s*\(/,
  other: /(?!)/,
};

const WORK_CALL: Record<Family, RegExp> = {
  js: /\bawait\s+[\w$.]*(?:handle|process|apply|save|sync|import|fulfil|fulfill|charge|send|store|persist|record)\w*\s*\(/i,
  python: /(?:^|\s)(?:await\s+)?[\w.]*(?:handle|process|apply|save|store|persist|record)\w*\s*\(/i,
  ruby: /(?:^|\s)[\w.:]*(?:handle|process|apply|persist|record)\w*[\s(]/,
  go: /\b[\w.]*(?:handle|process|apply|save|store|persist|record)\w*\s*\(/i,
  other: /(?!)/,
};

const EXIT_HEADER = /^\s*(?:\}?\s*catch\b|\}?\s*else\b|except\b|rescue\b|if\b|elif\b|elsif\b|unless\b|when\b|case\b|else:|\} else)/;

export default createDetector(
  {
    id: 'ack-before-processing',
    failureMode: 'message_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby', 'go'],
    description: 'A consumer acks (or a webhook replies 2xx) before doing the work, so a crash loses the message.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/ack-before-processing.md',
  },
  (ctx) => {
    const file = ctx.file;
    if (isTestPath(file.path)) return [];
    const fam = familyOf(file.language);
    const { code, masked } = scanned(file);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      const webhook = fam === 'js' && isWebhookHandler(file, span);
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        const m = masked[l - 1] ?? '';
        const c = code[l - 1] ?? '';
        const isAck = ACK[fam].test(c);
        const isReply = webhook && JS_REPLY.test(m) && !/\breturn\b/.test(m) && (replyStatus(c) ?? 200) < 300;
        if (!isAck && !isReply) continue;
        if (innermost(file, l) !== span) continue;
        if (earlyExit(code, l, span.startLine, span.endLine)) continue;
        let work: number | undefined;
        let strong = false;
        for (let k = l + 1; k <= span.endLine; k++) {
          const t = code[k - 1] ?? '';
          if (!t.trim()) continue;
          if (/\bnack\b|\breject\b/.test(t)) break;
          if (isDbWriteLine(file, k) || SIDE_EFFECT[fam].test(t)) {
            work = k;
            strong = true;
            break;
          }
          if (WORK_CALL[fam].test(masked[k - 1] ?? '') && !/\blog(?:ger)?\b|console\.|\.ack\b/.test(t)) {
            work = k;
            break;
          }
        }
        if (work === undefined || !(file.added.has(l) || file.added.has(work))) continue;
        const confidence = isReply ? 0.6 : strong ? 0.85 : 0.7;
        const ackText = textOf(file, l);
        const facts: Record<string, string> = {
          pattern: 'ack-before-work',
          consumer: span.name,
          actor: isReply ? 'request' : 'consumer',
        };
        const broker = brokerOf(file, c);
        if (broker) facts.broker = broker;
        const msgVar = /\.ack\s*\(\s*([\w$.]+)/.exec(c)?.[1];
        if (msgVar) facts.messageId = msgVar;
        out.push({
          line: l,
          endLine: work,
          severity: isReply ? 'medium' : 'high',
          confidence,
          title: isReply
            ? `${span.name} replies 2xx to the webhook before processing it (line ${work}); a failure after the reply loses the event`
            : `${span.name} acknowledges the message before the work on line ${work}; a crash or error after the ack loses it`,
          functionName: span.name,
          entity: facts.broker ?? 'message',
          evidence: [
            { line: l, text: ackText, role: 'ack' },
            { line: work, text: textOf(file, work), role: strong ? 'side-effect' : 'side-effect' },
          ],
          facts,
          variant: isReply ? 'distributed' : 'queue',
        });
      }
    }
    return dedupe(out);
  },
);

/** The ack ends an early-exit path: followed by return/continue, or inside a catch/except/if branch. */
function earlyExit(code: string[], line: number, start: number, end: number): boolean {
  const t = code[line - 1] ?? '';
  if (/\breturn\b|\bcontinue\b|\bnext\b|\bbreak\b/.test(t)) return true;
  for (let k = line + 1; k <= end; k++) {
    const n = (code[k - 1] ?? '').trim();
    if (!n) continue;
    if (/^(?:return|continue|next|break|raise|throw)\b/.test(n)) return true;
    break;
  }
  const ind = indentOf(t);
  for (let k = line - 1; k > start; k--) {
    const p = code[k - 1] ?? '';
    if (!p.trim()) continue;
    if (indentOf(p) < ind) return EXIT_HEADER.test(p) || /^\s*\}?\s*(?:catch|else)\b/.test(p);
  }
  return false;
}

function brokerOf(file: SourceFile, ackLine: string): string | undefined {
  if (/basic_ack|channel\.ack|ch\.ack|\.Ack\(/.test(ackLine)) return 'rabbitmq';
  if (/commitOffsets|resolveOffset|consumer\.commit|CommitMessages|mark_as_consumed/.test(ackLine)) return 'kafka';
  if (/DeleteMessage|deleteMessage|delete_message/.test(ackLine)) return 'sqs';
  if (/xack/i.test(ackLine)) return 'redis-streams';
  if (/message\.ack\(\)|msg\.ack\(\)/.test(ackLine)) return /pubsub/i.test(fileCode(file)) ? 'pubsub' : undefined;
  return undefined;
}
