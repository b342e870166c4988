/**
 * shared-state-across-await (async_ordering)
 *
 * Rule: shared in-memory state that outlives one call (an attribute on `self`/`this`, or a module-level
 * collection) is
 * 1. iterated live while the loop body awaits (`for ws in self.rooms[room]: await ws.send(...)`): other
 *    coroutines add or remove elements at the await (Python raises "Set changed size during iteration";
 *    JS silently skips or revisits elements), or
 * 2. checked before an await and written after it (`if (!cache.has(k)) { v = await load(k); cache.set(k, v) }`):
 *    two callers both miss and both load/insert (a duplicate-load race, lower severity).
 *
 * Confidence: iteration 0.85 in Python when the same attribute is mutated elsewhere in the file (0.7 with
 * only a collection initialiser visible); 0.65 in JS (no exception, but missed or doubled elements).
 * Check-then-set across an await: 0.6, severity low.
 *
 * Deliberately left alone: locals and per-request objects (ctx, req, res, request, locals built in the
 * function), snapshots (`list(self.x)`, `tuple(...)`, `sorted(...)`, `.copy()`, `[...this.x]`,
 * `Array.from(this.x)`, `.slice()`), functions that hold a lock (`async with self._lock`, `mutex.runExclusive`,
 * `acquire()`), `async for`, attributes the file never shows to be a collection, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import { blockEnd, bodyOf, closeOf, dedupe, familyOf, fileCode, innermost, isTestPath, lineAt, scanTargets, scanned, textOf } from './lib/flow.js';

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
    return dedupe(fam === 'python' ? python(ctx.file, targets) : js(ctx.file, targets));
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
