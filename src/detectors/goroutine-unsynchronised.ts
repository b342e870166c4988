/**
 * goroutine-unsynchronised (async_ordering)
 *
 * Rule (Go): a `go func(…) { … }(…)` literal writes a variable it captures from the enclosing function
 * (a plain variable, a map entry, an `append` to a shared slice, a struct field) with no mutex, atomic or
 * channel guarding the write, and either
 * 1. the goroutine is started in a loop, so several goroutines write the same variable at once
 *    (`concurrent map writes` panics, lost `+=`, torn `append`), or
 * 2. two goroutine literals of the function write the same variable, or
 * 3. the enclosing function reads the variable after starting the goroutine without waiting for it
 *    (no `Wait()`, no channel receive).
 * With a `go.mod` in the diff declaring Go < 1.22, a goroutine in a loop that uses the loop variable
 * without passing it as an argument (or shadowing it) is flagged too: every goroutine sees the last value.
 *
 * Confidence: 0.9 for map writes, `append` and `+=`/`++` in a loop; 0.85 for other writes in a loop or by two
 * literals; 0.7 for a read without waiting; 0.7 for loop-variable capture under Go < 1.22.
 *
 * Deliberately left alone: writes under `mu.Lock()` in the literal, `atomic.*`, `sync.Map`, writes to
 * distinct slice indices (`results[i] = …`, the usual fan-out), variables declared inside the literal,
 * one goroutine per variable joined with `wg.Wait()` before the read, test files.
 */
import { createDetector, type DetectorReport } from './types.js';
import { bodyOf, closeOf, dedupe, indentOf, isTestPath, lineAt, scanTargets, scanned, textOf } from './lib/flow.js';
import type { SourceFile } from '../parse/types.js';

