/**
 * async-foreach (async_ordering)
 *
 * Rule (TS/JS): an async callback passed to an array method that ignores promises:
 * - `xs.forEach(async (x) => { await … })`: forEach drops every promise; the loop "finishes" at once.
 * - `xs.filter|some|every|find|findIndex(async …)`: the predicate returns a promise, which is always truthy.
 * - `xs.map(async …)` whose array of promises is neither awaited (`await Promise.all/allSettled(…)`),
 *   returned, nor assigned to a variable that later reaches `Promise.all`, `await` or `return`.
 * The callback must contain `await` (forEach/map), so that there is real async work to lose.
 *
 * Confidence: 0.85 when the callback writes or sends (database write, publish, HTTP/email/SMS) or the
 * enclosing function goes on to reply/return after the loop; 0.7 otherwise. Predicates (filter/some/…): 0.8.
 *
 * Deliberately left alone: `for … of` loops with await (sequential, correct), `Promise.all(xs.map(async …))`,
 * `.map(async …)` stored and awaited later, `reduce(async …)` (often awaits its accumulator), test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import {
  bodyOf,
  classifyJsChain,
  closeOf,
  dedupe,
  innermost,
  isTestPath,
  JS_REPLY,
  jsOrmInFile,
  lineAt,
  parseChain,
  scanTargets,
  textOf,
} from './lib/flow.js';

const CALLBACK = /\.\s*(forEach|map|filter|some|every|find|findIndex|flatMap)\s*\(\s*async\b/g;

export default createDetector(
  {
    id: 'async-foreach',
    failureMode: 'async_ordering',
    languages: ['typescript', 'tsx', 'javascript'],
    description: 'An async callback passed to forEach/filter/some (or an un-awaited map): the promises are dropped.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/async-foreach.md',
  },
  (ctx) => {
    if (isTestPath(ctx.file.path)) return [];
    const file = ctx.file;
    const orm = jsOrmInFile(file);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      const b = bodyOf(file, span);
      for (const m of b.masked.matchAll(CALLBACK)) {
        const method = m[1]!;
        const open = b.masked.indexOf('(', m.index);
        const close = closeOf(b.masked, open);
        if (close < 0) continue;
        const line = lineAt(b, m.index);
        if (!file.added.has(line)) continue;
        // A callback whose own span starts on this line: the enclosing function sees the whole call.
        if (line === span.startLine && span.name !== '<hunk>' && ctx.file.functions.some((f) => f !== span && f.startLine < line && line <= f.endLine)) continue;
        const owner = innermost(file, line);
        if (owner !== span && owner && owner.startLine !== line) continue;
        const cb = b.masked.slice(open, close);
        const cbCode = b.code.slice(open, close);
        const predicate = /^(?:filter|some|every|find|findIndex)$/.test(method);
        if (!predicate && !/\bawait\b/.test(cb)) continue;
        const endLine = lineAt(b, close);

        if (method === 'map' || method === 'flatMap') {
          if (mapIsAwaited(b.masked, m.index, close)) continue;
        }

        // What the callback does: the first write/send inside it, if any.
        let writeLine: number | undefined;
        let writeCall: string | undefined;
        for (const w of cb.matchAll(/\bawait\s+/g)) {
          const at = open + w.index + w[0].length;
          const chain = parseChain(b.masked, at);
          if (!chain) continue;
          const cls = classifyJsChain(chain, b.code, { ormInFile: orm });
          if (cls) {
            writeLine = lineAt(b, at);
            writeCall = cls.call;
            break;
          }
        }
        // What the enclosing function does after the loop.
        let after: number | undefined;
        for (let l = endLine + 1; l <= span.endLine; l++) {
          const t = b.masked.slice(b.lineStarts[l - b.startLine] ?? 0, b.lineStarts[l - b.startLine + 1] ?? undefined);
          if (JS_REPLY.test(t) || /\breturn\b/.test(t)) {
            after = l;
            break;
          }
        }
        const confidence = predicate ? 0.8 : writeLine !== undefined || after !== undefined ? 0.85 : 0.7;
        const evidence = [{ line, text: textOf(file, line), role: 'start' }];
        if (writeLine !== undefined && writeLine !== line) evidence.push({ line: writeLine, text: textOf(file, writeLine), role: 'start' });
        if (after !== undefined) evidence.push({ line: after, text: textOf(file, after), role: 'act' });
        const target = /([\w$.]+)\s*$/.exec(b.masked.slice(Math.max(0, m.index - 80), m.index))?.[1] ?? 'items';
        const facts: Record<string, string> = {
          pattern: 'foreach-async',
          unawaitedCall: `${target}.${method}(async …)`,
          actor: 'task',
        };
        if (writeCall) facts.awaitCall = writeCall;
        if (after !== undefined && JS_REPLY.test(textOf(file, after))) facts.replyCall = textOf(file, after);
        out.push({
          line,
          endLine: Math.max(line, writeLine ?? line),
          severity: predicate || writeLine !== undefined || after !== undefined ? 'high' : 'medium',
          confidence,
          title: predicate
            ? `${target}.${method}(async …) uses a promise as a boolean: every element passes`
            : method === 'forEach'
              ? `${target}.forEach(async …) drops the callbacks' promises${writeCall ? ` (${writeCall})` : ''}: the function goes on before they finish`
              : `${target}.${method}(async …) creates promises that are never awaited${writeCall ? ` (${writeCall})` : ''}`,
          functionName: span.name,
          entity: target,
          evidence,
          facts,
          variant: 'async',
        });
        void cbCode;
      }
    }
    return dedupe(out);
  },
);

/** `await Promise.all(xs.map(async …))`, `return xs.map(…)`, or `const ps = xs.map(…)` later awaited. */
function mapIsAwaited(text: string, at: number, close: number): boolean {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  const before = text.slice(Math.max(0, lineStart - 200), at);
  if (/Promise\s*\.\s*(?:all|allSettled|any|race)\s*\(\s*(?:[\w$.]*\s*)?$/.test(before.replace(/\s+/g, ' ')) || /Promise\s*\.\s*(?:all|allSettled|any|race)\s*\([^;]*$/.test(before)) return true;
  const head = text.slice(lineStart, at);
  if (/^\s*(?:return|yield)\b/.test(head) || /=>\s*$/.test(before)) return true;
  const assigned = /^\s*(?:const|let|var)?\s*([\w$]+)\s*=\s*(?:await\s+)?/.exec(head);
  if (assigned) {
    if (/=\s*await\b/.test(head)) return true;
    const rest = text.slice(close);
    const v = assigned[1]!.replace(/\$/g, '\\$');
    if (new RegExp(`Promise\\s*\\.\\s*(?:all|allSettled|any|race)\\s*\\(\\s*(?:\\[\\s*\\.\\.\\.)?${v}\\b|\\bawait\\s+${v}\\b|\\breturn\\s+${v}\\b`).test(rest)) return true;
  }
  return false;
}
