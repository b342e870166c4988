/**
 * Helpers for the shared-state detectors (lost update, deadlock, stale read): a comment-free view of a
 * function with line numbers kept, statement windows, ORM / SQL call recognition, entity names
 * (model or table) normalised so `Event`, `events` and `event` compare equal, function parameters,
 * loop bodies and guard patterns (row locks, version checks, atomic updates).
 *
 * Generic pieces (stripComments, sqlTables, ormOf, entityOfReceiver) could move to a shared lib later.
 * Every regular expression here is linear: bounded gaps, no nested unbounded quantifiers.
 */
import type { FunctionSpan, SourceFile } from '../../parse/types.js';
import { recentFiles } from './cache.js';

import { familyOf, type Family } from './flow.js';

export { familyOf, type Family };

/** Functions longer than this are skipped (cost, and too little structure to trust). */
export const MAX_FUNCTION_LINES = 400;

/**
 * Replaces comments with spaces, keeping every line's length and the newlines, so offsets map to the
 * same lines. Strings are kept (SQL lives there). A small linear scanner per family.
 */
export function stripComments(text: string, family: Family): string {
  const out: string[] = [];
  const n = text.length;
  const hashComments = family === 'python' || family === 'ruby';
  const slashComments = family === 'js' || family === 'go' || family === 'other';
  let i = 0;
  let start = 0;
  const blank = (from: number, to: number) => {
    out.push(text.slice(start, from));
    out.push(text.slice(from, to).replace(/[^\n]/g, ' '));
    start = to;
  };
  while (i < n) {
    // Only / # " ' ` can start a comment or a string.
    const cc = text.charCodeAt(i);
    if (cc !== 47 && cc !== 35 && cc !== 34 && cc !== 39 && cc !== 96) {
      i++;
      continue;
    }
    const ch = text[i]!;
    if (slashComments && ch === '/' && text[i + 1] === '/') {
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      blank(i, j);
      i = j;
      continue;
    }
    if (slashComments && ch === '/' && text[i + 1] === '*') {
      let j = text.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      blank(i, j);
      i = j;
      continue;
    }
    if (hashComments && ch === '#' && !(family === 'ruby' && text[i + 1] === '{')) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      blank(i, j);
      i = j;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      // Python triple quotes.
      if (family === 'python' && text.startsWith(ch.repeat(3), i)) {
        const j = text.indexOf(ch.repeat(3), i + 3);
        i = j < 0 ? n : j + 3;
        continue;
      }
      const multiline = ch === '`';
      let j = i + 1;
      while (j < n) {
        const c = text[j]!;
        if (c === '\\') {
          j += 2;
          continue;
        }
        if (c === ch) break;
        if (c === '\n' && !multiline) break;
        j++;
      }
      i = j + 1;
      continue;
    }
    i++;
  }
  out.push(text.slice(start));
  return out.join('');
}

/** A function as the detectors read it: comment-free code and a map from offsets to file lines. */
export interface FnView {
  fn: FunctionSpan;
  family: Family;
  /** Comment-free function text. */
  code: string;
  /** Comment-free lines; codeLines[0] is fn.startLine. */
  codeLines: string[];
  lineStarts: number[];
  /** File line (1-based) of an offset into `code`. */
  lineAt(offset: number): number;
  /** The original text of a file line, trimmed. */
  text(line: number): string;
}

const viewCache = recentFiles<Map<FunctionSpan, FnView | undefined>>();

/** The view of a function, built once per file and span (three detectors read the same functions). */
export function viewOf(file: SourceFile, fn: FunctionSpan): FnView | undefined {
  let perFile = viewCache.get(file);
  if (!perFile) {
    perFile = new Map();
    viewCache.set(file, perFile);
  }
  if (perFile.has(fn)) return perFile.get(fn);
  const v = buildView(file, fn);
  perFile.set(fn, v);
  return v;
}