export default createDetector(
  {
    id: 'goroutine-unsynchronised',
    failureMode: 'async_ordering',
    languages: ['go'],
    description: 'A goroutine writes a captured variable, map or slice with no mutex, atomic or channel.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/goroutine-unsynchronised.md',
  },
  (ctx) => {
    const file = ctx.file;
    if (isTestPath(file.path)) return [];
    const oldGo = goVersionBelow122(ctx.files);
    const out: DetectorReport[] = [];
    for (const span of scanTargets(file, ctx.changedFunctions)) {
      if (/^\s*go\s+func\b/.test(scanned(file).masked[span.startLine - 1] ?? '') && span.name === '<anonymous>') continue;
      const b = bodyOf(file, span);
      const text = b.masked;
      const declared = declaredNames(text);
      const lits: Array<{ line: number; open: number; close: number; params: Set<string>; inLoop: string | undefined }> = [];
      for (const m of text.matchAll(/\bgo\s+func\s*\(([^)]*)\)\s*\{/g)) {
        const open = m.index + m[0].length - 1;
        const close = closeOf(text, open);
        if (close < 0) continue;
        const params = new Set((m[1] ?? '').split(',').map((p) => p.trim().split(/\s+/)[0] ?? '').filter(Boolean));
        const line = lineAt(b, m.index);
        lits.push({ line, open, close, params, inLoop: loopHeader(file, line, span.startLine) });
      }
      // errgroup / WaitGroup.Go: `g.Go(func() error { … })` starts a goroutine too.
      if (text.includes('.Go(')) {
        for (const m of text.matchAll(/\b\w+\.Go\(\s*func\s*\(\s*\)\s*(?:error\s*)?\{/g)) {
          const open = m.index + m[0].length - 1;
          const close = closeOf(text, open);
          if (close < 0) continue;
          const line = lineAt(b, m.index);
          lits.push({ line, open, close, params: new Set(), inLoop: loopHeader(file, line, span.startLine) });
        }
      }
      // A closure held in a local and started with `go name(…)`: `work := func(s Site) { … }` … `go work(s)`.
      if (text.includes(':= func')) {
        for (const m of text.matchAll(/(?:^|\n)[ \t]*(\w+)\s*:=\s*func\s*\(([^)]*)\)\s*\{/g)) {
          const open = m.index + m[0].length - 1;
          const close = closeOf(text, open);
          if (close < 0) continue;
          const name = m[1]!;
          const params = new Set((m[2] ?? '').split(',').map((p) => p.trim().split(/\s+/)[0] ?? '').filter(Boolean));
          for (const g of text.slice(close).matchAll(new RegExp(`\\bgo\\s+${name}\\(`, 'g'))) {
            const line = lineAt(b, close + g.index);
            lits.push({ line, open, close, params, inLoop: loopHeader(file, line, span.startLine) });
            break;
          }
        }
      }
      const writers = new Map<string, number[]>();
      for (const lit of lits) {
        const inner = text.slice(lit.open, lit.close);
        if (/\.(?:R?Lock)\(\)|\batomic\./.test(inner)) continue;
        const local = declaredNames(inner);
        for (const w of writesIn(inner)) {
          if (lit.params.has(w.name) || local.has(w.name) || !declared.has(w.name)) continue;
          if (w.kind === 'index' && !isMap(text, w.name)) continue;
          const wline = lineAt(b, lit.open + w.at);
          const list = writers.get(w.name) ?? [];
          list.push(lit.line);
          writers.set(w.name, list);
          const after = text.slice(lit.close);
          const readAfter = new RegExp(`\\b${w.name}\\b`).test(after) && !/\.Wait\(\)|<-/.test(after);
          const twoWriters = list.length > 1;
          if (!lit.inLoop && !twoWriters && !readAfter) continue;
          if (!file.added.has(lit.line) && !file.added.has(wline)) continue;
          const strong = w.kind === 'index' || w.kind === 'append' || w.kind === 'op';
          const confidence = lit.inLoop ? (strong ? 0.9 : 0.85) : twoWriters ? 0.85 : 0.7;
          const what = w.kind === 'index' ? `the map ${w.name}` : w.kind === 'append' ? `the slice ${w.name} (append)` : w.name;
          out.push({
            line: Math.min(lit.line, wline),
            endLine: Math.max(lit.line, wline),
            confidence,
            title: lit.inLoop
              ? `goroutines started in a loop all write ${what} with no mutex, atomic or channel`
              : twoWriters
                ? `two goroutines write ${what} with no mutex, atomic or channel`
                : `a goroutine writes ${what} while ${span.name} reads it without waiting`,
            functionName: span.name,
            entity: w.name,
            evidence: [
              ...(lit.inLoop ? [{ line: lit.inLoop === 'x' ? lit.line : Number(lit.inLoop), text: textOf(file, Number(lit.inLoop) || lit.line), role: 'start' }] : []),
              { line: lit.line, text: textOf(file, lit.line), role: 'start' },
              { line: wline, text: textOf(file, wline), role: 'state' },
            ].filter((e, i, a) => a.findIndex((x) => x.line === e.line) === i),
            facts: { pattern: 'mutate-across-await', state: w.name, actor: 'goroutine', awaitCall: 'go func' },
            variant: 'async',
          });
        }
        if (oldGo && lit.inLoop) {
          const header = textOf(file, Number(lit.inLoop));
          const vars = /^for\s+(?:(\w+)\s*,\s*)?(\w+)\s*:=/.exec(header);
          for (const v of [vars?.[1], vars?.[2]]) {
            if (!v || v === '_' || lit.params.has(v)) continue;
            if (new RegExp(`\\b${v}\\s*:=\\s*${v}\\b`).test(text.slice(offsetOfLine(b, Number(lit.inLoop)), lit.open))) continue;
            if (!new RegExp(`\\b${v}\\b`).test(inner)) continue;
            out.push({
              line: lit.line,
              endLine: lit.line,
              confidence: 0.7,
              title: `goroutines capture the loop variable ${v} (Go < 1.22): they all see its last value`,
              functionName: span.name,
              entity: v,
              evidence: [{ line: lit.line, text: textOf(file, lit.line), role: 'start' }],
              facts: { pattern: 'mutate-across-await', state: v, actor: 'goroutine' },
              variant: 'async',
            });
          }
        }
      }
    }
    return dedupe(out);
  },
);

function offsetOfLine(b: { lineStarts: number[]; startLine: number }, line: number): number {
  return b.lineStarts[line - b.startLine] ?? 0;
}

function declaredNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/(?:^|[\s;({])((?:\w+\s*,\s*)*\w+)\s*:=/g)) for (const n of m[1]!.split(',')) out.add(n.trim());
  for (const m of text.matchAll(/\bvar\s+((?:\w+\s*,\s*)*\w+)\s/g)) for (const n of m[1]!.split(',')) out.add(n.trim());
  // A `var ( … )` block: one or more names at the start of each line.
  for (const m of text.matchAll(/\bvar\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const close = closeOf(text, open);
    if (close < 0) continue;
    for (const line of text.slice(open + 1, close).split('\n')) {
      const d = /^\s*((?:\w+\s*,\s*)*\w+)\s+[\w*[\]]/.exec(line) ?? /^\s*((?:\w+\s*,\s*)*\w+)\s*=/.exec(line);
      if (d) for (const n of d[1]!.split(',')) out.add(n.trim());
    }
  }
  for (const m of text.matchAll(/^\s*func\s*(?:\(\s*(\w+)[^)]*\))?\s*\w*\s*\(([^)]*)\)/g)) {
    if (m[1]) out.add(m[1]);
    for (const p of (m[2] ?? '').split(',')) {
      const n = p.trim().split(/\s+/)[0];
      if (n) out.add(n);
    }
  }
  return out;
}

