/**
 * floating-promise (async_ordering)
 *
 * Rule: inside a function, a call that returns a promise and writes or sends (an ORM/SQL write, a
 * transaction, a queue add, a broker publish, an email/SMS/payment/HTTP write, a Redis write) is used as
 * a bare statement: no `await`, `return`, `void`, `.then/.catch/.finally`, assignment or collection into
 * `Promise.all`. Python: an `async def` of the same diff called as a bare statement (the coroutine never
 * runs), or `asyncio.create_task(...)` whose task is dropped.
 *
 * Confidence:
 * - 0.9 when a reply follows in the same function and uses a variable passed to the write (`repo.save(f)`
 *   then `send({ id: f.id })`); 0.85 when a reply follows otherwise (pattern reply-before-write, high).
 * - 0.8 for a Python coroutine that is never awaited (it never runs at all).
 * - 0.65 in an async function with no reply after it (medium); 0.5 for a dropped `create_task` (low).
 *
 * Deliberately left alone: test files; `void p` and `p.catch(...)` (explicit fire-and-forget); promises
 * assigned to a variable (they may be awaited later); array/argument positions (`Promise.all([a(), b()])`);
 * arrow expression bodies (returned); sync builders (`repo.create`, `map.set`, `channel.publish` of
 * amqplib, which returns a boolean); calls whose receiver does not look like a database, queue or client.
 */
import { createDetector, type DetectorReport } from './types.js';
import {
  bareCalls,
  bodyOf,
  closeOf,
  classifyJsChain,
  codeLine,
  dedupe,
  familyOf,
  handledChain,
  innermost,
  isBare,
  isTestPath,
  JS_REPLY,
  jsOrmInFile,
  maskedLine,
  ormOf,
  scanTargets,
  scanned,
  textOf,
} from './lib/flow.js';
import type { SourceFile, FunctionSpan } from '../parse/types.js';

export default createDetector(
  {
    id: 'floating-promise',
    failureMode: 'async_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python'],
    description: 'A write or send whose promise nobody awaits, often followed by a reply that claims it is done.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/floating-promise.md',
  },
  (ctx) => {
    if (isTestPath(ctx.file.path)) return [];
    const fam = familyOf(ctx.file.language);
    const out = fam === 'python' ? detectPython(ctx.file, ctx.files, ctx.changedFunctions) : detectJs(ctx.file, ctx.changedFunctions);
    return dedupe(out);
  },
);

function detectJs(file: SourceFile, changed: readonly FunctionSpan[]): DetectorReport[] {
  const out: DetectorReport[] = [];
  const orm = jsOrmInFile(file);
  const ormName = ormOf(file);
  for (const span of scanTargets(file, changed)) {
    const b = bodyOf(file, span);
    const asyncFn = span.async || /\bawait\b/.test(b.masked);
    for (const s of bareCalls(b)) {
      if (!isBare(s) || handledChain(s.chain)) continue;
      if (!file.added.has(s.line) && !file.added.has(s.endLine)) continue;
      const cls = classifyJsChain(s.chain, b.code, { ormInFile: orm });
      if (!cls) continue;
      const owner = innermost(file, s.line);
      // The reply must be in the same function as the floating call.
      let reply: number | undefined;
      for (let l = s.endLine + 1; l <= (owner?.endLine ?? span.endLine) && l <= span.endLine; l++) {
        if (JS_REPLY.test(maskedLine(b, l)) && innermost(file, l) === owner) {
          reply = l;
          break;
        }
      }
      if (reply === undefined && !asyncFn) continue;
      const args = s.chain.calls[s.chain.calls.length - 1]!;
      const argVars = new Set((b.masked.slice(args.open + 1, args.close).match(/\b[a-z_$][\w$]*\b/g) ?? []).filter((v) => v.length > 1));
      const replyText = reply ? codeLine(b, reply) : '';
      const usesArg = reply !== undefined && [...argVars].some((v) => new RegExp(`\\b${v.replace(/\$/g, '\\$')}\\.`).test(replyText));
      const confidence = reply === undefined ? 0.65 : usesArg ? 0.9 : 0.85;
      const call = s.chain.calls.map((k) => k.path).join('(…).');
      const stmt = textOf(file, s.line);
      const evidence = [{ line: s.line, text: stmt, role: 'start' }];
      if (reply) evidence.push({ line: reply, text: textOf(file, reply), role: 'act' });
      const facts: Record<string, string> = {
        pattern: reply ? 'reply-before-write' : 'floating-promise',
        unawaitedCall: `${call}(…)`,
        actor: reply ? 'request' : 'task',
      };
      if (reply) facts.replyCall = /([\w$.]+(?:\([^)]*\))?\.?\w*)\s*\(/.exec(replyText.trim().replace(/^return\s+/, ''))?.[1] ?? replyText.trim();
      if (cls.entity) facts.model = cls.entity;
      if (cls.orm === 'knex' || cls.orm === 'sql') {
        if (cls.entity) facts.table = cls.entity;
      }
      const o = cls.orm && cls.orm !== 'sql' ? cls.orm : ormName;
      if (o) facts.orm = o;
      out.push({
        line: s.line,
        endLine: reply ?? s.endLine,
        severity: reply ? 'high' : 'medium',
        confidence,
        title: reply
          ? `${call}(…) is not awaited, and the reply on line ${reply} is sent before the ${cls.kind === 'db-write' ? 'write' : 'call'} completes`
          : `${call}(…) is not awaited: its failure is unhandled and the function finishes before it does`,
        functionName: owner?.name ?? span.name,
        entity: cls.entity ?? call,
        evidence,
        facts,
        variant: 'async',
      });
    }
  }
  return out;
}

