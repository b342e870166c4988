/**
 * Generic recognition of database access in source text, shared by detectors.
 *
 * Small, documented API (everything works on one function's text, with line numbers kept):
 * - `maskCode(text, language)`: comments blanked (and, in `bare`, string contents blanked) with offsets kept.
 * - `LineIndex`: offset -> 1-based line.
 * - `findChains(code, language)`: member/call chains such as `prisma.user.findFirst({...})`,
 *   `Model.objects.filter(a=1).exists()`, `trx('t').where({...}).first()`, each with its segments and arguments.
 * - `findStrings(code, language)`: string literals with their contents.
 * - `classifySql(sql)`: kind, table, WHERE / INSERT / SET columns and flags (EXISTS, COUNT, MAX, FOR UPDATE, ON CONFLICT, range).
 * - `findDbOps(code, language, lines)`: the statements above turned into `DbOp`s (read / exists / count / sum / max /
 *   insert / update / upsert / get-or-create), with entity, columns, flags, the variable the result is bound to,
 *   and lines. Covers Prisma, TypeORM repositories, Sequelize, Mongoose, Knex, Drizzle, node-postgres / database/sql /
 *   pgx raw SQL, Django ORM, SQLAlchemy and ActiveRecord.
 * - `normEntity`, `normColumn`: names compared across ORMs (`PickupLocation` = `pickup_locations`, `playlistId` = `playlist_id`).
 *
 * Every scan is linear in the text (bounded balanced-bracket scans, no nested unbounded quantifiers).
 */
import type { Language } from '../../types.js';

type Family = 'js' | 'python' | 'go' | 'ruby' | 'sql' | 'other';

export function familyOf(lang: Language): Family {
  if (lang === 'typescript' || lang === 'tsx' || lang === 'javascript') return 'js';
  if (lang === 'python' || lang === 'go' || lang === 'ruby' || lang === 'sql') return lang;
  return 'other';
}

export interface Masked {
  /** Comments replaced by spaces (newlines kept). */
  code: string;
  /** Comments and string contents replaced by spaces (quotes and newlines kept). */
  bare: string;
}

function blanked(s: string): string {
  return s.indexOf('\n') < 0 ? ' '.repeat(s.length) : s.replace(/[^\n]/g, ' ');
}

/** Blanks comments (and, in `bare`, string contents) without moving any offset. */
export function maskCode(text: string, lang: Language): Masked {
  const fam = familyOf(lang);
  const hashComments = fam === 'python' || fam === 'ruby';
  const slashComments = fam === 'js' || fam === 'go' || fam === 'sql' || fam === 'other';
  const n = text.length;
  // Both outputs are built from ranges: verbatim text up to a comment or string, then its blanked form.
  const code: string[] = [];
  const bare: string[] = [];
  let codeFrom = 0;
  let bareFrom = 0;
  const blankBoth = (from: number, to: number) => {
    const b = blanked(text.slice(from, to));
    code.push(text.slice(codeFrom, from), b);
    bare.push(text.slice(bareFrom, from), b);
    codeFrom = bareFrom = to;
  };
  let i = 0;
  while (i < n) {
    const cc = text.charCodeAt(i);
    // Only # - / " ' ` can open a comment or a string.
    if (cc !== 35 && cc !== 45 && cc !== 47 && cc !== 34 && cc !== 39 && cc !== 96) {
      i++;
      continue;
    }
    const c = text[i]!;
    if ((hashComments && c === '#') || (fam === 'sql' && c === '-' && text[i + 1] === '-') || (slashComments && c === '/' && text[i + 1] === '/')) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = n;
      blankBoth(i, j);
      i = j;
      continue;
    }
    if (slashComments && c === '/' && text[i + 1] === '*') {
      let j = text.indexOf('*/', i + 2);
      j = j < 0 ? n : j + 2;
      blankBoth(i, j);
      i = j;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      const end = stringEnd(text, i, fam);
      const to = Math.max(i + 1, end - 1);
      bare.push(text.slice(bareFrom, i + 1), blanked(text.slice(i + 1, to)));
      bareFrom = to;
      i = end;
      continue;
    }
    i++;
  }
  code.push(text.slice(codeFrom));
  bare.push(text.slice(bareFrom));
  return { code: code.join(''), bare: bare.join('') };
}

/** Index just past the string literal opening at `i` (quotes ' " ` and Python triple quotes). */
export function stringEnd(text: string, i: number, fam: Family): number {
  const q = text[i]!;
  const n = text.length;
  if (fam === 'python' && text.startsWith(q.repeat(3), i)) {
    const j = text.indexOf(q.repeat(3), i + 3);
    return j < 0 ? n : j + 3;
  }
  const multiline = q === '`';
  const rawGo = fam === 'go' && q === '`';
  const qc = q.charCodeAt(0);
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 92 && !rawGo) {
      j++;
      continue;
    }
    if (c === qc) return j + 1;
    if (c === 10 && !multiline) return j;
  }
  return n;
}

/** Maps offsets to 1-based lines of the original file (`firstLine` is the line of offset 0). */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(
    text: string,
    private readonly firstLine = 1,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  line(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + this.firstLine;
  }
  /** Offset where the given 1-based line starts. */
  offsetOf(line: number): number {
    return this.starts[Math.max(0, Math.min(this.starts.length - 1, line - this.firstLine))]!;
  }
}

const MAX_BALANCED = 20_000;

/** Index of the bracket closing the one at `open` in `code` (strings skipped), or -1. */
export function matchBracket(code: string, open: number, fam: Family = 'js'): number {
  const openCh = code[open];
  const closeCh = openCh === '(' ? ')' : openCh === '[' ? ']' : openCh === '{' ? '}' : '';
  if (!closeCh) return -1;
  const closeCode = closeCh.charCodeAt(0);
  let depth = 0;
  const limit = Math.min(code.length, open + MAX_BALANCED);
  for (let i = open; i < limit; i++) {
    const c = code.charCodeAt(i);
    // " ' ` open strings; ( [ { and ) ] } change the depth; nothing else matters.
    if (c === 34 || c === 39 || c === 96) {
      i = stringEnd(code, i, fam) - 1;
      continue;
    }
    if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) {
      depth--;
      if (depth === 0) return c === closeCode ? i : -1;
    }
  }
  return -1;
}

export interface Segment {
  name: string;
  /** Offset of the name. */
  at: number;
  /** Argument text (without the parentheses) when the segment is called. */
  args?: string;
  argsAt?: number;
}

export interface Chain {
  start: number;
  end: number;
  segments: Segment[];
  text: string;
}

const KEYWORDS = new Set([
  'if', 'elif', 'else', 'unless', 'while', 'for', 'switch', 'case', 'return', 'catch', 'and', 'or', 'not', 'in', 'await',
  'typeof', 'new', 'const', 'let', 'var', 'def', 'function', 'async', 'yield', 'throw', 'raise', 'import', 'from', 'with',
  'func', 'go', 'defer', 'when', 'then', 'do', 'end', 'class', 'module', 'lambda', 'print', 'assert', 'is',
  'until', 'elsif', 'begin', 'rescue', 'ensure', 'export', 'default', 'type', 'interface', 'struct', 'range',
]);

/** `/[A-Za-z_$@]/` on the character at `i` (false past the end), without a regex call per character. */
function identStartAt(code: string, i: number): boolean {
  const c = code.charCodeAt(i);
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36 || c === 64;
}

/** `/[\w$]/` on the character at `i` (false past the end). */
function identCharAt(code: string, i: number): boolean {
  const c = code.charCodeAt(i);
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36;
}

/**
 * Member/call chains in `code` (comments already masked): every maximal `a.b(c).d[e].f` starting at an identifier
 * that does not itself follow a dot. Chains continue across newlines when the next line starts with `.` / `?.`.
 * Chains nested in arguments are listed too.
 */
export function findChains(code: string, lang: Language, skipPlain = false): Chain[] {
  const fam = familyOf(lang);
  const out: Chain[] = [];
  const n = code.length;
  const ruby = fam === 'ruby';
  let i = 0;
  while (i < n) {
    const c = code.charCodeAt(i);
    if (c === 34 || c === 39 || c === 96) {
      // Template literals can hold code (`${...}`); other strings are skipped whole.
      if (c === 96 && fam === 'js') {
        i++;
        continue;
      }
      i = stringEnd(code, i, fam);
      continue;
    }
    if (!identStartAt(code, i)) {
      i++;
      continue;
    }
    if (i > 0) {
      const p = code.charCodeAt(i - 1);
      // Inside an identifier, or after `.` / `::`: not a chain start; skip the rest of the identifier at once.
      if (identCharAt(code, i - 1) || p === 46 || (p === 58 && code.charCodeAt(i - 2) === 58)) {
        i++;
        while (i < n && identCharAt(code, i)) i++;
        continue;
      }
    }
    // The first segment's name decides the keyword filter: skip keywords before parsing their (often long) chains.
    const nameEnd = readIdent(code, i, ruby);
    // With skipPlain, a lone identifier (no call, index or member after it) is not returned: it holds no statement
    // (tested first: it needs no slice of the name).
    if (!skipPlain || continuesChain(code, nameEnd, fam, ruby)) {
      const first = code.slice(i, nameEnd);
      if (!KEYWORDS.has(first) && !(fam === 'go' && first === 'select')) {
        const chain = parseChain(code, i, fam, ruby);
        if (chain && !(skipPlain && chain.segments.length === 1 && chain.segments[0]!.args === undefined && chain.end === nameEnd)) out.push(chain);
      }
    }
    // Continue just after the first identifier so nested chains in arguments are found.
    let j = i + 1;
    while (j < n && identCharAt(code, j)) j++;
    i = j;
  }
  return out;
}

/** Whether parseChain could go past the identifier ending at `k` (a call, an index or a member access follows). */
function continuesChain(code: string, k: number, fam: Family, ruby: boolean): boolean {
  const c = code[k];
  if (c === '(' || c === '[') return true;
  let m = k;
  while (m < code.length && (code[m] === ' ' || code[m] === '\t' || code[m] === '\n' || code[m] === '\r')) m++;
  const d = code[m];
  const next = code[m + 1];
  return (d === '.' && next !== '.') || (d === '?' && next === '.') || (d === '&' && next === '.' && ruby) || (d === '!' && next === '.' && fam === 'js');
}

function readIdent(code: string, i: number, ruby: boolean): number {
  let j = i;
  if (code[j] === '@') j++;
  if (code[j] === '@') j++;
  while (j < code.length && identCharAt(code, j)) j++;
  if (ruby && (code[j] === '?' || code[j] === '!') && code[j + 1] !== '=') j++;
  return j;
}

