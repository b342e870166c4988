/**
 * Helpers for the check-then-act detectors (toctou, phantom_read, write_skew): per-function analysis (masked code,
 * database operations), the `if` that a read gates, guards that make a check safe (locks, SERIALIZABLE,
 * unique-violation handling, upserts), and schema lookups by normalised entity and column names.
 */
import type { FunctionSpan, SchemaFacts, SourceFile } from '../../parse/types.js';
import type { EvidenceLine, Language } from '../../types.js';
import type { DetectorContext } from '../types.js';
import { recentFiles } from './cache.js';
import { displayName } from './state.js';
import { LineIndex, argKeys, boundVars, familyOf, findDbOps, maskCode, matchBracket, normColumn, normEntity, repositoryEntities, type DbOp } from './sql.js';

/** Functions longer than this are skipped (cost and precision). */
export const MAX_FUNCTION_LINES = 400;

export interface FnInfo {
  fn: FunctionSpan;
  /** The name findings give: a callback or hunk region takes its nearest named enclosing function's. */
  name: string;
  file: SourceFile;
  lang: Language;
  /** Function text with comments blanked. */
  code: string;
  /** Function text with comments and string contents blanked. */
  bare: string;
  /** `code` split into lines; lines[0] is fn.startLine. */
  lines: string[];
  bareLines: string[];
  idx: LineIndex;
  ops: DbOp[];
  /** Writes through an object whose entity is unknown in the function (`@order.update!`, `invoice.save()` on a parameter). */
  loose: DbOp[];
}

const cache = recentFiles<Map<string, FnInfo>>();
const repoCache = recentFiles<Map<string, string>>();

/** Analysed changed functions of the file (innermost duplicates kept; callers dedupe reports). */
export function analyzedFunctions(ctx: DetectorContext): FnInfo[] {
  const out: FnInfo[] = [];
  for (const fn of ctx.changedFunctions) {
    if (fn.endLine - fn.startLine > MAX_FUNCTION_LINES) continue;
    out.push(analyze(ctx.file, fn));
  }
  // Innermost spans first, so a hazard found by both a function and its enclosing hunk region keeps the function's name.
  return out.sort((a, b) => a.fn.endLine - a.fn.startLine - (b.fn.endLine - b.fn.startLine));
}

