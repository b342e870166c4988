/** Stale read: read-your-writes violated by a replica, a cache or a search index read right after a write. */
import { camel, code, concurrentTest, fenced, singular, type Ctx, type ModeText } from '../common.js';

type Source = 'replica' | 'cache' | 'search';

function sourceOf(x: Ctx): Source {
  const s = x.fact('staleSource', '').toLowerCase();
  if (s === 'replica' || s === 'cache' || s === 'search') return s;
  if (x.has('cacheKey') || x.has('cacheTtl')) return 'cache';
  if (x.has('replica')) return 'replica';
  const all = `${x.entity} ${x.c.title} ${x.c.evidence.map((e) => e.text).join(' ')}`;
  if (/cache|redis|memcache/i.test(all)) return 'cache';
  if (/elastic|search|index|opensearch|algolia|meili/i.test(all)) return 'search';
  return 'replica';
}

export function diagnose(x: Ctx): ModeText {
  if (x.fact('pattern', '') === 'cache-aside-fill') return cacheFill(x);
  const source = sourceOf(x);
  // The write may be in the caller (a helper that reads back is reported on its read): then there is no write line.
  const write = x.ev('write');
  const read = x.ev('stale-read', 1);
  const act = x.ev('act', -1);
  const writeCall = x.callOn(write, 'writeCall', 'the write');
  const readCall = x.callOn(read, 'readCall', 'the read');
  const actCall = x.callOn(act && act !== read ? act : undefined, 'actCall', 'the decision');
  const replica = x.fact('replica', 'the replica');
  const cacheKey = x.fact('cacheKey', `${singular(x.table)}:{id}`);
  const ttl = x.fact('cacheTtl', '');
  const thing = x.thing;
  const lagger =
    source === 'cache'
      ? `the cache (${code(cacheKey)}${ttl ? `, TTL ${ttl}` : ''})`
      : source === 'search'
        ? 'the search index'
        : /router/i.test(replica)
          ? `the replica (by ${code(replica)})`
          : `${code(replica)}`;
  // Second actor is the lagging copy itself.
  const b = source === 'cache' ? 'cache' : source === 'search' ? 'search index' : 'replica';

  const why =
    source === 'cache'
      ? `${readCall} serves from ${lagger}, and nothing on this path invalidates that entry after ${writeCall}, so the read right after the write usually returns the cached copy from before it.`
      : source === 'search'
        ? `${readCall} queries the search index, which is refreshed asynchronously after ${writeCall}, so the document still has its old content.`
        : `${readCall} is routed to ${lagger}, which applies the primary's changes asynchronously (typically milliseconds, seconds under load), so the read right after ${writeCall} usually sees the row as it was before the write.`;

  const explanation = [
    `This is a stale read (eventual_consistency) in ${x.fnLabel}: ${write ? `${x.cite(write)} writes ${code(x.entity)} on the primary` : `${x.has('callerFunction') ? code(x.fact('callerFunction', '')) : 'the caller'} writes ${code(x.entity)} on the primary with ${writeCall} and then calls ${x.fnLabel}`}, then ${x.cite(read)} reads it back. ${why} ${act && act !== read ? `${x.cite(act)} then acts on the old value.` : 'The code then acts on the old value.'} Read-your-writes is not guaranteed on this path.`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update or toctou: no second ${x.actors.kind} is needed; a single ${x.actors.kind} reads its own write through a copy that lags.`,
    `- Not async_ordering: ${writeCall} is awaited and committed before the read; the order in the code is right, the read's source is behind.`,
    `- Not message_ordering: no broker delivers anything out of order; the lag is ${source === 'cache' ? 'a cache entry that was never invalidated' : source === 'search' ? 'index refresh' : 'replication'}.`,
  ].join('\n');

  const interleaving = [
    x.step(0, 'a', write, `${writeCall} commits on the primary`),
    x.step(1, b, undefined, source === 'cache' ? `still holds ${cacheKey} from before the write (not invalidated)` : source === 'search' ? 'has not refreshed the document yet' : 'has not replayed the commit yet (replication lag)'),
    x.step(2, 'a', read, `${readCall} → served by the ${b}: old ${thing} state`),
    x.step(3, 'a', act, `${actCall} decides on the old value`),
    x.step(4, b, undefined, source === 'cache' ? `keeps serving the old value until the TTL${ttl ? ` (${ttl})` : ''} expires` : 'catches up a moment later: too late'),
    `Result: the ${x.actors.kind} acted on data from before its own write (wrong branch, wrong recipient or a missed side effect), with nothing in the logs.`,
  ];

  const missingTest = concurrentTest(x, {
    should: `acts on the value it just wrote`,
    n: 5,
    setup: {
      js:
        source === 'cache'
          ? `// warm the cache with the old ${thing} first, exactly as a previous request would\nawait ${readCall}(/* the same id */);`
          : `// point reads at a replica that lags (a test router/replica that applies writes late)`,
      python:
        source === 'cache'
          ? `# warm the cache with the old ${thing} first, as a previous request would`
          : `# use a replica alias that lags: e.g. DATABASE_ROUTERS pointing reads at a second connection\n# whose transaction started before the write (so it cannot see it)`,
      ruby: `# use a lagging replica/cache fixture so reads return the old ${thing}`,
      go: `// wire the reader to a lagging replica (or a cache warmed with the old ${thing})`,
    },
    assert: {
      js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);\n// the side effect saw the new value, not the cached/replicated old one\nexpect(${actCall.includes('.') ? `${x.framework === 'jest' ? 'jest' : 'vi'}.mocked(${actCall})` : 'effect'}).toHaveBeenLastCalledWith(expect.objectContaining({ /* the value just written */ }));`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []\n# assert the decision/side effect used the value just written (e.g. the refund happened, the mail went to the new address)`,
      ruby: `expect(results.grep(StandardError)).to be_empty`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n// assert the effect used the value just written`,
    },
  });

  const fix = buildFix(x, source, { writeCall, readCall, cacheKey, replica });

  const whatNotToDo = [
    `Don't add a sleep or a retry loop until ${b === 'cache' ? 'the cache' : `the ${b}`} "catches up": lag is unbounded under load.`,
    source === 'cache'
      ? `Don't shorten the TTL of ${cacheKey} as the fix: a shorter window is still a window.`
      : `Don't send every read to the primary globally: pin only the write flows that must read their own writes.`,
    source === 'cache'
      ? `Don't delete ${cacheKey} before the write commits: a concurrent reader repopulates it with the old row in between.`
      : `Don't read back through the ORM's default manager right after the write: it goes through the same router.`,
    `Don't cache or replicate the value and then "double-check" it in the same flow: use the value the write returned.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

function buildFix(x: Ctx, source: Source, b: { writeCall: string; readCall: string; cacheKey: string; replica: string }): string {
  const acc = camel(x.model.charAt(0).toLowerCase() + x.model.slice(1));
  const useReturned =
    x.fam === 'js'
      ? x.orm === 'prisma'
        ? `const ${acc} = await prisma.${acc}.update({ where: { id }, data: { /* unchanged */ } }); // the updated row
// use ${acc} below instead of ${b.readCall}(...)`
        : `const { rows: [${acc}] } = await db.query('UPDATE ${x.table} SET … WHERE id = $1 RETURNING *', [id]);`
      : x.fam === 'python'
        ? `updated = ${x.model}.objects.filter(pk=pk, ...).update(...)  # same conditions and values as today
if updated == 1:
    ...  # decide from the UPDATE's own result
# or pin the read to the primary in write flows:
obj = ${x.model}.objects.using("default").get(pk=pk)`
        : x.fam === 'ruby'
          ? `record.update!(/* … */) # use record afterwards; or\nActiveRecord::Base.connected_to(role: :writing) { ${x.model}.find(id) }`
          : x.fam === 'go'
            ? `err := tx.QueryRowContext(ctx, \`UPDATE ${x.table} SET … WHERE id = $1 RETURNING …\`, id).Scan(&row)`
            : `UPDATE ${x.table} SET … WHERE id = $1 RETURNING *;`;
  const parts = [`Decide from what the write returned, or read from the primary in the same flow: the ${x.actors.kind} that wrote must read its own write.`, fenced(x.fence, useReturned)];
  if (source === 'cache') {
    const inval =
      x.fam === 'python'
        ? `transaction.on_commit(lambda: cache.delete(f"${b.cacheKey.replace(/\{(\w+)\}/g, '{$1}')}"))`
        : x.fam === 'ruby'
          ? `after_commit { Rails.cache.delete("${b.cacheKey}") }`
          : x.fam === 'go'
            ? `// after tx.Commit():\nrdb.Del(ctx, fmt.Sprintf("${b.cacheKey.replace(/\{\w+\}/g, '%v')}", id))`
            : `// after the write has committed:\nawait redis.del(\`${b.cacheKey.replace(/\{(\w+)\}/g, '${$1}')}\`);`;
    parts.push(`And invalidate ${code(b.cacheKey)} after the write commits (delete, not set, so the next read repopulates from the database):`, fenced(x.fence, inval));
  } else if (source === 'replica') {
    parts.push(`If the flow must re-read, route it to the primary (${x.fam === 'python' ? '`.using("default")` or a router that sticks to the primary for the rest of a request after a write' : 'a sticky-primary session after a write, or a version/LSN token the replica read waits for'}). Reads that tolerate lag can stay on ${code(b.replica)}.`);
  }
  return parts.join('\n\n');
}