function parseChain(code: string, start: number, fam: Family, ruby: boolean): Chain | undefined {
  const segments: Segment[] = [];
  let j = readIdent(code, start, ruby);
  if (j === start) return undefined;
  segments.push({ name: code.slice(start, j), at: start });
  let end = j;
  for (let guard = 0; guard < 200; guard++) {
    // Calls and indexing directly after the last segment (Ruby and Python allow no space only).
    const k = j;
    if (code[k] === '(') {
      const close = matchBracket(code, k, fam);
      if (close < 0) break;
      const seg = segments[segments.length - 1]!;
      if (seg.args === undefined) {
        seg.args = code.slice(k + 1, close);
        seg.argsAt = k + 1;
      }
      j = close + 1;
      end = j;
      continue;
    }
    if (code[k] === '[') {
      const close = matchBracket(code, k, fam);
      if (close < 0) break;
      j = close + 1;
      end = j;
      continue;
    }
    // Ruby call without parentheses is not followed; a dot (possibly on the next line) continues the chain.
    let m = k;
    while (m < code.length && (code[m] === ' ' || code[m] === '\t' || code[m] === '\n' || code[m] === '\r')) m++;
    let dot = -1;
    if (code[m] === '.' && code[m + 1] !== '.') dot = m + 1;
    else if (code[m] === '?' && code[m + 1] === '.') dot = m + 2;
    else if (code[m] === '&' && code[m + 1] === '.' && ruby) dot = m + 2;
    else if (code[m] === '!' && code[m + 1] === '.' && fam === 'js') dot = m + 2;
    if (dot < 0) break;
    let s = dot;
    while (s < code.length && (code[s] === ' ' || code[s] === '\n' || code[s] === '\t')) s++;
    if (!identStartAt(code, s)) break;
    const e = readIdent(code, s, ruby);
    segments.push({ name: code.slice(s, e), at: s });
    j = e;
    end = e;
    // Ruby block argument `do |x|` / `{ |x| }` and Ruby/JS calls with a space are not part of the chain.
  }
  return { start, end, segments, text: code.slice(start, end) };
}

export interface StringLit {
  start: number;
  end: number;
  /** Contents without the quotes. */
  value: string;
}

/** String literals in comment-masked code. */
export function findStrings(code: string, lang: Language): StringLit[] {
  const fam = familyOf(lang);
  const out: StringLit[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c !== '"' && c !== "'" && c !== '`') continue;
    const end = stringEnd(code, i, fam);
    const triple = fam === 'python' && code.startsWith(c.repeat(3), i);
    const q = triple ? 3 : 1;
    out.push({ start: i, end, value: code.slice(i + q, Math.max(i + q, end - q)) });
    i = end - 1;
  }
  return out;
}

/** `` `SELECT ` + cols + ` FROM t WHERE ...` ``: literals joined by `+` around one identifier / member / call. */
const CONCAT_GAP = /^\s*\+\s*(?:[A-Za-z_$][\w$.]*(?:\(\s*\))?\s*\+\s*)?$/;

/**
 * String literals with a query split around a constant (`"SELECT " + cols + " FROM t WHERE id = $1"`, Go
 * `` `SELECT `+deviceColumns+` FROM devices WHERE serial = $1` ``) joined into one literal, the constant read as a
 * column list. Only when the head alone is not a whole statement (a bare `SELECT `) and the joined text is.
 */