interface Write {
  name: string;
  kind: 'assign' | 'op' | 'index' | 'append' | 'field';
  at: number;
}

function writesIn(inner: string): Write[] {
  const out: Write[] = [];
  for (const m of inner.matchAll(/(?:^|\n)[ \t]*(\w+)(\.\w+)?(\[[^\]\n]+\])?[ \t]*(\+\+|--|[-+*/|&^]=|=(?!=))[ \t]*([^\n]*)/g)) {
    const [, name, field, index, op, rhs = ''] = m;
    if (!name || /^(?:_|if|for|return|defer|go|var|case|default|select|switch|else)$/.test(name)) continue;
    const at = m.index + (m[0].startsWith('\n') ? 1 : 0);
    let kind: Write['kind'];
    if (index && !field) kind = 'index';
    else if (field) kind = op === '=' ? 'field' : 'op';
    else if (op !== '=') kind = 'op';
    else if (new RegExp(`^append\\(\\s*${name}\\b`).test(rhs)) kind = 'append';
    else kind = 'assign';
    if (index && field) continue;
    out.push({ name, kind, at });
  }
  return out;
}

function isMap(text: string, name: string): boolean {
  return new RegExp(`\\b${name}\\s*(?::=|=)\\s*(?:make\\(\\s*map\\[|map\\[)|\\bvar\\s+${name}\\s+map\\[|\\b${name}\\s+map\\[`).test(text);
}

/** The line of the `for` whose body holds `line`, if any (by indentation, within the function). */
function loopHeader(file: SourceFile, line: number, start: number): string | undefined {
  const code = scanned(file).masked;
  let ind = indentOf(code[line - 1] ?? '');
  for (let l = line - 1; l >= start; l--) {
    const t = code[l - 1] ?? '';
    if (!t.trim()) continue;
    const i = indentOf(t);
    if (i < ind) {
      if (/^\s*for\b/.test(t)) return String(l);
      ind = i;
    }
  }
  return undefined;
}

const goVersionCache = new WeakMap<readonly SourceFile[], boolean>();

/** Whether the diff's go.mod asks for Go < 1.22 (once per review, not per Go file). */
function goVersionBelow122(files: readonly SourceFile[]): boolean {
  let v = goVersionCache.get(files);
  if (v === undefined) {
    v = false;
    for (const f of files) {
      if (!/(?:^|\/)go\.mod$/.test(f.path)) continue;
      const m = /^go\s+1\.(\d+)/m.exec(f.text);
      if (m) {
        v = Number(m[1]) < 22;
        break;
      }
    }
    goVersionCache.set(files, v);
  }
  return v;
}
