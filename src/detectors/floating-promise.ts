/**
 * floating-promise (async_ordering)
 *
 * Rule: inside a function, a call that returns a promise and writes or sends (an ORM/SQL write, a
 * transaction, a queue add, a broker publish, an email/SMS/payment/HTTP write, a Redis write) is used as
 * a bare statement: no `await`, `return`, `void`, `.then/.catch/.finally`, assignment or collection into
 * `Promise.all`; or such calls started in a `.map` whose promises are kept in an array that nothing awaits
 * (only its `length` is read, or nothing), the callback calling or being an async function of the file that writes
 * (`ids.map((i) => assign(trx, i))`, `ids.map(assign)`); a write only `.catch`-ed while the function goes on
 * awaiting and then returns/replies with the object it wrote, or reads the same model again. A call to an async
 * function of the file (or imported by name from a relative module of the diff) that awaits a write counts as a write. Python: an `async def` of the same diff called as a bare
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
  fileCode,
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
import type { Body, CallClass, Chain, Statement } from './lib/flow.js';

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
    const out = fam === 'python' ? detectPython(ctx.file, ctx.files, ctx.changedFunctions) : detectJs(ctx.file, ctx.files, ctx.changedFunctions);
    return dedupe(out);
  },
);

function detectJs(file: SourceFile, files: readonly SourceFile[], changed: readonly FunctionSpan[]): DetectorReport[] {
  const out: Array<DetectorReport | undefined> = [];
  const orm = jsOrmInFile(file) || MODEL_IMPORT.test(fileCode(file));
  const ormName = ormOf(file);
  const writer = (c: Chain) => (c.calls.length === 1 ? calledWriter(file, files, orm, c.calls[0]!.path.replace(/^this\./, '')) : undefined);
  for (const span of scanTargets(file, changed)) {
    const b = bodyOf(file, span);
    const asyncFn = span.async || /\bawait\b/.test(b.masked);
    for (const s of bareCalls(b)) {
      if (!isBare(s)) continue;
      if (!file.added.has(s.line) && !file.added.has(s.endLine)) continue;
      if (handledChain(s.chain)) {
        out.push(caughtThenUsed(file, span, b, s, orm, writer));
        continue;
      }
      // A same-file (or imported, of the diff) async function that writes, called bare: `saveItems(trx, id, rows);`.
      const cls = classifyJsChain(s.chain, b.code, { ormInFile: orm }) ?? writer(s.chain);
      if (!cls) continue;
      out.push(floatingReport(file, span, b, s, cls, asyncFn, ormName));
    }
    for (const c of collectedWrites(file, b, orm)) {
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
  if (collectedInto) facts.collectedInto = collectedInto;
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

/** Model modules required/imported by path (`require('../models/order')`): their instances have an async save(). */
const MODEL_IMPORT = /\brequire\(\s*['"][./]+(?:models?|entities)\/[\w-]+(?:\.[jt]s)?['"]\s*\)|\bfrom\s+['"][./]+(?:models?|entities)\/[\w./-]+['"]/;

const READ_METHODS = /^(?:find\w*|aggregate|count\w*|sum|max|min|exists|distinct|query)$/;

/**
 * A database write that is only `.catch(…)`-ed (fire-and-forget), while the function goes on awaiting other work
 * and then hands back the very object it wrote (`return { order }`, `res.json(order)`) or reads the same model
 * again: the caller (or the read) assumes a row that may not exist yet, and a failed write is only logged.
 */
function caughtThenUsed(
  file: SourceFile,
  span: FunctionSpan,
  b: Body,
  s: Statement,
  orm: boolean,
  writer: (c: Chain) => CallClass | undefined,
): DetectorReport | undefined {
  const calls = s.chain.calls;
  const i = calls.findIndex((k) => k.name === 'then' || k.name === 'catch' || k.name === 'finally');
  if (i < 1 || calls.slice(i).some((k) => k.name !== 'catch' && k.name !== 'finally')) return undefined;
  const w: Chain = { ...s.chain, calls: calls.slice(0, i), end: calls[i - 1]!.close + 1 };
  const cls = classifyJsChain(w, b.code, { ormInFile: orm }) ?? writer(w);
  if (!cls || cls.kind !== 'db-write') return undefined;
  const first = calls[0]!;
  const segs = first.path.split('.').filter((x) => x !== 'this');
  // The written object: the receiver of `x.save()`, or a plain first argument (`repo.save(x)`).
  const recv = segs.length === 2 && /^[a-z_$][\w$]*$/.test(segs[0]!) && !/repo|Repo|db|Db|DB|manager|Manager|model|Model|client|^em$|^tx$|^trx$/.test(segs[0]!) ? segs[0] : undefined;
  const arg = /^\s*([a-z_$][\w$]*)\s*[,)]/.exec(b.masked.slice(first.open + 1, first.close + 1))?.[1];
  const obj = recv ?? arg;
  const entity = cls.entity && /^[A-Z]/.test(cls.entity) ? cls.entity : undefined;
  // The statement's function, not a callback that starts on its line (`.catch((err) => …)`).
  const owner = innermost(file, s.line, s.endLine + 1);
  const objRe = obj ? new RegExp(`(?<![\\w$.])${obj.replace(/\$/g, '\\$')}(?![\\w$])(?!\\s*\\.)`) : undefined;
  const readRe = entity ? new RegExp(`\\bawait\\s+${entity}\\.([A-Za-z]+)\\(`) : undefined;
  let awaitLine: number | undefined;
  for (let l = s.endLine + 1; l <= span.endLine; l++) {
    if (innermost(file, l) !== owner) continue;
    const t = maskedLine(b, l);
    const rd = readRe?.exec(t);
    if (rd && READ_METHODS.test(rd[1]!)) return caughtReport(file, owner ?? span, s, w, cls, l, `reads ${entity} again on line ${l}`);
    if (awaitLine !== undefined && objRe) {
      let stmt = t;
      if (/^\s*return\b/.test(t)) {
        const off = offsetOfLine(b, l) + t.search(/\breturn\b/);
        const open = b.masked.slice(off, off + 200).search(/[{(\[]/);
        const close = open >= 0 && !b.masked.slice(off, off + open).includes('\n') ? closeOf(b.masked, off + open) : -1;
        stmt = close > 0 ? b.masked.slice(off, close + 1) : t;
        if (objRe.test(stmt)) return caughtReport(file, owner ?? span, s, w, cls, l, `returns ${obj} on line ${l}`);
      } else if (JS_REPLY.test(stmt) && objRe.test(stmt)) return caughtReport(file, owner ?? span, s, w, cls, l, `replies with ${obj} on line ${l}`);
    }
    if (awaitLine === undefined && /\bawait\b/.test(t)) awaitLine = l;
  }
  return undefined;
}

function offsetOfLine(b: Body, line: number): number {
  return b.lineStarts[line - b.startLine] ?? b.masked.length;
}

function caughtReport(file: SourceFile, owner: FunctionSpan, s: Statement, w: Chain, cls: CallClass, use: number, what: string): DetectorReport {
  const call = w.calls.map((k) => k.path).join('(…).');
  const facts: Record<string, string> = { pattern: 'floating-promise', unawaitedCall: `${call}(…)`, actor: 'request' };
  if (cls.entity) facts.model = cls.entity;
  if (cls.orm && cls.orm !== 'sql') facts.orm = cls.orm;
  return {
    line: s.line,
    endLine: use,
    severity: 'high',
    confidence: 0.75,
    title: `${call}(…) is only .catch()-ed, not awaited, yet the function goes on and ${what}: that runs before the write lands, and a failed write is only logged`,
    functionName: owner.name,
    entity: cls.entity ?? call,
    evidence: [
      { line: s.line, text: textOf(file, s.line), role: 'start' },
      { line: use, text: textOf(file, use), role: 'act' },
    ],
    facts,
    variant: 'async',
  };
}

/** `const x = items.map(` … the callback's parameter list and arrow, up to its body. */
const MAP_INTO = /(?<![\w$.])(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=\s*[\w$.]+\.map\(\s*(async\s+)?(?:\([^()]*\)|[A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=>\s*/g;

/** `const x = items.map(fn)` / `.map(this.fn)` / `.map(fn.bind(…))`: a function reference as the callback. */
const MAP_REF = /(?<![\w$.])(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=\s*[\w$.]+\.map\(\s*((?:this\.)?[A-Za-z_$][\w$]*)(?:\.bind\([^()]*\))?\s*\)/g;

type Collected = { line: number; endLine: number; chain: Chain; cls: CallClass; name: string };

/**
 * Writes started in a `.map` whose promises are kept in an array that nothing awaits: `const writes =
 * rows.map((r) => repo.save(r))`, then only `writes.length` (or nothing) is read. The callback may also call (or
 * be) a function of the same file that writes (`rows.map((r) => assign(trx, r))`, `rows.map(assign)`). The array
 * handed to `Promise.all`, awaited, returned, passed to any call or iterated counts as handled.
 */
function collectedWrites(file: SourceFile, b: Body, orm: boolean): Collected[] {
  // `line` is the declaration's, so the reply is looked for in the function that holds the array.
  const out: Collected[] = [];
  const hasMap = b.masked.includes('.map(');
  if (!hasMap && !b.masked.includes('.push(')) return out;
  const unawaited = (name: string, close: number) => {
    const rest = b.masked.slice(close + 1);
    const uses = [...rest.matchAll(new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])(\\s*\\.\\s*length\\b)?`, 'g'))];
    return !uses.some((u) => u[1] === undefined);
  };
  for (const m of hasMap ? b.masked.matchAll(MAP_INTO) : []) {
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
    const cls = classifyJsChain(chain, b.code, { ormInFile: orm }) ?? (chain.calls.length === 1 ? writerFunctions(file, orm).get(chain.calls[0]!.path.replace(/^this\./, '')) : undefined);
    if (!cls || !unawaited(name, close)) continue;
    out.push({ line: lineAt(b, m.index), endLine: lineAt(b, close), chain, cls, name });
  }
  for (const m of hasMap ? b.masked.matchAll(MAP_REF) : []) {
    const name = m[1]!;
    const fn = m[2]!.replace(/^this\./, '');
    const cls = writerFunctions(file, orm).get(fn);
    if (!cls) continue;
    const open = b.masked.indexOf('.map(', m.index) + 4;
    const close = closeOf(b.masked, open);
    if (close < 0 || !unawaited(name, close)) continue;
    const chain: Chain = { start: open + 1, end: close, root: fn, calls: [{ path: m[2]!, name: fn, open, close }], text: m[2]! };
    out.push({ line: lineAt(b, m.index), endLine: lineAt(b, close), chain, cls, name });
  }
  // `const ps = []; for (…) ps.push(write(x));` and then nothing awaits `ps`.
  if (b.masked.includes('.push(')) {
    for (const d of b.masked.matchAll(/(?<![\w$.])(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=\s*\[\s*\]/g)) {
      const name = d[1]!;
      const e = name.replace(/\$/g, '\\$');
      const rest = b.masked.slice(d.index + d[0].length);
      let write: { at: number; chain: Chain; cls: CallClass } | undefined;
      let handled = false;
      for (const u of rest.matchAll(new RegExp(`(?<![\\w$.])${e}(?![\\w$])(\\s*\\.\\s*(?:push\\(|length\\b))?`, 'g'))) {
        if (u[1] === undefined) {
          handled = true;
          break;
        }
        if (write || !u[1].endsWith('(')) continue;
        const at = d.index + d[0].length + u.index + u[0].length;
        const chain = parseChain(b.masked, b.masked.slice(at).search(/\S/) + at);
        if (!chain) continue;
        const cls = classifyJsChain(chain, b.code, { ormInFile: orm }) ?? (chain.calls.length === 1 ? writerFunctions(file, orm).get(chain.calls[0]!.path.replace(/^this\./, '')) : undefined);
        if (cls) write = { at, chain, cls };
      }
      if (handled || !write) continue;
      out.push({ line: lineAt(b, write.at), endLine: lineAt(b, write.chain.end), chain: write.chain, cls: write.cls, name });
    }
  }
  return out;
}

const writersCache = new WeakMap<SourceFile, Map<string, CallClass>>();

/**
 * The write class of a plain function call `name(…)`: an async writer of this file, or one that this file imports
 * by name from a relative module that the diff also shows (`import { rebuild } from '../services/x'`).
 */
function calledWriter(file: SourceFile, files: readonly SourceFile[], orm: boolean, name: string): CallClass | undefined {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return undefined;
  const own = writerFunctions(file, orm).get(name);
  if (own) return own;
  const code = fileCode(file);
  if (!code.includes(name)) return undefined;
  const e = name.replace(/\$/g, '\\$');
  const imp = new RegExp(`\\bimport\\s*(?:type\\s+)?\\{[^}]{0,400}(?<![\\w$])${e}(?![\\w$])[^}]{0,400}\\}\\s*from\\s*['"](\\.{1,2}/[^'"]+)['"]|\\b(?:const|let|var)\\s*\\{[^}]{0,400}(?<![\\w$])${e}(?![\\w$])[^}]{0,400}\\}\\s*=\\s*require\\(\\s*['"](\\.{1,2}/[^'"]+)['"]`).exec(code);
  const from = imp && (imp[1] ?? imp[2]);
  if (!from) return undefined;
  const base = from.replace(/^(?:\.{1,2}\/)+/, '').replace(/\.[cm]?[jt]sx?$/, '');
  for (const f of files) {
    if (f === file || familyOf(f.language) !== 'js' || isTestPath(f.path)) continue;
    const p = f.path.replace(/\.[cm]?[jt]sx?$/, '').replace(/\/index$/, '');
    if (!(p === base || p.endsWith(`/${base}`))) continue;
    const cls = writerFunctions(f, jsOrmInFile(f) || MODEL_IMPORT.test(fileCode(f))).get(name);
    if (cls) return cls;
  }
  return undefined;
}

/**
 * Async functions of this file whose body awaits or returns a write (`async function assign(trx, id) { await
 * trx('t').update(…) }`), by name (the last segment of a method's qualified name), with the class of that write.
 */
function writerFunctions(file: SourceFile, orm: boolean): Map<string, CallClass> {
  const hit = writersCache.get(file);
  if (hit) return hit;
  const out = new Map<string, CallClass>();
  writersCache.set(file, out);
  for (const f of file.functions) {
    const name = f.name.split('.').pop()!;
    if (!f.async || !/^[A-Za-z_$][\w$]*$/.test(name) || out.has(name) || f.endLine - f.startLine > 80) continue;
    if (!/\b(?:await|return)\s/.test(f.text)) continue;
    const b = bodyOf(file, f);
    for (const m of b.masked.matchAll(/\b(?:await|return)\s+(?:await\s+)?/g)) {
      if (innermost(file, lineAt(b, m.index)) !== f) continue;
      const chain = parseChain(b.masked, m.index + m[0].length);
      const cls = chain && classifyJsChain(chain, b.code, { ormInFile: orm });
      if (cls && cls.kind === 'db-write') {
        out.set(name, { ...cls, call: `${name} → ${cls.call}` });
        break;
      }
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
