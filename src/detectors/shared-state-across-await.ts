/**
 * shared-state-across-await (async_ordering)
 *
 * Rule: shared in-memory state that outlives one call (an attribute on `self`/`this`, or a module-level
 * collection) is
 * 1. iterated live while the loop body awaits (`for ws in self.rooms[room]: await ws.send(...)`): other
 *    coroutines add or remove elements at the await (Python raises "Set changed size during iteration";
 *    JS silently skips or revisits elements), or
 * 2. checked before an await and written after it (`if (!cache.has(k)) { v = await load(k); cache.set(k, v) }`):
 *    two callers both miss and both load/insert (a duplicate-load race, lower severity),
 * 3. handed on before an await and emptied after it (`await insert(this.buffer); this.buffer = []`) while other
 *    code adds to it: items added during the await are dropped,
 * 4. a field updated across an await (`job.total += await f()`, `n = o.total; await …; o.total = n + k`) in a
 *    function the diff runs concurrently with itself (gather / create_task / TaskGroup / Promise.all /
 *    `.map(async …)`), or module state updated so in a route handler: concurrent runs overwrite each other,
 * 5. checked before an await and overwritten after it from what the check saw (`if amount <= room.best: return`,
 *    `await db.commit()`, `room.best = amount`) when the state outlives the call: a singleton's `self` / `this`,
 *    a module-level name, an element of a module-level / singleton collection, or a parameter whose class the file
 *    keeps in one, or a class whose instances the diff keeps on the app (`app.state`, `app.locals`, `app["x"]`), or
 *    whose method is awaited from a function the diff launches concurrently (`create_task(handle(q, …))`). An add
 *    to the checked collection after the await (`append`/`add`/`push`) is a write; an element selected by a sync
 *    helper (`max(…)` over the collection) and removed only after an await is reported too. The check may
 *    read the state through a sync helper method (`free = self._free()`). Quiet when claimed before the first
 *    await, re-checked after the last one, or locked.
 *
 * Confidence: iteration 0.85 in Python when the same attribute is mutated elsewhere in the file (0.7 with
 * only a collection initialiser visible); 0.65 in JS (no exception, but missed or doubled elements).
 * Check-then-set across an await: 0.6, severity low. Reset after an await: 0.75; update across an await: 0.7;
 * check, await, then write: 0.7.
 *
 * Deliberately left alone: locals and per-request objects (ctx, req, res, request, locals built in the
 * function), snapshots (`list(self.x)`, `tuple(...)`, `sorted(...)`, `.copy()`, `[...this.x]`,
 * `Array.from(this.x)`, `.slice()`), functions that hold a lock (`async with self._lock`, `mutex.runExclusive`,
 * `lock.acquire()`; a pooled connection's `acquire()` does not count), `async for`, attributes the file never shows to be a collection, test files; buffers swapped out
 * before the await, collections refilled right after their reset, shutdown methods; updates awaited into a
 * local first, and `+= await` in functions nothing in the diff runs concurrently.
 */
