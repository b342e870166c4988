/**
 * floating-promise (async_ordering)
 *
 * Rule: inside a function, a call that returns a promise and writes or sends (an ORM/SQL write, a
 * transaction, a queue add, a broker publish, an email/SMS/payment/HTTP write, a Redis write) is used as
 * a bare statement: no `await`, `return`, `void`, `.then/.catch/.finally`, assignment or collection into
 * `Promise.all`; or such calls started in a `.map` whose promises are kept in an array that nothing awaits
 * (only its `length` is read, or nothing). Python: an `async def` of the same diff called as a bare
 * statement (the coroutine never runs), or `asyncio.create_task(...)` whose task is dropped.
 *
 * Confidence:
 * - 0.9 when a reply follows in the same function and uses a variable passed to the write (`repo.save(f)`
 *   then `send({ id: f.id })`); 0.85 when a reply follows otherwise (pattern reply-before-write, high).
 * - 0.8 for a Python coroutine that is never awaited (it never runs at all).
 * - 0.65 in an async function with no reply after it (medium); 0.5 for a dropped `create_task` (low).
 *
 * Deliberately left alone: test files; `void p` and `p.catch(...)` (explicit fire-and-forget); promises
 * assigned to a variable that is awaited, returned, passed on or iterated later; array/argument positions (`Promise.all([a(), b()])`);
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
  lineAt,
  jsOrmInFile,
  maskedLine,
  ormOf,
  parseChain,
  scanTargets,
  scanned,
  textOf,
} from './lib/flow.js';
import type { SourceFile, FunctionSpan } from '../parse/types.js';
import type { Body, CallClass, Chain } from './lib/flow.js';

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
  const out: Array<DetectorReport | undefined> = [];
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
      out.push(floatingReport(file, span, b, s, cls, asyncFn, ormName));
    }
    for (const c of collectedWrites(b, orm)) {
      if (!file.added.has(c.line) && !file.added.has(c.endLine)) continue;
      out.push(floatingReport(file, span, b, c, c.cls, asyncFn, ormName));
    }
  }
  return out.filter((r): r is DetectorReport => r !== undefined);
}

/**
 * The report for a write nobody awaits (`s`: a bare call, or the calls a `.map` collects into the array `s.name`):
 * high when a reply follows in the same function, medium in an async function without one, none otherwise.
 */
function floatingReport(
  file: SourceFile,
  span: FunctionSpan,
  b: Body,
  s: { line: number; endLine: number; chain: Chain; name?: string },
  cls: CallClass,
  asyncFn: boolean,
  ormName: string | undefined,
): DetectorReport | undefined {
  const collectedInto = s.name;
  // A collected array's owner holds the whole `.map` statement, not the callback it starts on the same line.
  const owner = innermost(file, s.line, collectedInto ? s.endLine + 1 : s.line);
  // The reply must be in the same function as the floating call.
  let reply: number | undefined;
  for (let l = s.endLine + 1; l <= (owner?.endLine ?? span.endLine) && l <= span.endLine; l++) {
    if (JS_REPLY.test(maskedLine(b, l)) && innermost(file, l) === owner) {
      reply = l;
      break;
    }
  }
  if (reply === undefined && !asyncFn) return undefined;
  const args = s.chain.calls[s.chain.calls.length - 1]!;
  const argVars = new Set((b.masked.slice(args.open + 1, args.close).match(/\b[a-z_$][\w$]*\b/g) ?? []).filter((v) => v.length > 1));
  const replyText = reply ? codeLine(b, reply) : '';
  const usesArg = reply !== undefined && [...argVars].some((v) => new RegExp(`\\b${v.replace(/\$/g, '\\$')}\\.`).test(replyText));
  const confidence = reply === undefined ? 0.65 : usesArg ? 0.9 : 0.85;
  const call = s.chain.calls.map((k) => k.path).join('(…).');
  const start = collectedInto ? lineAt(b, s.chain.start) : s.line;
  const evidence = [{ line: start, text: textOf(file, start), role: 'start' }];
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
  const what = collectedInto ? `The ${call}(…) promises collected in ${collectedInto} are never awaited` : `${call}(…) is not awaited`;
  return {
    line: s.line,
    endLine: reply ?? s.endLine,
    severity: reply ? 'high' : 'medium',
    confidence,
    title: reply
      ? `${what}, and the reply on line ${reply} is sent before the ${cls.kind === 'db-write' ? 'write' : 'call'}${collectedInto ? 's complete' : ' completes'}`
      : `${what}: ${collectedInto ? 'their failures are' : 'its failure is'} unhandled and the function finishes before ${collectedInto ? 'they do' : 'it does'}`,
    functionName: owner?.name ?? span.name,
    entity: cls.entity ?? call,
    evidence,
    facts,
    variant: 'async',
  };
}

/** `const x = items.map(` … the callback's parameter list and arrow, up to its body. */
const MAP_INTO = /(?<![\w$.])(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=\s*[\w$.]+\.map\(\s*(async\s+)?(?:\([^()]*\)|[A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=>\s*/g;

/**
 * Writes started in a `.map` whose promises are kept in an array that nothing awaits: `const writes =
 * rows.map((r) => repo.save(r))`, then only `writes.length` (or nothing) is read. The array handed to
 * `Promise.all`, awaited, returned, passed to any call or iterated counts as handled.
 */
function collectedWrites(b: Body, orm: boolean): Array<{ line: number; endLine: number; chain: Chain; cls: CallClass; name: string }> {
  // `line` is the declaration's, so the reply is looked for in the function that holds the array.
  const out: Array<{ line: number; endLine: number; chain: Chain; cls: CallClass; name: string }> = [];
  if (!b.masked.includes('.map(')) return out;
  for (const m of b.masked.matchAll(MAP_INTO)) {
    const name = m[1]!;
    const open = b.masked.indexOf('.map(', m.index) + 4;
    const close = closeOf(b.masked, open);
    if (close < 0) continue;
    // The callback's result: an expression body, or the first `return` of a block body (an async block's awaited write).
    let at = m.index + m[0].length;
    if (b.masked[at] === '{') {
      const body = b.masked.slice(at, close);
      const r = /\b(?:return|await)\s+(?!Promise\b)/.exec(body);
      if (!r) continue;
      at += r.index + r[0].length;
    }
    const chain = parseChain(b.masked, at);
    if (!chain || chain.end > close) continue;
    const cls = classifyJsChain(chain, b.code, { ormInFile: orm });
    if (!cls) continue;
    const rest = b.masked.slice(close + 1);
    const uses = [...rest.matchAll(new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])(\\s*\\.\\s*length\\b)?`, 'g'))];
    if (uses.some((u) => u[1] === undefined)) continue;
    out.push({ line: lineAt(b, m.index), endLine: lineAt(b, close), chain, cls, name });
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
