/**
 * nondeterministic-idempotency-key (toctou): an idempotency / dedup key that is new on every call dedupes nothing.
 * A retried request, a redelivered job or a double click computes a fresh key, so the payment provider / queue sees
 * two different operations.
 *
 * Rule: in a changed function, a value passed as `idempotencyKey` / `idempotency_key` / an `Idempotency-Key` header /
 * `jobId` / `job_id` / `deduplicationId` / `MessageDeduplicationId` / `dedupKey` is built from the clock or from
 * randomness (Date.now(), new Date(), time.time(), datetime.now(), time.Now(), uuid4(), randomUUID(), uuidv4(),
 * uuid.New(), Math.random(), SecureRandom, nanoid(), ...), directly or through a local variable assigned from one.
 *
 * Quiet when the key comes from the request or the stored row (order.id, payment.idempotency_key, job.id,
 * `${userId}:${periodEnd}`), and when the random key is first stored in the database by this function (a
 * persisted key is reused by the retry path). Other options next to the key (a `delay: sendAt - Date.now()`) are not
 * the key and are ignored.
 *
 * Confidence: 0.85 when the expression itself is non-deterministic, 0.8 when it goes through a local variable.
 */
import {
  analyzedFunctions,
  dedupe,
  evidence,
  touchesAdded,
} from './lib/checks.js';
import { callName, findChains, familyOf, stringEnd } from './lib/sql.js';
import { createDetector, type DetectorReport } from './types.js';

const KEY = /\b(idempotency[_-]?key|idempotencyKey|IdempotencyKey|jobId|job_id|JobID|dedup(?:e|lication)?[_-]?(?:key|id)|deduplicationId|DeduplicationId|MessageDeduplicationId|dedupKey|dedupeKey)\b['"]?\s*(?:\]\s*)?(?:=>|:(?!:)|=(?!=))|['"](Idempotency-Key|X-Idempotency-Key|Idempotency_Key)['"]\s*(?:\]\s*)?(?:=>|:(?!:)|=(?!=)|,)/gi;

