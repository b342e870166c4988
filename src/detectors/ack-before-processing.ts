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
 * Also: any awaited non-logging call or multi-line write chain after the ack is work; acks through a small
 * local helper count; `noAck: true` / `auto_ack=True` consumers whose handler does work are flagged on the option.
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
  jsStatementAt,
  JS_REPLY,
  replyStatus,
  scanTargets,
  scanned,
  SIDE_EFFECT,
  textOf,
  type Family,
} from './lib/flow.js';

const ACK: Record<Family, RegExp> = {
  js: /\b(?:[\w$.]*[cC]hannel|ch|chan|this\.ch)\.ack\s*\(|\b(?:msg|message|m|delivery|event)\.ack\s*\(\s*\)|\bcommitOffsets\s*\(|new\s+DeleteMessageCommand\s*\(|\.deleteMessage\s*\(|\.xack\s*\(|\bresolveOffset\s*\(/,
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

/** An awaited call (JS/Python): after an ack, any awaited call that is not logging or metrics is the work. */
const AWAITED_CALL = /\bawait\s+(?:new\s+)?[\w$]+(?:\s*\.\s*[\w$]+)*\s*\(/;
const NOT_WORK = /\b(?:log(?:ger)?|console|metrics?|stats|statsd|tracer|span|sleep|delay|setTimeout|wait|rollback)\b|\.(?:ack|nack|reject|info|debug|warn|error)\s*\(/i;
const SIBLING_BRANCH = /^\s*(?:\}\s*)?(?:catch|finally|else|except|elif|rescue|ensure)\b/;
/** A statement on logging / metrics / tracing objects: never the work. */
const TELEMETRY = /^\s*(?:await\s+)?(?:this\.)?(?:log|logger|console|metrics?|stats|statsd|tracer|span|histogram|counter)\s*\./i;
/** A JS statement (possibly a multi-line chain) that ends in a write call. */
const CHAIN_WRITE = /\.(?:insert|insertMany|insertOne|update|updateOne|updateMany|upsert|create|createMany|delete|deleteMany|destroy|save|increment|decrement|merge)\s*\(/;
/** amqplib `consume(queue, handler, { noAck: true })`: the broker forgets the message on delivery. */
const NO_ACK = /\bnoAck\s*:\s*true\b|\bauto_ack\s*=\s*True\b/;

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
    const ackHelper = ackHelpers(file, code, fam);
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      const webhook = fam === 'js' && isWebhookHandler(file, span);
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        const m = masked[l - 1] ?? '';
        const c = code[l - 1] ?? '';
        const isAck = ACK[fam].test(c) || (ackHelper !== undefined && ackHelper.test(c) && !/\bfunction\b/.test(c));
        const isReply = webhook && JS_REPLY.test(m) && !/\breturn\b/.test(m) && (replyStatus(c) ?? 200) < 300;
        if (!isAck && !isReply) continue;
        if (innermost(file, l) !== span) continue;
        if (earlyExit(code, l, span.startLine, span.endLine)) continue;
        let work: number | undefined;
        let strong = false;
        const ackIndent = indentOf(c);
        for (let k = l + 1; k <= span.endLine; k++) {
          const t = code[k - 1] ?? '';
          if (!t.trim()) continue;
          if (/\bnack\b|\breject\b/.test(t)) break;
          // A sibling branch (catch / finally / else) of the ack's block is not work done after the ack.
          if (indentOf(t) < ackIndent && SIBLING_BRANCH.test(t)) break;
          if (TELEMETRY.test(t)) continue;
          if (isDbWriteLine(file, k) || SIDE_EFFECT[fam].test(t)) {
            work = k;
            strong = true;
            break;
          }
          if (fam === 'js' && CHAIN_WRITE.test(jsStatementAt(file, k)?.text ?? '')) {
            work = k;
            strong = true;
            break;
          }
          if (WORK_CALL[fam].test(masked[k - 1] ?? '') && !/\blog(?:ger)?\b|console\.|\.ack\b/.test(t)) {
            work = k;
            break;
          }
          if ((fam === 'js' || fam === 'python') && AWAITED_CALL.test(masked[k - 1] ?? '') && !NOT_WORK.test(t)) {
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
    if (fam === 'js' || fam === 'python') out.push(...autoAck(file, code, masked, fam));
    return dedupe(out);
  },
);

/**
 * Auto-ack consumers: amqplib `consume(q, handler, { noAck: true })` / pika `basic_consume(..., auto_ack=True)`
 * whose handler writes or calls out. The broker forgets each message on delivery, so a crash in the
 * handler loses it. Handlers are the callback that ends just before the option, or a named local function.
 */
function autoAck(file: SourceFile, code: string[], masked: string[], fam: Family): DetectorReport[] {
  const out: DetectorReport[] = [];
  for (let l = 1; l <= code.length; l++) {
    const c = code[l - 1] ?? '';
    if (!c.includes('oAck') && !c.includes('auto_ack')) continue;
    if (!NO_ACK.test(c) || !file.added.has(l)) continue;
    // The consume call: on this line or up to 40 lines above (the inline callback sits between).
    let consume = 0;
    for (let k = l; k >= Math.max(1, l - 40); k--) {
      if (/\b(?:consume|basic_consume)\s*\(/.test(code[k - 1] ?? '')) {
        consume = k;
        break;
      }
    }
    if (!consume) continue;
    const named = /\b(?:consume|basic_consume)\s*\(([^)]*)/.exec(code[consume - 1] ?? '')?.[1] ?? '';
    const handler =
      file.functions.find((f) => f.startLine >= consume && f.startLine <= l && f.endLine <= l) ??
      file.functions.find((f) => {
        const n = f.name.replace(/^.*\./, '');
        return /^[A-Za-z_$][\w$]*$/.test(n) && new RegExp(`(?:^|[^\\w$])${n}(?:[^\\w$(]|$)`).test(named) && f.name !== '<hunk>';
      });
    if (!handler) continue;
    let work: number | undefined;
    for (let k = handler.startLine + 1; k <= handler.endLine; k++) {
      const t = code[k - 1] ?? '';
      if (!t.trim()) continue;
      if (
        isDbWriteLine(file, k) ||
        SIDE_EFFECT[fam].test(t) ||
        (fam === 'js' && CHAIN_WRITE.test(jsStatementAt(file, k)?.text ?? '')) ||
        (WORK_CALL[fam].test(masked[k - 1] ?? '') && !NOT_WORK.test(t))
      ) {
        work = k;
        break;
      }
    }
    if (work === undefined) continue;
    out.push({
      line: l,
      endLine: l,
      severity: 'high',
      confidence: 0.75,
      title: `${handler.name} consumes with automatic ack; a crash during the work on line ${work} loses the message`,
      functionName: handler.name,
      entity: 'rabbitmq',
      evidence: [
        { line: l, text: textOf(file, l), role: 'ack' },
        { line: work, text: textOf(file, work), role: 'side-effect' },
      ],
      facts: { pattern: 'ack-before-work', consumer: handler.name, actor: 'consumer', broker: 'rabbitmq' },
      variant: 'queue',
    });
  }
  return out;
}

/**
 * Small local functions whose body acks (`function ackMessage(msg) { channel.ack(msg); }`, `def _ack(...)`):
 * a call to one of them is an ack too. Returns a pattern for their call sites, or undefined.
 */
function ackHelpers(file: SourceFile, code: string[], fam: Family): RegExp | undefined {
  const names: string[] = [];
  for (const f of file.functions) {
    if (f.endLine - f.startLine > 8 || !/^[A-Za-z_$][\w$]*$/.test(f.name)) continue;
    for (let l = f.startLine; l <= f.endLine; l++) {
      if (ACK[fam].test(code[l - 1] ?? '')) {
        names.push(f.name);
        break;
      }
    }
  }
  if (!names.length) return undefined;
  return new RegExp(`(?:^|[^\\w$.])(?:this\\.)?(?:${names.join('|')})\\s*\\(`);
}

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
