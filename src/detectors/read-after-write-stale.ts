/**
 * read-after-write-stale (eventual_consistency)
 *
 * Rule: in one flow, a function writes an entity to the primary (ORM update/save/create, SQL
 * INSERT/UPDATE/DELETE) and then reads the same entity back from a source that can lag behind the
 * write, and the value read decides what happens next (an `if`, a return, an email, a refund):
 * - a replica: `.using('replica')`, `using="replica"`, `$replica()`, a `replica`/`reader`/`ro` pool or
 *   client, Sequelize `useMaster: false`, or a plain Django ORM read when the diff installs a database
 *   router whose `db_for_read` returns a non-default alias;
 * - a cache: `cache.get` / `redis.get` / `Rails.cache.fetch` keyed by the entity, or a getter
 *   (`getAccount`, `get_order`) whose body reads the cache, or, when its body is not in the diff, whose
 *   module shows a cache keyed by that entity (`redis.del(`account:${id}`)`, `ACCOUNT_TTL`);
 * - a search index: Elasticsearch / OpenSearch / Algolia / Meilisearch / Typesense `search`.
 *
 * Stays quiet when the read pins the primary (`.using('default')`, `select_for_update`), when the
 * cache key is deleted or set between the write and the read, when the flow uses the row returned by
 * the write, and when the value read is not used afterwards.
 *
 * Confidence: 0.9 for an explicit replica read; 0.85 for a read routed to the replica by a router in
 * the diff; 0.8 for a direct cache or search read, or a getter whose body reads the cache; 0.7 when
 * the getter's cache is inferred from its module.
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { SourceFile } from '../parse/types.js';
import type { EvidenceLine } from '../types.js';
import {
  cleanFacts,
  codeLine,
  displayName,
  entityOfReceiver,
  escapeRe,
  innermostFirst,
  normEntity,
  ormOf,
  sameEntity,
  shownRange,
  sqlTables,
  statementAt,
  stripComments,
  familyOf,
  testFrameworkHint,
  viewOf,
  type FnView,
} from './lib/state.js';

interface Write {
  line: number;
  end: number;
  entity: string;
  call: string;
}

interface StaleRead {
  line: number;
  end: number;
  source: 'replica' | 'cache' | 'search';
  call: string;
  holder?: string;
  confidence: number;
  replica?: string;
  cacheKey?: string;
}

const JS_WRITE = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?(?:\.\w+\([^)\n]{0,200}\)){0,3})\.(update|updateMany|updateOne|create|insert|upsert|delete|deleteMany|destroy|save|increment|decrement)\s*\(/;
const PY_WRITE = /([\w.]+(?:\([^)\n]{0,200}\))?(?:\.\w+\([^)\n]{0,200}\)){0,3})\.(update|create|save|delete|bulk_update|update_or_create)\s*\(/;
const RB_WRITE = /([\w@.]+(?:\([^)\n]{0,200}\))?)\.(update!?|save!?|create!?|destroy!?|update_all|update_columns?)\b/;
const SQL_WRITE = /\b(?:UPDATE\s+["`]?\w+["`]?\s+SET|INSERT\s+INTO|DELETE\s+FROM)\b/i;
/** Implied by every JS_WRITE / PY_WRITE match: a cheap test that skips most lines before the costly patterns. */
/** Implied by every CACHE_READ / GETTER match (the full patterns are tried at every position of every line). */
const CACHE_READ_HINT = /cache|redis|kv|Cache|Redis/;
const GETTER_HINT = /(?:get|load|fetch|find|read|lookup)[A-Z_]/;
const JS_WRITE_HINT = /\.(?:update|create|insert|upsert|delete|destroy|save|increment|decrement)/;
const PY_WRITE_HINT = /\.(?:update|create|save|delete|bulk_update)/;