function buildView(file: SourceFile, fn: FunctionSpan): FnView | undefined {
  if (fn.endLine - fn.startLine > MAX_FUNCTION_LINES) return undefined;
  const family = familyOf(file.language);
  let code = stripComments(fn.text, family);
  // TypeScript non-null assertions and optional chaining read like plain member access here.
  if (family === 'js') code = code.replace(/([\w$\])])!\./g, '$1.').replace(/\?\.(?=[\w$])/g, '.');
  const codeLines = code.split('\n');
  const lineStarts: number[] = [];
  let off = 0;
  for (const l of codeLines) {
    lineStarts.push(off);
    off += l.length + 1;
  }
  return {
    fn,
    family,
    code,
    codeLines,
    lineStarts,
    lineAt(offset: number) {
      let lo = 0;
      let hi = lineStarts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (lineStarts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      return fn.startLine + lo;
    },
    text(line: number) {
      return (file.lines[line - 1] ?? '').trim();
    },
  };
}

/** Code of one file line inside the view (comment-free), '' outside. */
export function codeLine(v: FnView, line: number): string {
  return v.codeLines[line - v.fn.startLine] ?? '';
}

/**
 * Per line of a view, what statementAt needs: the net bracket depth change outside string literals and
 * whether the line ends in a continuation (`,`, an operator, `AND`) or starts with `.`. Filled lazily, once
 * per line (statementAt runs for many lines of the same function, often overlapping).
 */
interface LineShape {
  delta: Int32Array;
  /** 0 = not computed yet; bit 1 = computed, bit 2 = ends in a continuation, bit 4 = starts with `.`. */
  flags: Uint8Array;
}

const shapes = new WeakMap<FnView, LineShape>();