import { createDetector, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { blockEnd, bodyOf, closeOf, dedupe, familyOf, fileCode, innermost, isTestPath, lineAt, maskedLine, scanTargets, scanned, textOf } from './lib/flow.js';

export default createDetector(
  {
    id: 'shared-state-across-await',
    failureMode: 'async_ordering',
    languages: ['typescript', 'tsx', 'javascript', 'python'],
    description: 'A shared collection iterated across awaits, or checked before an await and written after it.',
    defaultSeverity: 'medium',
    docs: 'docs/detectors/shared-state-across-await.md',
  },
  (ctx) => {
    if (isTestPath(ctx.file.path)) return [];
    const fam = familyOf(ctx.file.language);
    const targets = scanTargets(ctx.file, ctx.changedFunctions).filter((f) => f.async);
    const modules = fam === 'python' ? pyModuleCollections(ctx.file) : jsModuleCollections(ctx.file);
    return dedupe([
      ...(fam === 'python' ? python(ctx.file, targets) : js(ctx.file, targets)),
      ...resetAfterAwait(ctx.file, targets, fam, modules),
      ...updateAcrossAwait(ctx.files, ctx.file, targets, fam),
      ...checkAcrossAwait(ctx.files, ctx.file, targets, fam, modules),
    ]);
  },
);

const LOCK_PY = /\b(?:async\s+)?with\s+[\w.]*(?:lock|Lock|mutex|Mutex|semaphore|Semaphore|sem)\b|\.acquire\(\)/;
const LOCK_JS = /\b(?:runExclusive|acquire|withLock|lock)\s*\(|\bmutex\b|\bsemaphore\b/i;
const SNAPSHOT_PY = /^(?:list|tuple|sorted|set|frozenset|dict|copy\.copy|copy\.deepcopy)\(|\.copy\(\)\s*$|\[:\]\s*$|^\[\s*\*/;

// ------------------------------------------------------------------ Python

interface SharedRef {
  /** As written, e.g. "self._rooms" or "CLIENTS". */
  name: string;
  mutation?: { line: number; text: string };
  init: boolean;
}

function pySharedInfo(file: SourceFile, name: string): SharedRef {
  const { code } = scanned(file);
  const esc = name.replace(/[.$]/g, '\\$&');
  const mut = new RegExp(
    `${esc}(?:\\[[^\\]]*\\])?\\.(?:add|discard|remove|pop|popitem|clear|update|setdefault)\\(|\\bdel\\s+${esc}\\b|${esc}\\[[^\\]]*\\]\\s*=[^=]|${esc}\\s*[|&-]=`,
  );
  const init = new RegExp(`${esc}\\s*(?::[^=\\n]*)?=\\s*(?:set\\(|\\{|dict\\(|defaultdict\\(|WeakSet\\(|WeakValueDictionary\\(|OrderedDict\\()`);
  let mutation: SharedRef['mutation'];
  let hasInit = false;
  code.forEach((l, i) => {
    if (!mutation && mut.test(l)) mutation = { line: i + 1, text: l.trim() };
    if (init.test(l)) hasInit = true;
  });
  return { name, mutation, init: hasInit };
}

function pyModuleCollections(file: SourceFile): Set<string> {
  const out = new Set<string>();
  for (const l of scanned(file).code) {
    const m = /^([A-Za-z_]\w*)\s*(?::[^=]*)?=\s*(?:set\(|\{\}|\[\]|dict\(|defaultdict\(|WeakSet\(|deque\()/.exec(l);
    if (m) out.add(m[1]!);
  }
  return out;
}

function python(file: SourceFile, targets: FunctionSpan[]): DetectorReport[] {
  const out: DetectorReport[] = [];
  const { masked } = scanned(file);
  const modules = pyModuleCollections(file);
  for (const span of targets) {
    const fnText = masked.slice(span.startLine - 1, span.endLine).join('\n');
    if (LOCK_PY.test(fnText)) continue;
    for (let line = span.startLine + 1; line <= span.endLine; line++) {
      const t = masked[line - 1] ?? '';
      if (innermost(file, line) !== span) continue;
      // 1. live iteration with an await in the body
      const f = /^\s*for\s+.+?\s+in\s+(.+?)\s*:\s*$/.exec(t);
      if (f && !/^\s*async\s+for\b/.test(t)) {
        const expr = f[1]!.trim();
        const ref = /^(self\.[A-Za-z_]\w*)/.exec(expr)?.[1] ?? (modules.has(/^([A-Za-z_]\w*)/.exec(expr)?.[1] ?? '') ? /^([A-Za-z_]\w*)/.exec(expr)![1] : undefined);
        if (!ref || SNAPSHOT_PY.test(expr)) continue;
        const end = blockEnd(masked, line, span.endLine);
        let awaitLine: number | undefined;
        for (let l = line + 1; l <= end; l++) if (/\bawait\b/.test(masked[l - 1] ?? '')) { awaitLine = l; break; }
        if (awaitLine === undefined || !(file.added.has(line) || file.added.has(awaitLine))) continue;
        const info = pySharedInfo(file, ref);
        if (!info.mutation && !info.init) continue;
        const awaitCall = /await\s+([\w.]+)/.exec(masked[awaitLine - 1] ?? '')?.[1];
        const evidence = [
          { line, text: textOf(file, line), role: 'state' },
          { line: awaitLine, text: textOf(file, awaitLine), role: 'start' },
        ];
        const facts: Record<string, string> = { pattern: 'iterate-across-await', state: ref, actor: 'coroutine' };
        if (awaitCall) facts.awaitCall = awaitCall;
        if (info.mutation) facts.mutation = `line ${info.mutation.line}: ${info.mutation.text}`;
        out.push({
          line,
          endLine: awaitLine,
          severity: info.mutation ? 'high' : 'medium',
          confidence: info.mutation ? 0.85 : 0.7,
          title: `${span.name} iterates ${ref} live and awaits ${awaitCall ?? 'inside the loop'}; other coroutines change ${ref} meanwhile`,
          functionName: span.name,
          entity: ref,
          evidence,
          facts,
          variant: 'async',
        });
        continue;
      }
      // 2. check-then-set across an await
      const c = /^\s*if\s+(?:(\w+)\s+not\s+in\s+(self\.\w+)|not\s+(self\.\w+)\.get\((\w+)|(self\.\w+)\.get\((\w+)[^)]*\)\s+is\s+None)\s*[:)]?/.exec(t);
      if (c) {
        const ref = (c[2] ?? c[3] ?? c[5])!;
        const key = (c[1] ?? c[4] ?? c[6])!;
        const end = blockEnd(masked, line, span.endLine);
        let awaitLine: number | undefined;
        let setLine: number | undefined;
        const esc = ref.replace(/\./g, '\\.');
        const setRe = new RegExp(`${esc}\\[\\s*${key}\\s*\\]\\s*=[^=]|${esc}\\.(?:add|setdefault)\\(\\s*${key}\\b`);
        for (let l = line + 1; l <= end; l++) {
          const lt = masked[l - 1] ?? '';
          if (awaitLine === undefined && /\bawait\b/.test(lt)) awaitLine = l;
          if (awaitLine !== undefined && setRe.test(lt)) { setLine = l; break; }
        }
        if (awaitLine === undefined || setLine === undefined || !file.added.has(line)) continue;
        out.push(checkThenSet(file, span, ref, line, awaitLine, setLine));
      }
    }
  }
  return out;
}

function checkThenSet(file: SourceFile, span: FunctionSpan, ref: string, line: number, awaitLine: number, setLine: number): DetectorReport {
  const awaitCall = /await\s+([\w$.]+)/.exec(textOf(file, awaitLine))?.[1];
  const facts: Record<string, string> = { pattern: 'mutate-across-await', state: ref, actor: 'coroutine' };
  if (awaitCall) facts.awaitCall = awaitCall;
  return {
    line,
    endLine: setLine,
    severity: 'low',
    confidence: 0.6,
    title: `${span.name} checks ${ref}, awaits ${awaitCall ?? 'a load'}, then writes ${ref}: concurrent callers both miss and both load`,
    functionName: span.name,
    entity: ref,
    evidence: [
      { line, text: textOf(file, line), role: 'state' },
      { line: awaitLine, text: textOf(file, awaitLine), role: 'start' },
      { line: setLine, text: textOf(file, setLine), role: 'state' },
    ],
    facts,
    variant: 'async',
  };
}

// ------------------------------------------------------------------ JS / TS

function jsModuleCollections(file: SourceFile): Set<string> {
  const out = new Set<string>();
  for (const l of scanned(file).code) {
    const m = /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=\s*(?:new\s+(?:Map|Set|WeakMap)\b|\[\s*\]|\{\s*\})/.exec(l);
    if (m) out.add(m[1]!);
  }
  return out;
}

function jsMutation(file: SourceFile, ref: string): { line: number; text: string } | undefined {
  const esc = ref.replace(/[.$]/g, '\\$&');
  // Membership churn (a removal) on a Set or Map is what makes live iteration skip or revisit entries;
  // arrays filled once at startup (plugins, routes) are left alone.
  const re = new RegExp(`${esc}(?:\\.get\\([^)]*\\))?\\.(?:delete|clear)\\(`);
  const prop = ref.replace(/^this\./, '');
  const isSetOrMap = new RegExp(`(?:\\b${prop.replace(/[$]/g, '\\$&')}\\s*(?::[^=;]*)?=\\s*new\\s+(?:Set|Map)\\b|\\b${prop.replace(/[$]/g, '\\$&')}\\s*:\\s*(?:Set|Map)<)`).test(scanned(file).code.join('\n'));
  if (!isSetOrMap) return undefined;
  const code = scanned(file).code;
  for (let i = 0; i < code.length; i++) if (re.test(code[i]!)) return { line: i + 1, text: code[i]!.trim() };
  return undefined;
}

function js(file: SourceFile, targets: FunctionSpan[]): DetectorReport[] {
  const out: DetectorReport[] = [];
  const modules = jsModuleCollections(file);
  const isShared = (ref: string) => ref.startsWith('this.') || modules.has(ref);
  void fileCode;
  for (const span of targets) {
    const b = bodyOf(file, span);
    if (LOCK_JS.test(b.masked)) continue;
    // 1. for (const x of shared) { … await … }
    for (const m of b.masked.matchAll(/\bfor\s*\(\s*(?:const|let|var)\s+[^;]*?\s+of\s+/g)) {
      const exprStart = m.index + m[0].length;
      const open = b.masked.lastIndexOf('(', exprStart);
      const close = closeOf(b.masked, b.masked.indexOf('(', m.index));
      if (close < 0 || open < 0) continue;
      const expr = b.masked.slice(exprStart, close).trim();
      if (/^(?:\[\s*\.\.\.|Array\.from\(|structuredClone\()|\.slice\(\)$|\.filter\(/.test(expr)) continue;
      const ref = /^((?:this\.)?[A-Za-z_$][\w$]*)/.exec(expr)?.[1];
      if (!ref || !isShared(ref)) continue;
      const bodyOpen = b.masked.slice(close + 1).search(/\S/) + close + 1;
      if (b.masked[bodyOpen] !== '{') continue;
      const bodyClose = closeOf(b.masked, bodyOpen);
      if (bodyClose < 0) continue;
      const aw = b.masked.slice(bodyOpen, bodyClose).search(/\bawait\b/);
      if (aw < 0) continue;
      const line = lineAt(b, m.index);
      const awaitLine = lineAt(b, bodyOpen + aw);
      if (!file.added.has(line) && !file.added.has(awaitLine)) continue;
      if (innermost(file, line) !== span) continue;
      const mutation = jsMutation(file, ref);
      if (!mutation) continue;
      const awaitCall = /await\s+([\w$.]+)/.exec(textOf(file, awaitLine))?.[1];
      const facts: Record<string, string> = { pattern: 'iterate-across-await', state: ref, actor: 'task', mutation: `line ${mutation.line}: ${mutation.text}` };
      if (awaitCall) facts.awaitCall = awaitCall;
      out.push({
        line,
        endLine: awaitLine,
        severity: 'medium',
        confidence: 0.65,
        title: `${span.name} iterates ${ref} live and awaits ${awaitCall ?? 'inside the loop'}; entries added or removed meanwhile are skipped or revisited`,
        functionName: span.name,
        entity: ref,
        evidence: [
          { line, text: textOf(file, line), role: 'state' },
          { line: awaitLine, text: textOf(file, awaitLine), role: 'start' },
        ],
        facts,
        variant: 'async',
      });
    }
    // 2. if (!shared.has(k)) { … await … shared.set(k, …) }
    for (const m of b.masked.matchAll(/\bif\s*\(\s*(?:!\s*((?:this\.)?[\w$]+)\.(?:has|get)\(\s*([\w$.]+)\s*\)|((?:this\.)?[\w$]+)\.get\(\s*([\w$.]+)\s*\)\s*===?\s*(?:undefined|null))\s*\)/g)) {
      const ref = (m[1] ?? m[3])!;
      const key = (m[2] ?? m[4])!;
      if (!isShared(ref)) continue;
      const line = lineAt(b, m.index);
      if (!file.added.has(line) || innermost(file, line) !== span) continue;
      const blockOpen = m.index + m[0].length + (b.masked.slice(m.index + m[0].length).search(/\S/));
      if (b.masked[blockOpen] !== '{') continue;
      const blockClose = closeOf(b.masked, blockOpen);
      if (blockClose < 0) continue;
      const after = b.masked.slice(m.index + m[0].length, blockClose);
      const aw = after.search(/\bawait\b/);
      if (aw < 0) continue;
      const esc = ref.replace(/[.$]/g, '\\$&');
      const keyEsc = key.replace(/[.$]/g, '\\$&');
      const set = new RegExp(`${esc}\\.(?:set|add)\\(\\s*${keyEsc}\\b`).exec(after.slice(aw));
      if (!set) continue;
      const base = m.index + m[0].length;
      out.push(checkThenSet(file, span, ref, line, lineAt(b, base + aw), lineAt(b, base + aw + set.index)));
    }
  }
  return out;
}

// ------------------------------------------------------------------ reset / update across an await (both families)

/** A real mutual exclusion (a Semaphore(n) bounds concurrency but does not serialise). */
/** `pool.acquire()` / `engine.acquire()` hand out a connection and serialise nothing. */
const MUTEX_PY = /\b(?:async\s+)?with\s+[\w.]*(?:lock|Lock|mutex|Mutex)\b|(?:lock|Lock|mutex|Mutex)\w*(?:\(\))?\.acquire\(\)/;

/** End offset of the statement holding `at` in masked text: the first `;` or line end at bracket depth 0. */
function statementEnd(text: string, at: number, fam: string): number {
  let depth = 0;
  const limit = Math.min(text.length, at + 4000);
  for (let i = at; i < limit; i++) {
    const c = text[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) return i;
      depth--;
    } else if (depth === 0 && (c === '\n' || (c === ';' && fam === 'js'))) {
      // A JS statement continued on the next line by a leading `.` or a trailing operator.
      if (fam === 'js' && c === '\n' && (/^\s*[.?]/.test(text.slice(i + 1, i + 200)) || /[,(+\-*/=&|?:]\s*$/.test(text.slice(Math.max(0, i - 80), i)))) continue;
      return i;
    }
  }
  return limit;
}

/** Whether `ref` is named at `i` of masked text as a whole token (not `ref2`, not `x.ref`). */
function tokenAt(text: string, i: number, ref: string): boolean {
  const before = i > 0 ? text[i - 1]! : '';
  const after = text[i + ref.length] ?? '';
  return !/[\w$.]/.test(before) && !/[\w$]/.test(after);
}

/** Offsets where `ref` is named in `text`. */
function refsOf(text: string, ref: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(ref); i >= 0; i = text.indexOf(ref, i + ref.length)) if (tokenAt(text, i, ref)) out.push(i);
  return out;
}

/**
 * Shared collections of a file that some code adds to: `this.x.push(…)` / `self.x.append(…)` / `.add` / `.set`
 * / `x[k] = …` on an attribute or a module-level collection. Maps the name to the first line adding to it.
 */
function accumulated(file: SourceFile, fam: string, modules: Set<string>): Map<string, number> {
  const out = new Map<string, number>();
  const own = fam === 'python' ? 'self' : 'this';
  const re =
    fam === 'python'
      ? /(?<![\w.])((?:self\.)?[A-Za-z_]\w*)(?:\[[^\]\n]{0,80}\])?\.(?:append|extend|add|insert|appendleft|setdefault)\(|(?<![\w.])((?:self\.)?[A-Za-z_]\w*)\[[^\]\n]{1,80}\]\s*=[^=]/g
      : /(?<![\w$.])((?:this\.)?[A-Za-z_$][\w$]*)\.(?:push|unshift|add|set)\(|(?<![\w$.])((?:this\.)?[A-Za-z_$][\w$]*)\[[^\]\n]{1,80}\]\s*=[^=]/g;
  scanned(file).masked.forEach((l, i) => {
    for (const m of l.matchAll(re)) {
      const name = (m[1] ?? m[2])!;
      if ((name.startsWith(`${own}.`) || modules.has(name)) && !out.has(name)) out.set(name, i + 1);
    }
  });
  return out;
}

/** A reset of `ref` to empty: `x = []`, `x = new Map()`, `x = {}`, `x.length = 0`, `x.clear()`, `x.splice(0)`, `del x[:]`. */
function resetRe(ref: string, fam: string): RegExp {
  const e = ref.replace(/[.$]/g, '\\$&');
  return fam === 'python'
    ? new RegExp(`(?<![\\w.])${e}(?:\\[\\s*:\\s*\\])?\\s*(?::[^=\\n]{1,60})?=\\s*(?:\\[\\s*\\]|\\{\\s*\\}|(?:set|dict|list|deque|defaultdict)\\(\\s*\\w*\\s*\\))\\s*$|(?<![\\w.])${e}\\.clear\\(\\s*\\)|\\bdel\\s+${e}\\[\\s*:\\s*\\]`, 'gm')
    : new RegExp(`(?<![\\w$.])${e}\\s*=\\s*(?:\\[\\s*\\]|\\{\\s*\\}|new\\s+(?:Map|Set|Array)(?:<[^>\\n]{0,80}>)?\\(\\s*\\))|(?<![\\w$.])${e}\\.length\\s*=\\s*0\\b|(?<![\\w$.])${e}\\.(?:clear\\(\\s*\\)|splice\\(\\s*0\\s*(?:,\\s*${e}\\.length\\s*)?\\))`, 'g');
}

/**
 * 3. A shared buffer handed on before an await and emptied after it:
 *    `await this.client.insert(this.buffer); this.buffer = []`. Items other callers added while the
 *    write was in flight are dropped with it (and a second flush started meanwhile sends the same items).
 *    Swapping the buffer out before the await (`const batch = this.buffer; this.buffer = []`) is quiet.
 */
function resetAfterAwait(file: SourceFile, targets: FunctionSpan[], fam: string, modules: Set<string>): DetectorReport[] {
  const out: DetectorReport[] = [];
  const added = accumulated(file, fam, modules);
  if (added.size === 0) return out;
  for (const span of targets) {
    // Shutdown paths empty their buffers once nothing adds any more.
    if (/(?:^|[._])(?:a?close|shutdown|stop|dispose|teardown|destroy|__aexit__)$/i.test(span.name)) continue;
    const b = bodyOf(file, span);
    if (fam === 'python' ? MUTEX_PY.test(b.masked) : LOCK_JS.test(b.masked)) continue;
    const awaits = [...b.masked.matchAll(/\bawait\b/g)].map((m) => m.index).filter((i) => innermost(file, lineAt(b, i)) === span);
    if (awaits.length === 0) continue;
    for (const [ref, addLine] of added) {
      if (!b.masked.includes(ref)) continue;
      // The adding code must live elsewhere: other callers fill the buffer while this one awaits.
      if (addLine >= span.startLine && addLine <= span.endLine && [...added.values()].every((l) => l >= span.startLine && l <= span.endLine)) continue;
      const resets = [...b.masked.matchAll(resetRe(ref, fam))].map((m) => m.index).filter((i) => innermost(file, lineAt(b, i)) === span);
      const refs = refsOf(b.masked, ref);
      for (const r of resets) {
        const before = awaits.filter((a) => a < r);
        const a = before[before.length - 1];
        if (a === undefined) continue;
        const end = statementEnd(b.masked, a, fam);
        if (end > r) continue;
        // The previous reset before that await (a swap) starts the window in which the buffer is read.
        const prev = resets.filter((x) => x < a).pop() ?? -1;
        const read = refs.find((p) => p > prev && p < end && !resets.includes(p) && consumes(b.masked, p, ref));
        if (read === undefined) continue;
        // Refilled right after the reset (a cache rebuilt from fresh data) is not a drain.
        const tail = b.masked.slice(r, b.masked.length);
        if (new RegExp(`${ref.replace(/[.$]/g, '\\$&')}(?:\\[[^\\]\\n]{1,80}\\]\\s*=[^=]|\\.(?:push|add|set|append|extend|update)\\()`).test(tail)) continue;
        const line = Math.min(lineAt(b, read), lineAt(b, a));
        const awaitLine = lineAt(b, a);
        const resetLine = lineAt(b, r);
        if (!file.added.has(resetLine) && !file.added.has(awaitLine)) continue;
        const awaitCall = /await\s+([\w$.]+)/.exec(textOf(file, awaitLine))?.[1];
        const facts: Record<string, string> = { pattern: 'reset-after-await', state: ref, actor: fam === 'python' ? 'coroutine' : 'task', mutation: `line ${addLine}: ${textOf(file, addLine)}` };
        if (awaitCall) facts.awaitCall = awaitCall;
        out.push({
          line,
          endLine: resetLine,
          severity: 'high',
          confidence: 0.75,
          title: `${span.name} hands ${ref} to ${awaitCall ?? 'an await'} and empties it afterwards; items other callers add while it waits are dropped`,
          functionName: span.name,
          entity: ref,
          evidence: [
            { line: lineAt(b, read), text: textOf(file, lineAt(b, read)), role: 'read' },
            { line: awaitLine, text: textOf(file, awaitLine), role: 'start' },
            { line: resetLine, text: textOf(file, resetLine), role: 'write' },
          ],
          facts,
          variant: 'async',
        });
        break;
      }
    }
  }
  return out;
}

/** A use of the collection's contents (passed on, iterated, copied), not only a size check or an add. */
function consumes(text: string, at: number, ref: string): boolean {
  const after = text.slice(at + ref.length, at + ref.length + 40);
  if (/^\s*(?:\.\s*(?:length|size|has|get|push|add|set|unshift|append|extend|insert|appendleft|setdefault)\b|\[)/.test(after)) return false;
  if (/^\s*(?:=(?!=)|\+=|-=)/.test(after)) return false;
  // Python's len(x) / bool(x) / `if x:` are size checks too.
  const before = text.slice(Math.max(0, at - 12), at);
  return !/\b(?:len|bool|not)\s*\(?\s*$|\bif\s+$/.test(before);
}

const LAUNCH = /\b(?:asyncio\.gather|gather|create_task|ensure_future|asyncio\.wait|as_completed|start_soon|Promise\.(?:all|allSettled|race|any))\s*\(/;

/**
 * Whether the function runs concurrently with itself: a launcher (`asyncio.gather`, `create_task`,
 * TaskGroup, `Promise.all`) in a file of the diff names it, or it is a callback passed to `.map(async …)`
 * under `Promise.all` / `.forEach(async …)`.
 */
function launchedConcurrently(files: readonly SourceFile[], file: SourceFile, span: FunctionSpan): boolean {
  const head = file.lines[span.startLine - 1] ?? '';
  if (/\.forEach\(\s*async\b/.test(head)) return true;
  if (/\.map\(\s*async\b/.test(head)) {
    for (let l = span.startLine; l >= Math.max(1, span.startLine - 4); l--) if (/\bPromise\.(?:all|allSettled|race|any)\s*\(/.test(file.lines[l - 1] ?? '')) return true;
  }
  const name = span.name.split('.').pop()!;
  if (!/^[A-Za-z_$][\w$]*$/.test(name) || name === 'anonymous') return false;
  const named = new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  for (const f of files) {
    const lines = scanned(f).code;
    for (let i = 0; i < lines.length; i++) {
      if (!LAUNCH.test(lines[i]!)) continue;
      // The launcher's arguments may run over a few lines: `gather(*(self.work(x) for x in xs))`.
      const window = lines.slice(i, i + 6).join('\n');
      // A launcher inside the function itself starts other work, not this function.
      if (f === file && i + 1 >= span.startLine && i + 1 <= span.endLine) continue;
      if (named.test(window)) return true;
    }
  }
  return false;
}

/**
 * 4. A shared field updated across an await: `job.total += await count(x)` (the old value is read before
 *    the coroutine suspends and stored after it resumes), or `n = obj.total; … await …; obj.total = n + k`,
 *    in a function the diff runs concurrently with itself. Concurrent runs each store their own sum and
 *    overwrite the others'. Awaiting into a local first (`k = await count(x); job.total += k`) is quiet.
 */
function updateAcrossAwait(files: readonly SourceFile[], file: SourceFile, targets: FunctionSpan[], fam: string): DetectorReport[] {
  const out: DetectorReport[] = [];
  for (const span of targets) {
    const b = bodyOf(file, span);
    if (!/\bawait\b/.test(b.masked)) continue;
    if (fam === 'python' ? MUTEX_PY.test(b.masked) : LOCK_JS.test(b.masked)) continue;
    const hits: Array<{ line: number; endLine: number; target: string; text: string }> = [];
    const globals = fam === 'python' ? new Set([...b.masked.matchAll(/^\s*(?:global|nonlocal)\s+([\w, ]+)$/gm)].flatMap((m) => m[1]!.split(',').map((x) => x.trim()))) : new Set<string>();
    const locals = localsOf(b.masked, fam);
    const nested = file.functions.some((f) => f !== span && f.name !== '<hunk>' && f.startLine <= span.startLine && f.endLine >= span.endLine && f.endLine - f.startLine > span.endLine - span.startLine);
    const moduleLet = (n: string) => fam === 'js' && scanned(file).code.some((l) => new RegExp(`^(?:export\\s+)?(?:let|var)\\s+${n.replace(/\$/g, '\\$')}\\b`).test(l));
    const shared = (target: string) => {
      const root = /^[A-Za-z_$][\w$]*/.exec(target)![0];
      // An object the function builds itself is per call; `self` / `this` / parameters may be shared.
      if (/[.[]/.test(target)) return !locals.has(root);
      // A plain name: a module/nonlocal variable (Python), or (JS) a variable of the enclosing function or module.
      if (fam === 'python') return globals.has(target);
      return !locals.has(target) && !jsParams(b.masked).has(target) && (nested || moduleLet(target));
    };
    for (let line = span.startLine + 1; line <= span.endLine; line++) {
      const t = maskedLine(b, line);
      if (!t.includes('await') || innermost(file, line) !== span) continue;
      const m =
        /^\s*((?:self\.|this\.)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*){0,3}(?:\[[^\]\n]{1,60}\])?)\s*(?:\+=|-=|\*=|\|=)\s*(?:\(\s*)?await\b/.exec(t) ??
        /^\s*((?:self\.|this\.)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*){0,3})\s*=\s*(\1)\s*[-+*|]\s*(?:\(\s*)?await\b/.exec(t);
      if (m && shared(m[1]!) && file.added.has(line)) hits.push({ line, endLine: line, target: m[1]!, text: textOf(file, line) });
    }
    // Split form: `n = obj.f` … `await` … `obj.f = n + k`.
    for (let line = span.startLine + 1; line <= span.endLine; line++) {
      const t = maskedLine(b, line);
      const s = /^\s*(?:(?:const|let|var)\s+)?([A-Za-z_$][\w$]*)\s*=\s*((?:self\.|this\.)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*){1,3})\s*;?\s*$/.exec(t);
      if (!s || !shared(s[2]!) || innermost(file, line) !== span) continue;
      const [local, target] = [s[1]!, s[2]!];
      const te = target.replace(/[.$]/g, '\\$&');
      const le = local.replace(/\$/g, '\\$');
      let awaitLine: number | undefined;
      for (let l = line + 1; l <= span.endLine; l++) {
        const lt = maskedLine(b, l);
        if (awaitLine === undefined && /\bawait\b/.test(lt)) awaitLine = l;
        if (new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?${le}\\s*=[^=]`).test(lt)) break;
        if (awaitLine !== undefined && l > awaitLine - 1 && new RegExp(`(?<![\\w$.])${te}\\s*=\\s*[^=\\n]{0,120}(?<![\\w$.])${le}(?![\\w$])\\s*[-+*|]|(?<![\\w$.])${te}\\s*=\\s*[^=\\n]{0,120}[-+*|]\\s*(?<![\\w$.])${le}(?![\\w$])`).test(lt)) {
          if (awaitLine !== l && (file.added.has(line) || file.added.has(l))) hits.push({ line, endLine: l, target, text: textOf(file, l) });
          break;
        }
      }
    }
    if (hits.length === 0) continue;
    let live = hits;
    if (!launchedConcurrently(files, file, span)) {
      // A request handler runs once per request, concurrently: only state that outlives the request is shared.
      if (!isHandler(file, span)) continue;
      const top = moduleNames(file, fam);
      live = hits.filter((h) => /^(?:self|this)\./.test(h.target) || top.has(/^[A-Za-z_$][\w$]*/.exec(h.target)![0]));
    }
    for (const h of live) {
      out.push({
        line: h.line,
        endLine: h.endLine,
        severity: 'high',
        confidence: 0.7,
        title: `${span.name} reads ${h.target} before an await and stores its update after it; concurrent runs overwrite each other's updates`,
        functionName: span.name,
        entity: h.target,
        evidence: [{ line: h.line, text: textOf(file, h.line), role: 'state' }, ...(h.endLine !== h.line ? [{ line: h.endLine, text: h.text, role: 'write' }] : [])],
        facts: { pattern: 'update-across-await', state: h.target, actor: fam === 'python' ? 'coroutine' : 'task' },
        variant: 'async',
      });
    }
  }
  return out;
}

/** Names a function binds itself (not parameters): `const x`, `let x`, Python `x = …`, `for x in`, `with … as x`. */
function localsOf(text: string, fam: string): Set<string> {
  const out = new Set<string>();
  if (fam === 'python') {
    for (const m of text.matchAll(/^\s*([A-Za-z_]\w*)\s*(?::[^=\n]{1,80})?=(?!=)/gm)) out.add(m[1]!);
    for (const m of text.matchAll(/\bfor\s+([\w, ]+?)\s+in\b|\bas\s+([A-Za-z_]\w*)/g)) for (const n of (m[1] ?? m[2])!.split(',')) out.add(n.trim());
    return out;
  }
  for (const m of text.matchAll(/\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)/g)) out.add(m[1]!);
  for (const m of text.matchAll(/\b(?:const|let|var)\s+[{[]([^}\]]{0,300})[}\]]/g)) for (const n of m[1]!.matchAll(/([A-Za-z_$][\w$]*)\s*(?=[,}\]=]|$)/g)) out.add(n[1]!);
  return out;
}

/** Parameter names of a JS function: the identifiers of its first parameter list. */
function jsParams(text: string): Set<string> {
  const out = new Set<string>();
  const head = /^[^{]*?(?:async\s*)?\(([^)]{0,400})\)\s*(?::[^={]{0,200})?(?:=>|\{)|^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text.slice(0, 600));
  if (head) for (const n of (head[1] ?? head[2] ?? '').matchAll(/(?:^|[,({]\s*)\.{0,3}([A-Za-z_$][\w$]*)/g)) out.add(n[1]!);
  return out;
}

/** A web route handler: `@app.post(…)` / `@router.get(…)` above a Python function, `app.post('/x', async (req, res) =>` in JS. */
function isHandler(file: SourceFile, span: FunctionSpan): boolean {
  for (let l = span.startLine; l >= Math.max(1, span.startLine - 4); l--) {
    const t = file.lines[l - 1] ?? '';
    if (/^\s*@\w+\.(?:get|post|put|patch|delete|route|websocket|api_route)\(/.test(t)) return true;
    if (/\b(?:app|router|server|fastify|api)\.(?:get|post|put|patch|delete|all|route)\(\s*['"`]/.test(t)) return true;
    if (l < span.startLine && !/^\s*@/.test(t)) break;
  }
  return false;
}

/** Names bound at the top level of a file (module state). */
function moduleNames(file: SourceFile, fam: string): Set<string> {
  const out = new Set<string>();
  const re = fam === 'python' ? /^([A-Za-z_]\w*)\s*(?::[^=\n]{1,80})?=(?!=)/ : /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)/;
  for (const l of scanned(file).code) {
    const m = re.exec(l);
    if (m) out.add(m[1]!);
  }
  return out;
}

// ------------------------------------------------------------------ check, await, then write

/** Classes defined in the diff (per review): only those can be known to live in shared collections. */
const definedCache = new WeakMap<readonly SourceFile[], Set<string>>();

function definedClasses(files: readonly SourceFile[]): Set<string> {
  let out = definedCache.get(files);
  if (out) return out;
  out = new Set();
  for (const f of files) {
    for (const l of scanned(f).code) {
      if (!l.includes('class')) continue;
      const m = /^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Z][\w$]*)/.exec(l);
      if (m) out.add(m[1]!);
    }
  }
  definedCache.set(files, out);
  return out;
}

/**
 * Classes whose instances the file keeps in a shared collection: `rooms: dict[int, Room] = {}`,
 * `new Map<string, Room>()`, `rooms[k] = Room(…)`, `rooms.setdefault(k, Room.from_x(…))`, `.set(k, new Room(…))`.
 */
function sharedClasses(files: readonly SourceFile[], file: SourceFile, fam: string): Set<string> {
  const defined = definedClasses(files);
  const out = new Set<string>();
  if (defined.size === 0) return out;
  const typed =
    fam === 'python'
      ? /^\s*(?:self\.)?[A-Za-z_]\w*\s*:\s*(?:dict|Dict|defaultdict|DefaultDict|WeakValueDictionary|OrderedDict|list|List|set|Set|deque|Deque)\[([^\n=]{1,160})\]\s*=/
      : /\b(?:Map|WeakMap|Record|Set)<([^\n;=]{1,160})>/;
  const stored =
    fam === 'python'
      ? /(?<![\w.])(?:self\.)?[A-Za-z_]\w*\[[^\]\n]{1,80}\]\s*=\s*([A-Z]\w*)[(.]|\.setdefault\([^,\n]{1,80},\s*([A-Z]\w*)[(.]/
      : /\.set\([^,\n]{1,80},\s*new\s+([A-Z][\w$]*)\(|(?<![\w$.])(?:this\.)?[A-Za-z_$][\w$]*\[[^\]\n]{1,80}\]\s*=\s*new\s+([A-Z][\w$]*)\(/;
  for (const l of scanned(file).code) {
    const t = typed.exec(l);
    if (t) for (const n of t[1]!.matchAll(/[A-Z][\w$]*/g)) if (defined.has(n[0])) out.add(n[0]);
    const st = stored.exec(l);
    const n = st && (st[1] ?? st[2]);
    if (n && defined.has(n)) out.add(n);
  }
  return out;
}

/** Whether `self` / `this` of the class around `span` outlives a call: a module-level instance, a DI singleton, a manager/registry/hub. */
function singletonSelf(files: readonly SourceFile[], file: SourceFile, span: FunctionSpan, fam: string): boolean {
  const lines = scanned(file).code;
  const fnIndent = (lines[span.startLine - 1] ?? '').search(/\S/);
  let cls: string | undefined;
  let clsLine = 0;
  for (let l = span.startLine - 1; l >= 1; l--) {
    const t = lines[l - 1] ?? '';
    const m = /^(\s*)(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Z][\w$]*)/.exec(t);
    if (m && m[1]!.length < fnIndent) {
      [cls, clsLine] = [m[2], l];
      break;
    }
  }
  // The class line may lie outside the diff's hunks: the span's qualified name still carries it, or the file
  // keeps one module-level instance of a class it defines itself (not imported) whose class line is not shown.
  if (!cls) cls = /^([A-Z][\w$]*)\.[\w$]+$/.exec(span.name)?.[1];
  if (!cls) return fnIndent > 0 && hiddenModuleInstance(lines, fam);
  if (/(?:Manager|Registry|Hub|Broker|Coordinator)$/.test(cls)) return true;
  for (let l = clsLine - 1; l >= Math.max(1, clsLine - 4); l--) {
    const t = lines[l - 1] ?? '';
    if (/^\s*@(?:Injectable|Service|singleton)\b/.test(t)) return !/Scope\.(?:REQUEST|TRANSIENT)/.test(t);
    if (!/^\s*@/.test(t) && t.trim()) break;
  }
  let known = singletonCache.get(files);
  if (!known) singletonCache.set(files, (known = new Map()));
  const seen = known.get(`${fam}:${cls}`);
  if (seen !== undefined) return seen;
  const inst = fam === 'python' ? new RegExp(`^[A-Za-z_]\\w*\\s*(?::[^=\\n]{1,80})?=\\s*${cls}\\(`) : new RegExp(`^(?:export\\s+)?(?:(?:const|let|var)\\s+[\\w$]+\\s*(?::[^=\\n]{1,80})?=|default)\\s*new\\s+${cls}\\(`);
  const found = files.some((f) => familyOf(f.language) === fam && (scanned(f).code.some((l) => l.includes(cls!) && inst.test(l)) || onAppState(scanned(f).code, cls!, fam)));
  known.set(`${fam}:${cls}`, found);
  return found;
}

const APP_STATE = /\b(?:app|application)\.(?:state|locals|extensions)\b|\bcurrent_app\.|\bapp\.(?:set|decorate)\(|\bapp\[\s*['"]/;

/**
 * Instances kept on the application for every request: `app.state.x = C(…)`, `app.locals.x = new C(…)`,
 * `app.decorate('x', new C(…))`, or a provider annotated to return `C` that reads them from the app
 * (`def get_x(request) -> C: return request.app.state.xs[k]`).
 */
function onAppState(lines: readonly string[], cls: string, fam: string): boolean {
  const made = fam === 'python' ? new RegExp(`\\b${cls}\\(`) : new RegExp(`\\bnew\\s+${cls}\\(`);
  const ret = fam === 'python' ? new RegExp(`\\)\\s*->\\s*${cls}\\s*:`) : new RegExp(`\\)\\s*:\\s*${cls}\\s*(?:=>|\\{)`);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (!l.includes(cls)) continue;
    if (APP_STATE.test(l) && made.test(l)) return true;
    if (ret.test(l)) for (let k = i + 1; k < Math.min(lines.length, i + 8); k++) if (APP_STATE.test(lines[k]!)) return true;
  }
  return false;
}

/** A module-level `x = C()` / `const x = new C()` of a class neither imported nor declared on a shown line. */
function hiddenModuleInstance(lines: readonly string[], fam: string): boolean {
  const inst = fam === 'python' ? /^[A-Za-z_]\w*\s*(?::[^=\n]{1,80})?=\s*([A-Z]\w*)\(\s*\)\s*$/ : /^(?:export\s+)?(?:const|let)\s+[\w$]+\s*=\s*new\s+([A-Z][\w$]*)\(\s*\)\s*;?\s*$/;
  for (const l of lines) {
    const m = inst.exec(l);
    if (!m) continue;
    const c = m[1]!;
    const named = new RegExp(`\\b${c}\\b`);
    if (lines.some((t) => named.test(t) && (/^\s*(?:from|import)\b|\brequire\(|^\s*(?:export\s+)?(?:default\s+)?class\s/.test(t)))) continue;
    return true;
  }
  return false;
}

/** Per review: whether a class is instantiated at module level (keyed by family and class name). */
const singletonCache = new WeakMap<readonly SourceFile[], Map<string, boolean>>();

/** Module-level names that hold state: collections, instances, and (JS) `let` bindings. */
function moduleState(file: SourceFile, fam: string, modules: Set<string>): Set<string> {
  const out = new Set(modules);
  const re = fam === 'python' ? /^([A-Za-z_]\w*)\s*(?::[^=\n]{1,80})?=\s*[A-Z]\w*\(/ : /^(?:export\s+)?(?:let\s+([A-Za-z_$][\w$]*)|(?:const|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=\s*new\s+[A-Z])/;
  for (const l of scanned(file).code) {
    const m = re.exec(l);
    if (m) out.add((m[1] ?? m[2])!);
  }
  return out;
}

/** A condition that only tests presence (`k not in x`, `.has(k)`, `is None`, `=== undefined`): the cache-fill case, reported as check-then-set. */
const PRESENCE = /\bnot\s+in\b|\bin\s+(?:self|this)?\.?[\w$.]+\s*$|\.has\(|\bis\s+(?:not\s+)?None\b|[!=]==?\s*(?:undefined|null)\b/;

/**
 * 5. Shared state checked before an await and overwritten after it from what the check saw:
 *    `if amount < room.high_bid + step: return` … `await db.commit()` … `room.high_bid = amount`. Another task
 *    passes the same check while this one waits, and the later write wins whatever the values. The state is
 *    shared when it is an attribute of a singleton's `self` / `this`, a module-level name, an element taken
 *    from a module-level or singleton collection, or a parameter of a class the file keeps in one.
 *    Quiet under a lock, when the state is claimed before the first await, re-checked after the last one,
 *    merged with max/min, or awaited straight into the state (lazy initialisation).
 */
function checkAcrossAwait(files: readonly SourceFile[], file: SourceFile, targets: FunctionSpan[], fam: string, modules: Set<string>): DetectorReport[] {
  const out: DetectorReport[] = [];
  if (targets.length === 0) return out;
  let types: Set<string> | undefined;
  let modState: Set<string> | undefined;
  const own = fam === 'python' ? 'self' : 'this';
  for (const span of targets) {
    if (/(?:^|[._])(?:__init__|constructor|__aenter__|__aexit__)$/.test(span.name)) continue;
    const b = bodyOf(file, span);
    // No `if`: only a selection then claim (pickViaHelper) can apply, and it needs a `self.` / `this.` helper or max/min.
    if (!/\bawait\b/.test(b.masked) || (!/\bif\b/.test(b.masked) && !b.masked.includes(`${own}.`))) continue;
    if (fam === 'python' ? MUTEX_PY.test(b.masked) || LOCK_PY.test(b.masked) : LOCK_JS.test(b.masked)) continue;
    types ??= sharedClasses(files, file, fam);
    modState ??= moduleState(file, fam, modules);
    // Roots whose attributes are shared.
    const roots = new Set<string>();
    if (b.masked.includes(`${own}.`) && (singletonSelf(files, file, span, fam) || calledFromLaunched(files, file, span, fam))) roots.add(own);
    for (const n of modState) if (b.masked.includes(n)) roots.add(n);
    const head = b.masked.slice(0, 600);
    const sig = fam === 'python' ? /\(([\s\S]*?)\)\s*(?:->[^:]*)?:/.exec(head)?.[1] : /\(([^)]{0,400})\)/.exec(head)?.[1];
    if (sig && types.size) for (const p of sig.matchAll(/([A-Za-z_$][\w$]*)\s*:\s*([A-Z][\w$]*)/g)) if (types.has(p[2]!)) roots.add(p[1]!);
    if (roots.size === 0) continue;
    const collRoots = [...roots].filter((r) => r !== own).map((r) => r.replace(/\$/g, '\\$'));
    const collOf = new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?([A-Za-z_$][\\w$]*)\\s*(?::[^=\\n]{1,80})?=\\s*(?:await\\s+)?(?:${roots.has(own) ? `${own}\\.[A-Za-z_$][\\w$]*|` : ''}${collRoots.join('|') || '(?!)'})(?:\\.(?:get|setdefault)\\(|\\[)`);
    const lines: string[] = [];
    for (let l = b.startLine; l <= b.endLine; l++) lines.push(maskedLine(b, l));
    const at = (l: number) => lines[l - b.startLine] ?? '';
    const ownLine = lines.map((_, i) => innermost(file, b.startLine + i) === span);
    const own1 = (l: number) => ownLine[l - b.startLine] === true;
    for (let l = b.startLine + 1; l <= b.endLine; l++) {
      const m = collOf.exec(at(l));
      if (m && own1(l)) roots.add(m[1]!);
    }
    const rootAlt = [...roots].map((r) => r.replace(/\$/g, '\\$')).join('|');
    const claim = pickThenClaim(file, span, b, at, own1, rootAlt, fam);
    if (claim) {
      out.push(claim);
      continue;
    }
    if (!/\bif\b/.test(b.masked)) continue;
    // `root.field`, not a method call: the state a check reads.
    const slotRe = new RegExp(`(?<![\\w$.])(${rootAlt})\\.([A-Za-z_$][\\w$]*)(?!\\s*\\()`, 'g');
    const slotsIn = (t: string) => [...t.matchAll(slotRe)].map((x) => `${x[1]}.${x[2]}`);
    const helperCall = new RegExp(`(?<![\\w$.])${own}\\.([A-Za-z_$][\\w$]*)\\s*\\(`, 'g');
    const derived = new Map<string, { slots: string[]; line: number }>();
    let reported = false;
    for (let l = b.startLine + 1; l <= b.endLine && !reported; l++) {
      const t = at(l);
      if (!own1(l)) continue;
      const asg = /^\s*(?:(?:const|let|var)\s+)?([A-Za-z_$][\w$]*)\s*(?::[^=\n]{1,80})?=(?![=>])(.*)$/.exec(t);
      if (asg) {
        const sl = slotsIn(asg[2]!);
        // `free = self._free_slots(k)`: a sync helper of the same class reads the state on the caller's behalf.
        if (roots.has(own) && asg[2]!.includes(`${own}.`)) for (const h of asg[2]!.matchAll(helperCall)) sl.push(...helperSlots(file, h[1]!, own));
        for (const [name, d] of derived) if (name !== asg[1] && new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(asg[2]!)) sl.push(...d.slots);
        if (sl.length && !/\bawait\b/.test(asg[2]!)) derived.set(asg[1]!, { slots: [...new Set(sl)], line: l });
        else derived.delete(asg[1]!);
      }
      // The check: `if …:` / `if (…)`.
      const cond = ifCondition(b, lines, l, t, fam);
      if (cond === undefined || PRESENCE.test(cond.text)) continue;
      const checked = new Map<string, number>();
      for (const sl of slotsIn(cond.text)) checked.set(sl, l);
      // `if self._has_pending(k): raise`: a sync helper of the same class reads the state for the check.
      if (roots.has(own) && cond.text.includes(`${own}.`)) for (const h of cond.text.matchAll(helperCall)) for (const sl of helperSlots(file, h[1]!, own)) if (!checked.has(sl)) checked.set(sl, l);
      for (const [name, d] of derived) if (new RegExp(`(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(cond.text)) for (const sl of d.slots) if (!checked.has(sl)) checked.set(sl, d.line);
      if (checked.size === 0) continue;
      const exits = /\b(?:return|raise|throw|continue|break)\b/.test(lines.slice(cond.bodyStart - b.startLine, cond.bodyEnd - b.startLine + 1).join('\n'));
      for (const [slot, readLine] of checked) {
        const w = writeAfterAwait(at, own1, slot, cond.endLine + 1, b.endLine);
        if (!w || (!exits && w.line > cond.bodyEnd)) continue;
        if (!(file.added.has(l) || file.added.has(w.line))) continue;
        const start = Math.min(readLine, l);
        const awaitCall = /await\s+([\w$.]+)/.exec(textOf(file, w.awaitLine))?.[1];
        out.push({
          line: start,
          endLine: w.line,
          severity: 'high',
          confidence: 0.7,
          title: `${span.name} checks ${slot}, awaits ${awaitCall ?? 'other work'}, then writes ${slot} from what it checked: another task passes the same check meanwhile and the later write wins`,
          functionName: span.name,
          entity: slot,
          evidence: [
            ...(start < l ? [{ line: start, text: textOf(file, start), role: 'read' }] : []),
            { line: l, text: textOf(file, l), role: 'state' },
            { line: w.awaitLine, text: textOf(file, w.awaitLine), role: 'start' },
            { line: w.line, text: textOf(file, w.line), role: 'write' },
          ],
          facts: { pattern: 'check-across-await', state: slot, actor: fam === 'python' ? 'coroutine' : 'task', ...(awaitCall ? { awaitCall } : {}) },
          variant: 'async',
        });
        reported = true;
        break;
      }
    }
  }
  return out;
}

/**
 * An element picked from a shared collection (`x = free[0]`, `next(iter(free))`, `free.values().next().value`),
 * then an await, and only then removed from it (`free.remove(x)`, `free.delete(x)`, `free.splice(…)`): every
 * task that runs during the await picks the same element. Quiet when removed (claimed) before the first await.
 */
function pickThenClaim(
  file: SourceFile,
  span: FunctionSpan,
  b: ReturnType<typeof bodyOf>,
  at: (l: number) => string,
  own1: (l: number) => boolean,
  rootAlt: string,
  fam: string,
): DetectorReport | undefined {
  const picked = pickViaHelper(file, span, b, at, own1, rootAlt, fam);
  if (picked) return picked;
  if (!/\[\s*-?[01]\s*\]|\bnext\(|\.next\(\)/.test(b.masked)) return undefined;
  const coll = `((?:${rootAlt})(?:\\.[A-Za-z_$][\\w$]*){0,3})`;
  const pick = new RegExp(
    `^\\s*(?:(?:const|let|var)\\s+)?([A-Za-z_$][\\w$]*)\\s*(?::[^=\\n]{1,80})?=\\s*(?:${coll}\\s*\\[\\s*-?[01]\\s*\\]|next\\(\\s*iter\\(\\s*${coll}\\s*\\)|${coll}\\.(?:values|keys)\\(\\)\\.next\\(\\)\\.value)\\s*$`,
  );
  for (let l = b.startLine + 1; l <= b.endLine; l++) {
    if (!own1(l)) continue;
    const m = pick.exec(at(l));
    if (!m) continue;
    const name = m[1]!;
    const c = (m[2] ?? m[3] ?? m[4])!.replace(/[.$]/g, '\\$&');
    const n = name.replace(/\$/g, '\\$');
    const removal = new RegExp(
      `(?<![\\w$.])${c}\\.(?:remove|discard|delete|pop|shift|splice)\\(|\\bdel\\s+${c}\\[|(?<![\\w$.])${n}\\s+(?:in|not\\s+in)\\s+${c}\\b|${c}\\.(?:includes|has|indexOf)\\(\\s*${n}\\b`,
    );
    let awaitLine: number | undefined;
    for (let w = l + 1; w <= b.endLine; w++) {
      if (!own1(w)) continue;
      const t = at(w);
      if (removal.test(t)) {
        // a re-check (`if x in free`) or a removal before any await claims the element in time
        if (awaitLine === undefined || !/\.(?:remove|discard|delete|pop|shift|splice)\(|\bdel\s/.test(t)) break;
        if (!(file.added.has(l) || file.added.has(w))) break;
        return pickedReport(file, span, fam, { verb: 'picks', name, state: (m[2] ?? m[3] ?? m[4])!, pick: l, awaitLine, removal: w });
      }
      if (awaitLine === undefined && /\bawait\b/.test(t)) awaitLine = w;
    }
  }
  return undefined;
}

/** The report for an element picked (or selected) from shared `state`, an await, and only then its removal. */
function pickedReport(
  file: SourceFile,
  span: FunctionSpan,
  fam: string,
  o: { verb: 'picks' | 'selects'; name: string; state: string; pick: number; awaitLine: number; removal: number },
): DetectorReport {
  const awaitCall = /await\s+([\w$.]+)/.exec(textOf(file, o.awaitLine))?.[1];
  return {
    line: o.pick,
    endLine: o.removal,
    severity: 'high',
    confidence: 0.7,
    title: `${span.name} ${o.verb} ${o.name} from ${o.state}, awaits ${awaitCall ?? 'other work'}, and only then removes it: every task that runs during the await ${o.verb} the same element`,
    functionName: span.name,
    entity: o.state,
    evidence: [
      { line: o.pick, text: textOf(file, o.pick), role: 'state' },
      { line: o.awaitLine, text: textOf(file, o.awaitLine), role: 'start' },
      { line: o.removal, text: textOf(file, o.removal), role: 'write' },
    ],
    facts: { pattern: 'check-across-await', state: o.state, actor: fam === 'python' ? 'coroutine' : 'task', ...(awaitCall ? { awaitCall } : {}) },
    variant: 'async',
  };
}

/** A sync helper's body that selects one element: `max(…)` / `min(…)` / `next(…)` / `[0]` / `.find(…)` / `choice(…)`. */
const SELECTS = /\b(?:max|min|next|choice)\(|\[\s*-?[01]\s*\]|\.find\(|\.reduce\(/;

/**
 * An element selected from a shared collection by a sync helper of the class (`d = self._best_for(k)`, whose body
 * takes `max(…)` over `self._free.values()`) or by `max(self.x.values(), …)` / `min(…)` in place, then an await,
 * and only then removed from that collection by the element (`self._free.pop(d.id)`, `.remove(d)`, `del x[d.id]`,
 * `.delete(d.id)`): every task that runs during the await selects the same element. Quiet when removed first.
 */
function pickViaHelper(
  file: SourceFile,
  span: FunctionSpan,
  b: ReturnType<typeof bodyOf>,
  at: (l: number) => string,
  own1: (l: number) => boolean,
  rootAlt: string,
  fam: string,
): DetectorReport | undefined {
  const own = fam === 'python' ? 'self' : 'this';
  if (!b.masked.includes(`${own}.`) || !new RegExp(`(?<![\\w$.])(?:${rootAlt})(?![\\w$])`).test(own)) return undefined;
  const asg = new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?([A-Za-z_$][\\w$]*)\\s*(?::[^=\\n]{1,80})?=\\s*(?:${own}\\.([A-Za-z_$][\\w$]*)\\s*\\(|(?:max|min)\\(\\s*(${own}\\.[A-Za-z_$][\\w$]*))`);
  for (let l = b.startLine + 1; l <= b.endLine; l++) {
    if (!own1(l)) continue;
    const m = asg.exec(at(l));
    if (!m) continue;
    let colls: string[];
    if (m[3]) colls = [m[3]];
    else {
      const f = file.functions.find((g) => !g.async && (g.name === m[2] || g.name.endsWith(`.${m[2]}`)) && g.endLine - g.startLine < 40);
      if (!f || !SELECTS.test(bodyOf(file, f).masked)) continue;
      colls = [...new Set(helperSlots(file, m[2]!, own))];
    }
    if (colls.length === 0) continue;
    const n = m[1]!.replace(/\$/g, '\\$');
    let awaitLine: number | undefined;
    for (let w = l + 1; w <= b.endLine; w++) {
      if (!own1(w)) continue;
      const t = at(w);
      const hit = colls.find((c) => {
        const e = c.replace(/[.$]/g, '\\$&');
        return new RegExp(`(?<![\\w$.])${e}\\.(?:pop|remove|discard|delete)\\(\\s*${n}(?![\\w$])|\\bdel\\s+${e}\\[\\s*${n}(?![\\w$])`).test(t);
      });
      if (hit) {
        if (awaitLine === undefined || !(file.added.has(l) || file.added.has(w))) break;
        return pickedReport(file, span, fam, { verb: 'selects', name: m[1]!, state: hit, pick: l, awaitLine, removal: w });
      }
      if (new RegExp(`^\\s*(?:(?:const|let|var)\\s+)?${n}\\s*=[^=]`).test(t)) break;
      if (awaitLine === undefined && /\bawait\b/.test(t)) awaitLine = w;
    }
  }
  return undefined;
}

/** Per review: method names awaited from a function the diff launches concurrently (`create_task(handle(q, …))` → `await q.add(…)`). */
const launchedCallsCache = new WeakMap<readonly SourceFile[], Map<string, Set<string>>>();

/**
 * Whether the method `span` is awaited on an object from a function the diff runs concurrently with itself
 * (`asyncio.create_task(handle(ws, room.queue, …))` per message, and `handle` awaits `queue.request(…)`): the
 * object is then shared by those concurrent runs.
 */
function calledFromLaunched(files: readonly SourceFile[], file: SourceFile, span: FunctionSpan, fam: string): boolean {
  const name = span.name.split('.').pop()!;
  if (!span.name.includes('.') || !/^[A-Za-z_$][\w$]*$/.test(name)) return false;
  let byFam = launchedCallsCache.get(files);
  if (!byFam) launchedCallsCache.set(files, (byFam = new Map()));
  let names = byFam.get(fam);
  if (!names) {
    names = new Set();
    byFam.set(fam, names);
    // Launcher windows, once: `create_task(` / `gather(` / `Promise.all(` and the few lines after.
    const windows: Array<{ file: SourceFile; line: number; text: string }> = [];
    for (const f of files) {
      const lines = scanned(f).code;
      for (let i = 0; i < lines.length; i++) if (LAUNCH.test(lines[i]!)) windows.push({ file: f, line: i + 1, text: lines.slice(i, i + 6).join('\n') });
    }
    if (windows.length) {
      for (const f of files) {
        if (familyOf(f.language) !== fam || isTestPath(f.path) || !/\bawait\s/.test(fileCode(f))) continue;
        for (const g of f.functions) {
          const gname = g.name.split('.').pop()!;
          if (!g.async || g.endLine - g.startLine > 120 || !/^[A-Za-z_$][\w$]*$/.test(gname) || gname === 'anonymous') continue;
          const named = new RegExp(`(?<![\\w$])${gname.replace(/\$/g, '\\$')}(?![\\w$])`);
          if (!windows.some((w) => !(w.file === f && w.line >= g.startLine && w.line <= g.endLine) && named.test(w.text))) continue;
          for (const m of bodyOf(f, g).masked.matchAll(/\bawait\s+(?!self\.|this\.)[A-Za-z_$][\w$]*\.([A-Za-z_$][\w$]*)\s*\(/g)) names.add(m[1]!);
        }
      }
    }
  }
  return names.has(name);
}

/** The `self.x` / `this.x` fields a sync method of this file reads (`def _free(self): return [… self._taken …]`). */
function helperSlots(file: SourceFile, method: string, own: string): string[] {
  const f = file.functions.find((g) => !g.async && (g.name === method || g.name.endsWith(`.${method}`)) && g.endLine - g.startLine < 40);
  if (!f) return [];
  const masked = bodyOf(file, f).masked;
  return [...masked.matchAll(new RegExp(`(?<![\\w$.])${own}\\.([A-Za-z_$][\\w$]*)(?!\\s*\\()`, 'g'))].map((x) => `${own}.${x[1]}`);
}

/** The condition of an `if` on line `l` and its body's lines. */
function ifCondition(b: ReturnType<typeof bodyOf>, lines: readonly string[], l: number, t: string, fam: string): { text: string; endLine: number; bodyStart: number; bodyEnd: number } | undefined {
  if (!/^\s*(?:\}\s*else\s+)?(?:el)?if\b/.test(t) && !/^\s*(?:\}\s*)?else\s+if\b/.test(t)) return undefined;
  if (fam === 'python') {
    const m = /\bif\s+(.+?):\s*(\S.*)?$/.exec(t);
    if (!m) return undefined;
    if (m[2]) return { text: m[1]!, endLine: l, bodyStart: l, bodyEnd: l };
    return { text: m[1]!, endLine: l, bodyStart: l + 1, bodyEnd: blockEnd(lines, l - b.startLine + 1, lines.length) + b.startLine - 1 };
  }
  const off = offsetOfLine(b, l) + t.search(/\bif\b/);
  const open = b.masked.indexOf('(', off);
  const close = closeOf(b.masked, open);
  if (open < 0 || close < 0) return undefined;
  const endLine = lineAt(b, close);
  const rest = b.masked.slice(close + 1);
  const first = rest.search(/\S/);
  if (first >= 0 && rest[first] === '{') {
    const bc = closeOf(b.masked, close + 1 + first);
    return { text: b.masked.slice(open + 1, close), endLine, bodyStart: endLine, bodyEnd: bc < 0 ? endLine : lineAt(b, bc) };
  }
  const semi = b.masked.indexOf(';', close);
  return { text: b.masked.slice(open + 1, close), endLine, bodyStart: endLine, bodyEnd: semi < 0 ? endLine : lineAt(b, semi) };
}

function offsetOfLine(b: ReturnType<typeof bodyOf>, line: number): number {
  return b.lineStarts[line - b.startLine] ?? b.masked.length;
}

/**
 * The first write of `slot` after an await: `slot = …`, `slot += …`, `slot[k] = …`, `slot.set(k, …)`.
 * Undefined when the slot is written before any await (claimed first), re-checked after the last await,
 * merged with max/min, or assigned an awaited value.
 */
function writeAfterAwait(at: (l: number) => string, own: (l: number) => boolean, slot: string, from: number, to: number): { line: number; awaitLine: number } | undefined {
  const e = slot.replace(/[.$]/g, '\\$&');
  // An add to a checked collection (`if len(q) >= cap: raise` … await … `q.append(x)`) writes it too.
  const write = new RegExp(`(?<![\\w$.])${e}(?:\\[[^\\]\\n]{1,80}\\])?\\s*(?:=(?![=>])|\\+=|-=|\\*=|/=)|(?<![\\w$.])${e}\\.(?:set|append|add|push|insert|appendleft|unshift)\\(`);
  const read = new RegExp(`(?<![\\w$.])${e}(?![\\w$])`);
  let awaitLine: number | undefined;
  let rechecked = false;
  for (let l = from; l <= to; l++) {
    const t = at(l);
    if (!own(l)) continue;
    const isWrite = write.test(t);
    if (isWrite) {
      if (awaitLine === undefined || rechecked) return undefined;
      if (/\bawait\b|\b(?:Math\.)?(?:max|min)\(/.test(t)) return undefined;
      return { line: l, awaitLine };
    }
    if (/\bawait\b/.test(t)) {
      awaitLine = l;
      rechecked = false;
    } else if (awaitLine !== undefined && /^\s*(?:\}\s*else\s+)?(?:el)?if\b|\bwhile\b|\?/.test(t) && read.test(t)) rechecked = true;
  }
  return undefined;
}
