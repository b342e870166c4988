/**
 * read-after-write-stale (eventual_consistency)
 *
 * Rule: in one flow, a function writes an entity to the primary (ORM update/save/create, SQL
 * INSERT/UPDATE/DELETE) and then reads the same entity back from a source that can lag behind the
 * write, and the value read decides what happens next (an `if`, a return, an email, a refund):
 * - a replica: `.using('replica')`, `using="replica"`, `$replica()`, a Rails `connected_to(role: :reading)` block, a `replica`/`reader`/`ro` pool or
 *   client, Sequelize `useMaster: false`, or a plain Django ORM read when the diff installs a database
 *   router whose `db_for_read` returns a non-default alias;
 * - a cache: `cache.get` / `redis.get` / `Rails.cache.fetch` keyed by the entity, or a getter
 *   (`getAccount`, `get_order`) whose body reads the cache, or, when its body is not in the diff, whose
 *   module shows a cache keyed by that entity (`redis.del(`account:${id}`)`, `ACCOUNT_TTL`);
 * - a search index: Elasticsearch / OpenSearch / Algolia / Meilisearch / Typesense `search`, `count`
 *   on a search client or with an `index:`, `index('x').search(`; after a database write, or after an
 *   index write (`es.index({ index })`, `saveObject`, `addDocuments`) that is not refreshed;
 * - a helper the flow calls whose body (anywhere in the diff) does one of the reads above; or, when its
 *   body is not in the diff, a same-object method named after the entity on an object that holds a
 *   replica handle, after a write through the primary handle (`s.primary.Exec(UPDATE seats…)` then
 *   `s.SeatMap(ctx)`), or a read-named method of a search service named after the entity.
 *
 * Search reads by model: Searchkick `Model.search` (the model declares `searchkick` in the diff, or the call
 * has Searchkick options), `Model.__elasticsearch__.search`, Chewy `XIndex.query/filter`, and
 * django-elasticsearch-dsl `XDocument.search()`.
 *
 * Across functions: a changed helper that reads the entity from the index or a replica and acts on it
 * itself (even when it writes afterwards) is reported on its read when a caller in the diff writes the entity
 * and then calls it, or enqueues it (a Rails/Sidekiq job's `perform` via `perform_later`/`perform_async`, a
 * Celery task via `.delay`/`.apply_async`). Ruby helpers called without parentheses count; a same-object helper
 * that queries a replica handle (a short `ro` field, or a field a declaration comment calls a replica) without
 * showing the table is a read back after a write through the primary handle (or a transaction opened on it).
 *
 * A Celery task enqueued from `transaction.on_commit(lambda: x.delay(rec.id))` after `rec.save()` counts, and it may read
 * from a cache: a getter of the diff serving a long-lived key nothing else in the diff clears, or a getter imported
 * from a cache-named module. Under GORM dbresolver, a repository read (`s.repo.Get(ctx, id)`) passed an id the
 * preceding write names is a replica read; an index-writing helper of the diff (no refresh) is an index write.
 *
 * Cache-aside fill: get → miss → primary read → set for more than ten minutes (or a Rails `cache.fetch`
 * block), while another function of the diff writes the entity and deletes the same key family, and a
 * money/stock/access decision calls the getter: a fill that read before the update and sets after the
 * delete keeps the old value for the TTL. A fill with no TTL needs only a caller the diff shows (none when the diff adds the set); a fill inline in a
 * route handler serves every request. Quiet for short TTLs, versioned keys, NX/lease/WATCH sets.
 *
 * Stays quiet when the read pins the primary (`.using('default')`, `select_for_update`), when the
 * cache key is deleted or set between the write and the read, when the index write is refreshed
 * (`refresh: true` / `'wait_for'`, `.wait()`, `waitForTask`, `indices.refresh`), when the flow uses
 * the row returned by the write, when a visible helper body reads the primary, and when the value read
 * is not used afterwards.
 *
 * Confidence: 0.9 for an explicit replica read; 0.85 for a read routed to the replica by a router in
 * the diff or a helper whose body reads the replica; 0.8 for a direct cache or search read, or a
 * getter/helper whose body reads the cache or the index; 0.7 when the getter's cache, or the helper's
 * replica/index read, is inferred from its module.
 */
import { createDetector, type DetectorContext, type DetectorReport } from './types.js';
import type { FunctionSpan, SourceFile } from '../parse/types.js';
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
  blockEnd,
  type FnView,
} from './lib/state.js';

interface Write {
  line: number;
  end: number;
  entity: string;
  call: string;
  /** The connection/client the write goes through (`s.primary`, `this.writer`), when visible. */
  handle?: string;
  /** The write goes to a search index (not the database): only a search read of that index can lag it. */
  index?: boolean;
  /** A GORM write: its chain text (for the ids it names), read back through a repository under dbresolver. */
  gorm?: string;
}