const asyncDefsCache = new WeakMap<readonly SourceFile[], Set<string>>();

/**
 * Names of `async def` functions in the diff, minus names that are also defined as plain functions
 * (once per review: it reads every Python file, and was recomputed for each one).
 */
function asyncDefs(files: readonly SourceFile[]): Set<string> {
  const hit = asyncDefsCache.get(files);
  if (hit) return hit;
  const asyncNames = new Set<string>();
  const syncNames = new Set<string>();
  for (const f of files) {
    if (f.language !== 'python') continue;
    for (const l of scanned(f).code) {
      const m = /^\s*(async\s+)?def\s+([A-Za-z_]\w*)\s*\(/.exec(l);
      if (m) (m[1] ? asyncNames : syncNames).add(m[2]!);
    }
  }
  for (const n of syncNames) asyncNames.delete(n);
  for (const n of ['__aenter__', '__aexit__', '__init__']) asyncNames.delete(n);
  asyncDefsCache.set(files, asyncNames);
  return asyncNames;
}

function detectPython(file: SourceFile, files: readonly SourceFile[], changed: readonly FunctionSpan[]): DetectorReport[] {
  const out: DetectorReport[] = [];
  const coroutines = asyncDefs(files);
  const { masked } = scanned(file);
  for (const span of scanTargets(file, changed)) {
    let depth = 0;
    for (let line = span.startLine + 1; line <= span.endLine; line++) {
      const text = masked[line - 1] ?? '';
      const atStart = depth === 0;
      for (const ch of text) {
        if (ch === '(' || ch === '[' || ch === '{') depth++;
        else if ((ch === ')' || ch === ']' || ch === '}') && depth > 0) depth--;
      }
      if (!atStart || !file.added.has(line)) continue;
      if (innermost(file, line) !== span) continue;
      const m = /^\s*((?:self\.|cls\.)?[A-Za-z_][\w.]*)\s*\(/.exec(text);
      if (!m) continue;
      const callee = m[1]!;
      // must be the whole statement: nothing follows the call's closing parenthesis on this line
      const open = m[0].length - 1;
      const close = closeOf(text, open);
      if (close >= 0 && text.slice(close + 1).trim() !== '') continue;
      const name = callee.split('.').pop()!;
      const stmt = textOf(file, line);
      if (/^(?:asyncio\.)?(?:create_task|ensure_future)$|^loop\.create_task$|\.create_task$/.test(callee) && span.async) {
        out.push({
          line,
          endLine: line,
          severity: 'low',
          confidence: 0.5,
          title: `${callee}(…) starts a task that nothing keeps or awaits: it may be garbage-collected and its errors are lost`,
          functionName: span.name,
          entity: callee,
          evidence: [{ line, text: stmt, role: 'start' }],
          facts: { pattern: 'floating-promise', unawaitedCall: `${callee}(…)`, actor: 'coroutine' },
          variant: 'async',
        });
        continue;
      }
      const selfCall = callee.startsWith('self.') || callee.startsWith('cls.') || !callee.includes('.');
      if (!selfCall || !coroutines.has(name) || callee.split('.').length > 2) continue;
      out.push({
        line,
        endLine: line,
        severity: 'high',
        confidence: 0.8,
        title: `${callee}(…) is an async def called without await: the coroutine is created and never runs`,
        functionName: span.name,
        entity: callee,
        evidence: [{ line, text: stmt, role: 'start' }],
        facts: { pattern: 'floating-promise', unawaitedCall: `${callee}(…)`, actor: 'coroutine' },
        variant: 'async',
      });
    }
  }
  return out;
}