const NONDET = /\bDate\.now\(\)|\bnew Date\(\s*\)|\bperformance\.now\(\)|\btime\.time(?:_ns)?\(\)|\bdatetime\.(?:now|utcnow)\(|\btimezone\.now\(\)|\buuid\.uuid[14]\(\)|\buuid[14]\(\)|\buuidv[147]\(\)|\buuid\(\)|\bv4\(\)|\brandomUUID\(\)|\bcrypto\.randomBytes\(|\bMath\.random\(\)|\bSecureRandom\.\w+|\bnanoid\(\)|\bcuid2?\(\)|\bulid\(\)|\buuid\.New(?:String)?\(\)|\btime\.Now\(\)|\bTime\.(?:now|current)\b|\bDateTime\.now\b|\bsecrets\.token_\w+\(|\brandom\.\w+\(|\bObjectId\(\)|\bDate\.current\b|\bTime\.zone\.now\b/;

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
      const fam = familyOf(info.lang);
      if (!/idempot|jobid|job_id|dedup/i.test(info.code)) continue;
      const chains = findChains(info.code, info.lang);
      for (const m of info.code.matchAll(KEY)) {
        const keyName = m[1] ?? m[2]!;
        const valueStart = (m.index ?? 0) + m[0].length;
        // Python/Ruby/JS header dicts: `"Idempotency-Key": value`; Go: `IdempotencyKey: stripe.String(value)`.
        const value = exprAt(info.code, valueStart, fam).trim();
        if (!value || /^(?:=|undefined|None|nil|null)$/.test(value)) continue;
        let keyLine = info.idx.line(m.index ?? 0);
        let builtLine = keyLine;
        let direct = true;
        let expr = value;
        if (!NONDET.test(value)) {
          // Through a local variable: `const key = `${id}-${Date.now()}``.
          const ident = /^(?:\w+\.String\(\s*)?([A-Za-z_$][\w$]*)\s*\)?$/.exec(value)?.[1] ?? /\$\{\s*([A-Za-z_$][\w$]*)\s*\}/.exec(value)?.[1] ?? /^str\(\s*([A-Za-z_]\w*)\s*\)$/.exec(value)?.[1];
          if (!ident) continue;
          const asg = lastAssignment(info.code, ident, m.index ?? 0);
          if (!asg || !NONDET.test(asg.rhs)) continue;
          builtLine = info.idx.line(asg.at);
          direct = false;
          expr = asg.rhs.trim();
          // A key stored by this function before use is reused by retries: not flagged.
          if (info.ops.some((op) => (op.kind === 'insert' || op.kind === 'update' || op.kind === 'upsert') && op.start < (m.index ?? 0) && new RegExp(String.raw`\b${ident}\b`).test(info.code.slice(op.start, op.end)))) continue;
        }
        // The call the key is passed to.
        const at = m.index ?? 0;
        const enclosing = chains
          .filter((c) => c.segments.some((s) => s.argsAt !== undefined && s.argsAt <= at && at <= s.argsAt + (s.args ?? '').length))
          .sort((a, b) => b.start - a.start);
        const callChain = enclosing.find((c) => !/^(?:String|str|dict|headers|stripe\.String|aws\.String)$/.test(callName(c)));
        const call = callChain ? callName(callChain).replace(/\.String$/, '') : keyName;
        const callLine = callChain ? info.idx.line(callChain.start) : keyLine;
        const from = Math.min(builtLine, callLine, keyLine);
        const to = Math.max(builtLine, callLine, keyLine);
        if (!touchesAdded(ctx.file, from, to)) continue;
        const queue = /^(?:jobId|job_id|JobID)$/i.test(keyName) || /dedup/i.test(keyName) || /\b(?:queue|add|addBulk|enqueue|perform|send_message|sendMessage|publish|apply_async)\b/i.test(call);
        const ev = [evidence(info, builtLine, 'key')];
        if (keyLine !== builtLine) ev.push(evidence(info, keyLine, 'key'));
        if (callLine !== keyLine && callLine !== builtLine) ev.push(evidence(info, callLine, 'act'));
        else ev.push(evidence(info, keyLine, 'act'));
        ev.sort((a, b) => a.line - b.line);
        reports.push({
          line: from,
          endLine: to,
          functionName: info.fn.name,
          entity: call,
          evidence: ev,
          facts: {
            idempotencyKey: expr.length > 120 ? expr.slice(0, 117) + '...' : expr,
            actCall: call,
            ...(queue ? {} : { externalCall: call }),
            keyColumns: keyName,
          },
          title: `${keyName} passed to ${call} is built from ${NONDET.exec(expr)?.[0] ?? 'a per-call value'}, so a retry gets a new key and is not deduplicated`,
          confidence: direct ? 0.85 : 0.8,
          variant: queue ? 'queue' : 'distributed',
        });
      }
    }
    return dedupe(reports);
  },
);

/** The expression starting at `i`, up to a `,`, `}` / `)` / `]` closing an outer bracket, `;` or a line end at depth 0. */
function exprAt(code: string, i: number, fam: ReturnType<typeof familyOf>): string {
  let depth = 0;
  let j = i;
  for (; j < code.length && j < i + 400; j++) {
    const c = code[j]!;
    if (c === '"' || c === "'" || (c === '`' && fam !== 'js')) {
      j = stringEnd(code, j, fam) - 1;
      continue;
    }
    if (c === '`') {
      const end = code.indexOf('`', j + 1);
      j = end < 0 ? code.length : end;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) break;
      depth--;
    } else if (depth === 0 && (c === ',' || c === ';' || c === '\n')) break;
  }
  return code.slice(i, j);
}

function lastAssignment(code: string, ident: string, before: number): { rhs: string; at: number } | undefined {
  const re = new RegExp(String.raw`(?:^|[\s;(])(?:const|let|var)?\s*${ident.replace(/\$/g, '\\$')}\s*:?=(?!=)\s*`, 'gm');
  let found: { rhs: string; at: number } | undefined;
  for (const m of code.slice(0, before).matchAll(re)) {
    const start = (m.index ?? 0) + m[0].length;
    const nl = code.indexOf('\n', start);
    found = { rhs: code.slice(start, nl < 0 ? code.length : nl), at: (m.index ?? 0) + m[0].length - 1 };
  }
  return found;
}
