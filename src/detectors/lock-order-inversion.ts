/**
 * lock-order-inversion (deadlock)
 *
 * Rule 1, rows locked in input order: inside a transaction, a loop over caller-ordered input (a
 * parameter of the function or of its enclosing function, or the request body) takes a row lock keyed
 * by the loop variable (`SELECT … FOR UPDATE`, `.forUpdate()`, `select_for_update()`, `lock!`,
 * `LOCK.UPDATE`, `pessimistic_write`, `pg_advisory_xact_lock`) or updates the row. Each iteration keeps
 * the locks it took, so two calls with overlapping keys in different orders wait on each other.
 * Quiet when the input is sorted in the function (`.sort(`, `sorted(`, `sort.Slice`, `sort_by`), when
 * the loop runs outside a transaction, or when the collection comes from a query (its order is the
 * query's).
 *
 * Rule 2, opposite lock order on two paths: a changed function takes lock B while holding lock A
 * (Go `a.mu.Lock()` then `b.mu.Lock()`, Python nested `with a_lock:` / `async with`, JS async-mutex
 * `acquire()` / `runExclusive`, advisory locks with literal keys), and some function of the diff takes
 * B then A. Lock names are canonical: a receiver's mutex is named after its type (`s.mu` in
 * `func (s *Session)` is `Session.mu`, `s.hub.mu` is `Hub.mu` through the struct field's type,
 * `sub.mu` for `sub` ranging over `[]*Session` is `Session.mu`). Quiet with one lock, or the same
 * order on every path.
 *
 * Loops whose only locking is a plain UPDATE per item (the row lock is implicit) are left alone: atomic
 * per-item updates in a transaction are also the usual fix for lost updates, and flagging them would be
 * noisy. They are kept as a known miss in the table test.
 *
 * Confidence: 0.9 for mutexes taken in opposite orders; 0.85 for explicit row locks in a loop over
 * input; 0.8 for advisory locks.
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
import type { EvidenceLine } from '../types.js';
import {
  cleanFacts,
  codeLine,
  displayName,
  enclosing,
  entityOfReceiver,
  escapeRe,
  familyOf,
  innermostFirst,
  loopsOf,
  mentions,
  paramsOf,
  shownRange,
  sqlTables,
  statementAt,
  testFrameworkHint,
  viewOf,
  blockEnd,
  type Family,
  type FnView,
} from './lib/state.js';

const LOOP_LOCK =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\.forUpdate\(|\bselect_for_update\b|\bwith_for_update\b|\block!|\.lock\.find\b|\.lock\(\)\.|\bLOCK\.UPDATE\b|lock:\s*(?:true|\w+\.LOCK)|pessimistic_write|setLock\(\s*['"]pessimistic|pg_advisory_xact_lock|pg_advisory_lock|GET_LOCK\(/i;
const LOOP_UPDATE =
  /\bUPDATE\s+["`]?\w+["`]?\s+SET\b|\.(?:update|updateMany|increment|decrement|update!|update_all|increment!|decrement!|update_columns?)\s*\(|\.(?:increment|decrement)!?\b/;
/** Transaction markers; `with_lock` is left out because it opens (and commits) its own transaction per row. */
const TX = /\btransaction\b|\$transaction\b|\bBEGIN\b|\batomic\b|\bBeginTx\b|\bBegin\(\)|\.begin\(|\bWithTransaction\b|\.Transaction\(|\bRunInTx\b/;
const INPUT = /\b(?:req|request)\.(?:body|data|json)|\bpayload\b|\bjob\.data\b|\bmsg\.|\bparams\[/;

function rowLoopReports(ctx: DetectorContext, v: FnView, seen: Set<number>): DetectorReport[] {
  const { file } = ctx;
  const outerFns = enclosing(file, v.fn);
  const outerCode = outerFns.map((f) => f.text).join('\n');
  const inTx = TX.test(v.code) || TX.test(outerCode);
  if (!inTx) return [];
  const params = new Set<string>(paramsOf(v));
  for (const f of outerFns) {
    const ov = viewOf(file, f);
    if (ov) for (const p of paramsOf(ov)) params.add(p);
  }
  const reports: DetectorReport[] = [];
  for (const loop of loopsOf(v)) {
    if (seen.has(loop.line)) continue;
    const root = /^(?:await\s+)?(?:this\.|self\.|@)?([A-Za-z_$][\w$]*)/.exec(loop.collection)?.[1];
    if (!root) continue;
    const direct = params.has(root) && /^[\w$]+(?:\.[\w$]+|\[['"]\w+['"]\])*$/.test(loop.collection) && !/^(?:this|self)\b/.test(loop.collection);
    if (!direct && !INPUT.test(loop.collection)) continue;
    if (/sort|order_by|orderBy|ORDER BY/i.test(loop.collection)) continue;
    const sortedRe = new RegExp(`(?<![\\w$])${escapeRe(root)}\\b[^\\n;]{0,120}\\bsort|sort[\\w.]*\\(\\s*(?:&)?${escapeRe(root)}\\b|sorted\\(\\s*${escapeRe(root)}\\b`, 'i');
    if (sortedRe.test(v.code) || sortedRe.test(outerCode)) continue;

    const locks: Array<{ line: number; end: number; explicit: boolean; text: string }> = [];
    for (let l = loop.line + 1; l <= loop.endLine; l++) {
      const t = codeLine(v, l);
      const explicit = LOOP_LOCK.test(t);
      if (!explicit && !LOOP_UPDATE.test(t)) continue;
      // The statement around the marker must be keyed by the loop variable.
      let from = l;
      for (let k = l; k >= Math.max(loop.line + 1, l - 4); k--) {
        if (/^\s*(?:await\b|return\b|const\b|let\b|var\b|[\w$.]+\s*(?:=|:=)|if\b|\w+,\s*err|_,|[\w$.]+\()/.test(codeLine(v, k))) {
          from = k;
          break;
        }
      }
      const stmt = statementAt(v, from, 10);
      if (!loop.vars.some((x) => mentions(stmt.text, x))) continue;
      if (/^\s*(?:await\s+)?[\w$.]+\.(?:create|insert|createMany|bulkCreate|add)\(/.test(codeLine(v, from))) continue;
      locks.push({ line: explicit ? l : from, end: Math.max(stmt.endLine, l), explicit, text: stmt.text });
      l = Math.max(l, stmt.endLine);
    }
    // Plain UPDATEs lock rows too, but atomic per-item updates in a transaction are also the usual fix for
    // lost updates: without an explicit lock in the loop, stay quiet (precision first).
    const explicit = locks.some((x) => x.explicit);
    if (!explicit) continue;
    const first = locks[0]!;
    const last = locks[locks.length - 1]!;
    const range = shownRange(file, v.fn, loop.line, last.end);
    if (!range) continue;
    seen.add(loop.line);
    const table = tableOf(first.text, file);
    const loopVar = loop.vars[loop.vars.length - 1] ?? loop.vars[0] ?? 'item';
    const keyM = new RegExp(`["'\`]?(\\w+)["'\`]?\\s*(?::|=>|=)\\s*${escapeRe(loopVar)}(?:\\.(\\w+)|\\[['"](\\w+)['"]\\])?`).exec(first.text);
    const sortKey = keyM ? (keyM[2] ?? keyM[3] ?? keyM[1]) : undefined;
    const evidence: EvidenceLine[] = [
      { role: 'loop', line: loop.line, text: v.text(loop.line) },
      { role: 'lock-a', line: first.line, text: v.text(first.line) },
    ];
    if (last !== first) evidence.push({ role: 'lock-b', line: last.line, text: v.text(last.line) });
    const name = displayName(file, v.fn);
    const kind = /advisory|GET_LOCK/i.test(first.text) ? 'advisory' : 'row';
    reports.push({
      line: range.line,
      endLine: range.endLine,
      functionName: name,
      confidence: 0.85,
      title: `${name} locks ${table ? `${table} rows` : 'rows'} one by one in the order of ${loop.collection}; another call with the same keys in a different order deadlocks`,
      entity: table ? `${table} rows` : `rows keyed by ${loopVar}`,
      evidence,
      variant: 'database',
      facts: cleanFacts({
        table,
        lockKind: kind,
        collection: loop.collection,
        sortKey,
        keyColumns: keyM?.[1],
        lockA: `${table ?? 'the'} row for the first ${loopVar}`,
        lockB: `${table ?? 'the'} row for the next ${loopVar}`,
        inTransaction: 'yes',
        actor: 'transaction',
        testFramework: testFrameworkHint(ctx.files, v.family),
      }),
    });
  }
  return reports;
}

function tableOf(stmt: string, file: SourceFile): string | undefined {
  const sql = sqlTables(stmt);
  if (sql.read[0] ?? sql.written[0]) return sql.read[0] ?? sql.written[0];
  const m = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?)(?:\.\w+(?:\([^)]{0,200}\))?){0,4}?\.(?:forUpdate|select_for_update|with_for_update|lock|update|findOne|findUnique|get|find|increment|decrement|where)\b/.exec(stmt);
  if (m) return entityOfReceiver(m[1]!, file.lines.join('\n'));
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Lock order across paths

interface Edge {
  file: SourceFile;
  fn: FunctionSpan;
  a: string;
  b: string;
  lineA: number;
  lineB: number;
  kind: 'mutex' | 'advisory';
  read: boolean;
}

interface GoTypes {
  fields: Map<string, Map<string, string>>;
}

function goTypes(files: readonly SourceFile[]): GoTypes {
  const fields = new Map<string, Map<string, string>>();
  for (const f of files) {
    if (f.language !== 'go') continue;
    let current: Map<string, string> | undefined;
    for (const line of f.lines) {
      const start = /^\s*type\s+(\w+)\s+struct\s*\{/.exec(line);
      if (start) {
        current = new Map();
        fields.set(start[1]!, current);
        continue;
      }
      if (!current) continue;
      if (/^\s*\}/.test(line)) {
        current = undefined;
        continue;
      }
      const fm = /^\s*(\w+(?:\s*,\s*\w+)*)\s+([^\s`]+)/.exec(line);
      if (fm) for (const n of fm[1]!.split(',')) current.set(n.trim(), fm[2]!);
    }
  }
  return { fields };
}

/** The named type inside a Go type expression: `*Hub` -> Hub, `map[string][]*Session` element -> Session. */
function baseType(t: string | undefined, element = false): string | undefined {
  if (!t) return undefined;
  let s = t.trim();
  if (element) {
    const map = /^map\[[^\]]*\](.*)$/.exec(s);
    if (map) s = map[1]!;
    else s = s.replace(/^\[\d*\]/, '');
  }
  s = s.replace(/^\*+/, '');
  const m = /^(?:\w+\.)?([A-Za-z_]\w*)$/.exec(s);
  return m?.[1];
}

function goVarTypes(v: FnView, types: GoTypes): Map<string, string> {
  const vars = new Map<string, string>();
  const recv = /^\s*func\s*\(\s*(\w+)\s+\*?(\w+)\s*\)/.exec(v.code);
  if (recv) vars.set(recv[1]!, recv[2]!);
  const sig = /^\s*func\s*(?:\([^)]*\)\s*)?\w*\s*\(([^)]*)\)/.exec(v.code)?.[1] ?? '';
  let pending: string[] = [];
  for (const part of sig.split(',')) {
    const p = part.trim().split(/\s+/);
    if (p.length === 1 && p[0]) pending.push(p[0]);
    else if (p.length >= 2) {
      const t = baseType(p.slice(1).join(' '));
      for (const n of [...pending, p[0]!]) if (t) vars.set(n, t);
      pending = [];
    }
  }
  for (const m of v.code.matchAll(/(\w+)\s*:=\s*&?(\w+)\s*\{/g)) vars.set(m[1]!, m[2]!);
  for (const m of v.code.matchAll(/var\s+(\w+)\s+\*?(\w+)/g)) vars.set(m[1]!, m[2]!);
  for (const m of v.code.matchAll(/for\s+(?:\w+\s*,\s*)?(\w+)\s*:=\s*range\s+([\w.]+)(?:\[[^\]]*\])?/g)) {
    const t = goExprType(m[2]!, vars, types, true, /\[[^\]]*\]\s*\{?\s*$/.test(m[0]) || /\]$/.test(m[0]));
    if (t) vars.set(m[1]!, t);
  }
  return vars;
}

/** Type of `a.b.c` (its element type when `element`). */
function goExprType(expr: string, vars: Map<string, string>, types: GoTypes, element = false, indexed = false): string | undefined {
  const parts = expr.split('.');
  let t = vars.get(parts[0]!);
  let raw: string | undefined = t;
  for (const p of parts.slice(1)) {
    if (!t) return undefined;
    raw = types.fields.get(t)?.get(p);
    t = baseType(raw);
  }
  if (element) {
    // range over x.byTopic[topic] -> element of the map value (a slice) -> its element.
    let inner = raw;
    if (indexed && inner) inner = /^map\[[^\]]*\](.*)$/.exec(inner)?.[1] ?? inner.replace(/^\[\d*\]/, '');
    return baseType(inner, true);
  }
  return t;
}

function canonicalGo(expr: string, vars: Map<string, string>, types: GoTypes): string {
  const parts = expr.split('.');
  if (parts.length === 1) return expr;
  const owner = goExprType(parts.slice(0, -1).join('.'), vars, types);
  if (owner) return `${owner}.${parts[parts.length - 1]}`;
  return expr;
}

function ownerClass(fn: FunctionSpan): string | undefined {
  const m = /^(\w+)\.\w+$/.exec(fn.name);
  return m?.[1];
}

function advisoryKey(arg: string): string {
  return `advisory(${arg.replace(/\s+/g, '').replace(/\$\d+|\?|%s|:\w+/g, '?')})`;
}

const LOCK_WORD = /lock|mutex|semaphore|acquire|runExclusive|advisory/i;
/** Implied by every pg_advisory…_lock( / GET_LOCK( match (case-insensitive like it). */
const ADVISORY_WORD = /pg_advisory|GET_LOCK/i;

function edgesOf(file: SourceFile, fn: FunctionSpan, types: GoTypes): Edge[] {
  const v = viewOf(file, fn);
  if (!v) return [];
  // Every acquire below needs one of these words on its line (Lock()/Unlock(), a lock/mutex/semaphore name,
  // acquire(), runExclusive(), pg_advisory…/GET_LOCK): a function without any of them holds no lock.
  if (!LOCK_WORD.test(v.code)) return [];
  const family = v.family;
  const edges: Edge[] = [];
  const held: Array<{ name: string; line: number; until: number; read: boolean }> = [];
  const vars = family === 'go' ? goVarTypes(v, types) : new Map<string, string>();
  const cls = ownerClass(fn);
  const canonical = (expr: string): string => {
    if (family === 'go') return canonicalGo(expr, vars, types);
    const self = /^(?:this|self)\.(.+)$/.exec(expr);
    return self && cls ? `${cls}.${self[1]}` : expr;
  };
  const acquire = (name: string, line: number, until: number, read: boolean, kind: Edge['kind']) => {
    for (const h of held) {
      if (h.until < line) continue;
      if (h.name !== name) edges.push({ file, fn, a: h.name, b: name, lineA: h.line, lineB: line, kind, read: read && h.read });
    }
    held.push({ name, line, until, read });
  };
  const release = (name: string, line: number) => {
    for (const h of held) if (h.name === name && h.until >= line) h.until = line - 1;
  };
  // Nested functions are their own paths; skip their lines.
  const nested = file.functions.filter((g) => g !== fn && g.startLine > fn.startLine && g.endLine <= fn.endLine && family !== 'js');
  const advisory = ADVISORY_WORD.test(v.code);
  for (let l = fn.startLine; l <= fn.endLine; l++) {
    if (nested.some((g) => g.startLine <= l && l <= g.endLine)) continue;
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    let m: RegExpExecArray | null;
    if (advisory) {
      for (const a of t.matchAll(/pg_advisory(?:_xact)?_lock\(([^)]{1,120})\)|GET_LOCK\(([^,)]{1,120})/gi)) {
        acquire(advisoryKey((a[1] ?? a[2])!), l, fn.endLine, false, 'advisory');
      }
    }
    // Literal prefilters: each pattern below contains the tested text.
    if (family === 'go') {
      if (!t.includes('ock()')) continue;
      if ((m = /^\s*defer\s+([\w.]+)\.R?Unlock\(\)/.exec(t))) continue;
      for (const a of t.matchAll(/([\w.]+)\.(R?Lock|R?Unlock)\(\)/g)) {
        const name = canonical(a[1]!);
        if (/Unlock/.test(a[2]!)) release(name, l);
        else acquire(name, l, fn.endLine, a[2] === 'RLock', 'mutex');
      }
    } else if (family === 'python') {
      if (t.includes('with') && (m = /^\s*(?:async\s+)?with\s+(.+?):\s*$/.exec(t))) {
        const end = blockEnd(v, l);
        for (const item of m[1]!.split(',')) {
          const e = item.trim().replace(/\s+as\s+\w+$/, '').replace(/\(\)$/, '');
          if (/lock|mutex|semaphore/i.test(e) && /^[\w.]+$/.test(e)) acquire(canonical(e), l, end, false, 'mutex');
        }
      }
      if (t.includes('.acquire()')) for (const a of t.matchAll(/([\w.]+)\.acquire\(\)/g)) if (/lock|mutex/i.test(a[1]!)) acquire(canonical(a[1]!), l, fn.endLine, false, 'mutex');
      if (t.includes('.release()')) for (const a of t.matchAll(/([\w.]+)\.release\(\)/g)) release(canonical(a[1]!), l);
    } else if (family === 'js') {
      if (t.includes('.runExclusive(')) for (const a of t.matchAll(/([\w$.]+)\.runExclusive\(/g)) acquire(canonical(a[1]!), l, blockEnd(v, l), false, 'mutex');
      if (t.includes('.acquire(') || t.includes('.lock(')) for (const a of t.matchAll(/(?:const|let)\s+(\w+)\s*=\s*await\s+([\w$.]+)\.(?:acquire|lock)\(\s*\)/g)) {
        const name = canonical(a[2]!);
        const rel = new RegExp(`\\b${escapeRe(a[1]!)}\\(\\)`);
        let until = fn.endLine;
        for (let k = l + 1; k <= fn.endLine; k++) {
          if (rel.test(codeLine(v, k))) {
            // A release in a finally block runs at the end of the try: the lock is held until then.
            until = k;
            break;
          }
        }
        acquire(name, l, until, false, 'mutex');
      }
    }
  }
  return edges;
}

const edgeCache = new WeakMap<readonly SourceFile[], Edge[]>();

function allEdges(files: readonly SourceFile[]): Edge[] {
  let edges = edgeCache.get(files);
  if (edges) return edges;
  edges = [];
  const types = goTypes(files);
  for (const f of files) {
    if (familyOf(f.language) === 'other') continue;
    if (!/Lock\(|with\s|acquire|runExclusive|advisory|GET_LOCK/.test(f.lines.join('\n'))) continue;
    for (const fn of f.functions) {
      if (fn.endLine - fn.startLine > 400 || fn.name === '<hunk>') continue;
      edges.push(...edgesOf(f, fn, types));
    }
  }
  edgeCache.set(files, edges);
  return edges;
}

function orderReports(ctx: DetectorContext, family: Family): DetectorReport[] {
  const { file } = ctx;
  const edges = allEdges(ctx.files);
  if (edges.length === 0) return [];
  const changed = new Set(ctx.changedFunctions);
  const reports: DetectorReport[] = [];
  const seenPairs = new Set<string>();
  for (const e of edges) {
    if (e.file !== file || !changed.has(e.fn)) continue;
    const other = edges.find((o) => o.a === e.b && o.b === e.a && o.fn !== e.fn && !(o.read && e.read));
    if (!other) continue;
    const pair = [e.a, e.b].sort().join('|');
    if (seenPairs.has(pair)) continue;
    // Report each inversion once: on the earlier of the two paths when both are in this file and changed.
    if (other.file === file && changed.has(other.fn) && other.fn.startLine < e.fn.startLine) continue;
    if (other.file !== file && other.file.path < file.path && other.file.added.size > 0 && ctx.files.includes(other.file) && otherChanged(other)) continue;
    const range = shownRange(file, e.fn, Math.min(e.lineA, e.lineB), Math.max(e.lineA, e.lineB));
    if (!range) continue;
    seenPairs.add(pair);
    const text = (l: number) => (file.lines[l - 1] ?? '').trim();
    const otherText = (l: number) => (other.file.lines[l - 1] ?? '').trim();
    const evidence: EvidenceLine[] = [
      { role: 'lock-a', line: e.lineA, text: text(e.lineA) },
      { role: 'lock-b', line: e.lineB, text: text(e.lineB) },
    ];
    const name = displayName(file, e.fn);
    const otherName = displayName(other.file, other.fn);
    reports.push({
      line: range.line,
      endLine: range.endLine,
      functionName: name,
      confidence: e.kind === 'advisory' ? 0.8 : 0.9,
      title: `${name} takes ${e.a} then ${e.b}; ${otherName} takes ${other.a} then ${other.b}`,
      entity: `${e.a} and ${e.b}`,
      evidence,
      variant: e.kind === 'advisory' ? 'database' : 'async',
      facts: cleanFacts({
        lockA: e.a,
        lockB: e.b,
        otherFunction: otherName,
        otherFile: other.file === file ? undefined : other.file.path,
        otherLine: String(other.lineA),
        otherLockA: otherText(other.lineA),
        otherLockB: otherText(other.lineB),
        lockKind: e.kind,
        actor: family === 'go' ? 'goroutine' : family === 'js' ? 'task' : 'task',
        testFramework: testFrameworkHint(ctx.files, family),
      }),
    });
  }
  return reports;
}

function otherChanged(e: Edge): boolean {
  for (let l = e.fn.startLine; l <= e.fn.endLine; l++) if (e.file.added.has(l)) return true;
  return false;
}

function detect(ctx: DetectorContext): DetectorReport[] {
  const family = familyOf(ctx.file.language);
  if (family === 'other') return [];
  const reports: DetectorReport[] = [];
  const seen = new Set<number>();
  for (const fn of innermostFirst(ctx.changedFunctions)) {
    const v = viewOf(ctx.file, fn);
    if (v) reports.push(...rowLoopReports(ctx, v, seen));
  }
  reports.push(...orderReports(ctx, family));
  return reports;
}

export default createDetector(
  {
    id: 'lock-order-inversion',
    failureMode: 'deadlock',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'Locks (rows, mutexes, advisory locks) are taken in an order that differs between two paths or follows caller-ordered input.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/lock-order-inversion.md',
  },
  detect,
);