const CONTINUES = /[,(\[{.+\-*/=&|?:]\s*$|\bAND\s*$/i;

function shapeOf(v: FnView): LineShape {
  let s = shapes.get(v);
  if (!s) {
    s = { delta: new Int32Array(v.codeLines.length), flags: new Uint8Array(v.codeLines.length) };
    shapes.set(v, s);
  }
  return s;
}

function fillShape(s: LineShape, t: string, i: number): void {
  s.delta[i] = bracketDelta(t);
  s.flags[i] = 1 | (CONTINUES.test(t) ? 2 : 0) | (/^\s*\./.test(t) ? 4 : 0);
}

/**
 * Net change of bracket depth over a line, ignoring brackets inside string literals. Same result as
 * blanking every match of /(["'`])(?:\\.|(?!\1)[^\\])*\1/g first: a quote starts a literal only when it
 * is closed on the line (an escape is a backslash and any character but a line terminator).
 */
export function bracketDelta(t: string): number {
  let d = 0;
  const n = t.length;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i);
    if (c === 40 || c === 91 || c === 123) d++;
    else if (c === 41 || c === 93 || c === 125) d--;
    else if (c === 34 || c === 39 || c === 96) {
      const close = literalEnd(t, i, c);
      if (close >= 0) i = close;
    }
  }
  return d;
}

/** Index of the quote closing the literal opened at `i`, or -1 when it is not closed on this text. */
function literalEnd(t: string, i: number, quote: number): number {
  const n = t.length;
  let j = i + 1;
  while (j < n) {
    const c = t.charCodeAt(j);
    if (c === 92) {
      const next = j + 1 < n ? t.charCodeAt(j + 1) : -1;
      if (next === -1 || next === 10 || next === 13 || next === 0x2028 || next === 0x2029) return -1;
      j += 2;
      continue;
    }
    if (c === quote) return j;
    j++;
  }
  return -1;
}

/** The statement starting at `line`: that line plus following lines until brackets balance (at most `max` lines). */
export function statementAt(v: FnView, line: number, max = 12): { text: string; endLine: number } {
  const s = shapeOf(v);
  const lines = v.codeLines;
  const base = v.fn.startLine;
  let depth = 0;
  let end = line;
  for (let l = line; l < line + max && l <= v.fn.endLine; l++) {
    end = l;
    const i = l - base;
    // Outside the view the line reads as '': no brackets, no continuation.
    const inside = i >= 0 && i < lines.length;
    if (inside && s.flags[i] === 0) fillShape(s, lines[i]!, i);
    if (inside) depth += s.delta[i]!;
    if (depth > 0 || (inside && (s.flags[i]! & 2) !== 0)) continue;
    const k = i + 1;
    if (k >= 0 && k < lines.length) {
      if (s.flags[k] === 0) fillShape(s, lines[k]!, k);
      if ((s.flags[k]! & 4) !== 0) continue;
    }
    break;
  }
  return { text: joinLines(v, line, end), endLine: end };
}

/** codeLine(line) … codeLine(end) joined by newlines (a slice of the view's code when inside it). */
function joinLines(v: FnView, line: number, end: number): string {
  const a = line - v.fn.startLine;
  const b = end - v.fn.startLine;
  if (a >= 0 && b < v.codeLines.length && a <= b) return v.code.slice(v.lineStarts[a]!, v.lineStarts[b]! + v.codeLines[b]!.length);
  const parts: string[] = [];
  for (let l = line; l <= end; l++) parts.push(codeLine(v, l));
  return parts.join('\n');
}

/** Lowercase, no separators, singular: `Event`, `events`, `event` and `EVENTS` compare equal; `post_reactions` -> `postreaction`. */
export function normEntity(name: string | undefined): string {
  if (!name) return '';
  let s = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (s.endsWith('ies') && s.length > 4) s = s.slice(0, -3) + 'y';
  else if (s.endsWith('sses')) s = s.slice(0, -2);
  else if (s.endsWith('s') && !s.endsWith('ss') && s.length > 3) s = s.slice(0, -1);
  return s;
}

export function sameEntity(a: string | undefined, b: string | undefined): boolean {
  const x = normEntity(a);
  const y = normEntity(b);
  return x !== '' && x === y;
}

/** Tables named by a SQL text: FROM/JOIN, UPDATE … SET, INSERT INTO, DELETE FROM. */
export function sqlTables(sql: string): { read: string[]; written: string[] } {
  const read: string[] = [];
  const written: string[] = [];
  for (const m of sql.matchAll(/\b(?:from|join)\s+(?:only\s+)?["`]?(?:\w+["`]?\.["`]?)?([A-Za-z_]\w*)/gi)) read.push(m[1]!);
  for (const m of sql.matchAll(/\bupdate\s+(?:only\s+)?["`]?(?:\w+["`]?\.["`]?)?([A-Za-z_]\w*)["`]?\s+(?:as\s+\w+\s+)?set\b/gi)) written.push(m[1]!);
  for (const m of sql.matchAll(/\binsert\s+into\s+["`]?(?:\w+["`]?\.["`]?)?([A-Za-z_]\w*)/gi)) written.push(m[1]!);
  for (const m of sql.matchAll(/\bdelete\s+from\s+["`]?(?:\w+["`]?\.["`]?)?([A-Za-z_]\w*)/gi)) written.push(m[1]!);
  return { read, written };
}

const ormOfCache = new Map<string, Map<Family, string | undefined>>();

/**
 * The data-access library a function text uses, when one is evident. Memoised per text: detectors pass the
 * whole file's text once per finding, which made this quadratic in the file's size.
 */
export function ormOf(text: string, family: Family): string | undefined {
  // Keyed by the text itself (its hash is computed once per string), then by family.
  let byFamily = ormOfCache.get(text);
  if (!byFamily) {
    if (ormOfCache.size > 64) ormOfCache.clear();
    byFamily = new Map();
    ormOfCache.set(text, byFamily);
  }
  if (byFamily.has(family)) return byFamily.get(family);
  const orm = ormOfUncached(text, family);
  byFamily.set(family, orm);
  return orm;
}