const REPLICA_NAME = /(?:replica|reader|read_?only|readonly|slave|secondary|follower|standby|analytics)/i;
const EXPLICIT_REPLICA =
  /\.using\(\s*['"]([\w-]+)['"]\s*\)|\busing\s*=\s*['"]([\w-]+)['"]|\$replica\(\)|\breadReplica\w*\b|\b(?:replica|reader|ro|readOnly)(?:Pool|Db|DB|Client|Conn|Engine|Session)?\s*\.\s*(?:query|execute|get|one|first|select|findUnique|findFirst|findOne|QueryRow\w*|Query\w*|fetch\w*|\w+\.\w+)\b|\bconnected_to\(\s*role:\s*:reading|useMaster:\s*false/;
const CACHE_READ = /\b([\w$.]*(?:cache|redis|memcache|memcached|kv|Cache|Redis))\s*\.\s*(get|hget|hgetall|mget|fetch|read|getex|getJSON|get_many)\s*\(\s*([^)\n]{0,160})/;
const CACHE_CLEAR = /\b[\w$.]*(?:cache|redis|memcache|kv|Cache|Redis)\w*\s*\.\s*(?:del|delete|delete_many|unlink|expire|invalidate|evict|clear|set|setex|hset|write|put|delete_matched)\s*\(|\binvalidate\w*\(|\bevict\w*\(|\bbust\w*\(/;
const SEARCH_READ = /\b([\w$.]*(?:elastic\w*|opensearch\w*|search\w*|es|index|algolia\w*|meili\w*|typesense\w*|Search\w*))\s*\.\s*(search|msearch|searchForHits)\s*\(/i;

function writesOf(v: FnView, fileText: string): Write[] {
  const out: Write[] = [];
  for (let l = v.fn.startLine; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    let entity: string | undefined;
    let call: string | undefined;
    let m: RegExpExecArray | null;
    if (SQL_WRITE.test(t)) {
      const tables = sqlTables(t).written;
      entity = tables[0];
      call = /\b(?:UPDATE\s+["`]?\w+["`]?\s+SET|INSERT\s+INTO\s+["`]?\w+|DELETE\s+FROM\s+["`]?\w+)/i.exec(t)?.[0];
    } else if (v.family === 'js' && JS_WRITE_HINT.test(t) && (m = JS_WRITE.exec(t))) {
      if (/\b(?:cache|redis|res|reply|Object|Map|Set|crypto|hash|hmac)\b/i.test(m[1]!) || /\.(?:set|map)$/.test(m[1]!)) continue;
      entity = entityOfReceiver(m[1]!.replace(/(?:\.\w+\([^)\n]{0,200}\))+$/, ''), fileText);
      call = `${m[1]!.replace(/\([^)\n]{0,200}\)/g, '(…)')}.${m[2]}`;
    } else if (v.family === 'python' && PY_WRITE_HINT.test(t) && (m = PY_WRITE.exec(t))) {
      if (/\b(?:cache|redis|form|serializer|dict|self\.request)\b/.test(m[1]!)) continue;
      entity = entityOfReceiver(m[1]!) ?? /\b([A-Z]\w*)\.objects/.exec(m[1]!)?.[1];
      if (!entity && m[2] === 'save') entity = holderModel(v, m[1]!.split('.')[0]!, l);
      call = `${m[1]!.replace(/\([^)\n]{0,200}\)/g, '(…)')}.${m[2]}`;
    } else if (v.family === 'ruby' && (m = RB_WRITE.exec(t))) {
      entity = /^([A-Z]\w*)/.exec(m[1]!)?.[1] ?? holderModel(v, m[1]!.replace(/^@/, ''), l);
      call = `${m[1]}.${m[2]}`;
    }
    if (!entity || !call) continue;
    const stmt = statementAt(v, l, 12);
    out.push({ line: l, end: stmt.endLine, entity, call });
  }
  return out;
}

/** The model a local holds, from `x = Model.objects.get(…)` / `x = Model.find(…)` earlier in the function. */
function holderModel(v: FnView, holder: string, before: number): string | undefined {
  for (let l = before - 1; l >= v.fn.startLine; l--) {
    const m = new RegExp(`^\\s*@?${escapeRe(holder)}\\s*=\\s*(?:get_object_or_404\\(\\s*)?([A-Z]\\w*)`).exec(codeLine(v, l));
    if (m) return m[1];
  }
  return undefined;
}

const routerCache = new WeakMap<readonly SourceFile[], { alias: string | undefined }>();

/** The replica alias a Django router in the diff sends reads to, if any (once per review: it reads every Python file). */
function routerReplica(files: readonly SourceFile[]): string | undefined {
  let hit = routerCache.get(files);
  if (!hit) {
    hit = { alias: routerReplicaUncached(files) };
    routerCache.set(files, hit);
  }
  return hit.alias;
}

function routerReplicaUncached(files: readonly SourceFile[]): string | undefined {
  for (const f of files) {
    if (f.language !== 'python') continue;
    const i = f.lines.findIndex((l) => /^\s*def\s+db_for_read\s*\(/.test(l));
    if (i < 0) continue;
    for (let k = i + 1; k < Math.min(f.lines.length, i + 12); k++) {
      const line = f.lines[k] ?? '';
      if (/^\s*def\s/.test(line)) break;
      const r = /\breturn\s+(?:random\.choice\(\s*\[?\s*)?['"]([\w-]+)['"]/.exec(line);
      if (r && r[1] !== 'default') return r[1];
    }
  }
  return undefined;
}

const GETTER = /(?:await\s+)?(?:this\.|self\.|[\w$]+\.)?((?:get|load|fetch|find|read|lookup)(?:[A-Z]\w*|_\w+))\s*\(/;

function getterEntity(name: string): string {
  return name.replace(/^(?:get|load|fetch|find|read|lookup)_?/, '').replace(/_?(?:by_?id|ById|OrThrow|_or_404|cached|Cached)$/, '');
}

const getterCache = new WeakMap<SourceFile, Map<string, { confidence: number; key?: string } | undefined>>();

/** Whether `name` is a getter that reads a cache (memoised per file under review and getter name). */
function cachedGetter(name: string, entity: string, ctx: DetectorContext): { confidence: number; key?: string } | undefined {
  let byName = getterCache.get(ctx.file);
  if (!byName) {
    byName = new Map();
    getterCache.set(ctx.file, byName);
  }
  const k = `${name}\0${entity}`;
  if (byName.has(k)) return byName.get(k);
  const result = cachedGetterUncached(name, entity, ctx);
  byName.set(k, result);
  return result;
}

/** Whether `name` is a getter that reads a cache: its body does, or its module shows a cache keyed by its entity. */
function cachedGetterUncached(name: string, entity: string, ctx: DetectorContext): { confidence: number; key?: string } | undefined {
  for (const f of ctx.files) {
    const fam = familyOf(f.language);
    for (const fn of f.functions) {
      if (fn.name !== name && !fn.name.endsWith(`.${name}`)) continue;
      // A hunk region named after its section header is not the definition: its first line must name it.
      if (!new RegExp(`\\b${escapeRe(name)}\\b`).test(fn.text.split('\n')[0] ?? '')) continue;
      const body = stripComments(fn.text, fam);
      const shown = fn.text.split('\n').filter((l) => l.trim()).length;
      if (CACHE_READ.test(body)) return { confidence: 0.8, key: CACHE_READ.exec(body)?.[3]?.split(/[,)]/)[0]?.trim() };
      const deco = f.lines.slice(Math.max(0, fn.startLine - 4), fn.startLine - 1).join('\n');
      if (/@(?:functools\.)?(?:lru_cache|cache|cached|memoize|cache_page)\b/.test(deco)) return { confidence: 0.8 };
      if (shown >= 3) return undefined; // the body is visible and reads no cache
    }
  }
  // The body is not in the diff: look for a cache keyed by the entity in the file under review.
  const text = stripComments(ctx.file.lines.join('\n'), familyOf(ctx.file.language));
  if (!/\b(?:redis|cache|memcache)/i.test(text)) return undefined;
  const e = escapeRe(entity);
  const key = new RegExp(`["'\`]${e}[:_./-]`, 'i').exec(text);
  const ttl = new RegExp(`\\b${e}_?(?:CACHE_)?TTL`, 'i').test(text) || new RegExp(`\\b${e}Ttl`, 'i').test(text);
  if (key || ttl) return { confidence: 0.7, key: key ? `${entity.toLowerCase()}:{id}` : undefined };
  return undefined;
}

/**
 * What a line offers as a read-back, independent of the write: computed once per line of a function (a
 * function with many writes asked the same questions of every later line once per write).
 */
interface Site {
  line: number;
  /** The explicit replica read of the statement starting here; `dead` when its alias is not a replica. */
  replica?: { alias: string | undefined; call: string; dead: boolean; read?: ReadNames };
  router?: { model: string | undefined; call: string; replica: string };
  cache?: { call: string; key: string };
  getter?: { name: string; ent: string };
  search?: { call: string; index: string | undefined };
  stmt?: { text: string; endLine: number };
  holder?: string | null;
}

/** The entities a read statement names (sameReadEntity's three sources). */
interface ReadNames {
  tables: string[];
  receiver: string | undefined;
  model: string | undefined;
}

interface Reads {
  /** Per line of the view (index 0 = fn.startLine): 1 when a cache is cleared or refreshed there. */
  clear: Uint8Array;
  sites: (Site | undefined)[];
  /** next[i]: the first index >= i that clears the cache or holds a site (length when none). */
  next: Int32Array;
}

const ROUTED_READ = /\b([A-Z]\w*)\.objects\.(?:get|filter|all|first|exclude|values|values_list|only|latest|earliest)\b|\bget_object_or_404\(\s*([A-Z]\w*)/;
/** Implied by every CACHE_CLEAR match. */
const CACHE_CLEAR_HINT = /cache|redis|kv|Cache|Redis|invalidate|evict|bust/;
/** Implied by every SEARCH_READ match (its method names all contain `search`, in any case). */
const SEARCH_HINT = /search/i;
const HOLDER = /^\s*(?:const|let|var)?\s*(?:\{[^}]*\}|\[[^\]]*\]|@?([\w$]+))\s*(?::\s*[\w<>[\]|, ]{1,60})?\s*:?=\s*(?!=)/;

const readsCache = new WeakMap<FnView, Reads>();

function readsOf(v: FnView, router: string | undefined, fileText: string): Reads {
  let r = readsCache.get(v);
  if (r) return r;
  const n = v.codeLines.length;
  const clear = new Uint8Array(n);
  const sites: (Site | undefined)[] = new Array(n);
  // A statement matches EXPLICIT_REPLICA only where the function's code does (it is a slice of it, cut at line ends).
  const replicaPossible = EXPLICIT_REPLICA.test(v.code);
  for (let i = 0; i < n; i++) {
    const t = v.codeLines[i]!;
    if (!t.trim()) continue;
    if (CACHE_CLEAR_HINT.test(t) && CACHE_CLEAR.test(t)) {
      clear[i] = 1;
      continue;
    }
    sites[i] = siteAt(v, v.fn.startLine + i, t, router, fileText, replicaPossible);
  }
  const next = new Int32Array(n + 1);
  next[n] = n;
  for (let i = n - 1; i >= 0; i--) next[i] = clear[i] || sites[i] ? i : next[i + 1]!;
  r = { clear, sites, next };
  readsCache.set(v, r);
  return r;
}

function siteAt(v: FnView, l: number, t: string, router: string | undefined, fileText: string, replicaPossible: boolean): Site | undefined {
  const site: Site = { line: l };
  let any = false;
  let m: RegExpExecArray | null;
  if (replicaPossible) {
    site.stmt = statementAt(v, l, 8);
    if ((m = EXPLICIT_REPLICA.exec(site.stmt.text))) {
      const alias = m[1] ?? m[2];
      site.replica = { alias, call: m[0], dead: alias !== undefined && alias !== '' && !REPLICA_NAME.test(alias) };
      return site;
    }
  }
  if (router && v.family === 'python' && (m = ROUTED_READ.exec(t))) {
    const stmt = (site.stmt ??= statementAt(v, l, 8));
    if (!/\.using\(|select_for_update/.test(stmt.text) && !/\.(?:update|delete|create)\(/.test(stmt.text)) {
      site.router = { model: m[1] ?? m[2], call: m[0], replica: router };
      any = true;
    }
  }
  if (CACHE_READ_HINT.test(t) && (m = CACHE_READ.exec(t))) {
    site.cache = { call: `${m[1]}.${m[2]}`, key: m[3] ?? '' };
    any = true;
  }
  if (GETTER_HINT.test(t) && (m = GETTER.exec(t)) && !/\.(?:get|fetch|find)\w*\(/.test(t.slice(0, m.index))) {
    site.getter = { name: m[1]!, ent: getterEntity(m[1]!) };
    any = true;
  }
  if (SEARCH_HINT.test(t) && (m = SEARCH_READ.exec(t)) && !/\bURLSearchParams|\.location\b|\bre\.search\b/.test(t)) {
    const stmt = (site.stmt ??= statementAt(v, l, 8));
    const idx = /index\s*[:=(]\s*['"]([\w-]+)['"]|initIndex\(\s*['"]([\w-]+)['"]|\.index\(\s*['"]([\w-]+)['"]/.exec(stmt.text) ?? indexDecl(fileText);
    site.search = { call: `${m[1]}.${m[2]}`, index: idx?.[1] ?? idx?.[2] ?? idx?.[3] };
    any = true;
  }
  return any ? site : undefined;
}

const keyPatterns = new Map<string, RegExp>();

/** Whether a cache key mentions the entity (normalised, or its name in any case). */
function keyNames(key: string, entity: string, normalised: string): boolean {
  if (normEntity(key).includes(normalised)) return true;
  let re = keyPatterns.get(entity);
  if (!re) {
    if (keyPatterns.size > 256) keyPatterns.clear();
    re = new RegExp(escapeRe(entity), 'i');
    keyPatterns.set(entity, re);
  }
  return re.test(key);
}

/** The read a site makes of the written entity, if it reads that entity back from a lagging source. */
function staleReadAt(v: FnView, s: Site, w: Write, normalised: string, ctx: DetectorContext, fileText: string): StaleRead | undefined {
  const l = s.line;
  if (s.replica) {
    if (s.replica.dead) return undefined;
    const stmt = s.stmt!;
    s.replica.read ??= readNames(stmt.text, fileText);
    if (!readsEntity(s.replica.read, w.entity)) return undefined;
    const alias = s.replica.alias;
    return { line: l, end: stmt.endLine, source: 'replica', call: s.replica.call.trim(), holder: holderOf(v, s), confidence: 0.9, replica: alias ?? s.replica.call.replace(/\W+$/, '') };
  }
  if (s.router && sameEntity(s.router.model, w.entity)) {
    return { line: l, end: stmtOf(v, s).endLine, source: 'replica', call: s.router.call, holder: holderOf(v, s), confidence: 0.85, replica: s.router.replica };
  }
  if (s.cache && keyNames(s.cache.key, w.entity, normalised)) {
    return { line: l, end: stmtOf(v, s).endLine, source: 'cache', call: s.cache.call, holder: holderOf(v, s), confidence: 0.8, cacheKey: s.cache.key.split(',')[0]?.trim() };
  }
  if (s.getter && sameEntity(s.getter.ent, w.entity)) {
    const c = cachedGetter(s.getter.name, s.getter.ent, ctx);
    if (c) return { line: l, end: stmtOf(v, s).endLine, source: 'cache', call: s.getter.name, holder: holderOf(v, s), confidence: c.confidence, cacheKey: c.key };
  }
  if (s.search) {
    const name = s.search.index;
    if (name ? sameEntity(name, w.entity) || normEntity(name).includes(normalised) : false) {
      return { line: l, end: stmtOf(v, s).endLine, source: 'search', call: s.search.call, holder: holderOf(v, s), confidence: 0.8 };
    }
  }
  return undefined;
}

function stmtOf(v: FnView, s: Site): { text: string; endLine: number } {
  return (s.stmt ??= statementAt(v, s.line, 8));
}

function holderOf(v: FnView, s: Site): string | undefined {
  if (s.holder === undefined) s.holder = HOLDER.exec(codeLine(v, s.line))?.[1] ?? null;
  return s.holder ?? undefined;
}

const indexCache = new Map<string, RegExpExecArray | null>();

/** The first search index a module names (`initIndex('products')`, `index: 'products'`), memoised per text. */
function indexDecl(fileText: string): RegExpExecArray | null {
  if (indexCache.has(fileText)) return indexCache.get(fileText)!;
  const m = /index\s*[:=(]\s*['"]([\w-]+)['"]|initIndex\(\s*['"]([\w-]+)['"]|\.index\(\s*['"]([\w-]+)['"]/.exec(fileText);
  if (indexCache.size > 64) indexCache.clear();
  indexCache.set(fileText, m);
  return m;
}

function readNames(stmt: string, fileText: string): ReadNames {
  const tables = sqlTables(stmt).read;
  const m = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?)(?:\.\w+\([^)]{0,200}\))*\.(?:findUnique|findFirst|findOne|findOneBy|findByPk|get|first|filter|find|find_by|where)\b/.exec(stmt);
  const receiver = m ? entityOfReceiver(m[1]!.replace(/\.(?:using|\$replica)\([^)]*\)/g, ''), fileText) : undefined;
  const model = /\b([A-Z]\w*)\.(?:objects|find|where|find_by|query)\b/.exec(stmt)?.[1] ?? /\.(\w+)\.(?:findUnique|findFirst|findMany)\(/.exec(stmt)?.[1];
  return { tables, receiver, model };
}

function readsEntity(r: ReadNames, entity: string): boolean {
  if (r.tables.some((t) => sameEntity(t, entity))) return true;
  if (r.receiver && sameEntity(r.receiver, entity)) return true;
  return r.model !== undefined && sameEntity(r.model, entity);
}

/** The first later line that acts on the value read. */
function actAfter(v: FnView, read: StaleRead): number | undefined {
  if (!read.holder) {
    return /^\s*(?:if|elif|unless|return|while)\b|\?/.test(codeLine(v, read.line)) ? read.line : undefined;
  }
  const h = new RegExp(`(?<![\\w$.])@?${escapeRe(read.holder)}(?![\\w$])`);
  for (let l = read.end + 1; l <= Math.min(v.fn.endLine, read.end + 20); l++) {
    const t = codeLine(v, l);
    if (new RegExp(`^\\s*(?:const|let|var)?\\s*@?${escapeRe(read.holder)}\\s*:?=[^=]`).test(t)) return undefined;
    if (h.test(t)) return l;
  }
  return undefined;
}

function detect(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  const fileText = file.lines.join('\n');
  const router = routerReplica(ctx.files);
  const reports: DetectorReport[] = [];
  const seen = new Set<number>();
  for (const fn of innermostFirst(ctx.changedFunctions)) {
    const v = viewOf(file, fn);
    if (!v) continue;
    const writes = writesOf(v, fileText);
    if (writes.length === 0) continue;
    const reads = readsOf(v, router, fileText);
    for (const w of writes) {
      if (seen.has(w.line)) continue;
      let hit: StaleRead | undefined;
      let act: number | undefined;
      const normalised = normEntity(w.entity);
      const base = v.fn.startLine;
      const last = v.fn.endLine - base;
      for (let i = reads.next[Math.min(Math.max(w.end + 1 - base, 0), reads.clear.length)]!; i <= last && i < reads.clear.length; i = reads.next[i + 1]!) {
        // A cache cleared or refreshed after the write makes a later cache read miss (or see the new value).
        if (reads.clear[i]) break;
        const r = staleReadAt(v, reads.sites[i]!, w, normalised, ctx, fileText);
        if (!r) continue;
        const a = actAfter(v, r);
        if (a === undefined) continue;
        hit = r;
        act = a;
        break;
      }
      if (!hit || act === undefined) continue;
      const range = shownRange(file, fn, w.line, act);
      if (!range) continue;
      seen.add(w.line);
      const evidence: EvidenceLine[] = [
        { role: 'write', line: w.line, text: v.text(w.line) },
        { role: 'stale-read', line: hit.line, text: v.text(hit.line) },
      ];
      if (act !== hit.line) evidence.push({ role: 'act', line: act, text: v.text(act) });
      const name = displayName(file, fn);
      const from = hit.source === 'replica' ? `the replica${hit.replica ? ` (${hit.replica})` : ''}` : hit.source === 'cache' ? 'the cache' : 'the search index';
      reports.push({
        line: range.line,
        endLine: range.endLine,
        functionName: name,
        confidence: hit.confidence,
        title: `${name} writes ${w.entity} with ${w.call}, then reads it back through ${hit.call} from ${from} and acts on the possibly stale value`,
        entity: w.entity,
        evidence,
        variant: 'distributed',
        facts: cleanFacts({
          table: /^[a-z_]+$/.test(w.entity) && /UPDATE|INSERT|DELETE/i.test(w.call) ? w.entity : undefined,
          model: /UPDATE|INSERT|DELETE/i.test(w.call) ? undefined : w.entity,
          writeCall: w.call,
          readCall: hit.call,
          staleSource: hit.source,
          replica: hit.replica,
          cacheKey: hit.cacheKey,
          orm: ormOf(fileText, v.family),
          actor: 'request',
          testFramework: testFrameworkHint(ctx.files, v.family),
        }),
      });
    }
  }
  return reports;
}

export default createDetector(
  {
    id: 'read-after-write-stale',
    failureMode: 'eventual_consistency',
    languages: ['typescript', 'tsx', 'javascript', 'python', 'go', 'ruby'],
    description: 'An entity is written, then read back from a replica, cache or search index, and the possibly stale value decides an action.',
    defaultSeverity: 'high',
    docs: 'docs/detectors/read-after-write-stale.md',
  },
  detect,
);