export function analyze(file: SourceFile, fn: FunctionSpan): FnInfo {
  let perFile = cache.get(file);
  if (!perFile) {
    perFile = new Map();
    cache.set(file, perFile);
  }
  const key = `${fn.startLine}:${fn.endLine}`;
  const hit = perFile.get(key);
  if (hit) return hit;
  let repos = repoCache.get(file);
  if (repos === undefined) {
    repos = repositoryEntities(file.text);
    repoCache.set(file, repos);
  }
  const text = file.lines.slice(fn.startLine - 1, fn.endLine).join('\n');
  const { code, bare } = maskCode(text, file.language);
  const idx = new LineIndex(code, fn.startLine);
  const info: FnInfo = {
    fn,
    name: displayName(file, fn),
    file,
    lang: file.language,
    code,
    bare,
    lines: code.split('\n'),
    bareLines: bare.split('\n'),
    idx,
    ops: [],
    loose: [],
  };
  info.ops = findDbOps(code, file.language, fn.startLine, repos, idx, info.loose);
  perFile.set(key, info);
  return info;
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregates read through a helper

/** Helpers longer than this are not looked into. */
const HELPER_LINES = 20;

const namesCache = new WeakMap<readonly SourceFile[], Map<string, Array<{ file: SourceFile; fn: FunctionSpan }>>>();
const helperOpCache = new WeakMap<FunctionSpan, DbOp | null>();

/** Functions of the review by their short name (`scheduled_count` for `Roster.scheduled_count`), short ones only. */
export function functionsByName(files: readonly SourceFile[]): Map<string, Array<{ file: SourceFile; fn: FunctionSpan }>> {
  const hit = namesCache.get(files);
  if (hit) return hit;
  const out = new Map<string, Array<{ file: SourceFile; fn: FunctionSpan }>>();
  for (const file of files) {
    for (const fn of file.functions) {
      if (fn.endLine - fn.startLine > HELPER_LINES) continue;
      const name = /([A-Za-z_$][\w$]*[?!]?)$/.exec(fn.name)?.[1];
      if (!name || name.length < 4) continue;
      const list = out.get(name) ?? [];
      list.push({ file, fn });
      out.set(name, list);
    }
  }
  namesCache.set(files, out);
  return out;
}

/** The one count / sum a short helper returns (`def scheduled_count(...): return session.scalar(select(func.count())...)`). */
function helperAggregate(file: SourceFile, fn: FunctionSpan): DbOp | undefined {
  const hit = helperOpCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  const info = analyze(file, fn);
  const op = info.ops.length === 1 && (info.ops[0]!.kind === 'count' || info.ops[0]!.kind === 'sum') && !info.ops[0]!.lock ? info.ops[0] : undefined;
  if (op) helperTextCache.set(op, info.code.slice(op.start, op.end));
  // The aggregate must be what the helper gives back: returned, or (Ruby, an arrow function) its last expression.
  const ok = op && (/\breturn\b/.test(info.bare) || familyOf(info.lang) === 'ruby' || /=>\s*(?:\{\s*)?(?:await\s+)?[\w$.]+\s*$/.test(info.bareLines[0] ?? '') || /=>\s*$/.test(info.bareLines[0] ?? '')) && !LOCK_RE.test(info.code);
  helperOpCache.set(fn, ok ? op! : null);
  return ok ? op : undefined;
}

const opsWithHelpersCache = new WeakMap<FnInfo, DbOp[]>();
/** The text of a helper's op (for `readTables` at the call site). */
const helperTextCache = new WeakMap<DbOp, string>();

/**
 * Count / sum reads made through a short helper of the review (`if _active_count(session, team_id) - 1 < MIN:`,
 * `if (await countSeats(eventId)) >= cap`, Ruby `remaining_admins.zero?`), as ops at the call site: the helper's
 * entity, columns and kind, placed where the call is, with the variables the call is bound to. The helper must be
 * short, hold that one statement and return it.
 */
export function helperAggregates(ctx: DetectorContext, info: FnInfo): DbOp[] {
  const cached = opsWithHelpersCache.get(info);
  if (cached) return cached;
  const out: DbOp[] = [];
  opsWithHelpersCache.set(info, out);
  for (const { name, at, end, found: agg } of plainHelperCalls(ctx, info, helperAggregate)) {
    const op: DbOp = { ...agg, call: `${name}()`, ...callSite(info, at, end) };
    const text = helperTextCache.get(agg);
    if (text !== undefined) opTextCache.set(op, text);
    out.push(op);
  }
  return out;
}

/** Where a call site sits: offsets, lines and the variables its result is bound to. */
function callSite(info: FnInfo, at: number, end: number): Pick<DbOp, 'start' | 'end' | 'line' | 'endLine' | 'vars'> {
  return { start: at, end, line: info.idx.line(at), endLine: info.idx.line(Math.max(at, end - 1)), vars: boundVars(info.code, at, familyOf(info.lang)) };
}

/**
 * Plain calls (`name(...)`, `self.name(...)`, Ruby `name` without parentheses, Go `recv.name(...)` through the
 * method's receiver) to short functions of the review, with the end of the call's arguments.
 */
function* plainHelperCalls<T>(
  ctx: DetectorContext,
  info: FnInfo,
  resolve: (file: SourceFile, fn: FunctionSpan) => T | undefined,
): Generator<{ name: string; at: number; end: number; found: T }> {
  const fam = familyOf(info.lang);
  // Go methods call their siblings through the receiver: `func (s *Service) Issue(...)` calls `s.hasPermit(...)`.
  const recv = fam === 'go' ? /^\s*func\s*\(\s*([A-Za-z_]\w*)\s/.exec(info.bareLines[0] ?? '')?.[1] : undefined;
  const call =
    fam === 'ruby'
      ? /(?<![\w$.:@])(?:self\.)?([a-z_]\w*[?!]?)(?![\w?!])(\s*\()?/g
      : recv
        ? new RegExp(String.raw`(?<![\w$.])(?:${recv}\s*\.\s*)?([A-Za-z_$][\w$]*)\s*\(`, 'g')
        : /(?<![\w$.])(?:(?:self|this|cls)\s*\.\s*)?([A-Za-z_$][\w$]*)\s*\(/g;
  for (const { m, name, at, found } of helperCalls(ctx, info, call, resolve)) {
    let end = at + m[0].length;
    if (fam !== 'ruby' || m[2] !== undefined) {
      const close = matchBracket(info.code, at + m[0].length - 1, fam);
      if (close < 0) continue;
      end = close + 1;
    }
    yield { name, at, end, found };
  }
}

/**
 * Calls in `info` (matches of `call` on its bare text, the callee's name in group 1) to short functions of the
 * review other than itself, each with what `resolve` makes of the first function of that name it accepts.
 */
function* helperCalls<T>(
  ctx: DetectorContext,
  info: FnInfo,
  call: RegExp,
  resolve: (file: SourceFile, fn: FunctionSpan) => T | undefined,
): Generator<{ m: RegExpMatchArray; name: string; at: number; found: T }> {
  const byName = functionsByName(ctx.files);
  if (byName.size === 0) return;
  const ownName = /([A-Za-z_$][\w$]*[?!]?)$/.exec(info.fn.name)?.[1];
  for (const m of info.bare.matchAll(call)) {
    let name = m[1]!;
    // `x != y` reads as `x!` first.
    if (!byName.has(name) && /[?!]$/.test(name)) name = name.slice(0, -1);
    if (name === ownName) continue;
    const cands = byName.get(name);
    if (!cands) continue;
    const at = m.index ?? 0;
    // The function's own definition is not a call.
    if (/(?:\bdef|\bfunction|\bfunc|\basync)\s+$/.test(info.bare.slice(Math.max(0, at - 12), at))) continue;
    let found: T | undefined;
    for (const c of cands) {
      if (c.fn === info.fn) continue;
      found = resolve(c.file, c.fn);
      if (found !== undefined) break;
    }
    if (found !== undefined) yield { m, name, at, found };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Reads through a helper that returns a query (a scope / relation / queryset)

/** A read made at the call site of a short helper that builds the query: `overlapping_slots.exists?`. */
export interface HelperRead {
  /** The read as an op at the call site: the helper's entity and predicate, the call site's kind and position. */
  op: DbOp;
  /** The helper, and its one query. */
  helper: FnInfo;
  inner: DbOp;
  /** A predicate helper that answers "is the range free?" (`return clash is None`): true means no row was found. */
  negated?: boolean;
}

const helperReadsCache = new WeakMap<FnInfo, HelperRead[]>();
const helperQueryCache = new WeakMap<FunctionSpan, { info: FnInfo; op: DbOp } | null>();

/** What the method applied to the helper's result reads: `exists?` / `.exists()` an exists, `.count` a count, `.first` a row. */
function terminalKind(method: string): DbOp['kind'] | undefined {
  if (/^(?:exists\??|any\?|present\?|none\?|empty\?|blank\?|getExists)$/.test(method)) return 'exists';
  if (/^(?:count|size|getCount)$/.test(method)) return 'count';
  if (/^(?:first|take|getOne|one_or_none)$/.test(method)) return 'find';
  return undefined;
}

/** The one unlocked query a short helper returns (Ruby: its last expression; elsewhere after `return`). */
function helperQuery(file: SourceFile, fn: FunctionSpan): { info: FnInfo; op: DbOp } | undefined {
  const hit = helperQueryCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  const info = analyze(file, fn);
  const op = info.ops.length === 1 && ['list', 'find', 'exists', 'count'].includes(info.ops[0]!.kind) && !info.ops[0]!.lock ? info.ops[0] : undefined;
  const ok = op && (familyOf(info.lang) === 'ruby' || /\breturn\b/.test(info.bare)) && !LOCK_RE.test(info.code);
  const out = ok ? { info, op: op! } : undefined;
  helperQueryCache.set(fn, out ?? null);
  return out;
}

/**
 * Reads made through a short helper of the review that builds and returns the query, with the read applied at the
 * call site: Ruby `if overlapping_bookings.exists?` / `clashing(room).any?`, Django `self._clashes(x).exists()`,
 * JS `this.clashing(x).first()`. Each is placed at the call site with the helper's entity, columns and range flag.
 */
export function helperReads(ctx: DetectorContext, info: FnInfo): HelperRead[] {
  const cached = helperReadsCache.get(info);
  if (cached) return cached;
  const out: HelperRead[] = [];
  helperReadsCache.set(info, out);
  const fam = familyOf(info.lang);
  const call =
    fam === 'ruby'
      ? /(?<![\w$.:@])(?:self\.)?([a-z_]\w*)(?:\([^()\n]*\))?[ \t]*\.[ \t]*(exists\?|any\?|present\?|none\?|empty\?|blank\?|first|take|count|size)(?![\w?!])/g
      : /(?<![\w$.])(?:(?:self|cls|this)\s*\.\s*)?([A-Za-z_$][\w$]*)\([^()\n]*\)[ \t]*\.[ \t]*(exists|first|count|getOne|getCount|getExists|one_or_none)\(/g;
  for (const { m, name, at, found } of helperCalls(ctx, info, call, helperQuery)) {
    const kind = terminalKind(m[2]!);
    if (!kind) continue;
    out.push({
      op: { ...found.op, kind, call: `${name}.${m[2]}`, ...callSite(info, at, at + m[0].length) },
      helper: found.info,
      inner: found.op,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Predicate helpers: a short helper that runs one read and returns whether it found a row

const predicateCache = new WeakMap<FunctionSpan, { info: FnInfo; op: DbOp; negated: boolean } | null>();
const predicateReadsCache = new WeakMap<FnInfo, HelperRead[]>();

const PRESENT_RE = /\bis\s+not\s+None\b|!==?\s*(?:null|undefined|nil|None)\b|>\s*0\b|>=\s*1\b|!=\s*0\b|^\s*!!|^\s*\(?\s*(?:bool|Boolean)\(|\.(?:present|any|exists)\?|\.exists\(\s*\)|\.(?:isPresent|isNotEmpty)\(\)/;
const ABSENT_RE = /\bis\s+None\b|(?<![!=])===?\s*(?:null|undefined|nil|None|0)\b|\.nil\?|<\s*1\b|<=\s*0\b|\.(?:none|empty|blank|zero)\?|^\s*(?:not\b|!(?!!))|\.isEmpty\(\)/;

/**
 * What a (non-Ruby) function returns last: the code after its last `return` to the end of that line (past the
 * read `op` when the read is returned), with the read itself as "\u0000"; Go's first result only. Undefined
 * without a `return`.
 */
function returnedExpr(info: FnInfo, op: DbOp): string | undefined {
  const ret = info.bare.lastIndexOf('return');
  if (ret < 0 || /[\w$]/.test(info.bare[ret + 6] ?? '')) return undefined;
  const eol = info.bare.indexOf('\n', Math.max(ret, op.end));
  const stop = eol < 0 ? info.code.length : eol;
  const expr = op.start > ret && op.start < stop ? info.code.slice(ret + 6, op.start) + '\u0000' + info.code.slice(op.end, stop) : info.code.slice(ret + 6, stop);
  // Go: the first of several results (`return exists, err`).
  return familyOf(info.lang) === 'go' ? expr.split(',')[0]! : expr;
}

/**
 * A short helper of the review that runs one unlocked read and gives back whether it found a row: Python
 * `return clash is not None` / `return bool(row)`, JS `return !!row` / `return n > 0`, Go `return exists, err`,
 * Ruby `...exists?` as the last expression. `negated` when it answers the opposite question (`return row is None`,
 * `return count === 0`, `.none?`).
 */
function helperPredicate(file: SourceFile, fn: FunctionSpan): { info: FnInfo; op: DbOp; negated: boolean } | undefined {
  const hit = predicateCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  predicateCache.set(fn, null);
  const info = analyze(file, fn);
  const op = info.ops.length === 1 ? info.ops[0]! : undefined;
  if (!op || op.lock || !['find', 'exists', 'count', 'list'].includes(op.kind) || LOCK_RE.test(info.code)) return undefined;
  const fam = familyOf(info.lang);
  // The returned expression, with the read itself replaced by a placeholder.
  let expr: string | undefined;
  if (fam === 'ruby') {
    let k = info.bareLines.length - 1;
    while (k > 0 && /^\s*(?:end\b.*)?$/.test(info.bareLines[k]!)) k--;
    const line = info.fn.startLine + k;
    if (op.line <= line && op.endLine >= line) {
      const none = /\.(?:none|empty|blank)\?\s*$/.test(info.code.slice(op.start, op.end)) ? ' .none?' : '';
      expr = '\u0000' + info.code.slice(op.end, info.idx.offsetOf(line + 1)) + none;
    } else expr = info.lines[k];
  } else expr = returnedExpr(info, op);
  if (expr === undefined) return undefined;
  expr = expr.replace(/^\s*(?:await\s+)?/, '').replace(/[;\s]+$/, '');
  const vars = op.vars.filter((v) => v !== 'err' && v !== '_' && /^[A-Za-z_$][\w$]*$/.test(v));
  const names = expr.includes('\u0000') || vars.some((v) => wordIn(expr!, v));
  if (!names) return undefined;
  const bare = expr.replace(/\u0000/g, ' __read__ ');
  let negated: boolean;
  if (PRESENT_RE.test(bare)) negated = false;
  else if (ABSENT_RE.test(bare)) negated = true;
  else if ((op.kind === 'exists' || (op.kind === 'find' && fam === 'go')) && /^\s*(?:__read__|[\w$]+)\s*$/.test(bare) && !/\.count\b/.test(bare)) negated = false;
  else return undefined;
  const out = { info, op, negated };
  predicateCache.set(fn, out);
  return out;
}

/**
 * Reads made through a predicate helper of the review, as exists ops at the call site: `if await _slot_taken(s, a, b):`,
 * `if (await isBooked(roomId, from, to)) throw ...`, `taken, err := s.overlaps(ctx, ...)`, `raise Busy if clash?(x)`.
 * The op has the helper's entity, columns and range flag; `negated` tells a helper that answers "is it free?".
 */
export function helperPredicates(ctx: DetectorContext, info: FnInfo): HelperRead[] {
  const cached = predicateReadsCache.get(info);
  if (cached) return cached;
  const out: HelperRead[] = [];
  predicateReadsCache.set(info, out);
  if (!info.bare.includes('(') && familyOf(info.lang) !== 'ruby') return out;
  for (const { name, at, end, found } of plainHelperCalls(ctx, info, helperPredicate)) {
    out.push({
      op: { ...found.op, kind: 'exists', call: `${name}()`, ...callSite(info, at, end) },
      helper: found.info,
      inner: found.op,
      negated: found.negated,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Row finders and inserts through a short helper

const rowFinderCache = new WeakMap<FunctionSpan, { info: FnInfo; op: DbOp } | null>();
const rowReadsCache = new WeakMap<FnInfo, HelperRead[]>();
const insertCache = new WeakMap<FunctionSpan, DbOp | null>();
const helperInsertsCache = new WeakMap<FnInfo, DbOp[]>();

/**
 * A short helper of the review that runs one unlocked row read and hands the row back (or nothing): JS
 * `const [row] = await db.select()...limit(1); return row ?? null`, Python `return q.first()`, Go `return row, err`.
 */
function helperRowFinder(file: SourceFile, fn: FunctionSpan): { info: FnInfo; op: DbOp } | undefined {
  const hit = rowFinderCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  rowFinderCache.set(fn, null);
  const info = analyze(file, fn);
  const op = info.ops.length === 1 ? info.ops[0]! : undefined;
  if (!op || op.lock || op.kind !== 'find' || LOCK_RE.test(info.code)) return undefined;
  const expr = returnedExpr(info, op)
    ?.replace(/^\s*(?:await\s+)?/, '')
    .replace(/[;\s]+$/, '');
  if (expr === undefined) return undefined;
  // The row itself, possibly with a default for "none" (`row ?? null`, `row || undefined`, `rows[0]`).
  const m = /^(\u0000|[A-Za-z_$][\w$]*)(?:\s*\[\s*0\s*\])?(?:\s*(?:\?\?|\|\||\bor\b)\s*(?:null|undefined|None|nil))?$/.exec(expr);
  if (!m || (m[1] !== '\u0000' && !op.vars.includes(m[1]!))) return undefined;
  const out = { info, op };
  rowFinderCache.set(fn, out);
  return out;
}

/**
 * Row reads made through a short helper that returns the row it found (`const clash = await findOverlapping(tx, ...)`),
 * as find ops at the call site bound to the call's variables: the caller's `if (clash)` tests whether a row was found.
 */
export function helperRowReads(ctx: DetectorContext, info: FnInfo): HelperRead[] {
  const cached = rowReadsCache.get(info);
  if (cached) return cached;
  const out: HelperRead[] = [];
  rowReadsCache.set(info, out);
  if (!info.bare.includes('(')) return out;
  for (const { name, at, end, found } of plainHelperCalls(ctx, info, helperRowFinder)) {
    const site = callSite(info, at, end);
    if (site.vars.length === 0) continue;
    out.push({ op: { ...found.op, kind: 'find', call: `${name}()`, ...site }, helper: found.info, inner: found.op });
  }
  return out;
}

/** The one insert a short helper runs (`insertBooking(db, values)` → `db.insert(t).values(values)`), unlocked. */
function helperInsert(file: SourceFile, fn: FunctionSpan): DbOp | undefined {
  const hit = insertCache.get(fn);
  if (hit !== undefined) return hit ?? undefined;
  const info = analyze(file, fn);
  const op = info.ops.length === 1 && info.ops[0]!.kind === 'insert' ? info.ops[0] : undefined;
  insertCache.set(fn, op ?? null);
  return op;
}

/**
 * Inserts made by calling a short helper of the review that runs one insert, as insert ops at the call site; when the
 * helper passes its argument through, the columns are the keys the call site writes (`insertRow(tx, { roomId, ... })`).
 */
export function helperInserts(ctx: DetectorContext, info: FnInfo): DbOp[] {
  const cached = helperInsertsCache.get(info);
  if (cached) return cached;
  const out: DbOp[] = [];
  helperInsertsCache.set(info, out);
  if (!info.bare.includes('(')) return out;
  const fam = familyOf(info.lang);
  for (const { name, at, end, found } of plainHelperCalls(ctx, info, helperInsert)) {
    const open = info.code.indexOf('(', at);
    const writeColumns = found.writeColumns.length === 0 && open >= 0 && open < end ? argKeys(info.code.slice(open + 1, end - 1), fam) : found.writeColumns;
    out.push({ ...found, writeColumns, call: `${name}()`, ...callSite(info, at, end) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Ruby scopes / class methods of the review that hold a requested range

const rangeScopeCache = new WeakMap<readonly SourceFile[], Map<string, string[]>>();

/**
 * ActiveRecord scopes and class methods of the review whose predicate is a requested range: `scope :overlapping,
 * ->(from, to) { where("starts_at < ? AND ends_at > ?", to, from) }`, `def self.clashing(a, b) where(...) end`, with
 * the columns the range bounds. A scope relative to now (`where("created_at > ?", 1.hour.ago)`) is a recency window,
 * not a requested range, and is left out; so is a scope without parameters.
 */
export function rangeScopes(files: readonly SourceFile[]): Map<string, string[]> {
  const hit = rangeScopeCache.get(files);
  if (hit) return hit;
  const out = new Map<string, string[]>();
  rangeScopeCache.set(files, out);
  for (const file of files) {
    if (familyOf(file.language) !== 'ruby' || !/\bscope\s+:|\bdef\s+self\./.test(file.text)) continue;
    const defs = [
      ...[...file.text.matchAll(/\bscope\s+:(\w+)\s*,\s*(?:->\s*\(([^)\n]*)\)|lambda\s*\{\s*\|([^|\n]*)\|)([^\n]*)/g)].map((m) => [m[1]!, m[2] ?? m[3] ?? '', m[4]!] as const),
      ...[...file.text.matchAll(/\bdef\s+self\.(\w+)\s*\(([^)\n]*)\)([^\n]*\n(?:[^\n]*\n){0,4})/g)].map((m) => [m[1]!, m[2]!, m[3]!] as const),
    ];
    for (const [name, params, body] of defs) {
      if (params.trim() === '') continue;
      if (/\b(?:ago|from_now|Time\.(?:current|now)|Date\.(?:today|current)|DateTime\.now|now\(\))/.test(body)) continue;
      const strings = [...body.matchAll(/"([^"\n]*)"|'([^'\n]*)'/g)].map((m) => m[1] ?? m[2] ?? '').join(' ');
      const cols = [...strings.matchAll(/(?:\b\w+\.)?\b([a-z_]\w*)\s*(?:<=|>=|<|>|\bbetween\b)(?!>)/gi)].map((m) => m[1]!.toLowerCase());
      const arel = [...body.matchAll(/\[\s*:(\w+)\s*\]\s*\.\s*(?:lt|lteq|gt|gteq|between|overlaps?)\b/g)].map((m) => m[1]!);
      const ranged = cols.length >= 2 || /\bbetween\b|&&|\boverlaps\b/i.test(strings) || arel.length >= 2 || /\.\s*between\b/.test(body);
      if (ranged) out.set(name, [...new Set([...cols, ...arel])]);
    }
  }
  return out;
}

const RANGE_SCOPE_NAME = /^(?:\w+_)?(?:overlap(?:s|ping)?|clash(?:es|ing)?|conflict(?:s|ing)?|intersect(?:s|ing)?|colliding|between|during|in_range|spanning)(?:_\w+)?$/;

/**
 * An ActiveRecord read through a range scope (`room.bookings.overlapping(a, b).exists?`), marked as a range: a scope of
 * the review whose predicate is a range (see `rangeScopes`), or, when its definition is not in the review, a scope
 * named for a range (`overlapping`, `clashing_with`, `between`, `during`) called with the requested bounds.
 */
export function withRangeScope(files: readonly SourceFile[], op: DbOp, code: string): DbOp {
  if (op.range || op.orm !== 'activerecord') return op;
  const scopes = rangeScopes(files);
  const seg = op.call.split('.').find((s) => scopes.has(s));
  if (seg) return { ...op, range: true, rangeColumns: scopes.get(seg) };
  const text = code.slice(op.start, op.end);
  if (!text.includes('(')) return op;
  for (const m of text.matchAll(/\.\s*([a-z_]\w*)\(([^()\n]*(?:\([^()\n]*\)[^()\n]*)*)\)/g)) {
    if (!RANGE_SCOPE_NAME.test(m[1]!) || /\b(?:ago|from_now)\b|Time\.(?:current|now)|Date\.(?:today|current)/.test(m[2]!)) continue;
    const args = m[2]!.split(',').filter((a) => a.trim() !== '');
    if (args.length >= 2 || (args.length === 1 && !/^(?:between|during|in_range)$/.test(m[1]!))) return { ...op, range: true };
  }
  return op;
}

// ---------------------------------------------------------------------------------------------------------------
// Inserts of a constructed instance

/**
 * Python: a model instance built in the function and then added to the session (`firing = Firing(kiln_id=k, ...)`,
 * later `session.add(firing)` / `db.session.add(firing)` / `session.add_all([firing])`), as an insert op on the model
 * at the add.
 */
export function addedInstances(info: FnInfo): DbOp[] {
  if (familyOf(info.lang) !== 'python' || !info.bare.includes('.add')) return [];
  const out: DbOp[] = [];
  for (const m of info.bare.matchAll(/\b(?:session|db|s)\s*\.\s*add(?:_all)?\(\s*\[?\s*([a-z_]\w*)\s*[\],)]/g)) {
    const v = m[1]!;
    const at = m.index ?? 0;
    const before = info.code.slice(0, at);
    const ctor = [...before.matchAll(new RegExp(String.raw`(?<![\w.])${v}\s*(?::\s*\w+\s*)?=\s*([A-Z]\w*)\(`, 'g'))].pop();
    if (!ctor) continue;
    const open = (ctor.index ?? 0) + ctor[0].length - 1;
    const close = matchBracket(info.code, open, 'python');
    const args = close > open ? info.code.slice(open + 1, close) : '';
    const line = info.idx.line(at);
    out.push({
      kind: 'insert',
      entity: ctor[1]!,
      orm: 'sqlalchemy',
      call: 'session.add',
      start: at,
      end: at + m[0].length,
      line,
      endLine: line,
      whereColumns: [],
      writeColumns: argKeys(args, 'python'),
      range: false,
      lock: false,
      atomic: false,
      vars: [],
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Aggregates computed in application code over a list read

const appAggCache = new WeakMap<FnInfo, DbOp[]>();

/** How far after a list read its rows may be added up or counted. */
const APP_AGG_LINES = 12;

/**
 * Sums and counts computed in application code over the rows a list read returned, as count / sum ops on the
 * list's entity and predicate, placed where the aggregate is computed and bound to the variable it is assigned to:
 * JS `rows.reduce((s, r) => s + r.amount, 0)`, `rows.map((r) => r.amount).reduce(...)`, lodash `sumBy(rows, 'amount')`,
 * Python `sum(r.amount for r in rows)`, Ruby `rows.sum(&:amount)` / `rows.sum { |r| r.amount }` /
 * `rows.map(&:amount).sum`, Go `for _, r := range rows { total += r.Amount }`, and counts `rows.length`, `len(rows)`,
 * `rows.size` (those only when compared, which the callers check through the gate).
 */
export function appAggregates(info: FnInfo): DbOp[] {
  const hit = appAggCache.get(info);
  if (hit) return hit;
  const out: DbOp[] = [];
  appAggCache.set(info, out);
  const fam = familyOf(info.lang);
  for (const op of info.ops) {
    if (op.kind !== 'list' || op.lock) continue;
    const v = op.vars.find((x) => x !== 'err' && x !== '_' && /^[A-Za-z_$][\w$]*$/.test(x));
    if (!v) continue;
    const from = op.end;
    const to = info.idx.offsetOf(Math.min(info.fn.endLine, op.endLine + APP_AGG_LINES) + 1);
    const text = info.code.slice(from, to);
    if (!text.includes(v)) continue;
    const V = v.replace(/\$/g, '\\$');
    const found: Array<{ at: number; end: number; kind: 'sum' | 'count'; column?: string; bound?: string }> = [];
    const add = (m: RegExpExecArray | null, kind: 'sum' | 'count', column?: string, bound?: string) => {
      if (m) found.push({ at: from + m.index, end: from + m.index + m[0].length, kind, column, bound });
    };
    if (fam === 'js') {
      let m = new RegExp(String.raw`(?<![\w$.])${V}\s*(?:\.filter\([^\n]{0,120}?\)\s*)?\.reduce\(\s*\(?\s*([\w$]+)\s*,\s*([\w$]+)\s*\)?\s*=>\s*(?:\1\s*\+\s*(?:Number\(\s*)?\2\s*\.\s*(\w+)|(?:Number\(\s*)?\2\s*\.\s*(\w+)\s*\)?\s*\+\s*\1\b)`).exec(text);
      add(m, 'sum', m?.[3] ?? m?.[4]);
      m = new RegExp(String.raw`(?<![\w$.])${V}\s*\.map\(\s*\(?\s*([\w$]+)\s*\)?\s*=>\s*(?:Number\(\s*)?\1\s*\.\s*(\w+)\s*\)?\s*\)\s*\.reduce\(`).exec(text);
      add(m, 'sum', m?.[2]);
      m = new RegExp(String.raw`\bsumBy\(\s*${V}\s*,\s*(?:['"](\w+)['"]|\(?\s*([\w$]+)\s*\)?\s*=>\s*\2\.(\w+))`).exec(text);
      add(m, 'sum', m?.[1] ?? m?.[3]);
      add(new RegExp(String.raw`(?<![\w$.])${V}\s*\.\s*length\b`).exec(text), 'count');
    } else if (fam === 'python') {
      let m = new RegExp(String.raw`\bsum\(\s*(?:(?:int|float|Decimal)\(\s*)?(\w+)\.(\w+)\s*\)?\s+for\s+\1\s+in\s+${V}\b`).exec(text);
      add(m, 'sum', m?.[2]);
      add(new RegExp(String.raw`\blen\(\s*${V}\s*\)|(?<![\w.])${V}\.count\(\s*\)`).exec(text), 'count');
    } else if (fam === 'ruby') {
      const m = new RegExp(String.raw`(?<![\w$.@])@?${V}\.(?:sum\(\s*&:(\w+)\s*\)|sum\s*\{\s*\|(\w+)\|\s*\2\.(\w+)|map\(\s*&:(\w+)\s*\)\.sum\b|pluck\(\s*:(\w+)\s*\)\.sum\b)`).exec(text);
      add(m, 'sum', m?.[1] ?? m?.[3] ?? m?.[4] ?? m?.[5]);
      add(new RegExp(String.raw`(?<![\w$.@])@?${V}\.(?:size|length|count)(?![\w?!(])`).exec(text), 'count');
    } else if (fam === 'go') {
      const m = new RegExp(String.raw`\bfor\s+_\s*,\s*(\w+)\s*:=\s*range\s+${V}\s*\{[^}]{0,300}?\b(\w+)\s*\+=\s*(?:\w+\(\s*)?\1\.(\w+)`).exec(text);
      add(m, 'sum', m?.[3], m?.[2]);
      add(new RegExp(String.raw`\blen\(\s*${V}\s*\)`).exec(text), 'count');
    }
    for (const f of found) {
      const vars = f.bound ? [f.bound] : boundVars(info.code, f.at, fam);
      out.push({
        ...op,
        kind: f.kind,
        call: `${op.call} → ${f.kind === 'sum' ? 'sum' : 'count'} in code`,
        start: f.at,
        end: f.end,
        line: info.idx.line(f.at),
        endLine: info.idx.line(Math.max(f.at, f.end - 1)),
        sumColumn: f.kind === 'sum' ? f.column : undefined,
        vars,
      });
    }
  }
  return out;
}

/** The masked code line (1-based file line). */
export function lineText(info: FnInfo, line: number): string {
  return info.lines[line - info.fn.startLine] ?? '';
}

/** Evidence with the file's own text for that line. */
export function evidence(info: FnInfo, line: number, role: string): EvidenceLine {
  return { line, role, text: (info.file.lines[line - 1] ?? '').trim() };
}

// ---------------------------------------------------------------------------------------------------------------
// Gates

export type Polarity = 'found' | 'missing' | 'threshold';

export interface Gate {
  /** Line of the `if` (or of the postfix statement). */
  line: number;
  polarity: Polarity;
  /** Whether the branch taken on the condition leaves (return / raise / throw / next / render ...). */
  bails: boolean;
  /** Body of the branch: [fromLine, toLine]. */
  body: [number, number];
  /** The `else` branch, when there is one. */
  elseBody?: [number, number];
  condition: string;
  /** The right-hand side of a threshold comparison, e.g. "team.min_on_duty". */
  bound?: string;
  /**
   * For a conditional expression (`status = taken < cap ? :confirmed : :waitlisted`, `x = a if n < cap else b`): the
   * variable it assigns, or "" when the expression sits inline in a statement. Undefined for an `if`.
   */
  assigned?: string;
}

/**
 * A conditional expression that decides a value from `op`'s result instead of an `if`: JS / Ruby
 * `v = n < cap ? a : b`, Python `v = a if n < cap else b`, within a few lines after the op. Only threshold
 * comparisons are returned (the callers want "the count decides what is written").
 */
export function findTernary(info: FnInfo, op: DbOp, maxLines = 6): Gate | undefined {
  const fam = familyOf(info.lang);
  if (fam !== 'js' && fam !== 'ruby' && fam !== 'python') return undefined;
  const vars = new Set(op.vars.filter((v) => v.length > 0));
  const last = Math.min(info.fn.endLine, op.endLine + maxLines);
  for (let l = op.line; l <= last; l++) {
    const bareText = info.bareLines[l - info.fn.startLine] ?? '';
    if (bareText.length > 600) continue;
    const text = lineText(info, l);
    let condFrom: number;
    let condTo: number;
    if (fam === 'python') {
      const m = /\sif\s(.+?)\selse\s/.exec(bareText);
      if (!m || /^\s*(?:if|elif)\b/.test(bareText)) continue;
      condFrom = m.index + 4;
      condTo = condFrom + m[1]!.length;
    } else {
      const q = bareText.search(/\s\?\s/);
      if (q < 0 || !/\s:\s|\s:\w/.test(bareText.slice(q + 2))) continue;
      const head = bareText.slice(0, q);
      // The condition starts after the assignment `=`, an opening bracket, `:` of a hash / object key, or `return`.
      const start = Math.max(head.lastIndexOf('=') , head.lastIndexOf('('), head.lastIndexOf('{'), head.lastIndexOf(': '), head.lastIndexOf(','));
      condFrom = start + 1;
      condTo = q;
    }
    const cond = text.slice(condFrom, condTo);
    if (![...vars].some((v) => wordIn(cond, v))) continue;
    const lineStart = info.idx.offsetOf(l);
    const p = polarityFor(cond, lineStart + condFrom, op, vars, new Set());
    if (!p || p.polarity !== 'threshold') continue;
    const asg = /^\s*(?:const|let|var)?\s*@?([\w$]+)\s*:?=(?!=)/.exec(bareText);
    const assigned = asg && asg[0].length <= condFrom ? asg[1]! : '';
    return { line: l, polarity: 'threshold', bails: false, body: [l, l], condition: cond.trim(), bound: p.bound, assigned };
  }
  return undefined;
}

const BAIL = /\b(?:return|raise|throw|next|break|continue|abort|panic|fail|render|head|redirect_to|redirect|reject)\b|http\.Error|\bres\.status\(\s*4|reply\.code\(\s*4|\bstatus:\s*:(?:unprocessable|conflict|forbidden|bad_request)/;

/** Go: the line before `at` (a newline) ends in `.`, `,` or a binary operator, so the statement goes on. */
function goContinues(text: string, at: number): boolean {
  let k = at - 1;
  while (k >= 0 && (text[k] === ' ' || text[k] === '\t' || text[k] === '\r')) k--;
  const c = text[k];
  return c === '.' || c === ',' || (c === '&' && text[k - 1] === '&') || (c === '|' && text[k - 1] === '|');
}

function indentOf(s: string): number {
  return /^\s*/.exec(s)![0].replace(/\t/g, '    ').length;
}

/**
 * Finds the first `if` (or Ruby/Python postfix `... if cond`) within a few lines after `op` whose condition tests the
 * op's result (the op itself, a variable bound to it, or a value computed from that variable).
 */
export function findGate(info: FnInfo, op: DbOp, maxLines = 10): Gate | undefined {
  const fam = familyOf(info.lang);
  const derived = new Set(op.vars.filter((v) => v.length > 0));
  const derivedOnly = new Set<string>();
  const opFirst = op.line;
  const last = Math.min(info.fn.endLine, op.endLine + maxLines);
  for (let l = opFirst; l <= last; l++) {
    const text = lineText(info, l);
    const bareText = info.bareLines[l - info.fn.startLine] ?? '';
    if (bareText.length > 1000) continue;
    // Derived values: `const onDuty = headcount - Number(overlapping) - 1`
    if (l > op.endLine) {
      const asg = /^\s*(?:const|let|var)?\s*([\w$]+)\s*:?=(?!=)\s*(.*)$/.exec(text);
      if (asg && [...derived].some((v) => wordIn(asg[2]!, v))) {
        derived.add(asg[1]!);
        if (/[-+*/]/.test(asg[2]!)) derivedOnly.add(asg[1]!);
      }
    }
    const lineStart = info.idx.offsetOf(l);
    // Postfix: `raise Error if cond` / `next false if cond` / `return x unless cond`
    // A Rails validation refuses the save the same way: `errors.add(:base, "...") if clash.exists?`.
    const post = /^(\s*)(?:return|raise|throw|next|break|render|head|redirect_to|abort|fail|errors\.add)\b.*?\s(if|unless)\s+(.+?)\s*$/.exec(bareText);
    if (post && (fam === 'ruby' || fam === 'python')) {
      const condStart = lineStart + bareText.length - post[3]!.length - (bareText.length - bareText.trimEnd().length);
      const cond = text.slice(condStart - lineStart);
      const p = polarityFor(cond, condStart, op, derived, derivedOnly);
      if (p) return { line: l, polarity: post[2] === 'unless' ? flip(p.polarity) : p.polarity, bails: true, body: [l, l], condition: cond.trim(), bound: p.bound };
      continue;
    }
    const m = /^(\s*)(?:\}\s*)?(?:else\s+)?(if|elif|elsif|unless)\b/.exec(bareText);
    if (!m) continue;
    const ifIndent = indentOf(text);
    const kwEnd = lineStart + m[0].length;
    let condEnd: number;
    let condStart = kwEnd;
    if ((fam === 'js') && /^\s*\(/.test(info.code.slice(kwEnd, kwEnd + 20))) {
      const open = info.code.indexOf('(', kwEnd);
      const close = matchBracket(info.code, open, 'js');
      if (close < 0) continue;
      condStart = open + 1;
      condEnd = close;
    } else {
      // Up to `{` (Go), `:` (Python) or `then`/end of line (Ruby), allowing conditions over several lines in brackets.
      let depth = 0;
      condEnd = kwEnd;
      for (let k = kwEnd; k < info.bare.length; k++) {
        const c = info.bare[k]!;
        if (c === '(' || c === '[') depth++;
        else if (c === ')' || c === ']') depth--;
        else if (depth === 0 && ((fam === 'go' && c === '{' ) || (fam === 'python' && c === ':' && /^\s*(?:$|\n|return|raise|continue|break)/.test(info.bare.slice(k + 1, k + 12))) || c === '\n' && depth <= 0 && !(fam === 'go' && goContinues(info.bare, k)))) {
          condEnd = k;
          break;
        }
        condEnd = k + 1;
      }
      if (fam === 'go') {
        const semi = info.bare.lastIndexOf(';', condEnd);
        if (semi > kwEnd) condStart = semi + 1;
      }
    }
    const cond = info.code.slice(condStart, condEnd);
    const p = polarityFor(cond, condStart, op, derived, derivedOnly);
    if (!p) continue;
    const polarity = m[2] === 'unless' ? flip(p.polarity) : p.polarity;
    const condLine = info.idx.line(condEnd);
    // Body: the rest of the condition's last line, then lines indented deeper than the `if`.
    const restOfLine = info.bare.slice(condEnd + 1, info.idx.offsetOf(condLine + 1));
    let bodyEnd = condLine;
    for (let k = condLine + 1; k <= info.fn.endLine; k++) {
      const t = info.bareLines[k - info.fn.startLine] ?? '';
      if (t.trim() === '') continue;
      if (indentOf(t) <= ifIndent) break;
      bodyEnd = k;
    }
    const bodyText = restOfLine + '\n' + (info.bareLines.slice(condLine + 1 - info.fn.startLine, bodyEnd + 1 - info.fn.startLine).join('\n'));
    const bails = BAIL.test(bodyText);
    let elseBody: [number, number] | undefined;
    for (let k = bodyEnd + 1; k <= info.fn.endLine; k++) {
      const t = info.bareLines[k - info.fn.startLine] ?? '';
      if (t.trim() === '' || /^\s*\}\s*$/.test(t)) continue;
      if (indentOf(t) === ifIndent && /^\s*(?:\}\s*)?else\b/.test(t)) {
        let e = k;
        for (let q = k + 1; q <= info.fn.endLine; q++) {
          const u = info.bareLines[q - info.fn.startLine] ?? '';
          if (u.trim() === '') continue;
          if (indentOf(u) <= ifIndent) break;
          e = q;
        }
        elseBody = [k, e];
      }
      break;
    }
    return { line: l, polarity, bails, body: [condLine, bodyEnd], elseBody, condition: cond.trim(), bound: p.bound };
  }
  return undefined;
}

export interface IfStatement {
  /** Line of the `if` (or of the postfix statement). */
  line: number;
  condition: string;
  /** Offset of the condition in `info.code`. */
  condStart: number;
  body: [number, number];
  bails: boolean;
}

/**
 * The `if` / `elif` / `unless` statements (and Ruby / Python postfix `raise X if cond`) that start in [from, to], with
 * their condition, body (by indentation) and whether the body leaves. Conditions over several lines are read up to
 * the closing bracket (JS) or the `{` / `:` / line end (Go, Python, Ruby).
 */
export function ifStatements(info: FnInfo, from: number, to: number): IfStatement[] {
  const fam = familyOf(info.lang);
  const out: IfStatement[] = [];
  for (let l = Math.max(from, info.fn.startLine); l <= Math.min(to, info.fn.endLine); l++) {
    const bareText = info.bareLines[l - info.fn.startLine] ?? '';
    if (bareText.length > 1000) continue;
    const text = lineText(info, l);
    const lineStart = info.idx.offsetOf(l);
    // A Rails validation refuses the save the same way: `errors.add(:base, "...") if clash.exists?`.
    const post = /^(\s*)(?:return|raise|throw|next|break|render|head|redirect_to|abort|fail|errors\.add)\b.*?\s(if|unless)\s+(.+?)\s*$/.exec(bareText);
    if (post && (fam === 'ruby' || fam === 'python')) {
      const condStart = lineStart + bareText.length - post[3]!.length - (bareText.length - bareText.trimEnd().length);
      out.push({ line: l, condition: text.slice(condStart - lineStart), condStart, body: [l, l], bails: true });
      continue;
    }
    const m = /^(\s*)(?:\}\s*)?(?:else\s+)?(if|elif|elsif|unless)\b/.exec(bareText);
    if (!m) continue;
    const ifIndent = indentOf(text);
    const kwEnd = lineStart + m[0].length;
    let condStart = kwEnd;
    let condEnd = kwEnd;
    if (fam === 'js' && /^\s*\(/.test(info.code.slice(kwEnd, kwEnd + 20))) {
      const open = info.code.indexOf('(', kwEnd);
      const close = matchBracket(info.code, open, 'js');
      if (close < 0) continue;
      condStart = open + 1;
      condEnd = close;
    } else {
      let depth = 0;
      const limit = Math.min(info.bare.length, kwEnd + 2000);
      for (let k = kwEnd; k < limit; k++) {
        const c = info.bare[k]!;
        if (c === '(' || c === '[') depth++;
        else if (c === ')' || c === ']') depth--;
        else if (depth <= 0 && ((fam === 'go' && c === '{') || (fam === 'python' && c === ':') || c === '\n')) {
          condEnd = k;
          break;
        }
        condEnd = k + 1;
      }
      if (fam === 'go') {
        const semi = info.bare.lastIndexOf(';', condEnd);
        if (semi > kwEnd) condStart = semi + 1;
      }
    }
    const condLine = info.idx.line(condEnd);
    const restOfLine = info.bare.slice(condEnd + 1, info.idx.offsetOf(condLine + 1));
    let bodyEnd = condLine;
    for (let k = condLine + 1; k <= info.fn.endLine; k++) {
      const t = info.bareLines[k - info.fn.startLine] ?? '';
      if (t.trim() === '') continue;
      if (indentOf(t) <= ifIndent) break;
      bodyEnd = k;
    }
    const bodyText = restOfLine + '\n' + info.bareLines.slice(condLine + 1 - info.fn.startLine, bodyEnd + 1 - info.fn.startLine).join('\n');
    out.push({ line: l, condition: info.code.slice(condStart, condEnd), condStart, body: [condLine, bodyEnd], bails: BAIL.test(bodyText) });
  }
  return out;
}

function flip(p: Polarity): Polarity {
  return p === 'found' ? 'missing' : p === 'missing' ? 'found' : 'threshold';
}

function wordIn(text: string, word: string): boolean {
  return new RegExp(String.raw`(?<![\w$.])${word.replace(/[$]/g, '\\$')}(?![\w$])`).test(text);
}

const MISSING_AFTER = /^\s*(?:\?\.|\.)?(?:length|size|rowCount|rows\.length|count)?\s*(?:===?\s*(?:null|undefined|0|nil|None|false)\b|==\s*0\b|<\s*1\b|<=\s*0\b|is\s+None\b|\.nil\?|\.blank\?|\.empty\?|\.none\?|\.zero\?)|^\s*\)?\s*===?\s*0\b/;
const FOUND_AFTER = /^\s*(?:\?\.|\.)?(?:length|size|rowCount|rows\.length|count)?\s*(?:!==?\s*(?:null|undefined|0|nil|None)\b|>\s*0\b|>=\s*1\b|is\s+not\s+None\b|\.present\?|\.any\?|\.exists\?|!=\s*0\b)/;
const COMPARE_AFTER = /^\s*(?:\?\.|\.)?(?:length|size|count|\w+)?\s*\)?\s*(<=|>=|<|>|===?|!==?)\s*([^&|)\n]+)/;

const BIG_COMPARE = /^\s*(?:\.\s*(?:Sub|Add|Mul|Div|Neg|Abs|minus|plus|times|div|sub|add|mul|abs)\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\))*\s*\.\s*(?:(?:LessThan|GreaterThan|LessThanOrEqual|GreaterThanOrEqual|LT|GT|LTE|GTE|lt|gt|lte|gte|isLessThan|isGreaterThan|isLessThanOrEqualTo|isGreaterThanOrEqualTo)\(([^()\n]*(?:\([^()\n]*\)[^()\n]*)*)\)|(?:Cmp|comparedTo|cmp)\([^()\n]*\)\s*(?:<|>|<=|>=)\s*-?[01]\b)/;

function polarityFor(cond: string, condStart: number, op: DbOp, vars: Set<string>, derivedOnly: Set<string>): { polarity: Polarity; bound?: string } | undefined {
  let before: string | undefined;
  let after: string | undefined;
  let name: string | undefined;
  if (op.start >= condStart && op.start < condStart + cond.length) {
    before = cond.slice(0, op.start - condStart);
    after = cond.slice(Math.min(cond.length, op.end - condStart));
  } else {
    for (const v of vars) {
      const re = new RegExp(String.raw`(?<![\w$.])${v.replace(/[$]/g, '\\$')}(?![\w$])`);
      const m = re.exec(cond);
      if (!m) continue;
      if (v === 'err') {
        // Go: only "no rows" tests say anything about existence; `err != nil` is error handling.
        if (/\berr\s*==\s*nil\b|\berr\s*!=\s*\w+\.ErrNoRows\b|!\s*errors\.Is\(\s*err\s*,\s*\w+\.ErrNoRows\s*\)/.test(cond)) return { polarity: 'found' };
        if (/\berr\s*==\s*\w+\.ErrNoRows\b|(?<!!\s*)errors\.Is\(\s*err\s*,\s*\w+\.ErrNoRows\s*\)/.test(cond)) return { polarity: 'missing' };
        continue;
      }
      before = cond.slice(0, m.index);
      after = cond.slice(m.index + v.length);
      name = v;
      break;
    }
  }
  if (before === undefined || after === undefined) return undefined;
  // Skip a wrapper such as Number(x) / int(x) / len(x) and a member access like x.length / x.rows.length / x[0].n.
  const wrapped = /(?:Number|int|len|parseInt|float|Boolean|bool)\(\s*$/.test(before);
  let rest = wrapped ? after.replace(/^\s*\)/, '') : after;
  rest = rest.replace(/^(?:\s*(?:\?\.|\.)\s*[\w$]+|\s*\[\s*\d+\s*\])*?(?=\s*(?:\?\.|\.)?(?:length|size|count|rowCount)\b|\s*[<>=!]|\s*$|\s*\)|\s*&&|\s*\|\||\s*\?\?|\s+and\b|\s+or\b)/, '');
  const aggregate = op.kind === 'count' || op.kind === 'sum';
  // Several aggregates read into one row / struct (`st.Guides - 1`, `row.total + amount`): the field is the aggregate.
  if (aggregate && name !== undefined) rest = rest.replace(/^\s*(?:\?\.|\.)\s*[A-Za-z_$][\w$]*(?=\s*[-+*/,)<>=!]|\s*$)(?!\s*\()/, '');
  // An aggregate handed to a predicate that compares it (`if !ratioOK(st.Guides-1, st.Paddlers)`, `within_limit?(n, cap)`).
  const callee = aggregate ? /([A-Za-z_$][\w$]*[?]?)\(\s*(?:[^()\n]*,\s*)?$/.exec(wrapped ? before.replace(/[A-Za-z]+\(\s*$/, '') : before) : null;
  if (callee && /^[^()<>=\n]*\)/.test(rest) && !/^\s*(?:<=|>=|<|>|===?|!==?)/.test(rest.replace(/^[^()\n]*\)/, ''))) return { polarity: 'threshold', bound: `${callee[1]}()` };
  // A default for a missing aggregate: `(agg._sum.amount ?? 0) + amount > cap`, `(spent or 0) + x > cap`.
  rest = rest.replace(/^\s*(?:\?\?|\|\||\bor\b)\s*(?:0|0\.0|null|None|nil|undefined)\s*\)?/, '');
  const negated = /(?:!\s*|\bnot\s+|!\s*await\s+|\bnot\s+await\s+)$/.test(before.replace(/\(\s*$/, '')) || /!\s*\(\s*(?:await\s+)?$/.test(before);
  // Decimal / big-number comparisons: `total.Sub(x).LessThan(limit)`, `spent.plus(x).gt(cap)`, `n.Cmp(max) >= 0`.
  const bigCmp = BIG_COMPARE.exec(rest);
  if (bigCmp) return { polarity: 'threshold', bound: bigCmp[1]!.trim() || undefined };
  // An attribute of a loaded row (`event.processed_at?`, `order.status`) is not an existence test.
  if (/^\s*(?:\?\.|\.|\[|&\.)/.test(rest) && !/^\s*(?:\?\.|\.)(?:length|size|count|rowCount|present\?|any\?|exists\?|nil\?|blank\?|empty\?|none\?|zero\?)(?![\w$])/.test(rest)) return undefined;
  // `spent + amount > budget`: arithmetic on the read, then a bound.
  const arith = /^\s*[-+*/][^<>=!&|\n]{0,80}?(?:<=|>=|<|>)\s*([^&|)\n:{]+)/.exec(rest);
  if (arith) return { polarity: 'threshold', bound: arith[1]!.trim() };
  if (MISSING_AFTER.test(rest)) return { polarity: negated ? 'found' : 'missing' };
  if (FOUND_AFTER.test(rest)) return { polarity: negated ? 'missing' : 'found' };
  const cmp = COMPARE_AFTER.exec(rest);
  if (cmp && /[<>]/.test(cmp[1]!)) return { polarity: 'threshold', bound: cmp[2]!.trim() };
  if (cmp && /[<>]/.test(before.slice(-4))) return { polarity: 'threshold' };
  if (/(?:<=|>=|<|>)\s*(?:Number\(|int\(|len\()?\s*$/.test(before)) return { polarity: 'threshold', bound: before.replace(/(?:<=|>=|<|>)\s*(?:Number\(|int\(|len\()?\s*$/, '').trim() };
  if (name && derivedOnly.has(name)) return { polarity: 'threshold' };
  if (cmp) return undefined;
  return { polarity: negated ? 'missing' : 'found' };
}

/** Ops whose first line lies within [from, to]. */
export function opsIn(info: FnInfo, from: number, to: number): DbOp[] {
  return info.ops.filter((o) => o.line >= from && o.line <= to);
}

/** Where the act may sit, given a gate: after a bailing branch, or inside the branch that runs on the wanted outcome. */
export function actRegion(info: FnInfo, gate: Gate, actWhen: 'missing' | 'under'): Array<[number, number]> {
  const regions: Array<[number, number]> = [];
  const wantedInBranch = actWhen === 'missing' ? gate.polarity === 'missing' : gate.polarity === 'threshold';
  if (gate.bails && (gate.polarity === 'found' || gate.polarity === 'threshold')) regions.push([gate.body[1] + 1, info.fn.endLine]);
  else if (!gate.bails && wantedInBranch) regions.push([gate.line, gate.body[1]]);
  if (!gate.bails && gate.polarity === 'found' && gate.elseBody && actWhen === 'missing') regions.push(gate.elseBody);
  return regions;
}

// ---------------------------------------------------------------------------------------------------------------
// Guards

export interface Guards {
  /** First line that takes a row/table/advisory lock or a distributed lock, if any. */
  lockLine?: number;
  /** Every line that takes such a lock, in order. */
  lockLines: number[];
  serializable: boolean;
  /** Handles a unique violation (P2002, IntegrityError, 23505, RecordNotUnique, ...). */
  uniqueViolation: boolean;
  /** Handles an exclusion violation (23P01, ExclusionViolation). */
  exclusionViolation: boolean;
}

const LOCK_RE = /\bLOCK\.UPDATE\b|\bLOCK\.SHARE\b|\block\s*:\s*true\b|['"]NX['"]|\bNX\s*:\s*true|\bnx\s*=\s*True|\.lock\(|\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+SHARE\b|\.forUpdate\(|\.forShare\(|\.forNoKeyUpdate\(|select_for_update\(|with_for_update\(|\bwith_for_update\s*=\s*(?!None\b|False\b)|\.lock!|\.with_lock\b|(?:^|[\s;({])(?:with_lock(?:\s+do\b|\s*\{|\s*\()|lock!(?=\s*(?:$|;|\()))|\.lock\(\s*(?:true|["']FOR)|\.lock\.|\block\s*:\s*\{\s*mode|pessimistic_(?:write|read)|setLock\(|\bLOCK\s+TABLE\b|pg_advisory(?:_xact)?_lock|GET_LOCK\(|\bredlock\b|\bacquireLock\(|\bwithLock\(|\bmutex\.(?:acquire|lock|runExclusive)\(|\.Lock\(\)|\.for\(\s*['"]update|\bclause\.Locking\b/i;
const SERIALIZABLE_RE = /serializable/i;
const UNIQUE_VIOLATION_RE = /P2002|IntegrityError|\b23505\b|UniqueViolation|RecordNotUnique|ER_DUP_ENTRY|UniqueConstraintError|duplicate key|E11000|unique_violation|DuplicateKey|IsUniqueViolation|ErrDuplicate|pgerrcode\.UniqueViolation/;
const EXCLUSION_RE = /\b23P01\b|ExclusionViolation|exclusion_violation/;

const guardCache = new WeakMap<FnInfo, Guards>();

export function guardsOf(info: FnInfo, ctx?: DetectorContext): Guards {
  let g = guardCache.get(info);
  if (!g) {
    g = computeGuards(info);
    guardCache.set(info, g);
  }
  // Called from a function that runs SERIALIZABLE (`withSerializableRetry(ctx, db, func(tx) { return release(ctx, tx, …) })`):
  // the reads and writes here run in that transaction.
  if (ctx && !g.serializable && calledUnderSerializable(ctx.files).has(shortName(info.fn.name))) g = { ...g, serializable: true };
  return g;
}

const serialCalleesCache = new WeakMap<readonly SourceFile[], Set<string>>();

/** Names of the functions the review's SERIALIZABLE functions call (one pass over the review). */
function calledUnderSerializable(files: readonly SourceFile[]): Set<string> {
  let names = serialCalleesCache.get(files);
  if (!names) {
    names = new Set();
    for (const file of files) {
      for (const fn of file.functions) {
        if (!SERIALIZABLE_RE.test(fn.text)) continue;
        for (const m of fn.text.matchAll(/([A-Za-z_$][\w$]*[?!]?)\s*\(/g)) names.add(m[1]!);
      }
    }
    serialCalleesCache.set(files, names);
  }
  return names;
}

function shortName(name: string): string {
  return /([A-Za-z_$][\w$]*[?!]?)$/.exec(name)?.[1] ?? name;
}

function computeGuards(info: FnInfo): Guards {
  let lockLine: number | undefined;
  const lockLines: number[] = [];
  const anyLock = LOCK_RE.test(info.code);
  for (let k = 0; anyLock && k < info.lines.length; k++) {
    if (LOCK_RE.test(info.lines[k]!)) {
      lockLine ??= info.fn.startLine + k;
      lockLines.push(info.fn.startLine + k);
    }
  }
  // Decorators sit above the function span (`@transaction.atomic`, `@serializable_retry`).
  const above = info.file.lines.slice(Math.max(0, info.fn.startLine - 4), info.fn.startLine - 1).filter((l) => /^\s*@/.test(l)).join('\n');
  return {
    lockLine,
    lockLines,
    serializable: SERIALIZABLE_RE.test(info.code) || SERIALIZABLE_RE.test(above),
    uniqueViolation: UNIQUE_VIOLATION_RE.test(info.code),
    exclusionViolation: EXCLUSION_RE.test(info.code),
  };
}

/**
 * A lock that only holds the row the act is about to write: a single-row read with FOR UPDATE / select_for_update on
 * the act's entity, keyed by its primary key (or another one-row lookup such as `.get(...)`), that loaded the very
 * object the act saves (`row = X.objects.select_for_update().get(...)`, then `row.save()`) or names its row the same
 * way (`WHERE id = $1 FOR UPDATE`, then `UPDATE ... WHERE id = $1`). Holding one's own row does not stop a concurrent
 * transaction from writing a sibling row of a set both of them counted (write skew).
 */
export function ownRowLock(info: FnInfo, line: number, act: DbOp): boolean {
  const lock = info.ops.find((o) => o.lock && o.line <= line && o.endLine >= line);
  if (!lock || lock.kind !== 'find' || !sameEntity(lock.entity, act.entity)) return false;
  if (act.instance && lock.vars.includes(act.instance)) return true;
  return isPrimaryKeyOnly(lock.whereColumns) && isPrimaryKeyOnly(act.whereColumns);
}

/**
 * Whether a lock taken at or before `line` protects what the function reads there: any lock does, except (given the
 * act) one that only holds the act's own row (see `ownRowLock`).
 */
export function lockedBefore(info: FnInfo, line: number, act?: DbOp): boolean {
  const g = guardsOf(info);
  if (g.lockLine === undefined || g.lockLine > line) return false;
  if (!act) return true;
  return g.lockLines.some((l) => l <= line && !ownRowLock(info, l, act));
}

const opTextCache = new WeakMap<DbOp, string>();

/**
 * Tables an SQL read names besides its entity: joined tables and tables of a subquery (`FROM circuits c LEFT JOIN kilns
 * k`, `SELECT (SELECT count(*) FROM zones ...) FROM mains`). A count / sum over a join is over the joined rows too.
 */
export function readTables(info: FnInfo, op: DbOp): string[] {
  const text = opTextCache.get(op) ?? info.code.slice(op.start, op.end);
  if (!/\b(?:JOIN|FROM)\b/i.test(text)) return [op.entity];
  const out = new Set([op.entity]);
  for (const m of text.matchAll(/\b(?:JOIN|FROM)\s+(?:ONLY\s+)?["`]?(?:\w+["`]?\.["`]?)?([A-Za-z_]\w*)/gi)) {
    if (!/^(?:select|lateral|unnest|generate_series)$/i.test(m[1]!)) out.add(m[1]!);
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------------------------
// Entities and schema

export function sameEntity(a: string, b: string): boolean {
  return a !== '' && normEntity(a) === normEntity(b);
}

/** Whether a unique constraint declared in the diff covers (a subset of) `columns` on `entity`. */
export function uniqueCovers(schema: SchemaFacts, entity: string, columns: readonly string[], files?: readonly SourceFile[]): boolean {
  const target = normEntity(entity);
  const wanted = new Set(columns.map(normColumn));
  const all = files ? [...schema.unique, ...extraUnique(files)] : [...schema.unique];
  for (const [table, sets] of all) {
    if (normEntity(table) !== target) continue;
    if (wanted.size === 0) return true;
    if (sets.some((set) => set.length > 0 && set.every((c) => wanted.has(normColumn(c))))) return true;
  }
  return false;
}

export function hasExclusion(schema: SchemaFacts, entity: string): boolean {
  const target = normEntity(entity);
  for (const t of schema.exclusion) if (normEntity(t) === target) return true;
  return false;
}

export interface Declaration {
  file: string;
  /** Non-unique indexes shown for the entity (column lists). */
  indexes: string[][];
  /** Only a class that holds no column or constraint declarations was seen (a Rails model, a plain class). */
  schemaless: boolean;
}

/**
 * Whether the diff declares `entity` (Prisma model, Django model, SQL CREATE TABLE, Rails create_table / model class,
 * TypeORM entity, SQLAlchemy __tablename__), and the non-unique indexes it shows for it.
 */
const declCache = new WeakMap<readonly SourceFile[], Map<string, Declaration | undefined>>();

export function declarationOf(files: readonly SourceFile[], entity: string): Declaration | undefined {
  const target = normEntity(entity);
  let perFiles = declCache.get(files);
  if (!perFiles) {
    perFiles = new Map();
    declCache.set(files, perFiles);
  }
  if (perFiles.has(target)) return perFiles.get(target);
  const found = scanDeclaration(files, target);
  perFiles.set(target, found);
  return found;
}

/** What one file declares, read once per review (declarationOf used to rescan every file for every entity). */
interface FileDeclarations {
  path: string;
  /** Normalised names of plain classes (`class X(` / `class X <`). */
  weak: Set<string>;
  /** Normalised names of models, entities and tables. */
  decl: Set<string>;
  /** Indexes shown in the file whatever the entity (`@@index`, Django `models.Index`), in order. */
  prismaIndexes: string[][];
  djangoIndexes: string[][];
  /** `create index … on t (…)` and `add_index :t, …` (non-unique) with their normalised table. */
  sqlIndexes: Array<[string, string[]]>;
  railsIndexes: Array<[string, string[]]>;
}

const fileDeclCache = new WeakMap<readonly SourceFile[], FileDeclarations[]>();

function fileDeclarations(files: readonly SourceFile[]): FileDeclarations[] {
  const hit = fileDeclCache.get(files);
  if (hit) return hit;
  const out: FileDeclarations[] = [];
  for (const file of files) {
    const text = file.text;
    if (!/model|class|create\s+table|create_table|__tablename__|@Entity|index/i.test(text)) continue;
    const weak = new Set([...text.matchAll(/\bclass\s+(\w+)\s*(?:\(|<)/g)].map((m) => normEntity(m[1]!)));
    const decl = new Set(
      [
        ...text.matchAll(/\bmodel\s+(\w+)\s*\{/g),
        ...text.matchAll(/\bclass\s+(\w+)\s*\([^)]*\b(?:Model|Base|DeclarativeBase|SQLModel)\b[^)]*\)/g),
        ...text.matchAll(/@Entity\([^)]*\)\s*(?:export\s+)?class\s+(\w+)/g),
        ...text.matchAll(/create\s+table\s+(?:if\s+not\s+exists\s+)?(?:["`]?\w+["`]?\.)?["`]?(\w+)/gi),
        ...text.matchAll(/create_table\s+:(\w+)/g),
        ...text.matchAll(/__tablename__\s*=\s*['"](\w+)/g),
        ...text.matchAll(/@@map\(\s*"(\w+)"/g),
        ...text.matchAll(/CreateModel\(\s*name\s*=\s*['"](\w+)/g),
        ...text.matchAll(/add_index\s+:(\w+)/g),
        ...text.matchAll(/create\s+index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?(?:\w+\s+)?on\s+(?:only\s+)?["`]?(\w+)/gi),
      ].map((m) => normEntity(m[1]!)),
    );
    if (decl.size === 0 && weak.size === 0) continue;
    const info: FileDeclarations = { path: file.path, weak, decl, prismaIndexes: [], djangoIndexes: [], sqlIndexes: [], railsIndexes: [] };
    for (const m of text.matchAll(/@@index\(\s*(?:fields:\s*)?\[([^\]]*)\]/g)) info.prismaIndexes.push(split(m[1]!));
    for (const m of text.matchAll(/models\.Index\(\s*fields\s*=\s*[[(]([^\])]*)[\])]/g)) info.djangoIndexes.push(split(m[1]!));
    for (const m of text.matchAll(/create\s+index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?(?:\w+\s+)?on\s+["`]?(\w+)["`]?\s*(?:using\s+\w+\s*)?\(([^)]*)\)/gi)) {
      info.sqlIndexes.push([normEntity(m[1]!), split(m[2]!)]);
    }
    for (const m of text.matchAll(/add_index\s+:(\w+)\s*,\s*(\[[^\]]*\]|:\w+)([^\n]*)/g)) {
      if (!/unique:\s*true/.test(m[3]!)) info.railsIndexes.push([normEntity(m[1]!), split(m[2]!.replace(/[[\]]/g, ''))]);
    }
    out.push(info);
  }
  fileDeclCache.set(files, out);
  return out;
}

function scanDeclaration(files: readonly SourceFile[], target: string): Declaration | undefined {
  let found: Declaration | undefined;
  for (const f of fileDeclarations(files)) {
    const declared = f.decl.has(target);
    if (!declared && !f.weak.has(target)) continue;
    found ??= { file: f.path, indexes: [], schemaless: true };
    if (declared) found.schemaless = false;
    for (const cols of f.prismaIndexes) found.indexes.push([...cols]);
    for (const cols of f.djangoIndexes) found.indexes.push([...cols]);
    for (const [table, cols] of f.sqlIndexes) if (table === target) found.indexes.push([...cols]);
    for (const [table, cols] of f.railsIndexes) if (table === target) found.indexes.push([...cols]);
  }
  return found;
}

function split(list: string): string[] {
  return list
    .split(',')
    .map((c) => c.trim().replace(/["'`:[\]]/g, ''))
    .filter(Boolean);
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting helpers

/** Whether any line in [from, to] is added by the diff. */
export function touchesAdded(file: SourceFile, from: number, to: number): boolean {
  for (let l = from; l <= to; l++) if (file.added.has(l)) return true;
  return false;
}

/** Drops reports with the same (line, endLine) — nested function spans find the same hazard twice. */
export function dedupe<T extends { line: number; endLine: number }>(reports: T[]): T[] {
  const seen = new Set<string>();
  return reports.filter((r) => {
    const k = `${r.line}:${r.endLine}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Key columns that identify the row: drop ones that only describe state, keep order. */
export function keyColumns(cols: readonly string[]): string[] {
  return [...new Set(cols.filter((c) => !/^(?:status|state|active|deleted_?at|is_?active|is_?deleted|archived|enabled)$/i.test(c)))];
}

export function isPrimaryKeyOnly(cols: readonly string[]): boolean {
  return cols.length > 0 && cols.every((c) => /^(?:id|pk|_id|uuid)$/i.test(c));
}

export function overlap(a: readonly string[], b: readonly string[]): string[] {
  const nb = new Set(b.map(normColumn));
  return a.filter((c) => nb.has(normColumn(c)));
}

/** Test framework hint from the other files of the review. */
export function testFrameworkHint(files: readonly SourceFile[]): string | undefined {
  for (const f of files) {
    const head = f.lines.slice(0, 40).join('\n');
    if (/from ['"]vitest['"]/.test(head)) return 'vitest';
    if (/\bjest\.(?:fn|mock)\(/.test(head)) return 'jest';
  }
  return undefined;
}

/** "a users row" for a table, "a CouponRedemption" for a model. */
export function aRowOf(entity: string): string {
  const a = (w: string) => (/^[aeiou]/i.test(w) ? 'an' : 'a');
  return /^[a-z0-9_]+$/.test(entity) && /_|s$/.test(entity) ? `${a(entity)} ${entity} row` : `${a(entity)} ${entity}`;
}

const extraCache = new WeakMap<readonly SourceFile[], Array<[string, string[][]]>>();

/**
 * Unique declarations that `collectSchema` does not read, attached to the nearest preceding model / table
 * declaration: Django OneToOneField, SQLAlchemy `unique=True` / `UniqueConstraint("a", "b")`, Mongoose / Sequelize
 * `{ unique: true }`, Drizzle `.unique()` / `uniqueIndex().on(...)`, Knex `.unique()`, Rails `unique: true` on a
 * column, GORM `uniqueIndex` tags.
 */
export function extraUnique(files: readonly SourceFile[]): Array<[string, string[][]]> {
  const hit = extraCache.get(files);
  if (hit) return hit;
  const out: Array<[string, string[][]]> = [];
  const owner = /\bclass\s+(\w+)|\bmodel\s+(\w+)\s*\{|create_table\s+:(\w+)|createTable\(\s*['"](\w+)|pgTable\(\s*['"](\w+)|mysqlTable\(\s*['"](\w+)|sqliteTable\(\s*['"](\w+)|\.define\(\s*['"](\w+)|mongoose\.model\(\s*['"](\w+)|\b(?:const|let)\s+(\w+?)Schema\s*=|\btype\s+(\w+)\s+struct\b|__tablename__\s*=\s*['"](\w+)|\bTable\(\s*['"](\w+)/g;
  const rules: Array<[RegExp, (m: RegExpExecArray) => string[]]> = [
    [/(\w+)\s*=\s*models\.OneToOneField\(/g, (m) => [m[1]!]],
    [/(\w+)\s*(?::\s*Mapped\[[^\]\n]*\])?\s*=\s*(?:Column|mapped_column|db\.Column|sa\.Column)\([^\n]*\bunique\s*=\s*True/g, (m) => [m[1]!]],
    [/UniqueConstraint\(\s*((?:['"]\w+['"]\s*,\s*)*['"]\w+['"])/g, (m) => [...m[1]!.matchAll(/['"](\w+)['"]/g)].map((x) => x[1]!)],
    [/(\w+)\s*:\s*\{[^}\n]*\bunique\s*:\s*true/g, (m) => [m[1]!]],
    [/(\w+)\s*:\s*\w+\([^)\n]*\)(?:\.\w+\([^)\n]*\))*\.unique\(\)/g, (m) => [m[1]!]],
    [/uniqueIndex\([^)\n]*\)\.on\(([^)\n]*)\)/g, (m) => [...m[1]!.matchAll(/\.(\w+)/g)].map((x) => x[1]!)],
    [/\.unique\(\s*\[([^\]\n]*)\]/g, (m) => [...m[1]!.matchAll(/['"](\w+)['"]/g)].map((x) => x[1]!)],
    [/\(\s*['"](\w+)['"][^)\n]*\)(?:\.\w+\([^)\n]*\))*\.unique\(\)/g, (m) => [m[1]!]],
    [/\bt\.\w+\s+:(\w+)[^\n]*\bunique:\s*true/g, (m) => [m[1]!]],
    [/^\s*(\w+)\s+[\w.*[\]]+\s+`[^`\n]*gorm:"[^"\n]*unique/gm, (m) => [m[1]!]],
  ];
  for (const file of files) {
    const text = file.text;
    if (!/unique|OneToOneField/i.test(text)) continue;
    const owners = [...text.matchAll(owner)].map((m) => ({ at: m.index ?? 0, name: m.slice(1).find(Boolean)! }));
    for (const [re, cols] of rules) {
      for (const m of text.matchAll(re)) {
        const o = owners.filter((x) => x.at < (m.index ?? 0)).pop();
        if (!o) continue;
        out.push([o.name.toLowerCase(), [cols(m as RegExpExecArray).map((c) => c.toLowerCase())]]);
      }
    }
  }
  extraCache.set(files, out);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Rails model validations

const validationCache = new WeakMap<SourceFile, Map<string, string>>();
const VALIDATE_RE = /^\s*validate\s+(:\w+[?!]?(?:\s*,\s*:\w+[?!]?)*)(.*)$/;

/** Rails: the custom validations a file registers (`validate :room_is_free, if: -> { ... }`): method name → options text. */
function railsValidations(file: SourceFile): Map<string, string> {
  const hit = validationCache.get(file);
  if (hit) return hit;
  const out = new Map<string, string>();
  if (file.text.includes('validate ')) {
    for (const line of file.lines) {
      const m = VALIDATE_RE.exec(line);
      if (!m) continue;
      for (const name of m[1]!.split(',')) out.set(name.trim().slice(1), m[2]!);
    }
  }
  validationCache.set(file, out);
  return out;
}

/**
 * Rails: when the function is a custom validation of its model (`validate :name` in the file), the options of that
 * declaration (`, if: -> { driver? }`, `, on: :create`); undefined otherwise. A validation runs inside `save` /
 * `update!`, just before the INSERT or UPDATE of the record: a read of other rows that adds an error when it finds
 * one is a check whose act is that write.
 */
export function validationOf(info: FnInfo): string | undefined {
  if (familyOf(info.lang) !== 'ruby') return undefined;
  const name = /([A-Za-z_]\w*[?!]?)$/.exec(info.fn.name)?.[1];
  return name ? railsValidations(info.file).get(name) : undefined;
}

/** Rails: the model a file defines, from its `class X < ApplicationRecord` line or, by convention, its path under models/. */
export function modelOfFile(file: SourceFile): string | undefined {
  const m = /^\s*class\s+(?:\w+::)*(\w+)\s*<\s*(?:ApplicationRecord|ActiveRecord::Base)\b/m.exec(file.text);
  if (m) return m[1];
  return /(?:^|\/)models\/(?:\w+\/)*(\w+)\.rb$/.exec(file.path)?.[1];
}

export interface OwnRowWrite {
  line: number;
  call: string;
  /** Columns written (`role` in `update!(role: :driver)`). */
  columns: string[];
  /** Symbol values written (`driver`): an enum value, the namesake of the enum's scope. */
  values: string[];
}

const ownWritesCache = new WeakMap<SourceFile, OwnRowWrite[]>();
const OWN_UPDATE_RE = /^\s*(?:self\.)?(update!?|update_columns?|update_attributes!?|update_attribute)(?:\s*\(|\s+:?\w)(.*)$/;

/** Rails: updates of the record's own row in the model's instance methods (bare `update!(role: :driver, ...)`, `self.update(...)`). */
export function ownRowUpdates(file: SourceFile): OwnRowWrite[] {
  const hit = ownWritesCache.get(file);
  if (hit) return hit;
  const out: OwnRowWrite[] = [];
  if (file.language === 'ruby' && /\bupdate/.test(file.text)) {
    file.lines.forEach((text, i) => {
      const m = OWN_UPDATE_RE.exec(text);
      if (!m) return;
      const args = m[2]!;
      const single = /^update_(?:column|attribute)$/.test(m[1]!) ? /^\s*\(?\s*:(\w+)/.exec(args)?.[1] : undefined;
      const columns = single ? [single] : argKeys(args.replace(/^\s*\(/, ''), 'ruby');
      const values = [...args.matchAll(/(?:^|[\s(,])(?:\w+:\s*|:\w+\s*=>\s*|,\s*):(\w+)\b/g)].map((v) => v[1]!);
      out.push({ line: i + 1, call: m[1]!, columns, values });
    });
  }
  ownWritesCache.set(file, out);
  return out;
}

/** Whether the review creates a record of the Rails model (`RoomBooking.create!`, `band.room_bookings.new(...)` / `.build` / `.create`). */
export function railsModelCreated(files: readonly SourceFile[], model: string): boolean {
  const snake = model.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/s$/, '');
  const camel = snake.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());
  const re = new RegExp(String.raw`\b${camel}\.(?:new|create!?|insert(?:_all)?!?)\b|\.${snake}s?\.(?:new|build|create!?)\b`);
  return files.some((f) => f.language === 'ruby' && re.test(f.text));
}

/** Whether the review handles an exclusion violation anywhere (`rescue ActiveRecord::ExclusionViolation`, 23P01). */
export function handlesExclusion(files: readonly SourceFile[]): boolean {
  return files.some((f) => EXCLUSION_RE.test(f.text));
}

/** Whether the text takes a lock or handles a unique violation. */
export function locksOrUnique(text: string): boolean {
  return LOCK_RE.test(text) || UNIQUE_VIOLATION_RE.test(text);
}