function ormOfUncached(text: string, family: Family): string | undefined {
  if (family === 'js') {
    if (/\bprisma\b|\$transaction\b|\.findUnique\(/.test(text)) return 'prisma';
    if (/getRepository|\.findOneBy\(|createQueryBuilder|\.manager\b|Repository\b/.test(text)) return 'typeorm';
    if (/\.findByPk\(|sequelize|\bOp\.\w/.test(text)) return 'sequelize';
    if (/\.findById\(|mongoose|\$inc\b/.test(text)) return 'mongoose';
    if (/\b(?:trx|knex|db)\(\s*['"]\w+['"]\s*\)|\.forUpdate\(\)/.test(text)) return 'knex';
    if (/\.from\(\s*\w+\s*\)|drizzle/.test(text)) return 'drizzle';
    if (/\.query\(\s*[`'"]/.test(text)) return 'pg';
    return undefined;
  }
  if (family === 'python') {
    if (/\.objects\b|get_object_or_404|transaction\.atomic|select_for_update/.test(text)) return 'django';
    if (/\bsession\.|with_for_update|\.query\(\w+\)/.test(text)) return 'sqlalchemy';
    return undefined;
  }
  if (family === 'go') {
    if (/pgx|\.pool\.|pgxpool/.test(text)) return 'pgx';
    if (/gorm|\.First\(&|\.Model\(/.test(text)) return 'gorm';
    return 'database/sql';
  }
  if (family === 'ruby') return 'activerecord';
  return undefined;
}

/**
 * The model or table a call receiver names: `prisma.event` / `tx.event` -> event, `Order.objects` -> Order,
 * `Event` -> Event, `trx('accounts')` -> accounts, `this.accountRepository` -> account,
 * `session.query(Account)` / `session.get(Account, id)` -> Account. Undefined when nothing is named.
 */
export function entityOfReceiver(receiver: string, fileText = ''): string | undefined {
  const r = receiver.trim();
  let m = /\b(?:prisma|tx|trx|client|db|this\.prisma|ctx\.prisma|this\.db)\.([a-z]\w*)\s*$/.exec(r);
  if (m && !/^(?:query|execute|transaction|\$\w+)$/.test(m[1]!)) return m[1];
  m = /\b([A-Z]\w*)\.objects\b/.exec(r);
  if (m) return m[1];
  m = /(?:^|[^\w.])(?:\w+)\(\s*['"](\w+)['"]\s*\)/.exec(r);
  if (m) return m[1];
  m = /\b(?:session|db\.session)\.(?:query|get)\(\s*([A-Z]\w*)/.exec(r);
  if (m) return m[1];
  m = /\bget_object_or_404\(\s*([A-Z]\w*)/.exec(r);
  if (m) return m[1];
  m = /\.from\(\s*([A-Za-z_]\w*)\s*\)/.exec(r);
  if (m) return m[1];
  m = /(?:^|[^\w.])([A-Z]\w*)(?:\.(?:lock|where\([^)]*\)|unscoped))*\s*$/.exec(r);
  if (m && !/^(?:Promise|Math|JSON|Object|Array|Date|Number|String)$/.test(m[1]!)) return m[1];
  m = /(?:this\.|self\.)?(\w+?)(?:Repository|Repo|Model|Collection)\s*$/i.exec(r);
  if (m && m[1]) return m[1];
  m = /(?:^|[^\w.])(\w+)\s*$/.exec(r);
  if (m && fileText) return repositories(fileText).get(m[1]!);
  return undefined;
}

const repoCache = new Map<string, Map<string, string>>();

/** `const repo = AppDataSource.getRepository(Account)` declarations of a file: variable -> entity (memoised per text). */
function repositories(fileText: string): Map<string, string> {
  let map = repoCache.get(fileText);
  if (map) return map;
  map = new Map();
  if (fileText.includes('getRepository')) {
    for (const d of fileText.matchAll(/\b([\w$]+)\s*=\s*[\w.]{0,80}getRepository\(\s*(\w+)/g)) map.set(d[1]!, d[2]!);
  }
  if (repoCache.size > 64) repoCache.clear();
  repoCache.set(fileText, map);
  return map;
}

/** Whether a statement/function text shows a row lock, an optimistic version check, or an atomic increment. */
export const ROW_LOCK =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\.forUpdate\(|\bselect_for_update\b|\bwith_for_update\b|\block!|\bwith_lock\b|\.lock\((?:true|["']FOR UPDATE)?|\bLOCK\.UPDATE\b|lock:\s*(?:true|t\.LOCK|\w+\.LOCK|\{\s*mode|['"]pessimistic)|pessimistic_(?:write|read)|setLock\(|\bLockingStrategy\b|\.lock\.[a-z_]+|\bLOCK\s+TABLE\b|\bclause\.Locking\b/i;
export const VERSION_CHECK = /\bversion\b|\block_version\b|@Version\b|\boptimisticLock\b|\bVersionColumn\b|\bupdated_at\s*=\s*[$?:%]|\bupdatedAt:\s*\w+\.updatedAt\b/;
export const ATOMIC_UPDATE =
  /\b(\w+)\s*=\s*\1\s*[-+*]|\bincrement\b|\bdecrement\b|\bF\(\s*['"]|\bupdate_counters\b|\$inc\b|\$push\b|\$addToSet\b|\bjsonb_set\b|\|\|\s*jsonb|\barray_append\b|\bsql`[^`]{0,120}\+|raw\([^)]{0,120}[+-]|\bExpr\(|gorm\.Expr|\bincrement!|\bdecrement!|\bfindOneAndUpdate\b|\bupdateOne\(\s*\{[^}]{0,200}\}\s*,\s*\{\s*\$/i;
export const SERIALIZABLE = /\bSERIALIZABLE\b|isolation(?:Level)?:\s*['"]?serializable|IsolationLevel\.Serializable|LevelSerializable/i;
export const TRANSACTION =
  /\btransaction\b|\$transaction\b|\bBEGIN\b|\batomic\b|\bBeginTx\b|\bBegin\(\)|\.begin\(|\bwith_lock\b|\bWithTransaction\b|\.Transaction\(|\bRunInTx\b|\btx\.(?:Exec|Query)/;

/** Parameter names from a function's signature (first lines of its text). */
export function paramsOf(v: FnView): string[] {
  const head = v.code.slice(0, 600);
  let sig: string | undefined;
  if (v.family === 'python') sig = /def\s+\w+\s*\(([\s\S]*?)\)\s*(?:->[^:]*)?:/.exec(head)?.[1];
  else if (v.family === 'go') sig = /func\s*(?:\([^)]*\)\s*)?\w*\s*\(([^)]*)\)/.exec(head)?.[1];
  else if (v.family === 'ruby') sig = /def\s+[\w.!?]+\s*\(?([^)\n]*)/.exec(head)?.[1];
  else {
    const arrow = /^\s*(?:export\s+)?(?:default\s+)?(?:(?:public|private|protected|static|override|readonly)\s+)*(?:async\s+)?(?:function\s*\*?\s*[\w$]*\s*)?(?:[\w$.]+\s*)?(?:<[^>]{0,200}>)?\s*\(([\s\S]*?)\)\s*(?::[^={]{0,200})?\s*(?:=>|\{)/.exec(head);
    sig = arrow?.[1];
    if (!sig) sig = /^\s*(?:async\s+)?([\w$]+)\s*=>/.exec(head)?.[1];
  }
  if (!sig) return [];
  const names = new Set<string>();
  // Strip type annotations and defaults roughly: take identifiers that start a parameter or a destructuring.
  for (const part of splitTop(sig)) {
    const p = part.trim().replace(/^(?:public|private|protected|readonly|\*{1,2}|&)\s*/g, '');
    if (!p) continue;
    if (p.startsWith('{') || p.startsWith('[')) {
      for (const m of p.slice(0, p.search(/[}\]]/) + 1).matchAll(/([A-Za-z_$][\w$]*)\s*(?=[,}\]:=]|$)/g)) names.add(m[1]!);
      continue;
    }
    const m = /^([A-Za-z_$][\w$]*)/.exec(p);
    if (m) names.add(m[1]!);
    // Go: `a, b int` lists names before the type.
    if (v.family === 'go') for (const g of p.split(/\s+/).slice(0, 1)) names.add(g);
  }
  names.delete('self');
  names.delete('cls');
  return [...names];
}

/** Splits on commas at bracket depth 0. */
export function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if ('([{<'.includes(ch)) depth++;
    else if (')]}>'.includes(ch)) depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Enclosing functions of `fn` in the file (outermost first), `fn` excluded; hunk regions and spans over MAX_FUNCTION_LINES are skipped. */
export function enclosing(file: SourceFile, fn: FunctionSpan): FunctionSpan[] {
  // Hunk regions and oversized spans are not functions: leaving them out keeps this linear per function.
  return file.functions.filter(
    (f) =>
      f !== fn &&
      f.name !== '<hunk>' &&
      f.endLine - f.startLine <= MAX_FUNCTION_LINES &&
      f.startLine <= fn.startLine &&
      f.endLine >= fn.endLine &&
      (f.startLine < fn.startLine || f.endLine > fn.endLine),
  );
}

/** A loop in a function: header line, loop variable(s), the iterated expression and the body's last line. */
export interface Loop {
  line: number;
  vars: string[];
  collection: string;
  endLine: number;
}

/** Loops over collections: `for (const x of xs)`, `xs.forEach(x =>`, `for x in xs:`, `for _, x := range xs {`, `xs.each do |x|`. */
export function loopsOf(v: FnView): Loop[] {
  const loops: Loop[] = [];
  for (let i = 0; i < v.codeLines.length; i++) {
    const t = v.codeLines[i]!;
    const line = v.fn.startLine + i;
    let vars: string | undefined;
    let coll: string | undefined;
    let m: RegExpExecArray | null;
    if (v.family === 'js') {
      if ((m = /\bfor\s*(?:await\s*)?\(\s*(?:const|let|var)\s+([\w$]+|\{[^}]{0,200}\}|\[[^\]]{0,200}\])\s+of\s+(.{1,200}?)\)\s*\{?\s*$/.exec(t))) [vars, coll] = [m[1], m[2]];
      else if (t.includes('.forEach(') && (m = /([\w$.[\]()'"]{1,200}?)\.forEach\(\s*(?:async\s*)?\(?\s*([\w$]+|\{[^}]{0,200}\})/.exec(t))) [coll, vars] = [m[1], m[2]];
    } else if (v.family === 'python') {
      if ((m = /^\s*(?:async\s+)?for\s+(.{1,120}?)\s+in\s+(.{1,200}?):\s*$/.exec(t))) [vars, coll] = [m[1], m[2]];
    } else if (v.family === 'go') {
      if ((m = /^\s*for\s+(?:(\w+)\s*(?:,\s*(\w+))?\s*:?=\s*)?range\s+(.{1,200}?)\s*\{\s*$/.exec(t))) {
        vars = [m[1], m[2]].filter(Boolean).join(',');
        coll = m[3];
      }
    } else if (v.family === 'ruby') {
      if (t.includes('each') && (m = /([\w@.[\]():]{1,200}?)\.(?:each|each_with_index|find_each)\s*(?:do|\{)\s*\|([^|]{1,100})\|/.exec(t))) [coll, vars] = [m[1], m[2]];
      else if ((m = /^\s*for\s+(\w+)\s+in\s+(.{1,200}?)(?:\s+do)?\s*$/.exec(t))) [vars, coll] = [m[1], m[2]];
    }
    if (!coll || vars === undefined) continue;
    const names = [...vars.matchAll(/[A-Za-z_$][\w$]*/g)].map((x) => x[0]).filter((x) => x !== '_');
    loops.push({ line, vars: names, collection: coll.trim(), endLine: blockEnd(v, line) });
  }
  return loops;
}

/** Last line of the block opened on `line` (braces for JS/Go, indentation for Python/Ruby). */
export function blockEnd(v: FnView, line: number): number {
  const i0 = line - v.fn.startLine;
  if (v.family === 'python' || v.family === 'ruby') {
    const indent = (s: string) => s.length - s.trimStart().length;
    const base = indent(v.codeLines[i0] ?? '');
    let last = line;
    for (let i = i0 + 1; i < v.codeLines.length; i++) {
      const t = v.codeLines[i]!;
      if (t.trim() === '') continue;
      if (indent(t) <= base) {
        if (v.family === 'ruby' && /^\s*end\b/.test(t) || /^\s*[}\])]/.test(t)) last = v.fn.startLine + i;
        break;
      }
      last = v.fn.startLine + i;
    }
    return last;
  }
  let depth = 0;
  let opened = false;
  for (let i = i0; i < v.codeLines.length; i++) {
    // Braces and parentheses outside string literals (same literals as bracketDelta).
    const t = v.codeLines[i]!;
    for (let k = 0; k < t.length; k++) {
      const c = t.charCodeAt(k);
      if (c === 123 || c === 40) {
        depth++;
        opened = true;
      } else if (c === 125 || c === 41) depth--;
      else if (c === 34 || c === 39 || c === 96) {
        const close = literalEnd(t, k, c);
        if (close >= 0) k = close;
      }
    }
    if (opened && depth <= 0) return v.fn.startLine + i;
  }
  return v.fn.endLine;
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `name` occurs as an identifier in `text`. */
export function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![\\w$])${escapeRe(name)}(?![\\w$])`).test(text);
}

/** Clamp a report to lines the diff shows inside the function; undefined when none is shown. */
export function shownRange(file: SourceFile, fn: FunctionSpan, line: number, endLine: number): { line: number; endLine: number } | undefined {
  let a = Math.max(line, fn.startLine);
  let b = Math.min(Math.max(line, endLine), fn.endLine);
  while (a <= b && !file.shown.has(a)) a++;
  while (b >= a && !file.shown.has(b)) b--;
  return a <= b ? { line: a, endLine: b } : undefined;
}

const frameworkCache = new WeakMap<readonly SourceFile[], string | undefined>();

/** Test framework hint from the files of the diff (computed once per review). */
export function testFrameworkHint(files: readonly SourceFile[], family: Family): string | undefined {
  if (family === 'python') return 'pytest';
  if (family === 'go') return 'go';
  if (family === 'ruby') return 'rspec';
  if (family !== 'js') return undefined;
  if (frameworkCache.has(files)) return frameworkCache.get(files);
  let hint: string | undefined;
  for (const f of files) if (f.lines.some((l) => /from ['"]vitest['"]/.test(l))) hint = 'vitest';
  if (!hint) for (const f of files) if (f.lines.some((l) => /\bjest\.(?:fn|mock)\(/.test(l))) hint = 'jest';
  frameworkCache.set(files, hint);
  return hint;
}

/** Drops undefined / empty facts (the diagnosis wants only facts that are known). */
export function cleanFacts(facts: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(facts)) if (val !== undefined && val !== '') out[k] = val;
  return out;
}

/** Changed functions, innermost first, so a finding is reported on the smallest function holding it. */
export function innermostFirst(fns: readonly FunctionSpan[]): FunctionSpan[] {
  return [...fns].sort((a, b) => a.endLine - a.startLine - (b.endLine - b.startLine) || a.startLine - b.startLine);
}

/** A readable name for a function: callbacks and hunk regions take the name of the nearest named enclosing function. */
export function displayName(file: SourceFile, fn: FunctionSpan): string {
  const weak = (n: string) => n === '<anonymous>' || n === '<hunk>' || n.endsWith('callback');
  if (!weak(fn.name)) return fn.name;
  const named = enclosing(file, fn).filter((f) => !weak(f.name));
  return named[named.length - 1]?.name ?? fn.name;
}