/**
 * Cache-aside fill racing invalidation: a reader fills the cache from a read taken before a writer's update, and its
 * SET lands after the writer's delete, so the old value is cached for the whole TTL.
 */
function cacheFill(x: Ctx): ModeText {
  const read = x.ev('stale-read', 0);
  const set = x.ev('act', -1);
  const write = x.ev('write');
  const key = x.fact('cacheKey', `${singular(x.table)}:{id}`);
  const ttl = x.fact('cacheTtl', '');
  const writer = x.fact('writerFunction', 'the writer');
  const decider = x.fact('decidingFunction', x.fnLabel);
  const thing = x.thing;
  const life = ttl ? `for up to ${ttl}` : 'until the next invalidation';

  const explanation = [
    `This is a stale cache (eventual_consistency) from a cache-aside race in ${x.fnLabel}: on a miss, ${x.cite(read)} loads the ${thing} from the database and ${x.cite(set)} stores it under ${code(key)} ${ttl ? `with a ${ttl} expiry` : 'without an expiry'}. ${code(writer)} updates the ${thing} and then deletes that key${write ? ` (${x.cite(write)})` : ''}. When the fill's read happens before the update commits but its SET runs after the delete, the old ${thing} is written back into the cache and served ${life}: the delete has already happened, so nothing removes it. ${code(decider)} decides from that cached value.`,
    '',
    'Why not the nearest other modes:',
    `- Not lost_update: the database row is right; only the cached copy is old, and it is the copy the decision reads.`,
    `- Not toctou: nobody acts twice; one reader publishes an old value after the invalidation that should have removed it.`,
    `- Not a plain read-after-write on a replica: the writer's own read may well be fresh; it is every later reader of ${code(key)} that gets the old ${thing}.`,
  ].join('\n');

  const interleaving = [
    x.step(0, 'a', read, `cache miss on ${key}; reads the ${thing} from the database → old value`),
    x.step(1, 'b', write, `${writer} updates the ${thing} and commits`),
    x.step(2, 'b', write, `${writer} deletes ${key}: there is nothing cached yet`),
    x.step(3, 'a', set, `stores the old value it read at T0 under ${key}${ttl ? ` for ${ttl}` : ''}`),
    x.step(4, 'every later request', undefined, `reads ${key} → the old ${thing}; ${decider} decides from it`),
    `Result: the cache holds the value from before the update ${life}, although the update and its invalidation both succeeded.`,
  ];

  const missingTest = fenced(
    x.fence,
    x.fam === 'python'
      ? `# pause the fill between its database read and its cache SET, run the writer in that gap
async def test_fill_never_caches_a_value_older_than_the_last_invalidation(cache, db):
    gate = asyncio.Event()
    real_set = cache.set
    async def held_set(*args, **kwargs):
        await gate.wait()
        return await real_set(*args, **kwargs)
    cache.set = held_set
    fill = asyncio.create_task(get_${singular(x.table)}(id))   # reads the old row, then waits before SET
    await asyncio.sleep(0)
    await update_${singular(x.table)}(id, new_values)          # updates the row and deletes the key
    gate.set()
    await fill
    cache.set = real_set
    assert (await get_${singular(x.table)}(id)) == new_values   # fails today: the old row was cached`
      : `// pause the fill between its database read and its cache SET, run the writer in that gap
it('never caches a value older than the last invalidation', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const realSet = redis.set.bind(redis);
  vi.spyOn(redis, 'set').mockImplementationOnce(async (...args: Parameters<typeof redis.set>) => {
    await gate;
    return realSet(...args);
  });
  const fill = get${camel('_' + singular(x.table))}(id); // reads the old row, then waits before SET
  await ${camel(writer.replace(/^.*[.#]/, '')) || 'update'}(id, changes);  // updates the row and deletes the key
  release();
  await fill;
  expect(await get${camel('_' + singular(x.table))}(id)).toMatchObject(changes); // fails today: the old row was cached
});`,
  );

  const fix = [
    `Decide from the database where the value moves money, stock or access; keep the cache for display. For the cache itself, make the fill conditional on nothing having invalidated the key since its read: on a miss take a short lease, let the writer's delete (after commit) remove the lease with the key, and SET only if the lease is still yours, in one server-side step.`,
    fenced(
      x.fence,
      x.fam === 'python'
        ? `FILL_IF_LEASED = "if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end"
lease = uuid4().hex
await r.set(f"{key}:lease", lease, px=5000, nx=True)
row = await load_from_db(id)
await r.eval(FILL_IF_LEASED, 2, key, f"{key}:lease", lease, json.dumps(row), ttl_seconds)
# writer, after commit:
await r.delete(key, f"{key}:lease")`
        : `const FILL_IF_LEASED = "if redis.call('GET', KEYS[2]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end";
const lease = randomUUID();
await redis.set(\`\${key}:lease\`, lease, 'PX', 5000, 'NX');
const row = await loadFromDb(id);
await redis.eval(FILL_IF_LEASED, 2, key, \`\${key}:lease\`, lease, JSON.stringify(row), ttlSeconds);
// writer, after commit:
await redis.del(key, \`\${key}:lease\`);`,
    ),
    `Alternatives: put a version in the key (bumped by the writer in the same transaction as the update), so an old fill lands on a key nobody reads; or keep the TTL short enough that the old value's lifetime is acceptable for what reads it.`,
  ].join('\n\n');

  const whatNotToDo = [
    `Don't "delete twice with a delay": it narrows the window to the delay and fails under load.`,
    `Don't SET the new value from the writer before its transaction commits: a rollback leaves a value that never existed, and a concurrent fill can still overwrite it.`,
    `Don't rely on the ${ttl || 'expiry'} as the fix: it bounds how long the old value lives, it does not stop it being cached.`,
    `Don't move the delete before the update: a reader in between refills the cache with the old row at once.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}
