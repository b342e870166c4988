/**
 * nondeterministic-idempotency-key (toctou): an idempotency / dedup key that is new on every call dedupes nothing.
 * A retried request, a redelivered job or a double click computes a fresh key, so the payment provider / queue sees
 * two different operations.
 *
 * Rule: in a changed function, a value passed as `idempotencyKey` / `idempotency_key` / an `Idempotency-Key` header /
 * `jobId` / `job_id` / `deduplicationId` / `MessageDeduplicationId` / `dedupKey` is built from the clock or from
 * randomness (Date.now(), new Date(), time.time(), datetime.now(), time.Now(), uuid4(), randomUUID(), uuidv4(),
 * uuid.New(), Math.random(), SecureRandom, nanoid(), ...), directly or through a local variable assigned from one
 * (`perCallKeys` in check-then-insert.ts, which shares the analysis). The finding spans the line that builds the key
 * and the call it is passed to; facts: idempotencyKey (the expression), keyName, actCall / externalCall (the call),
 * pattern 'nondeterministic-key' (the offline diagnosis writes the retry story for it).
 *
 * Quiet when the key comes from the request or the stored row (order.id, payment.idempotency_key, job.id,
 * `${userId}:${periodEnd}`), and when the random key is first stored in the database by this function (a
 * persisted key is reused by the retry path). Other options next to the key (a `delay: sendAt - Date.now()`) are not
 * the key and are ignored. Quiet too when the key feeds the act of a check-then-insert finding in the same function:
 * that finding carries the key (evidence role 'key', fact idempotencyKey), one hazard, one finding.
 *
 * Confidence: 0.85 when the expression itself is non-deterministic, 0.8 when it goes through a local variable.
 */
import { analyzedFunctions, dedupe, evidence, touchesAdded } from './lib/checks.js';
import { checkThenInsertIn, perCallKeys } from './check-then-insert.js';
import { createDetector, type DetectorReport } from './types.js';

export default createDetector(
  {
    id: 'nondeterministic-idempotency-key',
    failureMode: 'toctou',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'Idempotency / dedup keys (idempotencyKey, Idempotency-Key, jobId) built from the clock or a random value on each call.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/nondeterministic-idempotency-key.md',
  },
  (ctx) => {
    const reports: DetectorReport[] = [];
    for (const info of analyzedFunctions(ctx)) {
      const keys = perCallKeys(info);
      if (keys.length === 0) continue;
      // Keys already part of a check-then-insert finding in this function are reported there.
      const folded = new Set(
        checkThenInsertIn(ctx, info)
          .flatMap((r) => r.evidence)
          .filter((e) => e.role === 'key')
          .map((e) => e.line),
      );
      for (const k of keys) {
        if (folded.has(k.builtLine)) continue;
        const from = Math.min(k.builtLine, k.callLine, k.keyLine);
        const to = Math.max(k.builtLine, k.callLine, k.keyLine);
        if (!touchesAdded(ctx.file, from, to)) continue;
        const call = k.call || k.keyName;
        const ev = [evidence(info, k.builtLine, 'key')];
        if (k.keyLine !== k.builtLine) ev.push(evidence(info, k.keyLine, 'key'));
        if (k.callLine !== k.keyLine && k.callLine !== k.builtLine) ev.push(evidence(info, k.callLine, 'act'));
        else ev.push(evidence(info, k.keyLine, 'act'));
        ev.sort((a, b) => a.line - b.line || (a.role === 'key' ? -1 : 1));
        const facts: Record<string, string> = {
          pattern: 'nondeterministic-key',
          idempotencyKey: k.expr,
          keyName: k.keyName,
        };
        // A job id is built by whoever enqueues (usually a request handler), not by the worker that runs the job.
        if (k.queue) facts.actor = 'request';
        if (k.call) {
          facts.actCall = k.call;
          if (!k.queue) facts.externalCall = k.call;
        }
        reports.push({
          line: from,
          endLine: to,
          functionName: info.name,
          entity: call,
          evidence: ev,
          facts,
          title: `${k.keyName} passed to ${call} is built from ${k.source} on every call, so a retry or a double click gets a new key and ${k.queue ? 'the queue' : call} cannot recognise the duplicate`,
          confidence: k.direct ? 0.85 : 0.8,
          variant: k.queue ? 'queue' : 'distributed',
        });
      }
    }
    return dedupe(reports);
  },
);