function joinConcatenated(code: string, lits: StringLit[]): StringLit[] {
  if (!code.includes('+')) return lits;
  const out: StringLit[] = [];
  for (let i = 0; i < lits.length; i++) {
    const head = lits[i]!;
    if (!SQL_START.test(head.value) || looksLikeSql(head.value) || i + 1 >= lits.length) {
      out.push(head);
      continue;
    }
    let value = head.value;
    let end = head.end;
    let j = i;
    while (j + 1 < lits.length && j - i < 6) {
      const next = lits[j + 1]!;
      const gap = code.slice(lits[j]!.end, next.start);
      if (gap.length > 80 || !CONCAT_GAP.test(gap)) break;
      value += (gap.replace(/[\s+]/g, '') ? ' x ' : '') + next.value;
      end = next.end;
      j++;
    }
    if (j > i && looksLikeSql(value)) {
      out.push({ start: head.start, end, value });
      i = j;
    } else out.push(head);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// SQL

export type SqlKind = 'select' | 'insert' | 'update' | 'delete' | 'other';

export interface SqlInfo {
  kind: SqlKind;
  table?: string;
  /** Columns compared in WHERE (lower-case, as written). */
  whereColumns: string[];
  /** INSERT column list or UPDATE SET columns. */
  writeColumns: string[];
  exists: boolean;
  count: boolean;
  sum: boolean;
  /** Column under SUM(...) (lower-case), when it is a plain column. */
  sumColumn?: string;
  /** Column under MAX(...), or "" when MAX is used on an expression. */
  max?: string;
  /** ORDER BY col DESC LIMIT 1. */
  orderDescLimit1?: string;
  forUpdate: boolean;
  onConflict: boolean;
  /** WHERE holds <, >, BETWEEN, && or OVERLAPS. */
  range: boolean;
  /** Columns compared with <, >, BETWEEN, && in WHERE. */
  rangeColumns: string[];
  /** UPDATE ... SET x = x ± ... (atomic in the database). */
  atomicSet: boolean;
  serializable: boolean;
}

const SQL_START = /^\s*\(?\s*(select|insert|update|delete|with|upsert|replace|merge)\b/i;

/** Whether a string's contents read as a SQL statement. */
export function looksLikeSql(s: string): boolean {
  if (!SQL_START.test(s)) return false;
  return /\b(from|into|set|values|exists|where)\b/i.test(s) || /^\s*select\s+\S/i.test(s);
}

/** A table name, optionally schema-qualified and quoted; group 1 is the table. */
const SQL_IDENT = String.raw`["\`\[]?(?:\w+["\`\]]?\.["\`\[]?)?(\w+)["\`\]]?`;
const SQL_INTO_TABLE = new RegExp(String.raw`\binto\s+${SQL_IDENT}`, 'i');
const SQL_UPDATE_HEAD_TABLE = new RegExp(String.raw`^\s*(?:with\b.*?\)\s*)?update\s+(?:only\s+)?${SQL_IDENT}`, 'i');
const SQL_UPDATE_TABLE = new RegExp(String.raw`\bupdate\s+${SQL_IDENT}`, 'i');
const SQL_FROM_TABLE = new RegExp(String.raw`\bfrom\s+${SQL_IDENT}`, 'i');
const SQL_INTO_COLUMNS = new RegExp(String.raw`\binto\s+${SQL_IDENT}\s*\(([^)]*)\)`, 'i');

const sqlInfoCache = new Map<string, SqlInfo>();

/** classifySql, memoised per statement text (the same statements recur across functions); arrays are copied out. */
export function classifySql(sql: string): SqlInfo {
  let info = sqlInfoCache.get(sql);
  if (!info) {
    info = classifySqlUncached(sql);
    if (sqlInfoCache.size > 2000) sqlInfoCache.clear();
    sqlInfoCache.set(sql, info);
  }
  return { ...info, whereColumns: [...info.whereColumns], writeColumns: [...info.writeColumns], rangeColumns: [...info.rangeColumns] };
}

function classifySqlUncached(sql: string): SqlInfo {
  // Statements are short; a bound keeps the lazy patterns below linear in practice.
  const s = sql.slice(0, 4000).replace(/\s+/g, ' ');
  const head = /^\s*\(?\s*(?:with\b[\s\S]*?\)\s*)?(select|insert|update|delete|upsert|replace|merge)\b/i.exec(s)?.[1]?.toLowerCase();
  let kind: SqlKind = head === 'select' ? 'select' : head === 'insert' || head === 'replace' || head === 'upsert' ? 'insert' : head === 'update' ? 'update' : head === 'delete' ? 'delete' : 'other';
  if (kind === 'other' && /^\s*with\b/i.test(s)) kind = /\binsert\s+into\b/i.test(s) ? 'insert' : /\bupdate\s+\w/i.test(s) ? 'update' : 'select';
  let table: string | undefined;
  if (kind === 'insert') table = SQL_INTO_TABLE.exec(s)?.[1];
  else if (kind === 'update') table = SQL_UPDATE_HEAD_TABLE.exec(s)?.[1] ?? SQL_UPDATE_TABLE.exec(s)?.[1];
  else table = SQL_FROM_TABLE.exec(s)?.[1];
  const whereText = /\bwhere\b(.*)$/i.exec(s)?.[1] ?? '';
  const whereColumns = uniq(
    [...whereText.matchAll(/(?:\b\w+\.)?\b([a-z_]\w*)\s*(?:=|<>|!=|<=|>=|<|>|\bin\b|\bbetween\b|&&|\bis\b|@>|<@)/gi)]
      .map((m) => m[1]!.toLowerCase())
      .filter((c) => !SQL_WORDS.has(c))
      // Bare boolean columns: `WHERE shift_id = $1 AND on_call`, `AND NOT archived`.
      .concat([...(' ' + whereText).matchAll(/\b(?:where|and|or)\s+(?:not\s+)?(?:\w+\.)?([a-z_]\w*)\s*(?=\)|$|\band\b|\bor\b|\border\b|\bgroup\b|\blimit\b|\bfor\b|\breturning\b)/gi)].map((m) => m[1]!.toLowerCase()).filter((c) => !SQL_WORDS.has(c))),
  );
  let writeColumns: string[] = [];
  if (kind === 'insert') {
    const list = SQL_INTO_COLUMNS.exec(s)?.[2];
    if (list) writeColumns = list.split(',').map((c) => c.trim().replace(/["`[\]]/g, '').toLowerCase()).filter(Boolean);
  } else if (kind === 'update') {
    const set = /\bset\b(.*?)(?:\bwhere\b|\breturning\b|\bfrom\b|$)/i.exec(s)?.[1] ?? '';
    writeColumns = [...set.matchAll(/(?:^|,)\s*["`]?(\w+)["`]?\s*=/g)].map((m) => m[1]!.toLowerCase());
  }
  const maxM = /\bmax\s*\(\s*(?:\w+\.)?["`]?(\w+)?/i.exec(s);
  const sumM = /\bsum\s*\(\s*(?:\w+\.)?["`]?(\w+)["`]?\s*\)/i.exec(s);
  const order = /\border\s+by\s+(?:\w+\.)?["`]?(\w+)["`]?\s+desc\b[^;]*?\blimit\s+1\b/i.exec(s);
  return {
    kind,
    table: table && !SQL_WORDS.has(table.toLowerCase()) ? table : undefined,
    whereColumns,
    writeColumns,
    exists: kind === 'select' && (/\bexists\s*\(/i.test(s) || /^\s*\(?\s*select\s+(?:1|true|id|\w+\.id)\b/i.test(s)),
    count: kind === 'select' && /\bcount\s*\(/i.test(s),
    sum: kind === 'select' && /\bsum\s*\(/i.test(s),
    sumColumn: kind === 'select' && sumM ? sumM[1]!.toLowerCase() : undefined,
    max: kind === 'select' && maxM ? (maxM[1] ?? '').toLowerCase() : undefined,
    orderDescLimit1: kind === 'select' && order ? order[1]!.toLowerCase() : undefined,
    forUpdate: /\bfor\s+(?:no\s+key\s+)?update\b|\bfor\s+share\b/i.test(s),
    onConflict: /\bon\s+conflict\b|\bon\s+duplicate\s+key\b|\binsert\s+(?:or\s+)?ignore\b|^\s*merge\b|^\s*upsert\b/i.test(s),
    range: /(?:<|>|<=|>=)\s*(?:\$\d+|\?|:\w+|@\w+|%s|now\(\)|current_|\w+\()|\bbetween\b|&&|\boverlaps\b|\w+range\s*\(/i.test(whereText),
    rangeColumns: uniq([...whereText.matchAll(/(?:\b\w+\.)?\b([a-z_]\w*)\s*(?:<=|>=|<|>|\bbetween\b)(?!>)/gi)].map((m) => m[1]!.toLowerCase()).filter((c) => !SQL_WORDS.has(c))),
    atomicSet: kind === 'update' && /\bset\b.*?["`]?(\w+)["`]?\s*=\s*(?:\w+\.)?["`]?\1["`]?\s*[-+]/i.test(s),
    serializable: /\bisolation\s+level\s+serializable\b/i.test(s),
  };
}

const SQL_WORDS = new Set([
  'and', 'or', 'not', 'null', 'true', 'false', 'select', 'from', 'where', 'exists', 'in', 'is', 'between', 'now',
  'current_date', 'current_timestamp', 'lateral', 'only', 'set', 'values', 'returning', 'limit', 'order', 'by',
]);

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/** Table/model names compared across ORMs: lower-case, no separators, singular. */
export function normEntity(name: string): string {
  let s = name.replace(/^.*[.:]/, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  s = s.replace(/(?:repository|repo)$/, '') || s;
  if (/ies$/.test(s)) return s.slice(0, -3) + 'y';
  if (/(?:ss|us|is)$/.test(s)) return s;
  if (/(?:x|ch|sh|ss|us)es$/.test(s)) return s.slice(0, -2);
  if (/s$/.test(s) && s.length > 2) return s.slice(0, -1);
  return s;
}

/** Column names compared across ORMs: lower-case, no separators, a trailing "id" of a foreign key dropped. */
export function normColumn(name: string): string {
  const s = name.replace(/__\w+$/, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase();
  return s.length > 2 && s.endsWith('id') ? s.slice(0, -2) : s;
}

// ---------------------------------------------------------------------------------------------------------------
// Argument parsing

/** Top-level keys of the first object literal / keyword arguments / Ruby hash arguments in `args`. */
export function argKeys(args: string, fam: Family): string[] {
  const out: string[] = [];
  const text = args.trim();
  if (fam === 'js' || fam === 'go') {
    const open = text.indexOf('{');
    if (open < 0) return out;
    const close = matchBracket(text, open, fam === 'go' ? 'go' : 'js');
    const body = text.slice(open + 1, close < 0 ? text.length : close);
    for (const part of topLevelSplit(body, fam)) {
      const m = /^\s*(?:\[\s*)?['"]?([\w$]+)['"]?\s*(?:\]\s*)?(?::|$)/.exec(part);
      if (m && m[1] !== '...') out.push(m[1]!);
    }
    return out;
  }
  for (const part of topLevelSplit(text, fam)) {
    const m = fam === 'python' ? /^\s*(\w+)\s*=(?!=)/.exec(part) : /^\s*:?(\w+[?!]?)(?::\s|\s*=>)/.exec(part);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** The value text of `key` among the top-level entries of the first object literal / kwargs in `args`. */
export function argValue(args: string, key: string, fam: Family): string | undefined {
  const text = args.trim();
  let body = text;
  if (fam === 'js' || fam === 'go') {
    const open = text.indexOf('{');
    if (open < 0) return undefined;
    const close = matchBracket(text, open, fam === 'go' ? 'go' : 'js');
    body = text.slice(open + 1, close < 0 ? text.length : close);
  }
  const { re, shorthand } = argValuePatterns(key, fam);
  for (const part of topLevelSplit(body, fam)) {
    const m = re.exec(part);
    if (m) return part.slice(m[0].length).trim();
    if ((fam === 'js') && shorthand.test(part)) return key;
  }
  return undefined;
}

/** argValue's patterns per (key, family), compiled once: the keys are a handful of constants. */
const argValueCache = new Map<string, { re: RegExp; shorthand: RegExp }>();
function argValuePatterns(key: string, fam: Family): { re: RegExp; shorthand: RegExp } {
  const k = `${fam}\0${key}`;
  let p = argValueCache.get(k);
  if (!p) {
    const re = fam === 'python' ? new RegExp(String.raw`^\s*${key}\s*=(?!=)`) : fam === 'ruby' ? new RegExp(String.raw`^\s*:?${key}(?::\s|\s*=>)`) : new RegExp(String.raw`^\s*['"]?${key}['"]?\s*:`);
    p = { re, shorthand: new RegExp(String.raw`^\s*${key}\s*$`) };
    if (argValueCache.size > 1000) argValueCache.clear();
    argValueCache.set(k, p);
  }
  return p;
}

/** Splits on commas at bracket depth 0 (strings respected). */
export function topLevelSplit(text: string, fam: Family): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      i = stringEnd(text, i, fam) - 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts.filter((p) => p.trim() !== '');
}

// ---------------------------------------------------------------------------------------------------------------
// Database operations

export type OpKind = 'find' | 'list' | 'exists' | 'count' | 'sum' | 'max' | 'insert' | 'update' | 'upsert' | 'getOrCreate' | 'delete';

/** One database statement found in a function, in program order. */
export interface DbOp {
  kind: OpKind;
  /** Table or model as written (e.g. "playlistItem", "CouponRedemption", "reservations"). */
  entity: string;
  /** Data-access library guess: prisma | typeorm | sequelize | knex | drizzle | pg | django | sqlalchemy | activerecord | database/sql. */
  orm: string;
  /** The call as written without arguments, e.g. "prisma.user.findFirst" or "CouponRedemption.objects.filter.exists". */
  call: string;
  start: number;
  end: number;
  line: number;
  endLine: number;
  whereColumns: string[];
  writeColumns: string[];
  /** Range predicate (<, >, BETWEEN, overlaps, __gte, lt:, ...). */
  range: boolean;
  /** Columns bounded by the range predicate, when known. */
  rangeColumns?: string[];
  /** Row lock taken by this statement (FOR UPDATE, select_for_update, forUpdate, lock). */
  lock: boolean;
  /** For max ops: the column. */
  maxColumn?: string;
  /** For sum ops: the summed column, when known. */
  sumColumn?: string;
  /** Variables the result is bound to. */
  vars: string[];
  /** For writes through a loaded object (`x.save()`, `x.update!(...)`): that variable. */
  instance?: string;
  /** Write computed in the database (`x = x + 1`, F(), increment). */
  atomic: boolean;
  /** Association parent in Ruby/Django chains (`current_store` in `current_store.pickup_locations.count`). */
  parent?: string;
  /** Named scopes in an ActiveRecord chain (`active` in `pickup_locations.active.count`). */
  scopes?: string[];
}

const BUILTINS = new Set([
  'Object', 'Array', 'Promise', 'JSON', 'Math', 'Date', 'Number', 'String', 'Buffer', 'Reflect', 'Map', 'Set', 'Error',
  'React', 'Intl', 'URL', 'Time', 'DateTime', 'Rails', 'SecureRandom', 'File', 'Dir', 'Hash', 'Integer', 'Float', 'Kernel',
  'BigDecimal', 'Decimal', 'Response', 'Request', 'Headers', 'Symbol', 'Boolean', 'Atomics', 'WeakMap', 'Logger', 'I18n',
  'ActiveRecord', 'ActiveSupport', 'Sidekiq', 'Struct', 'Proc', 'Range', 'Regexp', 'Process', 'IO', 'Comparable', 'Enumerable',
]);

const JS_METHODS: Record<string, OpKind> = {
  findFirst: 'find', findFirstOrThrow: 'find', findUnique: 'find', findUniqueOrThrow: 'find', findOne: 'find', findOneBy: 'find',
  findOneOrFail: 'find', findOneByOrFail: 'find', findByPk: 'find', findById: 'find',
  findMany: 'list', findAll: 'list', findBy: 'list', findAndCountAll: 'list', find: 'list',
  exists: 'exists', exist: 'exists', existsBy: 'exists',
  count: 'count', countBy: 'count', countDocuments: 'count', sum: 'sum', max: 'max', maximum: 'max', aggregate: 'list',
  create: 'insert', createMany: 'insert', insert: 'insert', bulkCreate: 'insert', insertMany: 'insert', save: 'insert',
  update: 'update', updateMany: 'update', updateOne: 'update', findOneAndUpdate: 'update', increment: 'update', decrement: 'update',
  upsert: 'upsert', findOrCreate: 'getOrCreate', findOneAndUpsert: 'upsert',
  delete: 'delete', deleteMany: 'delete', destroy: 'delete', deleteOne: 'delete',
};

const PY_METHODS: Record<string, OpKind> = {
  exists: 'exists', count: 'count', first: 'find', last: 'find', get: 'find', latest: 'find', earliest: 'find',
  create: 'insert', bulk_create: 'insert', update: 'update', get_or_create: 'getOrCreate', update_or_create: 'getOrCreate',
  delete: 'delete', filter: 'list', exclude: 'list', all: 'list', order_by: 'list', values: 'list', values_list: 'list', aggregate: 'list',
  one: 'find', one_or_none: 'find', scalar: 'find', scalar_one: 'find', scalar_one_or_none: 'find', filter_by: 'list',
};

const RB_METHODS: Record<string, OpKind> = {
  find: 'find', find_by: 'find', 'find_by!': 'find', first: 'find', last: 'find', take: 'find', 'first!': 'find', 'take!': 'find', pick: 'find',
  where: 'list', order: 'list', joins: 'list', includes: 'list', all: 'list', not: 'list',
  'exists?': 'exists', 'any?': 'exists', 'present?': 'exists', 'none?': 'exists', 'empty?': 'exists', 'blank?': 'exists',
  count: 'count', size: 'count', sum: 'sum', maximum: 'max',
  create: 'insert', 'create!': 'insert', insert: 'insert', 'insert!': 'insert',
  'update!': 'update', update: 'update', update_all: 'update', update_columns: 'update', update_column: 'update', 'increment!': 'update',
  'decrement!': 'update', 'toggle!': 'update', 'save!': 'update', save: 'update',
  find_or_create_by: 'getOrCreate', 'find_or_create_by!': 'getOrCreate', first_or_create: 'getOrCreate', 'first_or_create!': 'getOrCreate',
  create_or_find_by: 'upsert', 'create_or_find_by!': 'upsert', upsert: 'upsert', upsert_all: 'upsert', insert_all: 'upsert',
  destroy: 'delete', 'destroy!': 'delete', delete: 'delete', delete_all: 'delete', destroy_all: 'delete',
};
const RB_LOCKS = new Set(['lock', 'lock!', 'with_lock']);

const DB_CLIENT = /^(?:prisma|tx|trx|db|database|prismaclient|transaction)$|prisma$|db$/i;
const KNEX_ROOT = /^(?:knex|db|trx|tx|t|database|k|qb|conn|connection|this\.knex|transaction)$/i;

/** Finds the database statements of one function (comment-masked code), in program order. */
const CLOSURE_OPEN = /\bfunc\s*\(|=>|\bfunction\b|\blambda\b|\bdo\s*(?:\||$)|\{\s*\|/m;

export function findDbOps(code: string, lang: Language, firstLine: number, repositories?: Map<string, string>, lineIndex?: LineIndex, loose?: DbOp[]): DbOp[] {
  const fam = familyOf(lang);
  const idx = lineIndex ?? new LineIndex(code, firstLine);
  // Lone identifiers are never a statement nor around a SQL string: leave them out.
  const chains = findChains(code, lang, true);
  const ops: DbOp[] = [];
  const repoEntities = repositories ?? new Map<string, string>();
  const claimed: Array<[number, number]> = [];

  const make = (kind: OpKind, entity: string, orm: string, call: string, start: number, end: number, extra: Partial<DbOp> = {}): DbOp => ({
    kind,
    entity,
    orm,
    call,
    start,
    end,
    line: idx.line(start),
    endLine: idx.line(Math.max(start, end - 1)),
    whereColumns: [],
    writeColumns: [],
    range: false,
    lock: false,
    atomic: false,
    vars: [],
    ...extra,
  });

  // Raw SQL in strings.
  for (const s of joinConcatenated(code, findStrings(code, lang))) {
    if (!looksLikeSql(s.value)) continue;
    const info = classifySql(s.value);
    if (!info.table || info.kind === 'other' || info.kind === 'delete') continue;
    // A call whose arguments hold a closure around the query (`pgx.BeginFunc(ctx, pool, func(tx) {...})`,
    // `db.transaction(async (tx) => {...})`) is not part of the query's statement.
    const enclosing = chains
      .filter((c) => c.start < s.start && c.end > s.start && !CLOSURE_OPEN.test(code.slice(c.start, s.start)))
      .sort((a, b) => b.start - a.start);
    const inner = enclosing[0];
    const call = inner ? callName({ ...inner, segments: inner.segments.slice(0, inner.segments.findIndex((g) => g.argsAt !== undefined && g.argsAt <= s.start && s.start <= g.argsAt + (g.args ?? '').length) + 1 || undefined) }) : 'sql';
    let kind: OpKind = info.kind === 'insert' ? (info.onConflict ? 'upsert' : 'insert') : info.kind === 'update' ? 'update' : 'find';
    if (info.kind === 'select') {
      if (info.max !== undefined || info.orderDescLimit1) kind = 'max';
      else if (info.count) kind = 'count';
      else if (info.sum) kind = 'sum';
      else if (info.exists) kind = 'exists';
    }
    const vars: string[] = [];
    for (const c of enclosing) {
      const scan = c.segments.find((g) => g.name === 'Scan' && g.args !== undefined);
      if (scan) vars.push(...[...scan.args!.matchAll(/&([\w.]+)/g)].map((m) => m[1]!.replace(/^.*\./, '')));
    }
    // Go sqlx / scany: `tx.GetContext(ctx, &n, "SELECT count(*) ...")`, `db.Select(&rows, q)`, `pgxscan.Get(ctx, db, &x, q)`:
    // the destination pointer before the query is what the result is bound to.
    if (fam === 'go' && vars.length === 0 && inner) {
      const seg = inner.segments.find((g) => g.argsAt !== undefined && g.argsAt <= s.start && s.start <= g.argsAt + (g.args ?? '').length);
      if (seg && /^(?:Get|Select)(?:Context)?$/.test(seg.name)) {
        const dest = [...seg.args!.slice(0, s.start - seg.argsAt!).matchAll(/&([A-Za-z_]\w*)\s*,/g)].pop()?.[1];
        if (dest) vars.push(dest);
        // `Select` fills a slice: the rows of the predicate, not one row.
        if (dest && seg.name.startsWith('Select') && (kind === 'find' || kind === 'exists')) kind = 'list';
      }
    }
    const orm = fam === 'go' ? (/\bpool\b|pgx/.test(code) ? 'pgx' : 'database/sql') : fam === 'python' ? 'sqlalchemy' : fam === 'ruby' ? 'activerecord' : 'pg';
    const end = enclosing.length ? Math.max(...enclosing.map((c) => c.end)) : s.end;
    const op = make(kind, info.table, orm, call, s.start, s.end, {
      whereColumns: info.whereColumns,
      writeColumns: info.writeColumns,
      range: info.range,
      rangeColumns: info.rangeColumns,
      lock: info.forUpdate,
      maxColumn: info.max || info.orderDescLimit1,
      sumColumn: info.sumColumn,
      atomic: info.atomicSet,
      vars,
    });
    op.end = end;
    ops.push(op);
    claimed.push([s.start, s.end]);
  }

  // GORM chains (`tx.Model(&X{}).Where(...).Count(&n)`), only in code that looks like it uses GORM.
  const gormLikely = fam === 'go' && /\.(?:Model|Where|First|Find|Create|Updates?|Save|Pluck)\(/.test(code);
  for (const chain of chains) {
    const op =
      fam === 'js' ? jsOp(chain, repoEntities) : fam === 'python' ? pyOp(chain) : fam === 'ruby' ? rbOp(chain) : fam === 'go' && gormLikely ? gormOp(chain, code) : undefined;
    if (!op) continue;
    // SQLAlchemy 2.0: `session.scalars(select(M).where(...)).first()` — the terminal call sits on the enclosing chain.
    if (op.orm === 'sqlalchemy' && op.kind === 'list') {
      const outer = chains
        .filter((c) => c.start < chain.start && c.end >= chain.end)
        .sort((a, b) => b.start - a.start)[0];
      const terminal = outer?.segments.map((g) => g.name).find((n) => /^(?:first|one|one_or_none|scalar|scalar_one|scalar_one_or_none)$/.test(n));
      if (terminal) op.kind = 'find';
    }
    ops.push(make(op.kind, op.entity, op.orm, op.call, chain.start, chain.end, op.extra));
  }

  // Drop chains that only wrap another op (e.g. `session.execute(select(...))` around `select(...)`): keep the innermost
  // op at a position, and one op per start offset.
  const byStart = new Map<number, DbOp>();
  for (const op of ops) if (!byStart.has(op.start)) byStart.set(op.start, op);
  const list = [...byStart.values()].sort((a, b) => a.start - b.start);
  for (const op of list) {
    // Go: `err := db.QueryRow(...).Scan(&id)` then `if err == nil { return ErrTaken }` — keep `err` for the gate.
    const keepErr = fam === 'go' && op.vars.length > 0;
    if (op.vars.length === 0) op.vars = boundVars(code, op.start, fam, keepErr);
    else op.vars.push(...boundVars(code, op.start, fam, keepErr));
    // Go: `row := db.QueryRowContext(ctx, q, id)` then `row.Scan(&n)` / `err = row.Scan(&n)` on a following line.
    if (fam === 'go' && op.vars.length === 1 && op.vars[0] !== 'err') {
      const after = code.slice(op.end, op.end + 300);
      const scan = new RegExp(String.raw`(?<![\w.])${op.vars[0]}\.Scan\(([^)\n]*)\)`).exec(after);
      if (scan) op.vars.push(...[...scan[1]!.matchAll(/&([\w.]+)/g)].map((m) => m[1]!.replace(/^.*\./, '')));
    }
    // `const [row] = await db.select().from(t).where(...)`: the first row of a list, i.e. one row loaded.
    if (op.kind === 'list' && fam === 'js' && op.vars.length === 1 && /\[\s*[\w$]+\s*\]\s*(?::[^=\n]{1,80})?=\s*(?:await\s+)?(?:\(\s*)?$/.test(code.slice(Math.max(0, op.start - 200), op.start))) op.kind = 'find';
  }
  // Instance writes on loaded objects: resolve the variable's entity.
  const varEntity = new Map<string, DbOp>();
  for (const op of list) {
    if (op.instance) {
      const src = varEntity.get(op.instance);
      if (src) {
        op.entity = src.entity;
        op.orm = src.orm;
        if (op.kind === 'insert') op.kind = 'update';
      } else {
        // `seat.update!(...)` on a parameter named after the table the function reads (`seats`): that table's row.
        const named = list.find((o) => o !== op && !o.instance && o.entity && normEntity(o.entity) === normEntity(op.instance!));
        op.entity = named?.entity ?? '';
        if (named) {
          op.orm = named.orm;
          if (op.kind === 'insert') op.kind = 'update';
        }
      }
    }
    if (op.kind === 'find' || op.kind === 'list') for (const v of op.vars) varEntity.set(v, op);
  }
  if (fam === 'python') list.push(...sqlAlchemyAttributeWrites(code, list, make));
  // Writes through an object whose entity is not known here (`@order.update!(...)`, `invoice.save()` on a parameter or
  // an instance variable): kept apart for the callers that follow the object rather than the table.
  if (loose) for (const op of list) if (op.entity === '' && op.instance && (op.kind === 'update' || op.kind === 'insert')) loose.push({ ...op, kind: 'update' });
  return list.filter((op) => op.entity !== '').sort((a, b) => a.start - b.start);
}

/**
 * SQLAlchemy unit of work: `card.spent = Card.spent + amount` on a row loaded through the session is an UPDATE at
 * the next flush. Each such assignment becomes an update op on the loaded row (instance = the variable); the write
 * is atomic when its value is an SQL expression over the same column (`Model.col + x`).
 */
function sqlAlchemyAttributeWrites(code: string, ops: readonly DbOp[], make: (kind: OpKind, entity: string, orm: string, call: string, start: number, end: number, extra?: Partial<DbOp>) => DbOp): DbOp[] {
  if (!ops.some((o) => o.orm === 'sqlalchemy')) return [];
  const out: DbOp[] = [];
  for (const m of code.matchAll(/^([ \t]*)([a-z_]\w*)\.(\w+)[ \t]*([-+*/]?=)(?!=)[ \t]*([^\n]*)/gm)) {
    const at = (m.index ?? 0) + m[1]!.length;
    const v = m[2]!;
    if (v === 'self') continue;
    let src: DbOp | undefined;
    for (const o of ops) if (o.start < at && (o.kind === 'find' || o.kind === 'list') && o.orm === 'sqlalchemy' && o.vars.includes(v)) src = o;
    if (!src) continue;
    const col = m[3]!;
    const atomic = m[4] === '=' && new RegExp(String.raw`\b[A-Z]\w*\.${col}\b\s*[-+]`).test(m[5]!);
    out.push(make('update', src.entity, 'sqlalchemy', `${v}.${col} =`, at, at + m[0].length - m[1]!.length, { instance: v, writeColumns: [col], atomic }));
  }
  return out;
}

/** The call without arguments: `prisma.user.findFirst`. */
export function callName(chain: Chain): string {
  return chain.segments.map((s) => s.name).join('.');
}

interface Interp {
  kind: OpKind;
  entity: string;
  orm: string;
  call: string;
  extra: Partial<DbOp>;
}

function firstIdent(args: string | undefined): string | undefined {
  return /^\s*([A-Za-z_][\w$]*)/.exec(args ?? '')?.[1];
}

function jsOp(chain: Chain, repos: Map<string, string>): Interp | undefined {
  const segs = chain.segments;
  // Every interpretation below needs a call somewhere in the chain.
  if (!segs.some((s) => s.args !== undefined)) return undefined;
  const names = segs.map((s) => s.name);
  // Knex: db('table')...
  const root = segs[0]!;
  const knexTable = root.args !== undefined && KNEX_ROOT.test(root.name) ? /^\s*['"`](\w+)['"`]\s*$/.exec(root.args)?.[1] : undefined;
  const fromSeg = segs.find((s) => (s.name === 'from' || s.name === 'table' || s.name === 'into') && s.args !== undefined && /^\s*['"`]\w+['"`]\s*$/.test(s.args));
  if (knexTable || (fromSeg && KNEX_ROOT.test(root.name))) return knexOp(chain, knexTable ?? /['"`](\w+)/.exec(fromSeg!.args!)![1]!);
  // TypeORM query builder: `manager.createQueryBuilder(Card, 'c').select('SUM(c.limit)', 'total').where(...).getRawOne()`.
  if (names.includes('createQueryBuilder')) return typeormQbOp(chain, repos);
  // Drizzle: db.select().from(t) / db.insert(t) / db.update(t)
  if (DB_CLIENT.test(root.name) || root.name === 'this') {
    const d = drizzleOp(chain);
    if (d) return d;
  }
  // Instance methods: x.save() / x.update({...}) / x.destroy() on a loaded object (Sequelize model instance).
  const instanceOp = (): Interp | undefined => {
    if (segs.length === 2 && segs[1]!.args !== undefined && /^(?:save|update|destroy|remove|increment|decrement)$/.test(segs[1]!.name) && /^[a-z_$][\w$]*$/.test(root.name) && !DB_CLIENT.test(root.name) && !/repo(?:sitory)?$/i.test(root.name) && !repos.has(root.name)) {
      const kind: OpKind = segs[1]!.name === 'save' ? 'insert' : segs[1]!.name === 'destroy' || segs[1]!.name === 'remove' ? 'delete' : 'update';
      return { kind, entity: '?', orm: 'sequelize', call: callName(chain), extra: { instance: root.name, writeColumns: keysOf(segs[1]!.args!, 'js'), atomic: /increment|decrement/.test(segs[1]!.name) } };
    }
    return undefined;
  };
  let i = segs.findIndex((s, k) => k >= 1 && s.args !== undefined && JS_METHODS[s.name] !== undefined);
  if (i < 1) return instanceOp();
  const method = segs[i]!;
  const recv = segs[i - 1]!;
  // TypeORM entity manager writing a loaded entity: `manager.save(card)`, `queryRunner.manager.save(order)`.
  if (/^(?:manager|entityManager|em)$/.test(recv.name) && /^(?:save|softRemove|remove)$/.test(method.name)) {
    const v = /^\s*([a-z_$][\w$]*)\s*$/.exec(method.args ?? '')?.[1];
    if (v) return { kind: method.name === 'save' ? 'insert' : 'delete', entity: '?', orm: 'typeorm', call: names.slice(0, i + 1).join('.'), extra: { instance: v } };
  }
  let entity: string | undefined;
  let orm = 'prisma';
  const repoCall = segs.find((s) => s.name === 'getRepository' && s.args !== undefined);
  if (repoCall && firstIdent(repoCall.args)) {
    entity = firstIdent(repoCall.args);
    orm = 'typeorm';
  } else if (/^(?:manager|entityManager|em)$/.test(recv.name) && /^[A-Z]/.test(firstIdent(method.args) ?? '')) {
    entity = firstIdent(method.args);
    orm = 'typeorm';
  } else if (/repo(?:sitory)?$/i.test(recv.name) || repos.has(recv.name)) {
    entity = repos.get(recv.name) ?? recv.name.replace(/(?:Repository|Repo|repository|repo)$/, '');
    orm = 'typeorm';
  } else if (/^[A-Z]/.test(recv.name) && i === 1 && !BUILTINS.has(recv.name)) {
    entity = recv.name;
    orm = /countDocuments|findById|insertMany|updateOne|deleteOne|findOneAndUpdate/.test(method.name) ? 'mongoose' : 'sequelize';
  } else if (i >= 3 && segs[i - 2]!.name === 'query' && (DB_CLIENT.test(segs[i - 3]!.name) || segs[i - 3]!.name === 'this')) {
    // Drizzle relational queries: `db.query.users.findFirst({ where: eq(users.email, email) })`.
    entity = recv.name;
    orm = 'drizzle';
  } else if (i >= 2 && (DB_CLIENT.test(segs[i - 2]!.name) || segs[i - 2]!.name === 'this' && i === 2)) {
    if (segs[i - 2]!.name === 'this') return undefined;
    entity = recv.name;
    if (entity.startsWith('$')) return undefined;
  }
  if (!entity || !entity.trim()) return instanceOp();
  const args = method.args ?? '';
  let kind = JS_METHODS[method.name]!;
  const extra: Partial<DbOp> = {};
  const where = argValue(args, 'where', 'js');
  if (orm === 'drizzle') {
    // `where: eq(t.col, x)` / `where: (t, { eq }) => and(eq(t.a, x), isNull(t.b))`
    extra.whereColumns = drizzleColumns(where ?? '');
    extra.range = /\b(?:lt|lte|gt|gte|between)\(/.test(where ?? '');
  } else if (orm === 'prisma' || where !== undefined) {
    extra.whereColumns = where !== undefined ? keysOf(where, 'js') : [];
    const data = argValue(args, 'data', 'js');
    extra.writeColumns = data !== undefined ? keysOf(data, 'js') : kind === 'insert' ? keysOf(args, 'js') : [];
    extra.range = where !== undefined && /\b(?:lt|lte|gt|gte)\s*:|\[Op\.(?:lt|lte|gt|gte|between|overlap)\]|\$(?:lt|lte|gt|gte)\b/.test(where);
    if (extra.range && where !== undefined) extra.rangeColumns = [...where.matchAll(/([\w$]+)\s*:\s*\{\s*(?:\[Op\.)?\$?(?:lt|lte|gt|gte|between)\b/g)].map((m) => m[1]!);
    extra.atomic = data !== undefined && /\b(?:increment|decrement)\s*:/.test(data);
  } else if (kind === 'insert' || kind === 'update' || kind === 'upsert') {
    extra.writeColumns = keysOf(args, 'js');
    if (kind === 'update') extra.whereColumns = keysOf(topLevelSplit(args, 'js')[1] ?? '', 'js');
  } else {
    extra.whereColumns = keysOf(args, 'js');
    extra.range = /\b(?:lt|lte|gt|gte)\s*:|\$(?:lt|lte|gt|gte)\b|\b(?:LessThan|MoreThan|Between|LessThanOrEqual|MoreThanOrEqual)\(/.test(args);
  }
  if (method.name === 'aggregate') {
    if (/_max\s*:/.test(args)) {
      kind = 'max';
      extra.maxColumn = /_max\s*:\s*\{\s*(\w+)/.exec(args)?.[1];
    } else if (/_sum\s*:/.test(args)) {
      kind = 'sum';
      extra.sumColumn = /_sum\s*:\s*\{\s*(\w+)/.exec(args)?.[1];
    }
    else if (/_count\s*:/.test(args)) kind = 'count';
  }
  if ((method.name === 'max' || method.name === 'maximum') && orm !== 'prisma') extra.maxColumn = /['"](\w+)['"]/.exec(args)?.[1];
  if (method.name === 'sum' && orm !== 'prisma') extra.sumColumn = /^\s*['"](\w+)['"]/.exec(args)?.[1];
  if (kind === 'find' && /orderBy\s*:\s*\{\s*(\w+)\s*:\s*['"]desc['"]/.test(args)) {
    kind = 'max';
    extra.maxColumn = /orderBy\s*:\s*\{\s*(\w+)/.exec(args)?.[1];
  }
  if ((method.name === 'createMany' || method.name === 'bulkCreate' || method.name === 'insert' || method.name === 'save') && /skipDuplicates\s*:\s*true|ignoreDuplicates\s*:\s*true|updateOnDuplicate/.test(args)) kind = 'upsert';
  if (names.some((n) => n === 'orIgnore' || n === 'orUpdate' || n === 'onConflict')) kind = 'upsert';
  extra.lock = /lock\s*:\s*\{\s*mode\s*:|pessimistic_write|pessimistic_read|FOR UPDATE/i.test(args) || names.includes('setLock');
  return { kind, entity, orm, call: names.slice(0, i + 1).join('.'), extra };
}

const GORM_TERMINAL: Record<string, OpKind> = {
  First: 'find', Take: 'find', Last: 'find', Find: 'list', Count: 'count', Scan: 'find', Pluck: 'list', Create: 'insert',
  CreateInBatches: 'insert', Save: 'update', Update: 'update', Updates: 'update', UpdateColumn: 'update', UpdateColumns: 'update',
  FirstOrCreate: 'getOrCreate', Delete: 'delete',
};
const GORM_BUILDER = /^(?:Model|Table|Where|Not|Or|Select|Clauses|Joins|Order|Limit|Offset|Group|Having|Preload|Omit|Distinct|Unscoped|Session|WithContext|Debug|Attrs|Assign)$/;
const GORM_ROOT = /^(?:tx|db|gdb|orm|conn|dbtx)$|DB$|Db$|[a-z]db$/;

/** The struct type of a Go variable declared in `code` (`var w Wallet`, `rows := []Wallet{}`, `x := &Order{`). */
function goVarType(code: string, v: string): string | undefined {
  const m = new RegExp(String.raw`\bvar\s+(?:[\w, ]*,\s*)?${v}(?:\s*,\s*\w+)*\s+(?:\[\]|\*)*(?:\w+\.)?([A-Z]\w*)\b|(?<![\w.])${v}\s*:?=\s*&?(?:\[\]\*?)?(?:\w+\.)?([A-Z]\w*)\s*\{`).exec(code);
  return m?.[1] ?? m?.[2];
}

/** Columns of a GORM condition: a SQL fragment (`"user_id = ? AND balance >= ?"`), a struct or a map literal. */
function gormWhere(args: string, extra: Partial<DbOp>): void {
  const str = /^\s*["`]([^"`]*)["`]/.exec(args)?.[1];
  if (str !== undefined) {
    for (const m of str.matchAll(/(?:\w+\.)?"?(\w+)"?\s*(=|!=|<>|<=|>=|<|>|\bIN\b|\bIS\b|\bLIKE\b|\bBETWEEN\b)/gi)) {
      extra.whereColumns!.push(m[1]!);
      if (/^(?:<=|>=|<|>|between)$/i.test(m[2]!)) {
        extra.range = true;
        (extra.rangeColumns ??= []).push(m[1]!);
      }
    }
    return;
  }
  extra.whereColumns!.push(...gormKeys(args));
}

/** Keys of a GORM struct / map literal argument: `&Wallet{UserID: id}`, `map[string]any{"status": "x"}`. */
function gormKeys(args: string): string[] {
  const open = args.indexOf('{');
  if (open < 0) return [];
  return [...args.slice(open).matchAll(/[{,]\s*"?([A-Za-z_]\w*)"?\s*:(?!=)/g)].map((m) => m[1]!);
}

/**
 * GORM chains: entity from `Model(&X{})` / `Table("t")` / the destination's declared type (`First(&wallet)`),
 * where columns from `Where` / `Not` / `Or`, kind from the terminal method (`Count(&n)`, a `Select("SUM(col)")`
 * before `Scan` / `Row`, `Updates(map...)`), a lock from `Clauses(clause.Locking{...})`, an upsert from
 * `Clauses(clause.OnConflict{...})`, atomic writes through `gorm.Expr("col - ?", x)`.
 */
function gormOp(chain: Chain, code: string): Interp | undefined {
  const segs = chain.segments;
  const ti = segs.findIndex((g, k) => k >= 1 && g.args !== undefined && GORM_TERMINAL[g.name] !== undefined);
  if (ti < 1) return undefined;
  const names = segs.map((g) => g.name);
  if (names.some((n) => /^(?:Raw|Exec|Query|QueryRow|QueryRowContext|QueryContext|ExecContext|Rows)$/.test(n))) return undefined;
  const builders = segs.slice(1, ti).filter((g) => GORM_BUILDER.test(g.name));
  const rootIsDb = GORM_ROOT.test(segs[0]!.name) || segs.slice(1, ti).some((g) => /^(?:db|DB|tx|orm)$/.test(g.name));
  if (!builders.length && !rootIsDb) return undefined;
  // Every segment between the root and the terminal must be a GORM builder (or the handle's field: `s.db`).
  if (segs.slice(1, ti).some((g) => !GORM_BUILDER.test(g.name) && !(g.args === undefined && /^(?:db|DB|tx|orm|conn)$/.test(g.name)))) return undefined;
  const term = segs[ti]!;
  let kind = GORM_TERMINAL[term.name]!;
  if (term.name === 'Scan' && !builders.some((g) => g.name === 'Model' || g.name === 'Table')) return undefined;
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  let entity: string | undefined;
  const model = segs.find((g) => g.name === 'Model' && g.args !== undefined);
  const table = segs.find((g) => g.name === 'Table' && g.args !== undefined);
  const typeOfArg = (a: string | undefined) => {
    const lit = /^\s*&?(?:\[\]\*?)?(?:\w+\.)?([A-Z]\w*)\s*\{/.exec(a ?? '')?.[1];
    if (lit) return lit;
    const v = /^\s*&?([a-z_]\w*)\s*$/.exec((a ?? '').split(',')[0] ?? '')?.[1];
    return v ? goVarType(code, v) : undefined;
  };
  if (model) entity = typeOfArg(model.args);
  else if (table) entity = /^\s*["`](\w+)/.exec(table.args!)?.[1];
  const termArgs = term.args ?? '';
  const destArg = term.name === 'Pluck' ? (topLevelSplit(termArgs, 'go')[1] ?? '') : term.name === 'Delete' || term.name === 'First' || term.name === 'Take' || term.name === 'Last' || term.name === 'Find' ? (topLevelSplit(termArgs, 'go')[0] ?? '') : termArgs;
  const dest = /^\s*&([A-Za-z_]\w*)\s*$/.exec(destArg)?.[1];
  if (!entity && /^(?:First|Take|Last|Find|Create|CreateInBatches|Save|Delete|FirstOrCreate)$/.test(term.name)) entity = typeOfArg(destArg);
  if (!entity) return undefined;
  if (dest && kind !== 'update' && kind !== 'delete') extra.vars = [dest];
  for (const g of segs.slice(1, ti + 1)) {
    const a = g.args ?? '';
    if (/^(?:Where|Not|Or)$/.test(g.name)) gormWhere(a, extra);
    else if (g.name === 'Select') {
      const agg = /\b(SUM|COUNT|MAX)\s*\(\s*(?:DISTINCT\s+)?(?:\w+\.)?"?(\w+|\*)/i.exec(a);
      if (agg && (term.name === 'Scan' || term.name === 'Pluck' || term.name === 'Find' || term.name === 'First' || term.name === 'Take')) {
        kind = agg[1]!.toUpperCase() === 'SUM' ? 'sum' : agg[1]!.toUpperCase() === 'COUNT' ? 'count' : 'max';
        if (kind === 'sum') extra.sumColumn = agg[2];
        if (kind === 'max') extra.maxColumn = agg[2];
      }
    } else if (g.name === 'Clauses') {
      if (/\bLocking\b/.test(a)) extra.lock = true;
      if (/\bOnConflict\b/.test(a) && kind === 'insert') kind = 'upsert';
    }
  }
  if (term.name === 'First' || term.name === 'Take' || term.name === 'Last' || term.name === 'Find' || term.name === 'Delete') {
    const rest = topLevelSplit(termArgs, 'go').slice(1);
    if (rest.length === 1 && !/^\s*["`]/.test(rest[0]!)) extra.whereColumns!.push('id');
    else if (rest.length >= 1) gormWhere(rest.join(','), extra);
  }
  if (term.name === 'Update' || term.name === 'UpdateColumn') {
    const [col, val] = topLevelSplit(termArgs, 'go');
    const c = /^\s*["`](\w+)["`]\s*$/.exec(col ?? '')?.[1];
    if (c) extra.writeColumns = [c];
    extra.atomic = /\bExpr\(/.test(val ?? '');
  } else if (term.name === 'Updates' || term.name === 'UpdateColumns') {
    extra.writeColumns = gormKeys(termArgs);
    extra.atomic = /\bExpr\(/.test(termArgs);
  } else if (kind === 'insert' || kind === 'upsert') extra.writeColumns = gormKeys(termArgs);
  else if (term.name === 'Save' && dest) extra.instance = dest;
  return { kind, entity, orm: 'gorm', call: names.slice(0, ti + 1).join('.'), extra };
}

/**
 * TypeORM SelectQueryBuilder / UpdateQueryBuilder / InsertQueryBuilder chains: the entity from
 * `createQueryBuilder(Entity, 'alias')`, a repository's `createQueryBuilder('alias')`, `.from(Entity, 'a')`,
 * `.update(Entity)` or `.into(Entity)`; where columns from `where` / `andWhere` strings (`c.companyId = :companyId`);
 * the kind from the selected aggregate (`SUM(c.x)`, `COUNT(*)`, `MAX(c.x)`), `getCount()`, `getExists()`, `getOne()`,
 * `setLock(...)`, `orIgnore()` / `orUpdate()`.
 */
function typeormQbOp(chain: Chain, repos: Map<string, string>): Interp | undefined {
  const segs = chain.segments;
  const names = segs.map((s) => s.name);
  const qbAt = names.indexOf('createQueryBuilder');
  const qb = segs[qbAt]!;
  let entity = /^\s*([A-Z]\w*)\s*(?:,|$)/.exec(qb.args ?? '')?.[1];
  if (!entity && qbAt >= 1) {
    const recv = segs[qbAt - 1]!.name;
    entity = repos.get(recv) ?? (/repo(?:sitory)?$/i.test(recv) ? recv.replace(/(?:Repository|Repo|repository|repo)$/, '') : undefined);
  }
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  let kind: OpKind | undefined;
  for (const g of segs.slice(qbAt + 1)) {
    const a = g.args ?? '';
    if (/^(?:where|andWhere|orWhere)$/.test(g.name)) {
      const str = /^\s*['"`]([^'"`]*)['"`]/.exec(a)?.[1];
      if (str) {
        extra.whereColumns!.push(...[...str.matchAll(/(?:\w+\.)?"?(\w+)"?\s*(?:=|!=|<>|<=|>=|<|>|\bIN\b|\bIS\b|\bLIKE\b|\bBETWEEN\b)/gi)].map((m) => m[1]!));
        if (/[<>]|\bbetween\b|&&|overlaps/i.test(str.replace(/<>|!=/g, ''))) extra.range = true;
      } else extra.whereColumns!.push(...keysOf(a, 'js'));
    } else if ((g.name === 'select' || g.name === 'addSelect') && a) {
      const sel = /^\s*['"`]([^'"`]*)['"`]/.exec(a)?.[1] ?? '';
      const agg = /\b(SUM|COUNT|MAX)\s*\(\s*(?:DISTINCT\s+)?(?:\w+\.)?"?(\w+|\*)/i.exec(sel);
      if (agg) {
        kind = agg[1]!.toUpperCase() === 'SUM' ? 'sum' : agg[1]!.toUpperCase() === 'COUNT' ? 'count' : 'max';
        if (kind === 'sum') extra.sumColumn = agg[2];
        if (kind === 'max') extra.maxColumn = agg[2];
      }
    } else if (g.name === 'from' && !entity) entity = firstIdent(a);
    else if (g.name === 'update' && a) {
      kind = 'update';
      entity = firstIdent(a) ?? entity;
    } else if (g.name === 'set') extra.writeColumns = keysOf(a, 'js');
    else if (g.name === 'insert') kind = 'insert';
    else if (g.name === 'into') entity = firstIdent(a) ?? entity;
    else if (g.name === 'values') extra.writeColumns = keysOf(a, 'js');
    else if (g.name === 'delete') kind = 'delete';
    else if (g.name === 'setLock') extra.lock = true;
    else if (g.name === 'orIgnore' || g.name === 'orUpdate') kind = 'upsert';
    else if (g.name === 'getCount') kind ??= 'count';
    else if (g.name === 'getExists') kind ??= 'exists';
    else if (/^(?:getOne|getOneOrFail|getRawOne)$/.test(g.name)) kind ??= 'find';
    else if (/^(?:getMany|getRawMany|getManyAndCount)$/.test(g.name)) kind ??= 'list';
  }
  if (!kind || !entity || !/^[A-Za-z_]\w*$/.test(entity)) return undefined;
  if (kind === 'update' && extra.writeColumns!.length > 0) {
    const set = segs.find((g) => g.name === 'set')?.args ?? '';
    extra.atomic = /\(\)\s*=>\s*['"`][^'"`]*\b\w+\s*[-+]/.test(set);
  }
  return { kind, entity, orm: 'typeorm', call: names.join('.'), extra };
}

function keysOf(text: string, fam: Family): string[] {
  return argKeys(text, fam).filter((k) => !/^(?:select|include|orderBy|take|skip|transaction|defaults|returning|lock|attributes|raw|order|limit|distinct|cursor|_count|_max|_sum|_min|_avg|AND|OR|NOT)$/.test(k));
}

function knexOp(chain: Chain, table: string): Interp {
  const names = chain.segments.map((s) => s.name);
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  let kind: OpKind = 'list';
  for (const s of chain.segments.slice(1)) {
    const a = s.args ?? '';
    if (/^(?:where|andWhere|orWhere|whereNot|whereIn|whereBetween|whereNull|whereNotNull)$/.test(s.name)) {
      const col = /^\s*['"`](?:\w+\.)?(\w+)['"`]/.exec(a)?.[1];
      if (col) extra.whereColumns!.push(col);
      else extra.whereColumns!.push(...keysOf(a, 'js'));
      if (s.name === 'whereBetween' || /^\s*['"`][\w.]+['"`]\s*,\s*['"`](?:<|>|<=|>=|&&)['"`]/.test(a)) {
        extra.range = true;
        if (col) (extra.rangeColumns ??= []).push(col);
      }
    } else if (s.name === 'whereRaw' && /[<>]|between|&&|overlaps/i.test(a)) extra.range = true;
    else if (s.name === 'insert') {
      kind = 'insert';
      extra.writeColumns = keysOf(a, 'js');
    } else if (s.name === 'update' || s.name === 'increment' || s.name === 'decrement') {
      kind = 'update';
      extra.writeColumns = s.name === 'update' ? keysOf(a, 'js') : [/['"`](\w+)/.exec(a)?.[1] ?? ''];
      extra.atomic = s.name !== 'update' || /\.raw\(\s*['"`][^'"`]*\b(\w+)\s*[-+]/.test(a);
    } else if (s.name === 'del' || s.name === 'delete') kind = 'delete';
    else if (s.name === 'count' && kind === 'list') kind = 'count';
    else if (s.name === 'sum' && kind === 'list') {
      kind = 'sum';
      extra.sumColumn = /['"`](?:\w+\.)?(\w+)['"`]\s*\}?\s*$/.exec(a.trim())?.[1];
    }
    else if (s.name === 'max' && kind === 'list') {
      kind = 'max';
      extra.maxColumn = /['"`](?:\w+\.)?(\w+)/.exec(a)?.[1];
    } else if (s.name === 'first' && kind === 'list') kind = 'find';
    else if (s.name === 'forUpdate' || s.name === 'forShare' || s.name === 'forNoKeyUpdate') extra.lock = true;
    else if ((s.name === 'onConflict' || s.name === 'merge' || s.name === 'ignore') && kind === 'insert') kind = 'upsert';
    else if (s.name === 'orderBy' && /['"`]desc['"`]/i.test(a) && names.includes('first')) extra.maxColumn = /['"`](?:\w+\.)?(\w+)/.exec(a)?.[1];
  }
  if (kind === 'find' && extra.maxColumn) kind = 'max';
  if (names.includes('onConflict') && kind === 'insert') kind = 'upsert';
  return { kind, entity: table, orm: 'knex', call: `${chain.segments[0]!.name}('${table}')${names.slice(1).map((n) => '.' + n).join('')}`, extra };
}

function drizzleOp(chain: Chain): Interp | undefined {
  const segs = chain.segments;
  const names = segs.map((s) => s.name);
  const tableArg = (name: string) => firstIdent(segs.find((s) => s.name === name)?.args);
  let kind: OpKind | undefined;
  let entity: string | undefined;
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  if (names.includes('insert') && tableArg('insert')) {
    kind = names.some((n) => /^onConflictDo/.test(n)) ? 'upsert' : 'insert';
    entity = tableArg('insert');
    extra.writeColumns = keysOf(segs.find((s) => s.name === 'values')?.args ?? '', 'js');
  } else if (names.includes('update') && tableArg('update') && names.includes('set')) {
    kind = 'update';
    entity = tableArg('update');
    const set = segs.find((s) => s.name === 'set')?.args ?? '';
    extra.writeColumns = keysOf(set, 'js');
    extra.atomic = /sql`[^`]*\$\{[^}]*\}\s*[-+]/.test(set);
  } else if (names.includes('select') && names.includes('from') && tableArg('from')) {
    entity = tableArg('from');
    const sel = segs.find((s) => s.name === 'select')?.args ?? '';
    kind = /\bcount\s*\(/.test(sel) ? 'count' : /\bmax\s*\(/.test(sel) ? 'max' : /\bsum\s*\(/.test(sel) ? 'sum' : names.includes('limit') ? 'find' : 'list';
    if (kind === 'max') extra.maxColumn = /\bmax\s*\(\s*\w+\.(\w+)/.exec(sel)?.[1];
    if (kind === 'sum') extra.sumColumn = /\bsum\s*\(\s*\w+\.(\w+)/.exec(sel)?.[1];
  }
  if (!kind || !entity) return undefined;
  const where = segs.find((s) => s.name === 'where')?.args ?? '';
  extra.whereColumns = drizzleColumns(where);
  extra.range = /\b(?:lt|lte|gt|gte|between)\(/.test(where);
  extra.lock = segs.some((s) => s.name === 'for' && /update|share/.test(s.args ?? ''));
  return { kind, entity, orm: 'drizzle', call: names.join('.'), extra };
}

/** Columns a Drizzle condition names: `eq(t.id, x)`, `isNull(t.redeemedAt)`, `inArray(t.state, [...])`. */
function drizzleColumns(where: string): string[] {
  return [...where.matchAll(/\b(?:eq|ne|lt|lte|gt|gte|between|notBetween|inArray|notInArray|isNull|isNotNull|like|ilike)\(\s*\w+\.(\w+)/g)].map((m) => m[1]!);
}

/** Attribute names that hold a query object or a client, never a model's relation. */
const PY_NOT_RELATION = /^(?:objects|query|queryset|qs|session|db|cursor|conn|connection|client|self|cls|request|response|data|cache|redis|df|items|values|keys|results|rows|list|dict|set)$/;

/**
 * Index of the relation in a Django related-manager chain (`member.loans.filter(...)`, `self.request.user.order_set
 * .exclude(...).exists()`): attribute segments without calls, then filter / exclude / all called on a lower-case
 * relation name. -1 otherwise.
 */
function djangoRelated(segs: Segment[]): number {
  let i = 0;
  while (i < segs.length && segs[i]!.args === undefined && /^[a-z_]\w*$/.test(segs[i]!.name)) i++;
  if (i < 2 || i >= segs.length) return -1;
  const call = segs[i]!;
  if (!/^(?:filter|exclude|all)$/.test(call.name) || call.args === undefined) return -1;
  if (call.name === 'filter' && !/^\s*(?:[a-z_]\w*\s*=(?!=)|Q\()/.test(call.args)) return -1;
  const rel = segs[i - 1]!.name;
  return PY_NOT_RELATION.test(rel) || rel.length < 3 ? -1 : i - 1;
}

function pyOp(chain: Chain): Interp | undefined {
  const segs = chain.segments;
  const names = segs.map((s) => s.name);
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  const objIdx = names.indexOf('objects');
  let entity: string | undefined;
  let orm = 'django';
  let from = 0;
  const rel = objIdx >= 1 ? -1 : djangoRelated(segs);
  if (objIdx >= 1) {
    entity = names[objIdx - 1];
    from = objIdx + 1;
  } else if (rel > 0) {
    // Django related manager: `member.loans.filter(...).exists()`, `self.loan_set.exclude(...)`: the rows of the
    // owner's relation, keyed by the owner's foreign key (`parent`).
    entity = names[rel]!.replace(/_set$/, '');
    extra.parent = names[rel - 1];
    from = rel + 1;
  } else {
    // SQLAlchemy: session.query(Model)..., select(Model)..., session.add(Model(...))
    const q = segs.findIndex((s) => (s.name === 'query' || s.name === 'select' || s.name === 'select_from') && s.args !== undefined && /[A-Z]/.test(s.args));
    if (q >= 0) {
      let args = segs[q]!.args!;
      entity = /\bfunc\.\w+\(\s*([A-Z]\w*)\./.exec(args)?.[1] ?? /^\s*([A-Z]\w*)\b/.exec(args)?.[1] ?? segs.map((s) => /^\s*([A-Z]\w*)\s*$/.exec(s.args ?? '')?.[1]).find(Boolean);
      const sf = segs.find((s) => s.name === 'select_from');
      if (sf) entity = firstIdent(sf.args) ?? entity;
      orm = 'sqlalchemy';
      from = q;
      if (entity) {
        const args2 = segs.slice(q).map((s) => s.args ?? '').join(' ');
        // `select(func.count()).select_from(M)`: the aggregate sits in the select before select_from.
        const sel = segs.slice(0, q).find((s) => s.name === 'select' || s.name === 'query')?.args;
        if (sel !== undefined && q > 0 && /\bfunc\.(?:count|sum|max)\(/.test(sel)) args = `${sel} ${args}`;
        if (/\bfunc\.max\(/.test(args)) {
          extra.maxColumn = /\bfunc\.max\(\s*\w+\.(\w+)/.exec(args)?.[1];
          return { kind: 'max', entity, orm, call: names.join('.'), extra: { ...extra, ...saWhere(segs.slice(q + 1)) } };
        }
        const kind: OpKind = /\bfunc\.count\(/.test(args) || names.includes('count') ? 'count' : /\bfunc\.sum\(/.test(args) ? 'sum' : names.some((n) => /^(?:first|one|one_or_none|scalar|scalar_one|scalar_one_or_none)$/.test(n)) ? 'find' : names.includes('exists') || /\bexists\(/.test(args2) ? 'exists' : 'list';
        const w = saWhere(segs.slice(q + 1));
        if (kind === 'sum') extra.sumColumn = /\bfunc\.sum\(\s*\w+\.(\w+)/.exec(args)?.[1];
        return { kind, entity, orm, call: names.join('.'), extra: { ...extra, ...w, lock: names.includes('with_for_update') } };
      }
    }
    // SQLAlchemy: session.get(Model, id) loads one row by primary key.
    const last = segs[segs.length - 1]!;
    if (last.name === 'get' && names.length >= 2 && /session|^db$|^s$/i.test(names[names.length - 2]!) && /^\s*[A-Z]\w*\s*,/.test(last.args ?? '')) {
      // `session.get(M, id, with_for_update=True)` locks the row until the transaction ends.
      const lock = /\bwith_for_update\s*=\s*(?!None\b|False\b)/.test(last.args ?? '');
      return { kind: 'find', entity: firstIdent(last.args)!, orm: 'sqlalchemy', call: names.join('.'), extra: { whereColumns: ['id'], lock } };
    }
    if (names[names.length - 1] === 'add' && segs[segs.length - 1]!.args !== undefined && names.length >= 2) {
      const m = /^\s*([A-Z]\w*)\s*\(([\s\S]*)\)\s*$/.exec(segs[segs.length - 1]!.args!);
      if (m) return { kind: 'insert', entity: m[1]!, orm: 'sqlalchemy', call: names.join('.'), extra: { writeColumns: argKeys(m[2]!, 'python') } };
    }
    // SQLAlchemy: `session.delete(row)` on a loaded row deletes it at the next flush.
    if (last.name === 'delete' && names.length >= 2 && /session|^db$|^s$/i.test(names[names.length - 2]!)) {
      const v = /^\s*([a-z_]\w*)\s*$/.exec(last.args ?? '')?.[1];
      if (v && v !== 'self') return { kind: 'delete', entity: '?', orm: 'sqlalchemy', call: names.join('.'), extra: { instance: v } };
    }
    // Model(...).save()
    if (segs.length === 2 && /^[A-Z]/.test(names[0]!) && segs[0]!.args !== undefined && names[1] === 'save') {
      return { kind: 'insert', entity: names[0]!, orm: 'django', call: `${names[0]}(...).save`, extra: { writeColumns: argKeys(segs[0]!.args!, 'python') } };
    }
    // instance.save()
    if (segs.length === 2 && names[1] === 'save' && /^[a-z_]\w*$/.test(names[0]!) && names[0] !== 'self') {
      const uf = /update_fields\s*=\s*\[([^\]]*)\]/.exec(segs[1]!.args ?? '')?.[1];
      return { kind: 'update', entity: '?', orm: 'django', call: names.join('.'), extra: { instance: names[0]!, writeColumns: uf ? [...uf.matchAll(/['"](\w+)['"]/g)].map((m) => m[1]!) : [] } };
    }
    return undefined;
  }
  if (!entity || (!/^[A-Z]/.test(entity) && rel <= 0)) return undefined;
  let kind: OpKind = 'list';
  for (const s of segs.slice(from)) {
    const k = PY_METHODS[s.name];
    const a = s.args ?? '';
    if (s.name === 'select_for_update') extra.lock = true;
    if (/^(?:filter|exclude|get|get_or_create|update_or_create|exists|count|first|last)$/.test(s.name) && s.args !== undefined) {
      const keys = argKeys(a, 'python').filter((x) => x !== 'defaults' && x !== 'create_defaults');
      extra.whereColumns!.push(...keys.map((x) => x.replace(/__\w+$/, '')));
      const ranged = keys.filter((x) => /__(?:lt|lte|gt|gte|range|overlap|contained_by)$/.test(x));
      if (ranged.length) {
        extra.range = true;
        extra.rangeColumns = [...(extra.rangeColumns ?? []), ...ranged.map((x) => x.replace(/__\w+$/, ''))];
      }
      if (/\bQ\(/.test(a) && /__(?:lt|lte|gt|gte|range|overlap)\s*=/.test(a)) extra.range = true;
    }
    if (s.name === 'order_by' && /^\s*['"]-(\w+)['"]/.test(a)) extra.maxColumn = /^\s*['"]-(\w+)/.exec(a)![1];
    if (s.name === 'aggregate' || s.name === 'annotate') {
      if (/\bMax\(/.test(a)) {
        kind = 'max';
        extra.maxColumn = /\bMax\(\s*['"](\w+)/.exec(a)?.[1];
        continue;
      }
      if (/\bSum\(/.test(a)) {
        kind = 'sum';
        extra.sumColumn = /\bSum\(\s*['"](\w+)/.exec(a)?.[1];
      } else if (/\bCount\(/.test(a)) kind = 'count';
      continue;
    }
    if (!k || s.args === undefined) continue;
    if (k === 'list' && kind !== 'list') continue;
    kind = k;
    if (k === 'insert' || k === 'update') {
      extra.writeColumns = argKeys(a, 'python');
      extra.atomic = /\bF\(/.test(a);
    }
  }
  if ((kind === 'find') && extra.maxColumn) kind = 'max';
  return { kind, entity, orm, call: names.join('.'), extra };
}

function saWhere(segs: Segment[]): Partial<DbOp> {
  const cols: string[] = [];
  let range = false;
  for (const s of segs) {
    const a = s.args ?? '';
    if (s.name === 'filter_by') cols.push(...argKeys(a, 'python'));
    if (s.name === 'filter' || s.name === 'where') {
      // `M.col == x`, `M.col < x`, `M.col.in_(...)`, `M.col.is_(None)`, `M.col.isnot(None)`, `M.col.like(...)`
      cols.push(...[...a.matchAll(/\b[A-Z]\w*\.(\w+)\s*(?:==|<=|>=|<|>|!=|\.(?:between|overlaps|in_|not_in|notin_|is_|is_not|isnot|like|ilike)\()/g)].map((m) => m[1]!));
      // A boolean column on its own: `.where(Seat.active, ...)`, `.filter(~Seat.archived)`, `not_(Seat.closed)`.
      cols.push(...[...a.matchAll(/(?<![=<>!]\s*)\b[A-Z]\w*\.(\w+)(?=\s*[,)]|\s*$)/g)].map((m) => m[1]!));
      if (/\b[A-Z]\w*\.\w+\s*(?:<|>)|\.between\(|\.overlaps\(/.test(a)) range = true;
    }
  }
  return { whereColumns: cols, range };
}

function rbOp(chain: Chain): Interp | undefined {
  const segs = chain.segments;
  const names = segs.map((s) => s.name);
  const extra: Partial<DbOp> = { whereColumns: [], writeColumns: [] };
  let entity: string | undefined;
  let parent: string | undefined;
  let from = 1;
  if (/^[A-Z]/.test(names[0]!) && !BUILTINS.has(names[0]!)) {
    entity = names[0]!;
  } else {
    const firstMethod = names.findIndex((n, k) => k >= 1 && (RB_METHODS[n] !== undefined || RB_LOCKS.has(n)));
    if (firstMethod < 1) return undefined;
    // instance writes: x.update!(...), x.save!, x.lock!
    if (firstMethod === 1 && names.length === 2 && /^@?[a-z_]\w*$/.test(names[0]!) && /^(?:update!?|save!?|destroy!?|increment!|decrement!|toggle!|update_columns?|lock!)$/.test(names[1]!)) {
      const m = names[1]!;
      const kind: OpKind = /^destroy/.test(m) ? 'delete' : 'update';
      return { kind, entity: '?', orm: 'activerecord', call: names.join('.'), extra: { instance: names[0]!.replace(/^@/, ''), writeColumns: argKeys(segs[1]!.args ?? '', 'ruby'), lock: m === 'lock!', atomic: /^(?:increment|decrement)!$/.test(m) } };
    }
    for (let k = firstMethod - 1; k >= 0; k--) {
      if (/s$/.test(names[k]!) && /^[a-z_]+$/.test(names[k]!)) {
        entity = names[k]!;
        parent = names[k - 1];
        from = k + 1;
        break;
      }
    }
    if (!entity) return undefined;
  }
  let kind: OpKind | undefined;
  const scopes: string[] = [];
  let ascColumn: string | undefined;
  let pluckColumn: string | undefined;
  for (const s of segs.slice(from)) {
    const k = RB_METHODS[s.name];
    if (!k && !RB_LOCKS.has(s.name) && s.args === undefined && /^[a-z_]+$/.test(s.name)) scopes.push(s.name);
    const a = s.args ?? '';
    if (RB_LOCKS.has(s.name)) extra.lock = true;
    if (/^(?:where|find_by!?|exists\?|find_or_create_by!?|first_or_create!?|create_or_find_by!?|not)$/.test(s.name) && a) {
      extra.whereColumns!.push(...argKeys(a, 'ruby'));
      const str = /^\s*['"]([^'"]*)['"]/.exec(a)?.[1];
      if (str) extra.whereColumns!.push(...[...str.matchAll(/(\w+)\s*(?:=|<|>|<=|>=|\bin\b)/gi)].map((m) => m[1]!));
      if ((str && /[<>]|\bbetween\b|&&|overlaps/i.test(str)) || /\.\.\.?\s*\w|\w\s*\.\.\.?/.test(a.replace(/['"][^'"]*['"]/g, ''))) extra.range = true;
      // `where("starts_at < ? AND ends_at > ?", ...)`: the columns a fragment bounds.
      if (str && extra.range) {
        const bounded = [...str.matchAll(/(\w+)\s*(?:<=?|>=?)(?!>)|(\w+)\s+between\b/gi)].map((m) => (m[1] ?? m[2])!).filter((c) => !/^\d/.test(c));
        if (bounded.length) extra.rangeColumns = [...(extra.rangeColumns ?? []), ...bounded];
      }
      // Arel: `where(t[:starts_at].lt(finish).and(t[:ends_at].gt(start)))`, `Model.arel_table[:during].overlaps(...)`.
      if (/\[\s*:\w+\s*\]\s*\.\s*(?:lt|lteq|gt|gteq|between|overlaps|overlap)\b/.test(a)) {
        const arel = [...a.matchAll(/\[\s*:(\w+)\s*\]\s*\.\s*(?:lt|lteq|gt|gteq|between|overlaps|overlap|eq|in)\b/g)].map((m) => m[1]!);
        extra.whereColumns!.push(...arel);
        extra.rangeColumns = [...(extra.rangeColumns ?? []), ...[...a.matchAll(/\[\s*:(\w+)\s*\]\s*\.\s*(?:lt|lteq|gt|gteq|between|overlaps|overlap)\b/g)].map((m) => m[1]!)];
        extra.range = true;
      }
    }
    if (s.name === 'maximum') extra.maxColumn = /:(\w+)/.exec(a)?.[1];
    if (s.name === 'sum') extra.sumColumn = /^\s*[:'"](\w+)/.exec(a)?.[1];
    if ((s.name === 'order' || s.name === 'reorder') && /desc/i.test(a)) extra.maxColumn = /:?(\w+)(?::\s*[:'"]?desc|\s+desc)/i.exec(a)?.[1];
    // `order(:seq).last` reads the highest too.
    else if ((s.name === 'order' || s.name === 'reorder') && a) ascColumn = /^\s*[:'"]?(\w+)['"]?\s*(?:$|=>\s*[:'"]?asc|:\s*[:'"]?asc|\s+asc)/i.exec(a)?.[1];
    if ((s.name === 'last' || s.name === 'last!') && ascColumn) extra.maxColumn = ascColumn;
    // `pluck(:seq).max` / `pluck(:seq).compact.max`: the highest value, read in Ruby.
    if (s.name === 'pluck') pluckColumn = /^\s*[:'"](\w+)/.exec(a)?.[1];
    if (s.name === 'max' && pluckColumn) {
      extra.maxColumn = pluckColumn;
      kind = 'max';
      continue;
    }
    if (!k) continue;
    if (k === 'list' && kind) continue;
    if (kind === 'max') continue;
    if (k === 'find' && kind && kind !== 'list') continue;
    kind = k;
    if (k === 'insert' || k === 'update' || k === 'upsert' || k === 'getOrCreate') extra.writeColumns!.push(...argKeys(a, 'ruby'));
  }
  if (!kind) {
    if (!extra.lock) return undefined;
    kind = 'find';
  }
  if (kind === 'find' && extra.maxColumn) kind = 'max';
  return { kind, entity, orm: 'activerecord', call: names.join('.'), extra: { ...extra, parent, scopes } };
}

/**
 * TypeORM repositories declared in a file: `const userRepo = dataSource.getRepository(User)` /
 * `@InjectRepository(User) private users: Repository<User>`. Pass the result to `findDbOps`.
 */
export function repositoryEntities(text: string): Map<string, string> {
  const map = new Map<string, string>();
  if (!text.includes('Repositor')) return map;
  for (const m of text.matchAll(/([\w$]+)\s*(?::\s*Repository<\s*(\w+)\s*>)?\s*=\s*[\w$.]*getRepository\(\s*(\w+)/g)) map.set(m[1]!, m[3]!);
  for (const m of text.matchAll(/([\w$]+)\s*:\s*Repository<\s*(\w+)\s*>/g)) if (!map.has(m[1]!)) map.set(m[1]!, m[2]!);
  return map;
}

/** Whether a character code is what String.prototype.trim removes (JS `\s`). */
function isBlank(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 128) return false;
  return /\s/.test(String.fromCharCode(c));
}

/**
 * Variables the statement starting at `start` is assigned to: `const x = await ...`, `const { rows } = ...`,
 * `x = ...` (Python / Ruby), `x, err := ...` (Go), `(x := ...)` (Python walrus).
 */
export function boundVars(code: string, start: number, fam: Family, keepErr = false): string[] {
  // Walk back to the start of the statement: through enclosing ( and [, across line breaks inside them.
  let i = start - 1;
  let depth = 0;
  const limit = Math.max(0, start - 600);
  for (; i >= limit; i--) {
    const c = code[i]!;
    if (c === ')' || c === ']' || c === '}') depth++;
    else if (c === '(' || c === '[') {
      if (depth === 0) continue;
      depth--;
    } else if (c === '{') {
      if (depth === 0) break;
      depth--;
    } else if (c === ';' && depth === 0) break;
    else if (c === '\n' && depth === 0) {
      // The last non-blank character of the 200 before the line break (what trimEnd would leave last).
      const floor = Math.max(0, i - 200);
      let k = i - 1;
      while (k >= floor && isBlank(code.charCodeAt(k))) k--;
      const last = k >= floor ? code[k] : undefined;
      if (last === '(' || last === ',' || last === '=' || last === '[' || last === '&' || last === '|') continue;
      break;
    }
  }
  const head = code.slice(i + 1, start);
  const walrus = /\(\s*(\w+)\s*:=\s*[^()]*$/.exec(head);
  if (walrus && fam === 'python') return [walrus[1]!];
  const m = /^\s*(?:(?:export\s+)?(?:const|let|var)\s+|var\s+)?(\{[^}]*\}|\[[^\]]*\]|[\w$.@]+(?:\s*,\s*[\w$.@]+)*)\s*(?::\s*[\w<>[\]| ]+)?(?::=|=)(?!=)/.exec(head);
  if (!m) return [];
  const target = m[1]!;
  if (/^[{[]/.test(target)) {
    // Destructuring: bound names are the identifiers not followed by ':' (or the value after ':').
    return [...target.matchAll(/([\w$]+)\s*(?::\s*([\w$]+))?/g)].map((x) => x[2] ?? x[1]!).filter((v) => !/^\d/.test(v));
  }
  return target
    .split(',')
    .map((v) => v.trim().replace(/^@/, '').replace(/^self\./, '').replace(/^this\./, ''))
    .filter((v) => v && v !== '_' && (keepErr || v !== 'err'));
}
