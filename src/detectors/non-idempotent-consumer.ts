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
 *
 * Confidence: 0.85 when a record write follows the effect and retries are explicit or certain; 0.75 when
 * the job is only at-least-once (BullMQ stalls); 0.65 with no record at all (medium); minus 0.2 when a
 * read-check of an "already sent/processed" flag precedes the effect (it narrows, but does not close, the
 * window: a crash between effect and record still repeats the effect).
 *
 * Deliberately left alone: consumers that claim first (unique row, ON CONFLICT DO NOTHING, skipDuplicates,
 * get_or_create, create_or_find_by, SET NX), deterministic BullMQ jobIds, idempotency keys, Celery tasks
 * without any retry setting, Sidekiq jobs with `retry: false`, consumers whose only writes are conditional
 * UPDATE state transitions, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import { consumerOf, dedupe, isDbWriteLine, DEDUP, deterministicJobId, familyOf, isTestPath, scanTargets, scanned, SIDE_EFFECT, textOf } from './lib/flow.js';

export default createDetector(
  {
    id: 'non-idempotent-consumer',
    failureMode: 'message_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'ruby'],
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
      const info = consumerOf(file, span, ctx.files);
      if (!info || !info.retries) continue;
      if (info.broker === 'bullmq' && deterministicJobId(ctx.files)) continue;
      let effect: number | undefined;
      for (let l = span.startLine + 1; l <= span.endLine; l++) {
        if (SIDE_EFFECT[fam].test(code[l - 1] ?? '')) {
          effect = l;
          break;
        }
      }
      if (effect === undefined) continue;
      const beforeEffect = code.slice(span.startLine - 1, effect).join('\n');
      if (DEDUP.test(beforeEffect) || DEDUP.test(code[effect - 1] ?? '')) continue;
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