interface StaleRead {
  line: number;
  end: number;
  source: 'replica' | 'cache' | 'search';
  /** The helper the read goes through, when it is a call to a function of the diff (or a same-object method). */
  via?: string;
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
/** A state-changing method on a repository named after its entity; the generic verbs are JS_WRITE's. */
const REPO_WRITE_HINT = /(?:Repo|Repository|_repo|_repository)\s*\.\s*(?:cancel|mark|close|complete|approve|reject|confirm|archive|revoke|assign|book|reserve|release|settle|refund|expire|activate|deactivate|transition)/;
const REPO_WRITE = /((?:this\.|self\.)?[A-Za-z_]\w*?(?:Repo|Repository|_repo|_repository))\s*\.\s*((?:cancel|mark|close|complete|approve|reject|confirm|archive|revoke|assign|book|reserve|release|settle|refund|expire|activate|deactivate|transition)\w*)\s*\(/;
const JS_WRITE_HINT = /\.(?:update|create|insert|upsert|delete|destroy|save|increment|decrement)/;
const PY_WRITE_HINT = /\.(?:update|create|save|delete|bulk_update)/;

const REPLICA_NAME = /(?:replica|reader|read_?only|readonly|slave|secondary|follower|standby|analytics)/i;
const EXPLICIT_REPLICA =
  /\.using\(\s*['"]([\w-]+)['"]\s*\)|\busing\s*=\s*['"]([\w-]+)['"]|\$replica\(\)|\breadReplica\w*\b|\b(?:(?:replica|reader|ro|readOnly|read_only|readonly|follower|standby)(?:_?(?:Pool|Db|DB|Client|Conn|Engine|Session|pool|db|conn|client|engine|session))?|read_?(?:Pool|Db|DB|Conn|Client|pool|db|conn|client)|(?:db|pg|sql|pool|conn)_?(?:Replica|Reader|RO|Ro|Read|replica|reader|ro|read))\s*\.\s*(?:query|execute|get|Get|one|first|select|Select|findUnique|findFirst|findOne|findAll|oneOrNone|manyOrNone|any|many|QueryRow\w*|Query\w*|fetch\w*|\w+\.\w+)\b|\bconnected_to\([^)\n]{0,80}?\brole:\s*(?::(?:reading|reader|read_?only|\w*replica\w*)\b|(?:ActiveRecord(?:::Base)?\.)?reading_role\b)|\.using\(\s*:(\w*(?:replica|reader|read|slave|follower|secondary)\w*)\s*\)|useMaster:\s*false|\.read\(\s*['"](?:secondary|secondaryPreferred|nearest|s|sp|n)['"]|\b[rR]ead_?[pP]reference\s*(?:\(|:|=)\s*['"]?(?:secondary|secondaryPreferred|nearest|SECONDARY|SECONDARY_PREFERRED|NEAREST)\b|\bReadPreference\.(?:SECONDARY|SECONDARY_PREFERRED|NEAREST|Secondary|SecondaryPreferred|Nearest)\b|\breadpref\.(?:Secondary|SecondaryPreferred|Nearest)\(/;
/** A handle named as the primary/writer connection (`s.primary`, `this.writer`, `masterDb`). */
const PRIMARY_HANDLE = /(?:^|\.)(?:primary|writer|master|rw|write)(?:_?(?:Pool|Db|DB|Conn|Client|pool|db|conn|client))?$|(?:^|\.)(?:db|pg|sql|pool|conn)_?(?:Primary|Writer|Master|RW|Rw|primary|writer|master|rw)$/;
/** A replica/reader handle declared or used in a module (a struct field, a class property, a variable). */
const REPLICA_HANDLE =
  /\b(?:[rR]eplica|[rR]eadReplica|[rR]eadOnly|read_only|[fF]ollower|[sS]tandby|[rR]eader)(?:_?(?:Pool|Db|DB|Conn|Client|Engine|pool|db|conn|client|engine))?\s*(?:\*?\s*(?:sql|sqlx|pgxpool|gorm|pg|knex)\.|:\s*\*?\s*[A-Z]\w*|=[^=])|\bro\s+\*?\s*(?:sql|sqlx|pgxpool|gorm|pg)\.|\b(?:[rR]ead|[rR]o)_?(?:Pool|Db|DB|Conn|Client|pool|db|conn|client)\b|\b(?:db|pg|sql|pool|conn)_?(?:Replica|Reader|RO|Ro|Read|replica|reader|ro)\b/;
const CACHE_READ = /\b([\w$.]*(?:cache|redis|memcache|memcached|kv|Cache|Redis))\s*\.\s*(get|hget|hgetall|mget|fetch|read|getex|getJSON|get_many)\s*\(\s*([^)\n]{0,160})/;
const CACHE_CLEAR = /\.indices\.refresh\(|\bwaitForTasks?\(|\bwait_for_task\(|\b[\w$.]*(?:cache|redis|memcache|kv|Cache|Redis)\w*\s*\.\s*(?:del|delete|delete_many|unlink|expire|invalidate|evict|clear|set|setex|hset|write|put|delete_matched)\s*\(|\binvalidate\w*\(|\bevict\w*\(|\bbust\w*\(/;
/** A search method call; its receiver chain is checked by searchCall (a scan, not one regex, to stay linear). */
const SEARCH_METHOD = /\.\s*(search|msearch|searchForHits|multiSearch|count)\s*\(/g;
/** A receiver chain ending in a search client's name (`es`, `this.elastic`, `productsIndex`, `algolia`). */
const SEARCH_RECV = /(?:elastic\w*|opensearch\w*|search\w*|es|index|algolia\w*|meili\w*|typesense\w*)$/i;
/** `count` only counts as a search on a client named as one (a plain `repo.count` is a database read). */
const SEARCH_COUNT_RECV = /^(?:es|esClient|elastic\w*|opensearch\w*|[sS]earch\w*|\w+Search\w*|algolia\w*|meili\w*|typesense\w*)$/;

/** The first search call of a text (`es.search(`, `this.search.count(`), as `receiver.method`. */
function searchCall(text: string): string | undefined {
  for (const m of text.matchAll(SEARCH_METHOD)) {
    let j = m.index;
    const stop = Math.max(0, m.index - 200);
    while (j > stop && /[\w$.]/.test(text[j - 1]!)) j--;
    const recv = text.slice(j, m.index);
    if (!recv || /^\./.test(recv)) continue;
    const last = recv.slice(recv.lastIndexOf('.') + 1);
    if (m[1] === 'count' ? SEARCH_COUNT_RECV.test(last) : SEARCH_RECV.test(recv)) return `${recv}.${m[1]}`;
  }
  return undefined;
}
/**
 * A search-index read by model (Rails, Django): Searchkick `Permit.search(…)`, elasticsearch-model
 * `Permit.__elasticsearch__.search(…)`, Chewy `PermitsIndex.query(…)` / `.filter(…)`, django-elasticsearch-dsl
 * `PermitDocument.search()`. A bare `Model.search(` counts only when the diff indexes that model (`searchkick`,
 * `include Elasticsearch::Model`) or the call has Searchkick's options; pg_search/ransack scopes read the database.
 */
const MODEL_SEARCH = /\b([A-Z]\w*)(\.__elasticsearch__)?\.(search|query|filter)\b(?![_?!])/;
const SEARCHKICK_ARGS = /\bwhere:|\bload:\s*false|\bfields:|\bmisspellings:|\bbody_options:|\(\s*["']\*["']/;

function modelSearch(t: string, stmt: () => string, family: string, files: readonly SourceFile[]): { call: string; model: string } | undefined {
  if (family !== 'ruby' && family !== 'python') return undefined;
  const m = MODEL_SEARCH.exec(t);
  if (!m) return undefined;
  const [, name, es, method] = m;
  const call = `${name}${es ?? ''}.${method}`;
  if (family === 'ruby' && /.Index$/.test(name!)) return { call, model: name!.slice(0, -5) };
  if (family === 'python') return /.Document$/.test(name!) && method === 'search' ? { call, model: name!.slice(0, -8) } : undefined;
  if (method !== 'search') return undefined;
  if (es || indexedModels(files).has(name!) || SEARCHKICK_ARGS.test(stmt())) return { call, model: name! };
  return undefined;
}

const indexedCache = new WeakMap<readonly SourceFile[], Set<string>>();

/** Ruby models the diff puts in a search index (`searchkick`, `include Elasticsearch::Model`, `update_index`). */
function indexedModels(files: readonly SourceFile[]): Set<string> {
  let set = indexedCache.get(files);
  if (set) return set;
  set = new Set();
  for (const f of files) {
    if (f.language !== 'ruby') continue;
    let cls: string | undefined;
    for (const line of f.lines) {
      const c = /^\s*class\s+([A-Z]\w*)/.exec(line);
      if (c) cls = c[1];
      else if (cls && /^\s*(?:searchkick\b|include\s+Elasticsearch::Model\b|update_index\b)/.test(line)) set.add(cls);
    }
  }
  indexedCache.set(files, set);
  return set;
}

/** An Elasticsearch/OpenSearch call on any client that names its index: `client.count({ index: 'x', … })`. */
const INDEXED_CALL = /\.(search|msearch|count)\(\s*(?:\{[^}]{0,300}?\bindex\s*:|index\s*=)/;
/** Index names a text shows: `index: 'x'`, `index="x"`, `initIndex('x')`, `.index('x')`, `collections('x')`, or a constant. */
const INDEX_NAME = /\bindex\s*[:=]\s*['"`]([\w-]+)|initIndex\(\s*['"`]([\w-]+)|\.index\(\s*['"`]([\w-]+)|\.collections\(\s*['"`]([\w-]+)|\bindex\s*[:=]\s*(?:this\.|self\.)?([A-Za-z_]\w*)/g;
/** A write to a search index: ES/OpenSearch `index`/`update`/`bulk` with an index, Algolia `saveObject(s)`, Meilisearch `addDocuments`. */
const INDEX_WRITE = /\.(index|update|bulk|updateByQuery|deleteByQuery)\(\s*\{[^}]{0,300}?\bindex\s*:|\.(index|update|bulk)\(\s*index\s*=|\.(saveObjects?|partialUpdateObjects?|addDocuments|updateDocuments|addDocumentsInBatches)\(/;
const INDEX_WRITE_HINT = /\.(?:index|update|bulk|updateByQuery|deleteByQuery|saveObjects?|partialUpdateObjects?|addDocuments|updateDocuments|addDocumentsInBatches)\(/;
/** The index write is visible to searches when it returns (or is waited for). */
const INDEX_REFRESHED = /\brefresh\s*[:=]\s*(?:true|True|['"](?:true|wait_for)['"])|\.wait\(\)|waitForTask|waitForTasks|\bwait_for_task\b|\bsearch_index\.refresh\b|\.refresh_index!|\b_index\.refresh\(|\.indices\.refresh\(|\.reindex\(\s*(?:refresh:\s*true|mode:\s*:inline)/;

function writesOf(v: FnView, fileText: string, files: readonly SourceFile[]): Write[] {
  const out: Write[] = [];
  for (let l = v.fn.startLine; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    let entity: string | undefined;
    let call: string | undefined;
    let m: RegExpExecArray | null;
    if ((v.family === 'js' || v.family === 'python') && INDEX_WRITE_HINT.test(t) && INDEX_WRITE.test(statementAt(v, l, 8).text)) {
      // A write to a search index: only a later search of that index can miss it, unless it is refreshed.
      const stmt = statementAt(v, l, 12);
      const w = INDEX_WRITE.exec(stmt.text)!;
      if (INDEX_REFRESHED.test(stmt.text)) {
        l = stmt.endLine;
        continue;
      }
      const name = indexNames(stmt.text)[0] ?? indexNames(fileText)[0];
      if (name) out.push({ line: l, end: stmt.endLine, entity: name, call: `.${w[1] ?? w[2] ?? w[3]}`, index: true });
      l = stmt.endLine;
      continue;
    }
    if (SQL_WRITE.test(t) || (/\bUPDATE\s+["`]?\w+["`]?(?:\s+(?:AS\s+)?\w+)?\s*$/i.test(t) && /^\s*SET\b/i.test(codeLine(v, l + 1)))) {
      const joined = `${t} ${codeLine(v, l + 1).trim()}`;
      const tables = sqlTables(joined).written;
      // `UPDATE slots s SET …`: an alias between the table and SET.
      entity = tables[0] ?? /\bUPDATE\s+["`]?(\w+)["`]?\s+(?:AS\s+)?\w+\s+SET\b/i.exec(joined)?.[1];
      call = /\b(?:UPDATE\s+["`]?\w+["`]?(?:\s+(?:AS\s+)?\w+)?\s+SET|INSERT\s+INTO\s+["`]?\w+|DELETE\s+FROM\s+["`]?\w+)/i.exec(joined)?.[0];
    } else if (v.family === 'js' && JS_WRITE_HINT.test(t) && (m = JS_WRITE.exec(t))) {
      if (/\b(?:cache|redis|res|reply|Object|Map|Set|crypto|hash|hmac)\b/i.test(m[1]!) || /\.(?:set|map)$/.test(m[1]!)) continue;
      const recv = m[1]!.replace(/(?:\.\w+\([^)\n]{0,200}\))+$/, '');
      // A Knex table call on a field (`this.db('kennels')`, `this.knex('t')`): the table it names.
      entity = entityOfReceiver(recv, fileText) ?? fieldEntity(recv, fileText) ?? /^(?:this|self)\.[\w$]+\(\s*['"](\w+)['"]\s*\)/.exec(m[1]!)?.[1];
      call = `${m[1]!.replace(/\([^)\n]{0,200}\)/g, '(…)')}.${m[2]}`;
    } else if (v.family === 'python' && (m = SA_WRITE.exec(t))) {
      entity = m[2] ?? m[3];
      call = m[2] ? `${m[1]}(${m[2]})` : `${m[3]}.__table__.${m[4]}`;
    } else if (v.family === 'python' && t.includes('.add') && (m = SA_ADD.exec(t))) {
      entity = m[2] ?? pyLoaded(v, m[3]!, l, true);
      call = `${m[1]}.add`;
    } else if (v.family === 'python' && t.includes('=') && (m = PY_ATTR_SET.exec(t)) && PY_COMMITS.test(v.code)) {
      entity = m[1] ?? pyLoaded(v, m[2]!, l, false);
      call = `${t.trim().replace(/\s*=.*$/, '')} = …`;
    } else if (v.family === 'go' && (GORM_WRITE_HINT.test(t) || GORM_WRITE_CONT.test(t)) && (m = GORM_WRITE.exec(t) ?? goChainWrite(v, l, t)) && (fileText.includes('gorm') || gormResolver(files))) {
      // Also a chain broken over lines: `s.db.WithContext(ctx).` / `Model(&T{}).` / `Update("col", v)`.
      const chain = goChain(v, l).text.replace(/\.\s*\n\s*/g, '.');
      entity = /\.Model\(/.test(chain) ? goModelOf(v, chain, undefined) : m[2] ? m[2] : m[3] ? goVarType(v, m[3]) : undefined;
      call = `.${m[1]}`;
      if (entity && call) {
        out.push({ line: l, end: statementAt(v, l, 12).endLine, entity, call, handle: handleOf(v, l), gorm: chain });
        continue;
      }
    } else if ((v.family === 'js' || v.family === 'python') && t.includes('(') && indexWriters(files).size > 0) {
      // A helper of the diff that writes the index without a refresh (`await indexTerm(term)`).
      const hw = indexHelperCall(t, files);
      if (hw) {
        out.push({ line: l, end: statementAt(v, l, 8).endLine, entity: hw.index, call: hw.name, index: true });
        continue;
      }
    } else if ((v.family === 'js' || v.family === 'python') && REPO_WRITE_HINT.test(t) && (m = REPO_WRITE.exec(t))) {
      // A state-changing method of the entity's repository (`orderRepo.cancel(id)`, `self.order_repo.mark_paid(…)`).
      entity = entityOfReceiver(m[1]!);
      call = `${m[1]}.${m[2]}`;
    } else if (v.family === 'python' && PY_WRITE_HINT.test(t) && (m = PY_WRITE.exec(t))) {
      if (/\b(?:cache|redis|form|serializer|dict|self\.request)\b/.test(m[1]!)) continue;
      entity = entityOfReceiver(m[1]!) ?? /\b([A-Z]\w*)\.objects/.exec(m[1]!)?.[1];
      if (!entity && m[2] === 'save') entity = holderModel(v, m[1]!.split('.')[0]!, l);
      call = `${m[1]!.replace(/\([^)\n]{0,200}\)/g, '(…)')}.${m[2]}`;
    } else if (v.family === 'ruby' && (m = RB_WRITE.exec(t))) {
      entity = /^([A-Z]\w*)/.exec(m[1]!)?.[1] ?? holderModel(v, m[1]!.replace(/^@/, ''), l) ?? namedModel(m[1]!, fileText) ?? paramModel(v, m[1]!, fileText);
      call = `${m[1]}.${m[2]}`;
    } else if (v.family === 'ruby' && (m = RB_CHAIN_WRITE.exec(t))) {
      // A scope chain broken over lines: `Model.where(…)` / `.where(…)` / `.update_all(…)`.
      const head = rubyChainHead(v, l);
      entity = head && /^(?:[\w@]+\s*=\s*)?([A-Z]\w*)(?:\.|$)/.exec(head)?.[1];
      call = entity ? `${entity}.${m[1]}` : undefined;
    }
    if (!entity || !call) continue;
    const stmt = statementAt(v, l, 12);
    out.push({ line: l, end: stmt.endLine, entity, call, handle: handleOf(v, l) });
  }
  return out;
}

/** A line that continues a Ruby scope chain with a write: `  .update_all(…)`. */
const RB_CHAIN_WRITE = /^\s*\.(update_all|delete_all|destroy_all|update_columns?|update!?|increment!|decrement!|touch_all|upsert_all|insert_all!?)(?=[\s(]|$)/;

/** The first line of the Ruby method chain that `line` continues (the lines above that start with `.` belong to it). */
function rubyChainHead(v: FnView, line: number): string | undefined {
  for (let k = line - 1; k >= Math.max(v.fn.startLine, line - 8); k--) {
    const t = codeLine(v, k).trim();
    if (!t) return undefined;
    if (!t.startsWith('.')) return t;
  }
  return undefined;
}

/** The model a local holds, from `x = Model.objects.get(…)` / `x = Model.find(…)` earlier in the function. */
function holderModel(v: FnView, holder: string, before: number): string | undefined {
  const assign = new RegExp(`^\\s*@?${escapeRe(holder)}\\s*=\\s*(.+)$`);
  for (let l = before - 1; l >= v.fn.startLine; l--) {
    const m = assign.exec(codeLine(v, l));
    if (!m) continue;
    const rhs = m[1]!;
    const model = /^(?:get_object_or_404\(\s*)?([A-Z]\w*)/.exec(rhs);
    if (model) return model[1];
    // Through an association: `@permit = current_account.permits.find(id)`, `order.line_items.find_by!(…)`.
    const assoc = /^[a-z_@][\w.]*?\.([a-z_]+)\.(?:find|find_by!?|find_by_\w+|where|lock|first!?|last!?|take!?|get)\b/.exec(rhs);
    if (assoc && /s$/.test(assoc[1]!)) return camelSingular(assoc[1]!);
    return undefined;
  }
  return undefined;
}

/** A Ruby holder named after a model the file names (`coupon.update!` beside `Coupon.search`): that model. */
function namedModel(holder: string, fileText: string): string | undefined {
  const h = holder.replace(/^@/, '');
  if (!/^[a-z][a-z0-9_]*$/.test(h)) return undefined;
  const model = h.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return new RegExp(`\\b${model}(?:\\.|::)`).test(fileText) ? model : undefined;
}

/**
 * A Ruby instance variable set from a constructor argument of the same name (`@parcel = parcel`) and written
 * with an ORM call: the model it is named after (`Episode`).
 */
function paramModel(v: FnView, holder: string, fileText: string): string | undefined {
  const h = /^@([a-z][a-z0-9_]*)$/.exec(holder)?.[1];
  if (!h || v.family !== 'ruby') return undefined;
  if (!new RegExp(`^\\s*@${h}\\s*=\\s*${h}\\s*$`, 'm').test(fileText)) return undefined;
  return camelSingular(h);
}

/** `line_items` -> LineItem, `permits` -> Permit. */
function camelSingular(name: string): string {
  // `passes`, `boxes`, `batches`, `wishes` drop `es`; `permits` drops `s`; `addresses` keeps its double s.
  const one = name.replace(/ies$/, 'y').replace(/(?<=(?:ss|x|z|ch|sh))es$/, '').replace(/(?<=[^s])s$/, '');
  return one.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The entity a class field holds: `@InjectRepository(Ticket) private tickets: Repository<Ticket>`, `Model<OrderDocument>`. */
function fieldEntity(receiver: string, fileText: string): string | undefined {
  const name = /^(?:this\.)?([\w$]+)$/.exec(receiver.trim())?.[1];
  if (!name || !fileText.includes(name)) return undefined;
  const e = escapeRe(name);
  const typed = new RegExp(`\\b${e}\\s*[?!]?\\s*:\\s*(?:Repository|Model|EntityRepository|MongoRepository|TreeRepository|ModelStatic|ModelCtor)<\\s*(\\w+?)(?:Document|Doc|Entity)?\\s*>`).exec(fileText);
  if (typed) return typed[1];
  const injected = new RegExp(`@Inject(?:Repository|Model)\\(\\s*(\\w+?)(?:\\.name)?\\s*\\)\\s*(?:(?:private|public|protected|readonly)\\s+)*${e}\\b`).exec(fileText);
  return injected?.[1];
}

/** The connection a write at `line` goes through: the receiver of the query call opening its statement. */
function handleOf(v: FnView, line: number): string | undefined {
  for (let l = line; l >= Math.max(v.fn.startLine, line - 4); l--) {
    const m = /([\w$]+(?:\.[\w$]+)*)\.(?:Exec|Query|query|execute|none|one|oneOrNone|any|many|result|raw|\$executeRaw\w*|\$queryRaw\w*|exec)\w*\s*\(/.exec(codeLine(v, l));
    if (m) return /^(?:tx|trx|t)$/.test(m[1]!) ? (txSource(v, l) ?? m[1]) : m[1];
  }
  return undefined;
}

/** The pool a transaction handle was opened on: `pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx)…`, `tx, err := s.primary.Begin(ctx)`. */
function txSource(v: FnView, line: number): string | undefined {
  for (let l = line; l >= Math.max(v.fn.startLine, line - 30); l--) {
    const t = codeLine(v, l);
    if (!t.includes('egin') && !t.includes('ransaction')) continue;
    const m = /\bBegin\w*\(\s*\w+\s*,\s*(?!nil\b)([\w$]+(?:\.[\w$]+)*)\s*[,)]/.exec(t) ?? /([\w$]+(?:\.[\w$]+)*)\.(?:Begin|BeginTx|BeginFunc|Transaction|transaction)\s*\(/.exec(t);
    if (m) return m[1];
  }
  return undefined;
}

/** Search index names a text shows, in order. */
function indexNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(INDEX_NAME)) {
    const n = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
    if (n && !/^(?:true|false|null|undefined|None|nil)$/.test(n)) out.push(n);
  }
  return out;
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
  const text = stripComments(ctx.file.text, familyOf(ctx.file.language));
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
/** A call on a line: `recv.name(`; `norm` is the normalised name and receiver tail, filled on first use. */
interface Call {
  recv: string;
  name: string;
  /** A Ruby call without parentheses. */
  bare?: boolean;
  norm?: string;
}

interface Site {
  line: number;
  /** The explicit replica read of the statement starting here; `dead` when its alias is not a replica. */
  replica?: { alias: string | undefined; call: string; dead: boolean; read?: ReadNames };
  router?: { model: string | undefined; call: string; replica: string };
  cache?: { call: string; key: string };
  getter?: { name: string; ent: string };
  search?: { call: string; index: string | undefined };
  /** Calls on the line that may reach a lagging source inside their body (resolved lazily). */
  calls?: Call[];
  stmt?: { text: string; endLine: number };
  holder?: string | null;
  /** A block read (`connected_to(role: :reading) do`, `with replica_session() as s:`): the value it assigns inside. */
  inner?: { holder: string; end: number };
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
const CACHE_CLEAR_HINT = /cache|redis|kv|Cache|Redis|invalidate|evict|bust|refresh|wait/;
/** Implied by every searchCall / INDEXED_CALL / SEARCH_CHAIN match. */
const SEARCH_HINT = /search|count/i;
/** Meilisearch / Typesense chains: `client.index('products').search(`, `collections('products').documents().search(`. */
const SEARCH_CHAIN = /\.(?:index|initIndex|collections)\(\s*['"`][\w-]+['"`]\s*\)(?:\.documents\(\s*\))?\s*\.\s*search\(/;
/** A call `recv.name(` / `name(` whose body may read a lagging source. */
const CALL = /(?:^|[^\w$.])((?:[\w$]+\.){0,3})([A-Za-z_$][\w$]*)\s*\(/g;
const NOT_HELPER = /^(?:if|for|while|switch|catch|return|function|await|async|typeof|new|super|require|import|len|append|make|print|println|Printf|Sprintf|Errorf|Error|Is|As|New|JSON|String|Number|Boolean|Array|Object|Promise|Date|Math|map|filter|reduce|forEach|push|then|catch|finally|emit|send|log|info|warn|debug|error|query|execute|exec|Exec\w*|Query\w*|get|set|update|create|save|delete|find\w*|count|search|where|select|insert|include\w*|has|includes|parse|stringify|toString|json|status|min|max|sum|range|int|str|float|list|dict|tuple|isinstance|raise|assert|puts|p|lambda)$/;
/** A bare lowercase name in Ruby code (not a method call on a receiver, a symbol, a key or an assignment target). */
const RB_BARE_CALL = /(?<![\w@.:$"'])([a-z_][a-z0-9_]*[?!]?)(?![\w(:]|\s*(?:=[^=~>]|\+=|-=|\|\|=))/g;
const HOLDER = /^\s*(?:const|let|var)?\s*(?:\{[^}]*\}|\[[^\]]*\]|@?([\w$]+))\s*(?::\s*[\w<>[\]|, ]{1,60})?\s*:?=\s*(?!=)/;

const readsCache = new WeakMap<FnView, Reads>();

function readsOf(v: FnView, router: string | undefined, fileText: string, files: readonly SourceFile[]): Reads {
  let r = readsCache.get(v);
  if (r) return r;
  const n = v.codeLines.length;
  const clear = new Uint8Array(n);
  const sites: (Site | undefined)[] = new Array(n);
  // A statement matches EXPLICIT_REPLICA only where the function's code does (it is a slice of it, cut at line ends).
  const replicaPossible = EXPLICIT_REPLICA.test(v.code) || (declaredReplicaRead(fileText)?.test(v.code) ?? false);
  for (let i = 0; i < n; i++) {
    const t = v.codeLines[i]!;
    if (!t.trim()) continue;
    if (CACHE_CLEAR_HINT.test(t) && (CACHE_CLEAR.test(t) || INDEX_REFRESHED.test(t))) {
      clear[i] = 1;
      continue;
    }
    sites[i] = siteAt(v, v.fn.startLine + i, t, router, fileText, replicaPossible, files);
  }
  const next = new Int32Array(n + 1);
  next[n] = n;
  for (let i = n - 1; i >= 0; i--) next[i] = clear[i] || sites[i] ? i : next[i + 1]!;
  r = { clear, sites, next };
  readsCache.set(v, r);
  return r;
}

function siteAt(v: FnView, l: number, t: string, router: string | undefined, fileText: string, replicaPossible: boolean, files: readonly SourceFile[]): Site | undefined {
  const site: Site = { line: l };
  let any = false;
  let m: RegExpExecArray | null;
  if (replicaPossible) {
    site.stmt = statementAt(v, l, 8);
    if ((m = EXPLICIT_REPLICA.exec(site.stmt.text) ?? declaredReplicaRead(fileText)?.exec(site.stmt.text) ?? null)) {
      const alias = m[1] ?? m[2] ?? m[3];
      // Rails `connected_to(role: :reading) do … end`: the block's queries are the read.
      if (v.family === 'ruby' && /\bconnected_to\b/.test(m[0]) && /(?:\bdo|\{)\s*(?:\|[^|\n]*\|)?\s*$/.test(t)) {
        const end = blockEnd(v, l);
        const parts: string[] = [];
        for (let k = l; k <= end; k++) parts.push(codeLine(v, k));
        site.stmt = { text: parts.join('\n'), endLine: end };
        if (!HOLDER.test(t)) site.inner = blockHolder(v, l, end);
      }
      site.replica = { alias, call: m[0], dead: alias !== undefined && alias !== '' && !REPLICA_NAME.test(alias) };
      return site;
    }
  }
  if (v.family === 'python' && t.includes('with') && (m = PY_WITH.exec(t)) && replicaFactory(m[1]!, m[2]!, fileText)) {
    // `with replica_session() as s:` (or a repository's session factory that defaults to a replica): the block reads it.
    const end = blockEnd(v, l);
    const parts: string[] = [];
    for (let k = l; k <= end; k++) parts.push(codeLine(v, k));
    site.stmt = { text: parts.join('\n'), endLine: end };
    site.inner = blockHolder(v, l, end);
    site.replica = { alias: undefined, call: `${m[1]}()`, dead: false };
    return site;
  }
  if (v.family === 'go' && gormResolver(files) && GORM_READ.test(t) && (m = GORM_READ.exec(t))) {
    const chain = goChain(v, l);
    if (!/dbresolver\.Write|\bClauses\(\s*dbresolver\.Write/.test(chain.text) && !/^\s*(?:\w+\s*(?:,\s*\w+)?\s*:?=\s*)?(?:if\s+\w+\s*:=\s*)?(?:tx|trx|t)\./.test(chain.head)) {
      const model = goModelOf(v, chain.text, m[2]);
      if (model) {
        site.router = { model, call: `.${m[1]}`, replica: 'dbresolver replica' };
        if (m[2]) site.holder = m[2];
        any = true;
      }
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
  if ((v.family === 'ruby' || v.family === 'python') && (m = MODEL_SEARCH.exec(t))) {
    const ms = modelSearch(t, () => (site.stmt ??= statementAt(v, l, 8)).text, v.family, files);
    if (ms) {
      site.search = { call: ms.call, index: ms.model };
      return site;
    }
  }
  if (SEARCH_HINT.test(t) && !/\bURLSearchParams|\.location\b|\bre\.search\b/.test(t)) {
    let call: string | undefined;
    if ((m = SEARCH_CHAIN.exec(t))) call = m[0].replace(/\($/, '');
    else if ((call = searchCall(t))) {
      // a search client's search/count
    }
    else if (/\.(?:search|msearch|count)\(/.test(t)) {
      const stmt = (site.stmt ??= statementAt(v, l, 8));
      if ((m = INDEXED_CALL.exec(stmt.text))) call = m[0].replace(/\(.*$/s, '');
    }
    if (call) {
      const stmt = (site.stmt ??= statementAt(v, l, 8));
      site.search = { call, index: indexNames(stmt.text)[0] ?? indexDeclName(fileText) };
      any = true;
    }
  }
  // Ruby calls a private method without parentheses (`build(feed_items)`): a bare name the diff defines with `def`.
  if (v.family === 'ruby') {
    const defs = definitions(files);
    for (const c of t.matchAll(RB_BARE_CALL)) {
      const name = c[1]!;
      if (NOT_HELPER.test(name) || !defs.has(name) || /^\s*def\s/.test(t)) continue;
      (site.calls ??= []).push({ recv: '', name, bare: true });
      any = true;
    }
  }
  if (t.includes('(')) {
    for (const c of t.matchAll(CALL)) {
      const name = c[2]!;
      if (NOT_HELPER.test(name) || /^[A-Z]\w*$/.test(name) && !c[1]) continue;
      (site.calls ??= []).push({ recv: (c[1] ?? '').replace(/\.$/, ''), name });
      any = true;
    }
  }
  return any ? site : undefined;
}

/** Python `with factory(args) as s:` / `with factory().begin() as s:`: a session block. */
const PY_WITH = /^\s*(?:async\s+)?with\s+([\w.]+)\s*\(([^()\n]{0,120})\)(?:\s*\.\s*begin\(\s*\))?\s+as\s+\w+/;

/**
 * Whether a session factory opens a replica: it is named as one (`replica_session`, `ReadOnlySession`,
 * `Session(replica_engine)`), or it is a field (`self._sessions`) set from a replica-named value or from a
 * constructor parameter that defaults to one (`sessions: sessionmaker = ReplicaSession`).
 */
function replicaFactory(name: string, args: string, fileText: string): boolean {
  const bare = name.replace(/^self\./, '');
  if (REPLICA_NAME.test(bare) || (args.trim() !== '' && REPLICA_NAME.test(args) && !/\b(?:primary|writer|master)\b/i.test(args))) return true;
  if (!name.startsWith('self.') || !/^\w+$/.test(bare)) return false;
  const rhs = new RegExp(`\\bself\\.${escapeRe(bare)}\\s*(?::[^=\\n]{1,80})?=\\s*([\\w.]+)`).exec(fileText)?.[1];
  if (!rhs) return false;
  if (REPLICA_NAME.test(rhs)) return true;
  if (!/^\w+$/.test(rhs)) return false;
  const dflt = new RegExp(`[(,]\\s*${escapeRe(rhs)}\\s*(?::[^=,)\\n]{1,80})?=\\s*([\\w.]+)`).exec(fileText)?.[1];
  return dflt !== undefined && REPLICA_NAME.test(dflt);
}

/** The first value a block assigns (`licence = DogLicence.find(id)`, `rows = s.execute(…)`) and where its statement ends. */
function blockHolder(v: FnView, from: number, end: number): { holder: string; end: number } | undefined {
  for (let k = from + 1; k <= end; k++) {
    const a = /^\s*@?([A-Za-z_]\w*)\s*=\s*(?![=~>])/.exec(codeLine(v, k));
    if (a) return { holder: a[1]!, end: statementAt(v, k, 8).endLine };
  }
  return undefined;
}

const resolverCache = new WeakMap<readonly SourceFile[], boolean>();

/** GORM's dbresolver plugin registered with replicas in the diff: plain Find/First reads go to a replica. */
function gormResolver(files: readonly SourceFile[]): boolean {
  let hit = resolverCache.get(files);
  if (hit === undefined) {
    hit = files.some((f) => f.language === 'go' && f.text.includes('dbresolver.Register(') && /\bReplicas\s*:/.test(f.text));
    resolverCache.set(files, hit);
  }
  return hit;
}

/** A GORM read into a variable: `.Find(&out)`, `.First(&x, id)`, `.Pluck("col", &ids)`, `.Count(&n)`. */
const GORM_READ = /(?:\.|^\s*)(Find|First|Take|Last|Scan|Pluck|Count)\(\s*(?:[^,()\n]*,\s*)?&(\w+)/;
/** A GORM write: `.Create(&x)`, `.Save(&x)`, `.Model(&T{}).Update(…)`, `.Delete(&T{}, id)`. */
const GORM_WRITE = /\.(Create|Save|Updates|Update|UpdateColumns?|Delete|FirstOrCreate)\(\s*(?:&?(\w+)\s*\{|&(\w+)\b)?/;
const GORM_WRITE_HINT = /\.(?:Create|Save|Update|Delete|FirstOrCreate)/;
/** A line continuing a GORM chain with its write: `\t\tUpdate("expires_on", …)` below a line ending in `.`. */
const GORM_WRITE_CONT = /^\s*(?:Create|Save|Updates|Update|UpdateColumns?|Delete|FirstOrCreate)\(/;

function goChainWrite(v: FnView, l: number, t: string): RegExpExecArray | null {
  if (l <= v.fn.startLine || !/\.\s*$/.test(codeLine(v, l - 1))) return null;
  return GORM_WRITE.exec(`.${t.trimStart()}`);
}

/** GORM read methods a repository exposes (`repo.Get(ctx, id)`, `store.FindByID`, `permits.Load`). */
const GO_REPO_READ = /^(?:Get|Find|Load|Fetch|Lookup|Read|By)[A-Z]?\w*$/;
/** A repository-like receiver: `s.repo`, `s.permits`, `svc.store`, `h.permitRepo`. */
const GO_REPO_RECV = /(?:^|\.)(?:\w*(?:[rR]epo|[rR]epository|[sS]tore|[dD]ao|DAO)|[a-z]\w*s)$/;

/**
 * Under GORM's dbresolver (registered in the diff), a repository read the flow calls right after a GORM write of
 * the same entity, outside a transaction: `permit, err := s.repo.Get(ctx, permitID)` after
 * `s.db.Model(&Permit{}).Where("id = ?", permitID).Update(…)`. Its body (not in the diff, or a plain GORM read in
 * it) goes to a replica. The call must pass an id the write names, and the value or the repository be named after
 * the entity.
 */
function resolverRepoRead(v: FnView, s: Site, c: Call, w: Write, files: readonly SourceFile[]): Omit<StaleRead, 'line' | 'end' | 'holder'> | undefined {
  if (v.family !== 'go' || !w.gorm || !gormResolver(files) || !c.recv || !GO_REPO_READ.test(c.name)) return undefined;
  if (/^(?:tx|trx|t)(?:\.|$)/.test(c.recv) || !GO_REPO_RECV.test(c.recv)) return undefined;
  const t = codeLine(v, s.line);
  const at = t.indexOf(`${c.recv}.${c.name}(`);
  if (at < 0) return undefined;
  const args = firstArgs(t, at + c.recv.length + c.name.length + 1);
  const ids = args.filter((a) => /^[A-Za-z_]\w*(?:\.\w+)?$/.test(a) && !/^(?:ctx|context|nil|true|false)$/.test(a));
  if (!ids.some((a) => new RegExp(`(?<![\\w.])${escapeRe(a)}(?![\\w])`).test(w.gorm!))) return undefined;
  const holder = /^\s*(\w+)\s*(?:,\s*\w+\s*)?:?=/.exec(t)?.[1];
  const recvTail = c.recv.slice(c.recv.lastIndexOf('.') + 1);
  const named = sameEntity(holder, w.entity) || sameEntity(recvTail, w.entity) || normEntity(recvTail).startsWith(normEntity(w.entity)) || normEntity(c.name).includes(normEntity(w.entity));
  if (!named) return undefined;
  // A body the diff shows must read through GORM without pinning the primary.
  const defs = definitions(files).get(c.name);
  const complete = defs?.filter((d) => d.complete && d.file.language === 'go') ?? [];
  if (complete.length > 0 && !complete.some((d) => GORM_READ.test(d.body) && !/dbresolver\.Write/.test(d.body))) return undefined;
  return { source: 'replica', call: `${c.recv}.${c.name}`, via: c.name, confidence: 0.75, replica: 'dbresolver replica' };
}

/** The top-level comma-separated arguments of the call whose `(` is at `open`. */
function firstArgs(text: string, open: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let from = open + 1;
  for (let i = open + 1; i < text.length && i < open + 400; i++) {
    const ch = text[i]!;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) {
        out.push(text.slice(from, i).trim());
        return out;
      }
      depth--;
    } else if (ch === ',' && depth === 0) {
      out.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  return out;
}

/** A Go method chain ending at `line` (the lines above that end with `.` belong to it). */
function goChain(v: FnView, line: number): { head: string; text: string } {
  let k = line;
  while (k > v.fn.startLine && k > line - 8 && /\.\s*$/.test(codeLine(v, k - 1))) k--;
  const parts: string[] = [];
  for (let j = k; j <= line; j++) parts.push(codeLine(v, j));
  return { head: parts[0]!, text: parts.join('\n') };
}

/** The model a GORM chain works on: `.Model(&T{})`, `.Model(&x)`, `.Table("t")`, or the type of the variable it fills. */
function goModelOf(v: FnView, chain: string, varName: string | undefined): string | undefined {
  let m = /\.Model\(\s*&?(?:\w+\.)?([A-Z]\w*)\s*\{/.exec(chain);
  if (m) return m[1];
  m = /\.Model\(\s*&?(\w+)\s*\)/.exec(chain);
  if (m) return goVarType(v, m[1]!);
  m = /\.Table\(\s*"(\w+)"/.exec(chain);
  if (m) return m[1];
  return varName ? goVarType(v, varName) : undefined;
}

/** The struct type of a Go variable: `var x []T`, `x := T{…}`, `x := &pkg.T{…}`, a parameter `x T` / `x *T`. */
function goVarType(v: FnView, name: string): string | undefined {
  const e = escapeRe(name);
  const m =
    new RegExp(`\\bvar\\s+${e}\\s+(?:\\[\\])?\\*?(?:\\w+\\.)?([A-Z]\\w*)`).exec(v.code) ??
    new RegExp(`\\b${e}\\s*:?=\\s*&?(?:\\[\\])?(?:\\w+\\.)?([A-Z]\\w*)\\s*\\{`).exec(v.code) ??
    new RegExp(`[(,]\\s*${e}\\s+(?:\\[\\])?\\*?(?:\\w+\\.)?([A-Z]\\w*)\\s*[,)]`).exec(v.code);
  return m?.[1];
}

/** SQLAlchemy Core writes: `insert(Model)`, `update(Model)`, `delete(Model)`, `Model.__table__.update()`. */
const SA_WRITE = /(?:^|[^\w.])(?:sa\.|sqlalchemy\.)?(insert|update|delete)\(\s*([A-Z]\w*)\s*\)|\b([A-Z]\w*)\.__table__\.(insert|update|delete)\(/;
/** `session.add(Model(…))` / `session.add(obj)`. */
const SA_ADD = /\b(\w*(?:session|sess|db|s))\.(?:add|merge)\(\s*(?:([A-Z]\w*)\(|([a-z_]\w*)\s*\))/;
/** An attribute set on an ORM object: `offer.status = "x"`, `session.get(Model, id).status = "x"`. */
const PY_ATTR_SET = /^\s*(?:[\w.]*\.get\(\s*([A-Z]\w*)\s*,[^()\n]*\)|([a-z_]\w*))\.\w+\s*[-+]?=(?!=)/;
/** The function commits what it sets (an attribute set without a commit is not a write). */
const PY_COMMITS = /\.(?:commit|flush)\(|\.begin\(\s*\)|\batomic\(|\.save\(/;

/** The model a Python local was loaded as: `x = session.get(Model, id)`, `x = Model(…)`, `x = Model.objects.get(…)`. */
function pyLoaded(v: FnView, holder: string, before: number, construct: boolean): string | undefined {
  const e = escapeRe(holder);
  const re = new RegExp(`^\\s*${e}\\s*=\\s*(?:await\\s+)?(?:[\\w.]*\\.get\\(\\s*([A-Z]\\w*)\\s*,|([A-Z]\\w*)\\.objects\\.(?:get|select_for_update\\(\\)\\.get)\\(${construct ? '|([A-Z]\\w*)\\(' : ''})`);
  for (let l = before - 1; l >= v.fn.startLine; l--) {
    const t = codeLine(v, l);
    if (!t.includes(holder)) continue;
    const m = re.exec(t);
    if (m) return m[1] ?? m[2] ?? m[3];
  }
  return undefined;
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
  if (w.index && !s.search && !s.calls) return undefined;
  if (s.replica && !w.index) {
    if (s.replica.dead) return undefined;
    const stmt = s.stmt!;
    s.replica.read ??= readNames(stmt.text, fileText);
    if (!readsEntity(s.replica.read, w.entity)) return undefined;
    const alias = s.replica.alias;
    return { line: l, end: s.inner?.end ?? stmt.endLine, source: 'replica', call: s.replica.call.trim(), holder: holderOf(v, s), confidence: 0.9, replica: alias ?? s.replica.call.replace(/\W+$/, '') };
  }
  // A search-index write: only a search of that index (direct or through a helper) reads it back.
  if (!w.index) {
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
  }
  if (s.search) {
    const name = s.search.index;
    if (name ? sameEntity(name, w.entity) || normEntity(name).includes(normalised) : false) {
      return { line: l, end: stmtOf(v, s).endLine, source: 'search', call: s.search.call, holder: holderOf(v, s), confidence: 0.8 };
    }
  }
  if (s.calls) {
    for (const c of s.calls) {
      const r = helperRead(v, c, w, normalised, ctx, fileText, l) ?? resolverRepoRead(v, s, c, w, ctx.files);
      if (r) return { line: l, end: stmtOf(v, s).endLine, holder: holderOf(v, s), ...r };
    }
  }
  return undefined;
}

/** A definition found in the diff's text: a function or method named `name`, with its (comment-free) body. */
interface Definition {
  file: SourceFile;
  line: number;
  /** The body's last line. */
  end: number;
  body: string;
  /** The review's files (for what the diff says about the models the body searches). */
  files: readonly SourceFile[];
  /** Every line of the body is shown (or the file is whole): a body without a lagging read really has none. */
  complete: boolean;
}

const DEF_JS = /^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([\w$]+)\s*[<(]|^\s*(?:export\s+)?(?:const|let|var)\s+([\w$]+)\s*=\s*(?:async\s+)?(?:function\b|\([^)]{0,200}\)\s*(?::[^=]{0,80})?=>|[\w$]+\s*=>)|^\s*(?:(?:public|private|protected|static|async|override|readonly)\s+)*([\w$]+)\s*(?:<[^>]{0,80}>)?\s*\([^;]{0,300}$/;
const DEF_PY = /^\s*(?:async\s+)?def\s+(\w+)\s*\(/;
const DEF_GO = /^\s*func\s*(?:\(\s*\w*\s*\*?\s*[\w.]+\s*\)\s*)?(\w+)\s*[[(]/;
const DEF_RB = /^\s*def\s+(?:self\.)?([\w!?]+)/;
const NOT_DEF = /^(?:if|for|while|switch|catch|return|function|await|new|typeof|super|else|do|try)$/;

const defCache = new WeakMap<readonly SourceFile[], Map<string, Definition[]>>();

/** Definitions of the diff's files by name (built once per review, one pass over every line). */
function definitions(files: readonly SourceFile[]): Map<string, Definition[]> {
  let defs = defCache.get(files);
  if (defs) return defs;
  defs = new Map();
  for (const f of files) {
    const fam = familyOf(f.language);
    if (fam === 'other') continue;
    const re = fam === 'js' ? DEF_JS : fam === 'python' ? DEF_PY : fam === 'go' ? DEF_GO : DEF_RB;
    for (let i = 0; i < f.lines.length; i++) {
      const t = f.lines[i]!;
      if (!t || t.length > 400) continue;
      const m = re.exec(t);
      const name = m ? (m[1] ?? m[2] ?? m[3]) : undefined;
      if (!name || NOT_DEF.test(name)) continue;
      // A JS method head must open a body: `name(…) {` on this line or a parameter list continuing below.
      if (fam === 'js' && m![3] && !/\{\s*$|\(\s*$|,\s*$/.test(t)) continue;
      const end = bodyEnd(f, i, fam);
      let complete = f.whole;
      if (!complete) {
        complete = true;
        for (let k = i + 1; k <= end; k++) if (!f.shown.has(k + 1)) complete = false;
      }
      const body = stripComments(f.lines.slice(i, end + 1).join('\n'), fam);
      const list = defs.get(name) ?? [];
      list.push({ file: f, line: i + 1, end: end + 1, body, files, complete });
      defs.set(name, list);
    }
  }
  defCache.set(files, defs);
  return defs;
}

/** Index (0-based) of the last line of the body opened at line index `i`. */
function bodyEnd(f: SourceFile, i: number, fam: string): number {
  const max = Math.min(f.lines.length - 1, i + 150);
  if (fam === 'python' || fam === 'ruby') {
    const indent = (x: string) => x.length - x.trimStart().length;
    const base = indent(f.lines[i]!);
    let last = i;
    for (let k = i + 1; k <= max; k++) {
      const t = f.lines[k]!;
      if (!t.trim()) continue;
      if (indent(t) <= base) return fam === 'ruby' && /^\s*end\b/.test(t) ? k : last;
      last = k;
    }
    return last;
  }
  let depth = 0;
  let opened = false;
  for (let k = i; k <= max; k++) {
    const t = f.lines[k]!;
    for (const ch of t) {
      if (ch === '{') {
        depth++;
        opened = true;
      } else if (ch === '}') depth--;
    }
    if (opened && depth <= 0) return k;
  }
  return max;
}

const summaryCache = new WeakMap<readonly SourceFile[], Map<string, { reading: Definition[]; incomplete: Definition[] } | undefined>>();

/** The definitions of `name` that read a lagging source, and those whose body the diff shows only in part. */
function defsSummary(files: readonly SourceFile[], name: string): { reading: Definition[]; incomplete: Definition[] } | undefined {
  let byName = summaryCache.get(files);
  if (!byName) {
    byName = new Map();
    summaryCache.set(files, byName);
  }
  if (byName.has(name)) return byName.get(name);
  const defs = definitions(files).get(name);
  const summary = defs && defs.length > 0
    ? {
        reading: defs.filter((d) => {
          const r = bodyReadsOf(d);
          return r.replica !== undefined || r.indexes !== undefined;
        }),
        incomplete: defs.filter((d) => !d.complete),
      }
    : undefined;
  byName.set(name, summary);
  return summary;
}

/**
 * A read of the written entity from a lagging source inside a helper the flow calls: its body (in the diff)
 * queries a replica handle or a search index naming the entity; or, when its body is not in the diff, it is
 * a method of the same object, the object has a replica handle, the write went through the primary handle
 * and the method is named after the entity (`s.SeatMap()` after `s.primary.Exec("UPDATE seats …")`).
 */
function helperRead(
  v: FnView,
  c: Call,
  w: Write,
  normalised: string,
  ctx: DetectorContext,
  fileText: string,
  at?: number,
): Omit<StaleRead, 'line' | 'end' | 'holder'> | undefined {
  const defs = defsSummary(ctx.files, c.name);
  if (defs) {
    for (const d of defs.reading) {
      if (isItself(d, v, ctx.file, at)) continue;
      const r = bodyRead(d, w, normalised);
      if (r) return { ...r, via: c.name, call: `${c.recv ? `${c.recv}.` : ''}${c.name}` };
    }
    // A same-object helper whose shown part queries a replica handle without naming what it reads (its statement
    // cut by the diff, or built elsewhere), called right after a write through the primary handle.
    if (!w.index && w.handle && PRIMARY_HANDLE.test(w.handle) && sameObjectCall(v, c)) {
      for (const d of defs.reading) {
        if (isItself(d, v, ctx.file, at)) continue;
        const r = bodyReadsOf(d).replica;
        if (!r || r.names.tables.length > 0 || r.names.model || r.names.receiver) continue;
        return { source: 'replica', call: `${c.recv ? `${c.recv}.` : ''}${c.name}`, via: c.name, confidence: 0.7, replica: r.alias ?? r.call.replace(/\s*\.\s*\w+\W*$/, '') };
      }
    }
    // A helper named after the entity (`recent_attendance`) whose shown body opens a replica session without showing
    // what it selects (the query lines are outside the diff).
    if (!w.index) {
      c.norm ??= `${normEntity(c.name)} ${normEntity(c.recv.split('.').pop())}`;
      if (normalised.length >= 4 && c.norm.includes(normalised) && !WRITE_VERB.test(c.name)) {
        for (const d of defs.reading) {
          if (isItself(d, v, ctx.file, at)) continue;
          const r = bodyReadsOf(d).replica;
          if (!r || r.names.tables.length > 0 || r.names.model || r.names.receiver) continue;
          return { source: 'replica', call: `${c.recv ? `${c.recv}.` : ''}${c.name}`, via: c.name, confidence: 0.75, replica: r.alias ?? r.call.replace(/\s*\.\s*\w+\W*$/, '') };
        }
      }
    }
    let outside = false;
    for (const d of defs.incomplete) if (!isItself(d, v, ctx.file, at)) outside = true;
    if (!outside) return undefined;
  }
  c.norm ??= `${normEntity(c.name)} ${normEntity(c.recv.split('.').pop())}`;
  const named = c.norm.includes(normalised);
  const sameObject = sameObjectCall(v, c);
  if (w.index || !named || WRITE_VERB.test(c.name)) return undefined;
  // The body is not in the diff.
  if (/search|index|elastic|opensearch|algolia|meili|typesense/i.test(c.recv) && !/\b(?:repo|repository|db|prisma|model)\b/i.test(c.recv) && READ_VERB.test(c.name)) {
    return { source: 'search', call: `${c.recv}.${c.name}`, via: c.name, confidence: 0.7 };
  }
  if (sameObject && w.handle && PRIMARY_HANDLE.test(w.handle) && REPLICA_HANDLE.test(stripComments(fileText, v.family))) {
    return { source: 'replica', call: `${c.recv ? `${c.recv}.` : ''}${c.name}`, via: c.name, confidence: 0.7, replica: replicaName(fileText) };
  }
  return undefined;
}

/** A call on the function's own object: `this.x()`, `self.x`, a bare call, or Go's receiver `s.x()`. */
function sameObjectCall(v: FnView, c: Call): boolean {
  return /^(?:this|self|@)?$/.test(c.recv) || (v.family === 'go' && c.recv === goReceiver(v));
}

/** A connection field whose declaration comment calls it a replica: `cold *pgxpool.Pool // streaming replica`. */
const COMMENTED_REPLICA = /^\s*(?:(?:private|public|protected|readonly)\s+)*([A-Za-z_]\w*)\s*(?:[?!]?:\s*)?\*?[\w.]*(?:Pool|DB|Db|Conn|Client|Engine|Knex|Sequelize|Pg)\b[^\n/#]{0,40}(?:\/\/|#)[^\n]*\b(?:replica|read[- ]only|follower|standby|secondary)\b/gim;
const declaredCache = new Map<string, RegExp | null>();

/** A read through a connection the module's declarations describe as a replica (memoised per text). */
function declaredReplicaRead(fileText: string): RegExp | null {
  let re = declaredCache.get(fileText);
  if (re !== undefined) return re;
  re = null;
  if (/replica|read[- ]only|follower|standby|secondary/i.test(fileText)) {
    const names = new Set<string>();
    for (const m of fileText.matchAll(COMMENTED_REPLICA)) names.add(m[1]!);
    if (names.size > 0) re = new RegExp(`(?:^|[^\\w$])(?:this\\.|self\\.|\\w+\\.)?(?:${[...names].map(escapeRe).join('|')})\\s*\\.\\s*(?:query|execute|get|Get|one|first|select|Select|findUnique|findFirst|findOne|findAll|oneOrNone|manyOrNone|any|many|QueryRow\\w*|Query\\w*)\\b`);
  }
  if (declaredCache.size > 64) declaredCache.clear();
  declaredCache.set(fileText, re);
  return re;
}

/**
 * A definition inside the function being read (a recursive call is not a helper). With the calling line: a
 * definition whose body ends above it is another function the span swallowed (a def cut by hidden lines).
 */
function isItself(d: Definition, v: FnView, file: SourceFile, at?: number): boolean {
  if (at !== undefined && d.file === file && d.end < at && familyOf(file.language) === 'python') return false;
  return d.file === file && d.line >= v.fn.startLine && d.line <= v.fn.endLine;
}

/** Helper names that write or send rather than read (never an inferred read). */
const WRITE_VERB = /^(?:update|save|create|insert|upsert|delete|remove|destroy|set|put|add|mark|hold|release|index|reindex|sync|publish|send|notify|emit|enqueue|write|store|record|log|track|apply|process|handle|refresh|invalidate|clear|reset)/i;
/** Helper names that read (a search-service method inferred to query the index). */
const READ_VERB = /^(?:search|find|count|query|lookup|list|get|fetch|load|has|exists|is|total|open|pending|active)/i;

function goReceiver(v: FnView): string | undefined {
  return /^\s*func\s*\(\s*(\w+)\s/.exec(v.code)?.[1];
}

function replicaName(fileText: string): string | undefined {
  return /\b((?:[rR]eplica|[rR]eader|[rR]eadOnly|read_only|[fF]ollower|[sS]tandby)\w*|(?:[rR]ead|[rR]o)_?(?:Pool|Db|DB|Conn|Client|pool|db|conn|client)|(?:db|pg|sql|pool|conn)_?(?:Replica|Reader|RO|Ro|Read|replica|reader|ro))\b/.exec(fileText)?.[1];
}

/** What a helper body reads from lagging sources, computed once per definition. */
interface BodyReads {
  replica?: { alias: string | undefined; call: string; names: ReadNames };
  /** Index names the body (or its module) searches; undefined when it runs no search. */
  indexes?: string[];
}

const bodyCache = new WeakMap<Definition, BodyReads>();

function bodyReadsOf(d: Definition): BodyReads {
  let r = bodyCache.get(d);
  if (r) return r;
  r = {};
  const body = d.body;
  const m = EXPLICIT_REPLICA.exec(body) ?? declaredReplicaRead(d.file.text)?.exec(body) ?? null;
  if (m) {
    const alias = m[1] ?? m[2] ?? m[3];
    // A read preference set on a query chain (`Model.exists(…).read('secondary')`) follows the query it routes.
    const from = Math.max(0, body.lastIndexOf(';', m.index) + 1, body.lastIndexOf('{\n', m.index) + 1, m.index - 400);
    if (!alias || REPLICA_NAME.test(alias)) r.replica = { alias, call: m[0], names: readNames(body.slice(from), d.file.text) };
  }
  const fam = familyOf(d.file.language);
  if (!r.replica && fam === 'python' && body.includes('with')) {
    // `with replica_session() as s:` / `with self._sessions() as session:` (a factory defaulting to a replica).
    let at = 0;
    for (const line of body.split('\n')) {
      const w = PY_WITH.exec(line);
      if (w && replicaFactory(w[1]!, w[2]!, d.file.text)) {
        r.replica = { alias: undefined, call: `${w[1]}()`, names: readNames(body.slice(at), d.file.text) };
        break;
      }
      at += line.length + 1;
    }
  }
  if (fam === 'ruby' || fam === 'python') {
    for (const line of body.split('\n')) {
      const ms = MODEL_SEARCH.test(line) ? modelSearch(line, () => body, fam, d.files) : undefined;
      if (ms) (r.indexes ??= []).push(ms.model);
    }
    if (r.indexes) {
      bodyCache.set(d, r);
      return r;
    }
  }
  if (searchCall(body) !== undefined || INDEXED_CALL.test(body) || SEARCH_CHAIN.test(body)) {
    const names = indexNames(body);
    if (names.length === 0) {
      const n = indexDeclName(d.file.text);
      if (n) names.push(n);
    }
    r.indexes = names;
  }
  bodyCache.set(d, r);
  return r;
}

/** Whether a helper body reads the entity from a replica handle or a search index. */
function bodyRead(d: Definition, w: Write, normalised: string): { source: 'replica' | 'search'; confidence: number; replica?: string } | undefined {
  const r = bodyReadsOf(d);
  if (!w.index && r.replica && readsEntity(r.replica.names, w.entity)) {
    return { source: 'replica', confidence: 0.85, replica: r.replica.alias ?? r.replica.call.replace(/\s*\..*$/s, '') };
  }
  if (r.indexes?.some((n) => sameEntity(n, w.entity) || normEntity(n).includes(normalised))) return { source: 'search', confidence: 0.8 };
  return undefined;
}

function stmtOf(v: FnView, s: Site): { text: string; endLine: number } {
  return (s.stmt ??= statementAt(v, s.line, 8));
}

function holderOf(v: FnView, s: Site): string | undefined {
  if (s.inner) return s.inner.holder;
  if (s.holder === undefined) {
    const t = codeLine(v, s.line);
    // Go and Python tuples: `m, err := s.SeatMap(ctx)`, `rows, total = search(...)` hold the value in the first name.
    // A destructured result (`const { rows } = await …`) is held by its first name.
    s.holder =
      HOLDER.exec(t)?.[1] ??
      /^\s*([\w$]+)\s*,\s*[\w$]+\s*:?=\s*(?!=)/.exec(t)?.[1] ??
      /^\s*(?:const|let|var)\s*[{[]\s*(?:[\w$]+\s*:\s*)?([\w$]+)[^=]{0,200}\s=\s*(?!=)/.exec(t)?.[1] ??
      null;
  }
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

function indexDeclName(fileText: string): string | undefined {
  const m = indexDecl(fileText);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

function readNames(stmt: string, fileText: string): ReadNames {
  const tables = sqlTables(stmt).read;
  const m = /([\w$.]+(?:\(\s*['"]\w+['"]\s*\))?)(?:\.\w+\([^)]{0,200}\))*\.(?:findUnique|findFirst|findOne|findOneBy|findByPk|get|first|filter|find|find_by|where)\b/.exec(stmt);
  const receiver = m ? entityOfReceiver(m[1]!.replace(/\.(?:using|\$replica)\([^)]*\)/g, ''), fileText) : undefined;
  const model = /\b([A-Z]\w*)\.(?:objects|find|where|find_by|query|exists|countDocuments|findById|findOne|aggregate|distinct|find_one|count_documents)\b/.exec(stmt)?.[1] ?? /\.(\w+)\.(?:findUnique|findFirst|findMany)\(/.exec(stmt)?.[1] ??
    // Rails scopes before the finder: `Policy.includes(:vehicles).find(id)`, `Order.lock.where(…)`.
    /\b([A-Z]\w*)\.(?:includes|preload|eager_load|joins|left_joins|select|order|lock|readonly|unscoped)\b(?:\([^)\n]{0,200}\))?(?:\.\w+(?:\([^)\n]{0,200}\))?){0,3}?\.(?:find|find_by!?|where|first|take|pluck|sum|count)\b/.exec(stmt)?.[1];
  // SQLAlchemy: `select(Model)`, `session.query(Model)`, `session.get(Model, id)`.
  const sa = model || receiver || tables.length > 0 ? undefined : /(?:^|[^\w.])select\(\s*([A-Z]\w*)\b|\.(?:query|get)\(\s*([A-Z]\w*)\b/.exec(stmt);
  if (sa) return { tables, receiver, model: sa[1] ?? sa[2] };
  // A Rails association scope chain: `@depot.parcels.ready.order(…)` reads Parcel.
  const assoc = model || receiver || tables.length > 0 ? undefined : RB_ASSOC_READ.exec(stmt)?.[1];
  return { tables, receiver, model: model ?? (assoc ? camelSingular(assoc) : undefined) };
}

/** A plural association of a record followed by a scope or finder: `@depot.parcels.where(…)`, `order.line_items.order(…)`. */
const RB_ASSOC_READ = /(?:@|\b)[a-z_]\w*\.([a-z][a-z_]*s)\.(?:where|order|limit|includes|preload|find|find_by!?|first|last|take|pluck|to_a|select|[a-z_]+\.(?:order|limit|where|to_a|first|last))\b/;

function readsEntity(r: ReadNames, entity: string): boolean {
  if (r.tables.some((t) => sameEntity(t, entity))) return true;
  if (r.receiver && sameEntity(r.receiver, entity)) return true;
  return r.model !== undefined && sameEntity(r.model, entity);
}

/** The first later line that acts on the value read. */
function actAfter(v: FnView, read: StaleRead): number | undefined {
  if (!read.holder) {
    const t = codeLine(v, read.line);
    if (/^\s*(?:if|elif|unless|return|while)\b|\?/.test(t)) return read.line;
    return read.via && passedOn(t, read.via) ? read.line : undefined;
  }
  const h = new RegExp(`(?<![\\w$.])@?${escapeRe(read.holder)}(?![\\w$])`);
  for (let l = read.end + 1; l <= Math.min(v.fn.endLine, read.end + 20); l++) {
    const t = codeLine(v, l);
    if (new RegExp(`^\\s*(?:const|let|var)?\\s*@?${escapeRe(read.holder)}\\s*:?=[^=]`).test(t)) return undefined;
    if (h.test(t)) return l;
  }
  return undefined;
}

/**
 * The helper's result is an argument of another call on the line (`storage.upload(key, build(feed_items))`): the
 * value read is handed straight to an action (not to a logger).
 */
function passedOn(t: string, via: string): boolean {
  const at = new RegExp(`(?<![\\w$])${escapeRe(via)}(?![\\w$])`).exec(t);
  if (!at || /^\s*(?:[\w$.@:]*\b(?:log|logger|Logger|console|puts|print|pp|p|warn|debug|info))\b/.test(t)) return false;
  let depth = 0;
  for (let i = 0; i < at.index; i++) {
    if (t[i] === '(') depth++;
    else if (t[i] === ')') depth--;
  }
  return depth > 0;
}

/** Implied by every replica read and Chewy query a helper can make (search reads are covered by SEARCH_HINT). */
const LAGGING_HINT = /Index\.(?:query|filter)|[rR]eplica|[rR]eader|[rR]ead_?[oO]nly|readonly|[fF]ollower|[sS]tandby|[sS]lave|[sS]econdary|analytics|useMaster|connected_to|using|\bro(?:_|[A-Z]|\.)|[rR]ead_?(?:Pool|Db|DB|Conn|Client|pool|db|conn|client)|(?:db|pg|sql|pool|conn)_?(?:RO|Ro|Read|ro|read)\b/;

/** The name callers use for a function: `GateSync.push_allowlist` / `self.push_allowlist` -> push_allowlist. */
function callName(fn: FunctionSpan): string | undefined {
  if (fn.name === '<hunk>' || / callback$/.test(fn.name)) return undefined;
  const n = fn.name.slice(fn.name.lastIndexOf('.') + 1).replace(/^self\./, '');
  return /^[A-Za-z_$][\w$]*[!?]?$/.test(n) && !/^(?:constructor|__init__|initialize|new)$/.test(n) ? n : undefined;
}


/**
 * The reading side of a flow that spans two functions: this function (changed by the diff) reads an entity
 * from the search index or a replica and acts on it itself (pushes it to devices, emails it, writes from it),
 * and a caller in the diff writes that entity and then calls this function for its effect, without using its
 * result. The finding goes on the read, where the fix is (read the primary, or refresh first).
 */
function calleeReports(ctx: DetectorContext, fn: FunctionSpan, v: FnView, router: string | undefined, fileText: string): DetectorReport[] {
  const { file } = ctx;
  const name = callName(fn);
  if (!name) return [];
  // Cheap literal pre-check: only functions that can read an index or a replica are scanned line by line.
  if (!SEARCH_HINT.test(v.code) && !LAGGING_HINT.test(v.code) && !callsReplicaHelper(v.code, ctx.files) && !callsCacheGetter(v.code, ctx)) return [];
  const reads = readsOf(v, router, fileText, ctx.files);
  const out: DetectorReport[] = [];
  for (let i = 0; i < reads.sites.length; i++) {
    // A refresh (or cache clear) earlier in the function makes the index show the caller's write.
    if (reads.clear[i] || INDEX_REFRESHED.test(v.codeLines[i]!)) break;
    const s = reads.sites[i];
    if (!s || !file.added.has(s.line)) continue;
    let entity: string | undefined;
    let source: 'search' | 'replica' | 'cache';
    let call: string;
    let key: string | undefined;
    if (s.getter && (key = cacheGetterKey(s.getter.name, ctx)) !== undefined) {
      // A getter of the diff whose body serves the entity from a cache nothing in the diff clears.
      entity = s.getter.ent;
      source = 'cache';
      call = s.getter.name;
    } else if (s.search?.index) {
      entity = s.search.index;
      source = 'search';
      call = s.search.call;
    } else if (!s.replica && s.calls && (call = '', entity = replicaHelperEntity(v, s.calls, ctx, (c) => (call = c)))) {
      // A helper of the diff whose body reads the entity from a replica (`waitlist.next_waiting(site)`).
      source = 'replica';
    } else if (s.replica && !s.replica.dead) {
      s.replica.read ??= readNames(stmtOf(v, s).text, fileText);
      entity = s.replica.read.model ?? s.replica.read.receiver ?? s.replica.read.tables[0];
      source = 'replica';
      call = s.replica.call.trim();
      // The call is cut at the line's end: close what it opened (`connected_to(role: :reading` → `…)`).
      call += ')'.repeat(Math.max(0, (call.match(/\(/g) ?? []).length - (call.match(/\)/g) ?? []).length));
    } else continue;
    if (!entity) continue;
    const read: StaleRead = { line: s.line, end: s.inner?.end ?? stmtOf(v, s).endLine, source, call, holder: holderOf(v, s), confidence: 0.8 };
    const act = actAfter(v, read);
    if (act === undefined) continue;
    const caller = source === 'cache' ? enqueuedBy(ctx, fn, v, name, entity, false) : (writerCalling(ctx, fn, name, entity, source === 'search') ?? enqueuedBy(ctx, fn, v, name, entity, source === 'search'));
    if (!caller) continue;
    const range = shownRange(file, fn, s.line, act);
    if (!range) continue;
    const fname = displayName(file, fn);
    const from = source === 'replica' ? 'the replica' : source === 'cache' ? 'the cache' : 'the search index';
    const evidence: EvidenceLine[] = [{ role: 'stale-read', line: s.line, text: v.text(s.line) }];
    if (act !== s.line) evidence.push({ role: 'act', line: act, text: v.text(act) });
    out.push({
      line: range.line,
      endLine: range.endLine,
      functionName: fname,
      confidence: source === 'replica' ? 0.85 : source === 'cache' ? 0.75 : 0.8,
      title: `${fname} reads ${entity} from ${from} through ${call} and acts on it; ${caller.fn} calls it right after writing ${source === 'cache' ? caller.write.entity : entity} with ${caller.write.call}, before ${from} has the write`,
      entity,
      evidence,
      variant: 'distributed',
      facts: cleanFacts({
        model: entity,
        writeCall: caller.write.call,
        readCall: call,
        staleSource: source,
        cacheKey: key || undefined,
        callerFunction: caller.fn,
        callerFile: caller.file === file.path ? undefined : caller.file,
        orm: ormOf(fileText, v.family),
        actor: 'request',
        testFramework: testFrameworkHint(ctx.files, v.family),
      }),
    });
    break;
  }
  return out;
}

/** Cache calls on a client named as one, suffix allowed (`redis_client.get(`, `profileCache.set(`). */
const CG_RECV = String.raw`([\w$.]*(?:cache|redis|memcache|memcached|Cache|Redis|Memcache)\w*)`;
const CG_GET = new RegExp(`${CG_RECV}\\s*\\.\\s*(?:get|getJSON|get_json|hget|hgetall|read)\\s*\\(`);
const CG_SET = new RegExp(`${CG_RECV}\\s*\\.\\s*(?:set|setex|setEx|setJSON|set_json|hset|put|write)\\s*\\(`);
const CG_DEL = new RegExp(`${CG_RECV}\\s*\\.\\s*(?:del|delete|unlink|evict|invalidate|delete_many|remove|expire)\\s*\\(`);

const cacheGetterCache = new WeakMap<readonly SourceFile[], Map<string, string>>();

/**
 * Getters of the diff whose whole body serves a long-lived cache (`get_profile(id)`: `redis.get(key(id))`, on a
 * miss a database read and a set), by name with the key they read, when no function of the diff deletes or
 * rewrites that key family outside the getter (a writer that invalidates, a signal handler that refreshes).
 */
function cacheGetters(files: readonly SourceFile[]): Map<string, string> {
  let map = cacheGetterCache.get(files);
  if (map) return map;
  map = new Map();
  for (const [name, defs] of definitions(files)) {
    if (!GETTER_HINT.test(name) || defs.length !== 1) continue;
    const d = defs[0]!;
    const fam = familyOf(d.file.language);
    if ((fam !== 'python' && fam !== 'js') || !d.complete) continue;
    const m = CG_GET.exec(d.body);
    if (!m) continue;
    const key = firstArg(d.body, m.index + m[0].length - 1);
    const family = keyFamily(key, d.body);
    if (!family || VERSIONED_KEY.test(key)) continue;
    // A short-lived fill (a few minutes) is not the stale source this rule is about.
    const set = CG_SET.exec(d.body);
    if (set) {
      const stmt = d.body.slice(set.index, set.index + 300).split('\n')[0]!;
      const ttl = ttlOf(stmt, /\.\s*(\w+)\s*\($/.exec(set[0])?.[1] ?? 'set', d.file.text);
      if (ttl !== undefined && ttl <= LONG_TTL_SECONDS) continue;
    }
    if (keyClearedElsewhere(files, family, d)) continue;
    map.set(name, key);
  }
  cacheGetterCache.set(files, map);
  return map;
}

/** Whether a line of the diff outside `d` deletes, expires or sets a key of `family`. */
function keyClearedElsewhere(files: readonly SourceFile[], family: string, d: Definition): boolean {
  const bare = family.replace(/^(?:fn|lit):/, '');
  for (const f of files) {
    if (!f.text.includes(bare) && !f.text.toLowerCase().includes(bare)) continue;
    for (let i = 0; i < f.lines.length; i++) {
      if (f === d.file && i + 1 >= d.line && i + 1 <= d.end) continue;
      const t = f.lines[i]!;
      const m = CG_DEL.exec(t) ?? CG_SET.exec(t);
      if (m && keyFamily(firstArg(t, m.index + m[0].length - 1), f.text) === family) return true;
    }
  }
  return false;
}

/**
 * The key a cache getter reads ('' when unknown): its body is in the diff (cacheGetters), or, when the diff does
 * not show it, the file imports it from a module named as a cache (`from app.pets.profile_cache import
 * get_profile`, `import { getProfile } from './profileCache'`) and nothing in the diff clears a cache.
 */
function cacheGetterKey(name: string, ctx: DetectorContext): string | undefined {
  const key = cacheGetters(ctx.files).get(name);
  if (key !== undefined) return key;
  if (definitions(ctx.files).has(name) || !importedFromCache(ctx.file, name)) return undefined;
  for (const f of ctx.files) if (CACHE_CLEAR_HINT.test(f.text) && f.lines.some((t) => CACHE_CLEAR.test(t))) return undefined;
  return '';
}

/** `from x.y_cache import a, name` / `import { a, name } from '../caches/y'`: a module path naming a cache. */
function importedFromCache(file: SourceFile, name: string): boolean {
  if (!file.text.includes(name)) return false;
  const e = escapeRe(name);
  return (
    new RegExp(`^\\s*from\\s+[\\w.]*cach\\w*\\s+import\\s+\\(?[\\w\\s,]*\\b${e}\\b`, 'mi').test(file.text) ||
    new RegExp(`^\\s*import\\s*\\{[^}]{0,300}\\b${e}\\b[^}]{0,300}\\}\\s*from\\s*['"][^'"]*cach[^'"]*['"]`, 'mi').test(file.text)
  );
}

function callsCacheGetter(code: string, ctx: DetectorContext): boolean {
  if (!GETTER_HINT.test(code)) return false;
  for (const n of cacheGetters(ctx.files).keys()) if (code.includes(`${n}(`)) return true;
  if (!/cach/i.test(ctx.file.text)) return false;
  for (const m of code.matchAll(/(?<![\w$.])((?:get|load|fetch|find|read|lookup)(?:[A-Z]\w*|_\w+))\s*\(/g)) if (importedFromCache(ctx.file, m[1]!)) return true;
  return false;
}

const replicaHelperCache = new WeakMap<readonly SourceFile[], string[]>();

/** Names of the diff's functions whose body reads a replica (once per review). */
function replicaHelpers(files: readonly SourceFile[]): string[] {
  let names = replicaHelperCache.get(files);
  if (names) return names;
  names = [];
  for (const [name, defs] of definitions(files)) if (defs.some((d) => bodyReadsOf(d).replica !== undefined)) names.push(name);
  replicaHelperCache.set(files, names);
  return names;
}

function callsReplicaHelper(code: string, files: readonly SourceFile[]): boolean {
  for (const n of replicaHelpers(files)) if (code.includes(`${n}(`)) return true;
  return false;
}

/** The entity a call on the line reads through a helper whose body reads it from a replica (and names it). */
function replicaHelperEntity(v: FnView, calls: Call[], ctx: DetectorContext, setCall: (c: string) => void): string | undefined {
  for (const c of calls) {
    const defs = defsSummary(ctx.files, c.name);
    if (!defs) continue;
    for (const d of defs.reading) {
      if (isItself(d, v, ctx.file)) continue;
      const r = bodyReadsOf(d).replica;
      const entity = r && (r.names.model ?? r.names.receiver ?? r.names.tables[0]);
      if (!entity) continue;
      setCall(`${c.recv ? `${c.recv}.` : ''}${c.name}`);
      return entity;
    }
  }
  return undefined;
}

/**
 * A background job whose body is this function: a Rails/Sidekiq job's `perform` (enqueued as
 * `XJob.perform_later(…)` / `XWorker.perform_async(…)`) or a Celery task (`@shared_task def x` enqueued as
 * `x.delay(…)` / `x.apply_async(…)`). A free worker runs it within milliseconds of the enqueue, so a caller that
 * writes the entity and enqueues the job right after hands it a read the replica may not have yet.
 */
function enqueuedBy(ctx: DetectorContext, fn: FunctionSpan, v: FnView, name: string, entity: string, search: boolean): { fn: string; file: string; write: Write } | undefined {
  const lines = ctx.file.lines;
  if (v.family === 'ruby' && name === 'perform') {
    let cls: string | undefined;
    for (let i = fn.startLine - 2; i >= 0 && !cls; i--) cls = /^\s*class\s+([A-Z]\w*)/.exec(lines[i]!)?.[1];
    if (!cls) return undefined;
    const re = new RegExp(`^\\s*(?:[\\w:]+::)?${cls}(?:\\.set\\([^)\\n]{0,120}\\))?\\.perform_(?:later|async|in|at|bulk)\\b`);
    return writerCalling(ctx, fn, cls, entity, search, re);
  }
  if (v.family === 'python') {
    const deco = lines.slice(Math.max(0, fn.startLine - 4), fn.startLine - 1).join('\n');
    if (!/@(?:[\w.]+\.)?(?:shared_task|task|actor)\b/.test(deco)) return undefined;
    // Also from a commit hook: `transaction.on_commit(lambda: x.delay(id))`, `on_commit(partial(x.delay, id))`.
    const re = new RegExp(`^\\s*(?:(?:[\\w.]+\\.)?on_commit\\(\\s*(?:lambda\\s*:\\s*|(?:functools\\.)?partial\\(\\s*))?(?:[\\w.]+\\.)?${escapeRe(name)}\\.(?:delay|apply_async|send|send_with_options)\\b`);
    return writerCalling(ctx, fn, name, entity, search, re);
  }
  return undefined;
}

/** A function of the diff that writes `entity` and then calls `name` as a statement of its own (its result unused). */
function writerCalling(ctx: DetectorContext, self: FunctionSpan, name: string, entity: string, search = false, enqueue?: RegExp): { fn: string; file: string; write: Write } | undefined {
  const callRe = enqueue ?? new RegExp(`^\\s*(?:await\\s+)?(?:[\\w$@:]+(?:\\.[\\w$]+)*\\.)?${escapeRe(name)}(?:\\s*\\(|\\s+[\\w@:"'(]|\\s*$)`);
  for (const g of ctx.files) {
    if (familyOf(g.language) !== familyOf(ctx.file.language)) continue;
    const gText = g.text;
    if (!gText.includes(name)) continue;
    for (const h of g.functions) {
      // A span that holds this function (a caller whose head the hunk cut off runs on to the hunk's end) is
      // scanned only before it.
      const holds = g === ctx.file && h.startLine <= self.startLine && h.endLine >= self.endLine;
      if (holds && h.startLine >= self.startLine) continue;
      if (!h.text.includes(name)) continue;
      const hv = viewOf(g, h);
      if (!hv) continue;
      let writes: Write[] | undefined;
      for (let l = h.startLine, last = holds ? self.startLine - 1 : h.endLine; l <= last; l++) {
        if (!callRe.test(codeLine(hv, l))) continue;
        writes ??= writesOf(hv, gText, ctx.files);
        const w = writes.find((x) => x.end < l && !x.index && sameEntity(x.entity, entity)) ?? (search ? indexHelperWrite(hv, h.startLine, l, entity, ctx.files) : undefined) ?? (enqueue ? (passedWrite(writes, codeLine(hv, l), l) ?? savedPassed(hv, h.startLine, codeLine(hv, l), l)) : undefined);
        if (!w) continue;
        // A refresh or cache clear between the write and the call makes the read see the write.
        let cleared = false;
        for (let k = w.end + 1; k < l; k++) if (CACHE_CLEAR.test(codeLine(hv, k)) || INDEX_REFRESHED.test(codeLine(hv, k))) cleared = true;
        if (cleared) continue;
        return { fn: displayName(g, h), file: g.path, write: w };
      }
    }
  }
  return undefined;
}

/**
 * A job enqueued with the written record (`XJob.perform_later(@licence.id)` after `@licence.update!(…)`): the job
 * loads that record, whatever the model is called.
 */
function passedWrite(writes: Write[], enqueue: string, line: number): Write | undefined {
  const args = enqueue.slice(enqueue.indexOf('('));
  for (let i = writes.length - 1; i >= 0; i--) {
    const w = writes[i]!;
    if (w.end >= line || w.index) continue;
    const holder = /^@?([a-z_]\w*)\.\w+[!?]?$/.exec(w.call)?.[1];
    if (holder && new RegExp(`(?<![\\w.])@?${escapeRe(holder)}(?:\\.id\\b|\\s*[,)])`).test(args)) return w;
  }
  return undefined;
}

const indexWriterCache = new WeakMap<readonly SourceFile[], Map<string, string>>();

/**
 * Helpers of the diff (JS/Python) whose body writes a search index without refreshing it, with the index they
 * write (`indexTerm` → `GLOSSARY_INDEX`): a search right after a call to one misses the document.
 */
function indexWriters(files: readonly SourceFile[]): Map<string, string> {
  let map = indexWriterCache.get(files);
  if (map) return map;
  map = new Map();
  for (const [name, defs] of definitions(files)) {
    for (const d of defs) {
      const fam = familyOf(d.file.language);
      if (fam !== 'js' && fam !== 'python') continue;
      if (!INDEX_WRITE_HINT.test(d.body) || !INDEX_WRITE.test(d.body) || INDEX_REFRESHED.test(d.body)) continue;
      // Only a body that writes and does not search (a helper that writes and searches is a flow of its own).
      if (searchCall(d.body) !== undefined || INDEXED_CALL.test(d.body)) continue;
      const at = INDEX_WRITE.exec(d.body)!.index;
      const index = indexNames(d.body.slice(at))[0] ?? indexNames(d.file.text)[0];
      if (index) map.set(name, index);
    }
  }
  indexWriterCache.set(files, map);
  return map;
}

/** A call on the line to an index-writing helper of the diff (not its definition). */
function indexHelperCall(t: string, files: readonly SourceFile[]): { name: string; index: string } | undefined {
  const writers = indexWriters(files);
  for (const c of t.matchAll(CALL)) {
    const index = writers.get(c[2]!);
    if (index === undefined) continue;
    if (/^\s*(?:export\s+)?(?:async\s+)?(?:function|def)\b/.test(t)) return undefined;
    return { name: `${c[1] ?? ''}${c[2]}`, index };
  }
  return undefined;
}

/**
 * Python: a record saved by the caller whose model the diff does not show (`pet.save(update_fields=[…])`, loaded on
 * hidden lines) and then handed to the task by id (`x.delay(pet.id)`): the task loads that record.
 */
function savedPassed(hv: FnView, from: number, enqueue: string, line: number): Write | undefined {
  if (hv.family !== 'python') return undefined;
  const args = enqueue.slice(enqueue.indexOf('('));
  for (let k = line - 1; k >= from; k--) {
    const m = /^\s*([a-z_]\w*)\.save\(/.exec(codeLine(hv, k));
    if (!m || !new RegExp(`(?<![\\w.])${escapeRe(m[1]!)}(?:\\.(?:id|pk)\\b|\\s*[,)])`).test(args)) continue;
    return { line: k, end: statementAt(hv, k, 8).endLine, entity: m[1]!, call: `${m[1]}.save` };
  }
  return undefined;
}

/** A call to a helper named for indexing the entity: `indexDog(dog.id)`, `reindexProduct(p)`, `index_listing(l)`. */
const INDEX_HELPER = /(?:^|[^\w$.])((?:re)?index_?([A-Z]\w*|[a-z]\w*))\s*\(/;

/**
 * The caller pushes the entity to the search index through a helper (its body not refreshing the index, when
 * the diff shows it) between `from` and `to`: a search right after it misses the document.
 */
function indexHelperWrite(hv: FnView, from: number, to: number, entity: string, files: readonly SourceFile[]): Write | undefined {
  for (let k = from; k < to; k++) {
    const t = codeLine(hv, k);
    if (!t.includes('ndex')) continue;
    const m = INDEX_HELPER.exec(t);
    if (!m || /^index_?(?:of|es|ed|ing|er)$/i.test(m[1]!) || !sameEntity(m[2]!, entity)) continue;
    if (definitions(files).get(m[1]!)?.some((d) => INDEX_REFRESHED.test(d.body))) continue;
    return { line: k, end: statementAt(hv, k, 8).endLine, entity, call: m[1]!, index: true };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Cache-aside fill racing an invalidating writer

const CA_RECV = String.raw`([\w$.]*(?:cache|redis|memcache|memcached|kv|Cache|Redis|Memcache|KV))`;
const CA_GET = new RegExp(`${CA_RECV}\\s*\\.\\s*(?:get|getJSON|get_json|hget|read)\\s*\\(`);
const CA_SET = new RegExp(`${CA_RECV}\\s*\\.\\s*(?:set|setex|setEx|setJSON|set_json|hset|put|write)\\s*\\(`);
const CA_DEL = new RegExp(`${CA_RECV}\\s*\\.\\s*(?:del|delete|unlink|evict|invalidate|delete_many|remove|expire)\\s*\\(`);
/** Rails `Rails.cache.fetch(key, expires_in: …) do … end`: get, fill on a miss, set, in one call. */
const CA_FETCH_BLOCK = new RegExp(`${CA_RECV}\\s*\\.\\s*fetch\\s*\\((.*)\\)\\s*(?:do\\b|\\{)`);
/** A primary read: an ORM finder or a SELECT (not a cache, HTTP client or map). */
const DB_READ =
  /(?:^|[^\w$.])([\w$.]+)\.(?:findOne|findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findById|findByPk|findAll|findMany|find|find_by!?|find_by_id|findOneBy|filter|get|first|where|select|one|oneOrNone|query|lean|scalar|scalars|scalar_one|scalar_one_or_none|execute|fetchrow|fetchval)\s*[(\s]|\bSELECT\b[^\n]*\bFROM\b|\bget_object_or_404\(|(?:^|[^\w$.])select\(\s*[A-Z]\w*|(?:^|[^\w$.])[\w$.]+(?:<[\w$, ]{1,60}>)?\(\s*['"`][\w.]+['"`]\s*\)\s*\.(?:where|first|select|whereIn|andWhere|orderBy|join|leftJoin|pluck)\s*\(/;
/** A set that cannot overwrite a newer value: a lease or NX set, a transaction/script, a versioned write. */
const CA_SAFE_SET = /['"]NX['"]|\bnx\s*[:=]\s*(?:true|True)|\bNX\s*:\s*true|\bunless_exist\b|\.(?:setnx|setNX|add)\s*\(|\blease\b|\bwatch\b|\bWATCH\b|\bmulti\b|\.eval(?:sha)?\s*\(|\bversion\b|\brevision\b|\betag\b|\bcas\b/i;
/** A key that carries the row's version, so a stale fill goes to an old key. */
const VERSIONED_KEY = /version|\bver\b|\brev\b|revision|etag|updated_?at|updatedAt|cache_key_with_version|cache_version/i;
/** Callers whose decision is money, stock or access. */
const DECISION = /pric|cost|total|amount|charge|pay|checkout|invoice|bill|refund|discount|coupon|balance|credit|debit|stock|inventor|quantit|reserv|capacity|quota|limit|permission|authori[sz]|entitle|allow|grant|eligib|fare|fee|tax|quote/i;
const LONG_TTL_SECONDS = 600;
/** A fill that lives this long is a finding without a deciding caller. */
const LONG_FILL_SECONDS = 3600;

/** The first argument of the call whose `(` is at `open` (top-level comma or closing paren ends it). */
function firstArg(text: string, open: number): string {
  let depth = 0;
  let quote = '';
  for (let i = open + 1; i < text.length && i < open + 400; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (depth === 0) return text.slice(open + 1, i).trim();
      depth--;
    } else if (ch === ',' && depth === 0) return text.slice(open + 1, i).trim();
  }
  return text.slice(open + 1, open + 400).trim();
}

/** The family of a cache key: the builder it calls (`menuKey(…)`) or its literal prefix (`menu:`), through one local. */
function keyFamily(expr: string, code: string, depth = 0): string | undefined {
  const e = expr.trim();
  let m = /^(?:await\s+)?(?:this\.|self\.)?([\w$.]+)\s*\(/.exec(e);
  if (m) return `fn:${m[1]!.split('.').pop()}`;
  m = /^(?:f|b|%\w?)?["'`]([^"'`$#{%]*)/.exec(e) ?? /^\[\s*["':]([\w-]+)/.exec(e);
  if (m) {
    const p = m[1]!.replace(/[:/_.-]+$/, '');
    return /[A-Za-z]{2}/.test(p) ? `lit:${p.toLowerCase()}` : undefined;
  }
  m = /^@?([A-Za-z_$][\w$]*)$/.exec(e);
  if (m && depth === 0) {
    const a = new RegExp(`(?:^|[^\\w$.])@?${escapeRe(m[1]!)}\\s*(?::\\s*[\\w<>]+\\s*)?=\\s*([^\\n;]+)`).exec(code);
    if (a) return keyFamily(a[1]!, code, 1);
  }
  return undefined;
}

/** Seconds a cache set lives: `'EX', n`, `{ EX: n }`, `ex=n`, `timeout=n`, `expires_in: n.hours`, `setex(key, n, …)`; undefined when it has none. */
function ttlOf(stmt: string, method: string, fileText: string): number | undefined {
  let m: RegExpExecArray | null;
  let expr: string | undefined;
  if (/^set_?ex$/i.test(method)) {
    const open = stmt.indexOf('(');
    const rest = stmt.slice(open + 1);
    expr = /^[^,]+,\s*([^,)]+)/.exec(rest)?.[1];
  } else if ((m = /['"](?:EX|PX)['"]\s*,\s*([^,)\n]+)|\b(?:EX|ex|ttl|TTL|timeout|expire|expires|expiresIn|expires_in|expire_in)\s*[:=]\s*([^,)}\n]+)/.exec(stmt))) {
    expr = m[1] ?? m[2];
    if (/['"]PX['"]/.test(m[0]) && expr) return seconds(expr, fileText) === undefined ? undefined : seconds(expr, fileText)! / 1000;
  } else if ((m = /,\s*(\d[\d_]*)\s*\)\s*$/.exec(stmt.trim()))) {
    expr = m[1]; // Django / Flask-Caching `cache.set(key, value, 300)`
  }
  if (!expr) return undefined;
  return seconds(expr, fileText) ?? Infinity;
}

/** `6 * 60 * 60`, `3600`, `6.hours`, `timedelta(hours=6)`, or a constant naming one of those. */
function seconds(expr: string, fileText: string, depth = 0): number | undefined {
  const e = expr.trim().replace(/(?<=\d)_(?=\d)/g, '');
  let m = /^(\d+(?:\.\d+)?)\.(second|minute|hour|day|week)s?$/.exec(e);
  if (m) return Number(m[1]) * UNIT[m[2]!]!;
  m = /^timedelta\(\s*(seconds|minutes|hours|days)\s*=\s*(\d+)\s*\)$/.exec(e);
  if (m) return Number(m[2]) * UNIT[m[1]!.replace(/s$/, '')]!;
  if (/^\d+(?:\s*\*\s*\d+)*$/.test(e)) return e.split('*').reduce((a, b) => a * Number(b.trim()), 1);
  m = /^(?:this\.|self\.|[A-Z]\w*::)?([A-Za-z_$][\w$]*)$/.exec(e);
  if (m && depth === 0) {
    const d = new RegExp(`\\b${escapeRe(m[1]!)}\\s*(?::\\s*\\w+\\s*)?=\\s*([^\\n;]+)`).exec(fileText);
    if (d) return seconds(d[1]!, fileText, 1);
  }
  return undefined;
}

const UNIT: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 };

/**
 * A cache-aside fill that can write a stale value back after a writer's invalidation: the function reads the
 * cache, on a miss reads the primary and sets the key (for longer than a few minutes), while another function of
 * the diff updates the same entity and deletes that key family. A reader that read the row before the update
 * and sets after the delete puts the old value back for the whole TTL. Reported when a caller in the diff makes
 * a money, stock or access decision from the cached value (or the getter is itself named for one).
 */
function cacheAsideReports(ctx: DetectorContext, fn: FunctionSpan, v: FnView, fileText: string): DetectorReport[] {
  // A route handler (`app.get('/x', async (req) => …)`) serves the value it fills itself.
  const handler = / callback$/.test(fn.name);
  const name = callName(fn) ?? (handler ? displayName(ctx.file, fn) : undefined);
  if (!name) return [];
  const { file } = ctx;
  // A span that swallows a changed function of its own (a mis-closed neighbour) leaves that function's fill to it.
  const nested = ctx.changedFunctions.filter((g) => g !== fn && g.name !== '<hunk>' && g.startLine >= fn.startLine && g.endLine <= fn.endLine && g.endLine - g.startLine < fn.endLine - fn.startLine);
  let get: { line: number; fam: string } | undefined;
  let read: number | undefined;
  for (let l = fn.startLine; l <= fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!t.trim()) continue;
    if (nested.length > 0 && nested.some((g) => g.startLine <= l && l <= g.endLine)) continue;
    let m: RegExpExecArray | null;
    if (v.family === 'ruby' && (m = CA_FETCH_BLOCK.exec(t))) {
      const fam = keyFamily(firstArg(t, t.indexOf('(', m.index + m[1]!.length)), v.code);
      const end = blockEnd(v, l);
      let inner: number | undefined;
      for (let k = l + 1; k <= end; k++) if (DB_READ.test(codeLine(v, k)) && !CA_GET.test(codeLine(v, k))) inner = inner ?? k;
      if (!fam || inner === undefined) continue;
      const ttl = ttlOf(t, 'fetch', fileText);
      if ((ttl !== undefined && ttl <= LONG_TTL_SECONDS) || CA_SAFE_SET.test(t) || VERSIONED_KEY.test(firstArg(t, t.indexOf('(', m.index + m[1]!.length)))) continue;
      return fillReport(ctx, fn, v, name, fam, l, end, ttl);
    }
    if (!get && (m = CA_GET.exec(t))) {
      const key = firstArg(t, m.index + m[0].length - 1);
      const fam = keyFamily(key, v.code);
      if (fam && !VERSIONED_KEY.test(key)) get = { line: l, fam };
      continue;
    }
    if (get && read === undefined && DB_READ.test(t) && !CA_GET.test(t)) {
      read = l;
      continue;
    }
    if (get && read !== undefined && (m = CA_SET.exec(t))) {
      const stmt = statementAt(v, l, 6);
      const key = firstArg(stmt.text, stmt.text.indexOf('(', stmt.text.indexOf(m[0]) + m[0].length - 1));
      if (keyFamily(key, v.code) !== get.fam) continue;
      const method = /\.\s*(\w+)\s*\($/.exec(m[0])?.[1] ?? 'set';
      const ttl = ttlOf(stmt.text, method, fileText);
      if ((ttl !== undefined && ttl <= LONG_TTL_SECONDS) || CA_SAFE_SET.test(stmt.text)) return [];
      return fillReport(ctx, fn, v, name, get.fam, read, stmt.endLine, ttl);
    }
  }
  return [];
}

function fillReport(ctx: DetectorContext, fn: FunctionSpan, v: FnView, name: string, fam: string, from: number, to: number, ttl: number | undefined): DetectorReport[] {
  const { file } = ctx;
  if (![...Array(to - from + 1).keys()].some((k) => file.added.has(from + k))) return [];
  const writer = invalidatingWriter(ctx, fn, fam);
  if (!writer) return [];
  // A fill kept for an hour or more serves the old value for hours to every reader, whatever they decide.
  const longLived = ttl === undefined || (ttl !== Infinity && ttl >= LONG_FILL_SECONDS);
  // A fill the diff adds with no expiry at all keeps a stale value until the next write: every reader is served it,
  // so the racing writer is enough, whether or not the diff shows a caller.
  const neverExpires = ttl === undefined;
  const decider = / callback$/.test(fn.name)
    ? (DECISION.test(name) || longLived ? `${displayName(file, fn)} (every request)` : undefined)
    : DECISION.test(name) ? displayName(file, fn) : (decidingCaller(ctx, fn, name) ?? (longLived ? anyCaller(ctx, fn, name, ttl === undefined) : undefined) ?? (neverExpires && file.added.has(to) ? `every caller of ${name}` : undefined));
  if (!decider) return [];
  const range = shownRange(file, fn, from, to);
  if (!range) return [];
  const fname = displayName(file, fn);
  const life = ttl === undefined || ttl === Infinity ? 'until it is next invalidated' : ttl >= 3600 ? `for up to ${Math.round(ttl / 360) / 10} h` : `for up to ${Math.round(ttl / 60)} min`;
  return [
    {
      line: range.line,
      endLine: range.endLine,
      functionName: fname,
      confidence: 0.75,
      title: `${fname} fills the cache from a read taken before ${writer.fn}'s update can land after its delete, so the old ${writer.entity} stays cached ${life}; ${decider} decides from it`,
      entity: writer.entity,
      evidence: [
        ...(writer.file === file ? [{ role: 'write', line: writer.line, text: (file.lines[writer.line - 1] ?? '').trim() }] : []),
        { role: 'stale-read', line: from, text: v.text(from) },
        { role: 'act', line: to, text: v.text(to) },
      ],
      variant: 'distributed',
      facts: cleanFacts({
        pattern: 'cache-aside-fill',
        model: writer.entity,
        writeCall: writer.call,
        readCall: v.text(from).trim().slice(0, 120),
        staleSource: 'cache',
        cacheKey: fam.replace(/^(?:fn|lit):/, ''),
        cacheTtl: ttl === undefined || ttl === Infinity ? undefined : ttl >= 3600 ? `${Math.round(ttl / 360) / 10} h` : `${Math.round(ttl / 60)} min`,
        writerFunction: writer.fn,
        decidingFunction: decider,
        orm: ormOf(file.text, v.family),
        actor: 'request',
        testFramework: testFrameworkHint(ctx.files, v.family),
      }),
    },
  ];
}

/** A function of the diff that writes the primary and deletes a key of the same family. */
function invalidatingWriter(ctx: DetectorContext, self: FunctionSpan, fam: string): { fn: string; entity: string; call: string; file: SourceFile; line: number } | undefined {
  const family = familyOf(ctx.file.language);
  for (const g of ctx.files) {
    if (familyOf(g.language) !== family) continue;
    const gText = g.text;
    if (!CACHE_READ_HINT.test(gText)) continue;
    for (const h of innermostFirst(g.functions)) {
      if (h === self || h.name === '<hunk>' || / callback$/.test(h.name)) continue;
      // A span around the fill itself is not another writer (a partly shown function can swallow its neighbours).
      if (g === ctx.file && h.startLine <= self.startLine && h.endLine >= self.endLine) continue;
      if (!CA_DEL.test(h.text)) continue;
      const hv = viewOf(g, h);
      if (!hv) continue;
      let del = false;
      for (let l = h.startLine; l <= h.endLine && !del; l++) {
        const t = codeLine(hv, l);
        const m = CA_DEL.exec(t);
        if (m && keyFamily(firstArg(t, m.index + m[0].length - 1), hv.code) === fam) del = true;
      }
      if (!del) continue;
      const w = writesOf(hv, gText, ctx.files).find((x) => !x.index) ?? attrWrite(hv, g) ?? hiddenWrite(hv, g, fam, gText);
      if (w) return { fn: displayName(g, h), entity: w.entity, call: w.call, file: g, line: w.line };
    }
  }
  return undefined;
}

/** The tail of a SQL write statement (its `UPDATE … SET` head is above the diff's context): `SET x = …`, `WHERE id = $1`. */
const SQL_TAIL = /^\s*(?:SET\s+\w+\s*=|WHERE\s+\w+\s*=\s*(?:\$\d|\?|%s|:\w))/i;

/**
 * A write whose statement the diff shows only in part: the function deletes the key after a SQL statement whose
 * head is hidden (the hunk starts at its `SET`/`WHERE` tail) and the function shows no SELECT. The entity is named
 * after the key family (`station:` from a key builder returning `` `station:${id}` ``).
 */
function hiddenWrite(v: FnView, file: SourceFile, fam: string, fileText: string): { line: number; entity: string; call: string } | undefined {
  if (/\bSELECT\b/i.test(v.code)) return undefined;
  for (let l = v.fn.startLine; l <= v.fn.endLine; l++) {
    const t = codeLine(v, l);
    if (!SQL_TAIL.test(t)) continue;
    // The statement's head must lie on lines the diff does not show.
    let hidden = false;
    for (let k = Math.max(v.fn.startLine, l - 6); k < l; k++) if (!file.shown.has(k)) hidden = true;
    if (!hidden) continue;
    return { line: l, entity: keyEntity(fam, fileText), call: t.trim().slice(0, 60) };
  }
  return undefined;
}

/** A readable entity name for a key family: the literal prefix, or the one a key builder returns. */
function keyEntity(fam: string, fileText: string): string {
  const name = fam.replace(/^(?:fn|lit):/, '');
  if (fam.startsWith('lit:')) return name;
  const e = escapeRe(name);
  const m = new RegExp(`\\b${e}\\s*=\\s*(?:async\\s+)?(?:\\([^)\\n]{0,120}\\)|\\w+)\\s*(?::[^=\\n]{0,40})?=>\\s*[\`'"]([\\w-]+)`).exec(fileText) ??
    new RegExp(`\\b(?:function|def)\\s+${e}\\b[^\\n]{0,160}\\n?[^\\n]{0,40}?\\breturn\\s+f?[\`'"]([\\w-]+)`).exec(fileText);
  return m?.[1] ?? name;
}

/**
 * Python: attributes set on a row loaded in the function (`w = await db.get(Model, id)` / `Model.objects.get(…)`)
 * and then committed or saved (`db.commit()`, `w.save()`): an ORM update without an update call.
 */
function attrWrite(v: FnView, file: SourceFile): { line: number; entity: string; call: string } | undefined {
  if (v.family !== 'python' || !/\.(?:commit|save|flush)\s*\(/.test(v.code)) return undefined;
  const models = new Map<string, string>();
  // A function the diff shows in two hunks is two spans: its loads can sit in the span just above.
  const above = v.fn.name === '<hunk>' ? v.fn.startLine : Math.max(1, v.fn.startLine - 40);
  for (let l = above; l <= v.fn.endLine; l++) {
    const t = l < v.fn.startLine ? (file.lines[l - 1] ?? '') : codeLine(v, l);
    if (l < v.fn.startLine && /^\S/.test(t)) models.clear();
    let m = /^\s*(\w+)\s*=\s*(?:await\s+)?[\w.]*\.get\(\s*([A-Z]\w*)\s*,/.exec(t) ?? /^\s*(\w+)\s*=\s*(?:await\s+)?([A-Z]\w*)\.objects\.(?:get|select_for_update\(\)\.get)\(/.exec(t);
    if (m) {
      models.set(m[1]!, m[2]!);
      continue;
    }
    m = /^\s*(\w+)\.\w+(?:\s*,\s*\w+\.\w+)*\s*=(?!=)/.exec(t);
    if (m && models.has(m[1]!)) return { line: l, entity: models.get(m[1]!)!, call: `${m[1]}.… = …` };
  }
  return undefined;
}

/** A function of the diff that serves the cached value: it calls `name` on a line the diff adds. */
function anyCaller(ctx: DetectorContext, self: FunctionSpan, name: string, shownToo = false): string | undefined {
  const call = new RegExp(`(?:^|[^\\w$])${escapeRe(name)}\\s*\\(`);
  for (const g of ctx.files) {
    if (!g.text.includes(name)) continue;
    for (const h of g.functions) {
      if (h === self || h.name === '<hunk>' || (g === ctx.file && h.startLine <= self.startLine && h.endLine >= self.endLine)) continue;
      // A fill kept with no TTL is served until the next invalidation: an existing caller shown by the diff is enough.
      for (let l = h.startLine; l <= h.endLine; l++) if ((g.added.has(l) || (shownToo && g.shown.has(l))) && call.test(g.lines[l - 1] ?? '')) return `${displayName(g, h)} (and every reader)`;
    }
  }
  return undefined;
}

/** A function of the diff, named for a money/stock/access decision, that calls `name` on a line the diff adds. */
function decidingCaller(ctx: DetectorContext, self: FunctionSpan, name: string): string | undefined {
  const call = new RegExp(`(?:^|[^\\w$])${escapeRe(name)}\\s*\\(`);
  for (const g of ctx.files) {
    if (!g.text.includes(name)) continue;
    for (const h of g.functions) {
      if (h === self || h.name === '<hunk>' || !DECISION.test(h.name)) continue;
      for (let l = h.startLine; l <= h.endLine; l++) if (g.added.has(l) && call.test(g.lines[l - 1] ?? '')) return displayName(g, h);
    }
  }
  return undefined;
}

const IN_TX_CALLBACK = /^\s*((?:after|before)_(?:save|update|create|destroy|touch))\s+:(\w+[!?]?)/;
const RB_CACHE_DROP = /\b[\w.:]*(?:cache|Cache|redis|Redis)\w*\s*\.\s*(?:delete|delete_matched|delete_multi|write|clear)\s*\(/;

/**
 * Rails: a model clears a long-lived cache in a callback that runs inside the saving transaction (`after_save`,
 * `after_update`, `after_destroy`, not `after_commit`), and the diff fills that key family with `cache.fetch`:
 * a reader that misses between the delete and the COMMIT refills the key from the old committed rows, and
 * nothing deletes it again after the commit.
 */
function inTxInvalidationReports(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  if (file.language !== 'ruby') return [];
  const text = file.text;
  if (!/\b(?:after|before)_(?:save|update|create|destroy|touch)\b/.test(text) || !RB_CACHE_DROP.test(text)) return [];
  const fills: Array<{ family: string }> = [];
  for (const f of ctx.files) {
    if (f.language !== 'ruby') continue;
    const ft = f.text;
    if (!ft.includes('.fetch')) continue;
    for (let i = 0; i < f.lines.length; i++) {
      const t = f.lines[i]!;
      const m = CA_FETCH_BLOCK.exec(t) ?? (/cache\w*\s*\.\s*fetch\s*\(/i.test(t) ? /cache\w*\s*\.\s*fetch\s*\(/i.exec(t) : null);
      if (!m) continue;
      const stmt = [t, f.lines[i + 1] ?? ''].join(' ');
      const ttl = ttlOf(stmt, 'fetch', ft);
      if (ttl !== undefined && ttl < LONG_TTL_SECONDS) continue;
      const fam = keyFamily(firstArg(t, t.indexOf('(', t.search(/\.\s*fetch\s*\(/))), ft);
      if (fam) fills.push({ family: fam });
    }
  }
  if (fills.length === 0) return [];
  const reports: DetectorReport[] = [];
  for (let i = 0; i < file.lines.length; i++) {
    const cb = IN_TX_CALLBACK.exec(file.lines[i]!);
    if (!cb) continue;
    const method = cb[2]!;
    // Also run after the commit: the refill is cleared again.
    if (new RegExp(`after_(?:commit|create_commit|update_commit|destroy_commit|save_commit)\\b[^\\n]*:${escapeRe(method)}\\b`).test(text)) continue;
    const def = file.lines.findIndex((x) => new RegExp(`^\\s*def\\s+${escapeRe(method)}(?![\\w!?])`).test(x));
    if (def < 0) continue;
    const indent = /^\s*/.exec(file.lines[def]!)![0].length;
    let drop = -1;
    for (let k = def + 1; k < file.lines.length; k++) {
      const t = file.lines[k]!;
      if (/^\s*end\b/.test(t) && /^\s*/.exec(t)![0].length <= indent) break;
      if (RB_CACHE_DROP.test(t)) {
        drop = k;
        break;
      }
    }
    if (drop < 0) continue;
    const dt = file.lines[drop]!;
    const fam = keyFamily(firstArg(dt, dt.indexOf('(', dt.search(RB_CACHE_DROP))), text);
    if (!fam || !fills.some((f) => f.family === fam)) continue;
    const [a, b] = [i + 1, drop + 1];
    if (!file.added.has(a) && !file.added.has(b)) continue;
    const fn = file.functions.find((g) => g.startLine <= b && b <= g.endLine);
    const name = fn ? displayName(file, fn) : method;
    reports.push({
      line: a,
      endLine: b,
      functionName: name,
      confidence: 0.75,
      title: `${method} clears the cached ${fam.replace(/^\w+:/, '')} in ${cb[1]}, inside the saving transaction and before COMMIT: a concurrent cache.fetch refills it from the old rows and keeps them for the TTL`,
      entity: fam.replace(/^\w+:/, ''),
      evidence: [
        { role: 'write', line: a, text: file.lines[i]!.trim() },
        { role: 'stale-read', line: b, text: dt.trim() },
      ],
      variant: 'distributed',
      facts: cleanFacts({
        pattern: 'invalidate-before-commit',
        callback: cb[1],
        staleSource: 'cache',
        cacheKey: firstArg(dt, dt.indexOf('(', dt.search(RB_CACHE_DROP))),
        actor: 'request',
        testFramework: testFrameworkHint(ctx.files, 'ruby'),
      }),
    });
  }
  return reports;
}

function detect(ctx: DetectorContext): DetectorReport[] {
  const { file } = ctx;
  const fileText = file.text;
  const router = routerReplica(ctx.files);
  const reports: DetectorReport[] = [];
  const seen = new Set<number>();
  const seenReads = new Set<number>();
  reports.push(...inTxInvalidationReports(ctx));
  for (const fn of innermostFirst(ctx.changedFunctions)) {
    const v = viewOf(file, fn);
    if (!v) continue;
    if (CACHE_READ_HINT.test(v.code) && (CA_SET.test(v.code) || (v.family === 'ruby' && v.code.includes('.fetch')))) reports.push(...cacheAsideReports(ctx, fn, v, fileText));
    const writes = writesOf(v, fileText, ctx.files);
    if (writes.length === 0) {
      reports.push(...calleeReports(ctx, fn, v, router, fileText));
      continue;
    }
    const reads = readsOf(v, router, fileText, ctx.files);
    // A hunk region around whole methods: a write in one method and a read in another are not one flow.
    const named = fn.name === '<hunk>' ? file.functions.filter((g) => g !== fn && g.name !== '<hunk>' && g.startLine >= fn.startLine && g.endLine <= fn.endLine) : [];
    const owner = (l: number) => named.find((g) => g.startLine <= l && l <= g.endLine);
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
        if (named.length > 0 && owner(reads.sites[i]!.line) !== owner(w.line)) continue;
        const r = staleReadAt(v, reads.sites[i]!, w, normalised, ctx, fileText);
        if (!r) continue;
        const a = actAfter(v, r);
        if (a === undefined) continue;
        hit = r;
        act = a;
        break;
      }
      if (!hit || act === undefined) continue;
      // Two writes read back by the same read (a write and its compensation) make one finding.
      if (seenReads.has(hit.line)) continue;
      const range = shownRange(file, fn, w.line, act);
      if (!range) continue;
      seen.add(w.line);
      seenReads.add(hit.line);
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
    // A helper that reads a replica or the index and then writes from what it read: its own writes come after the
    // read, so the flow to report is the caller's write before the call.
    if (!writes.some((w) => seen.has(w.line))) {
      for (const r of calleeReports(ctx, fn, v, router, fileText)) {
        const readLine = r.evidence?.find((e) => e.role === 'stale-read')?.line;
        if (readLine === undefined || seenReads.has(readLine)) continue;
        if (writes.some((w) => w.line < readLine)) continue;
        reports.push(r);
      }
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
