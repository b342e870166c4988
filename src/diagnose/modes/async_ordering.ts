/** Async ordering: interleaving at await points, floating promises, shared state mutated across awaits. */
import { calleeOf, code, concurrentTest, fenced, type Ctx, type ModeText } from '../common.js';

type Pattern = 'floating-promise' | 'reply-before-write' | 'foreach-async' | 'mutate-across-await' | 'iterate-across-await';

function patternOf(x: Ctx): Pattern {
  const p = x.fact('pattern', '') as Pattern;
  if (p) return p;
  const all = x.c.evidence.map((e) => e.text).join('\n');
  if (/forEach\s*\(\s*async/.test(all)) return 'foreach-async';
  const state = x.ev('state');
  if (state && /\bfor\b/.test(state.text + (x.ev('start')?.text ?? ''))) return 'iterate-across-await';
  if (state) return 'mutate-across-await';
  const act = x.ev('act');
  if (act && /reply|res\.|response|send|json|status|return/.test(act.text)) return 'reply-before-write';
  return 'floating-promise';
}

export function diagnose(x: Ctx): ModeText {
  const pattern = patternOf(x);
  const start = x.ev('start', 0);
  const act = x.ev('act');
  const stateLine = x.ev('state');
  const unawaited = x.callOn(start, 'unawaitedCall', 'the async call');
  const startText = start?.text.trim().replace(/;$/, '') ?? unawaited;
  const reply = x.callOn(act, 'replyCall', 'the reply');
  const state = x.fact('state', stateLine ? (/([\w.]+\[?[\w'"]*\]?)\s*(?:\.get\(|\[|\.(?:add|discard|push|set|delete|remove|append))/.exec(stateLine.text)?.[1] ?? x.entity) : x.entity);
  const awaitCall = x.fact('awaitCall', (start && calleeOf(start.text.replace(/^\s*for\b.*?:\s*/, ''))) || unawaited);
  const lang = x.fam === 'python' ? 'Python' : x.fam === 'go' ? 'Go' : 'JavaScript';

  const whatHappens: Record<Pattern, string> = {
    'floating-promise': `${x.cite(start)} starts ${code(unawaited)} and nobody awaits the promise, so the function goes on${act ? ` to ${x.cite(act)}` : ''} before that work has finished. A failure of ${unawaited} becomes an unhandled rejection instead of an error the caller sees.`,
    'reply-before-write': `${x.cite(start)} starts ${code(unawaited)} without awaiting it, and ${x.cite(act)} replies straight away. The client is told the work is done (and gets any generated id, which is not assigned yet) before it is stored; a client that reads right after may not find it, and a failed write is an unhandled rejection while the client already got a success.`,
    'foreach-async': `${x.cite(start)} passes an async callback to forEach, which ignores the returned promises: every iteration runs concurrently and the function continues${act ? ` to ${x.cite(act)}` : ''} before any of them has finished; errors are unhandled.`,
    'mutate-across-await': `${x.cite(stateLine)} mutates ${code(state)}, which is shared by every ${x.actors.kind} in the process, around the await at ${x.cite(start)}. While one ${x.actors.kind} is suspended there, another runs the same code on the same state, so the value read before the await is stale after it.`,
    'iterate-across-await': `${x.cite(stateLine ?? start)} iterates ${code(state)} and suspends at ${code(awaitCall)} (${x.at(start)}) on every element. While suspended, other ${x.actors.kind}s add to or remove from the same collection${x.fam === 'python' ? ', and when the loop resumes Python raises "RuntimeError: Set changed size during iteration" (or "dictionary changed size")' : ''}; the error escapes into the caller and the remaining elements are skipped.`,
  };

  const explanation = [
    `This is an async ordering bug (${pattern.replace(/-/g, ' ')}) in ${x.fnLabel}. ${whatHappens[pattern]} ${lang} ${x.fam === 'go' ? 'goroutines' : 'async code'} interleave${x.fam === 'go' ? '' : 's'} at every ${x.fam === 'go' ? 'blocking operation' : 'await'}; one event loop does not make the code atomic.`,
    '',
    'Why not the nearest other modes:',
    `- Not toctou or lost_update: ${pattern === 'mutate-across-await' || pattern === 'iterate-across-await' ? `the shared state is ${code(state)} in process memory, not a database row; a database constraint would not help` : 'no second request is needed; a single call already misorders its own steps'}.`,
    `- Not eventual_consistency: ${pattern === 'reply-before-write' || pattern === 'floating-promise' ? `the write has not even been awaited, let alone replicated; reading from the primary would not help` : 'no replica or cache is read'}.`,
    `- Not message_ordering: nothing is delivered by a broker; the order is decided by the ${x.fam === 'go' ? 'scheduler' : 'event loop'} inside this process.`,
  ].join('\n');

  const interleaving = buildSteps(x, pattern, { start, act, stateLine, unawaited, reply, state, awaitCall, startText });

  const missingTest = buildTest(x, pattern, { unawaited, state, awaitCall });

  const fix = buildFix(x, pattern, { unawaited, startText, state, awaitCall });

  const whatNotToDo = [
    pattern === 'reply-before-write' || pattern === 'floating-promise'
      ? `Don't add a setTimeout/sleep before ${reply}: it narrows the window, it does not order the steps.`
      : `Don't add a sleep or yield to "let the others finish": the interleaving just moves.`,
    x.fam === 'python'
      ? `Don't silence the error with a bare \`except\` or \`return_exceptions=True\` without handling the results: the work still may not happen and nobody will know.`
      : `Don't swallow the error with \`.catch(() => {})\` to silence it: the work still may not happen and nobody will know.`,
    pattern === 'iterate-across-await' || pattern === 'mutate-across-await'
      ? `Don't wrap the whole loop in one global lock: one slow ${awaitCall} then blocks every other ${x.actors.kind}.`
      : `Don't fire-and-forget on purpose "for latency" unless the work goes through a durable queue with retries.`,
    `Don't rely on a single-threaded runtime to make ${code(state)} safe: it is only safe between awaits.`,
  ];
  return { explanation, interleaving, missingTest, fix, whatNotToDo };
}

interface Bits {
  start: ReturnType<Ctx['ev']>;
  act: ReturnType<Ctx['ev']>;
  stateLine: ReturnType<Ctx['ev']>;
  unawaited: string;
  reply: string;
  state: string;
  awaitCall: string;
  startText: string;
}

function buildSteps(x: Ctx, p: Pattern, b: Bits): string[] {
  if (p === 'iterate-across-await' || p === 'mutate-across-await') {
    return [
      x.step(0, 'a', b.stateLine ?? b.start, p === 'iterate-across-await' ? `starts iterating ${b.state}` : `reads ${b.state}`),
      x.step(1, 'a', b.start, `awaits ${b.awaitCall} → suspended, the event loop runs others`),
      x.step(2, 'b', b.stateLine, p === 'iterate-across-await' ? `adds to / removes from ${b.state} (a join or a disconnect)` : `reads the same ${b.state} and changes it`),
      x.step(3, 'b', b.start, `awaits in turn`),
      x.step(4, 'a', b.start, p === 'iterate-across-await' ? `resumes the loop over ${b.state}: the collection changed under it` : `resumes and writes ${b.state} from the value it read at T0`),
      p === 'iterate-across-await'
        ? x.step(5, 'a', undefined, x.fam === 'python' ? 'RuntimeError: Set changed size during iteration, escaping into the caller' : 'skips or repeats elements')
        : x.step(5, 'b', undefined, `its change to ${b.state} is overwritten`),
      p === 'iterate-across-await' ? `Result: the rest of ${b.state} never gets the message, and the caller's own loop ends with an error.` : `Result: ${b.state} is inconsistent, one ${x.actors.kind}'s change is lost.`,
    ];
  }
  if (p === 'foreach-async') {
    const inner = /await\s+([\w.]+)\s*\(/.exec(b.startText)?.[1] ?? 'the awaited call';
    const coll = /([\w.]+)\.forEach/.exec(b.startText)?.[1] ?? b.state;
    return [
      x.step(0, 'a', b.start, `${coll}.forEach starts one async callback per element and discards their promises`),
      x.step(1, 'a', b.start, `each callback reaches await ${inner} and suspends`),
      x.step(2, 'a', b.act, `${x.fnName} returns${b.act ? ` (${b.act.text.trim().slice(0, 40)})` : ''} while every ${inner} is still pending`),
      x.step(3, 'b', undefined, `the caller (or the next job) proceeds as if all of ${coll} were handled`),
      x.step(4, 'a', b.start, `one ${inner} rejects → unhandled rejection, no retry, nobody is told`),
      `Result: ${x.fnName} reports completion for work that is still running, and failures inside ${coll}.forEach are lost.`,
    ];
  }
  return [
    x.step(0, 'a', b.start, `calls ${b.unawaited} → a promise nobody awaits; the write is only queued`),
    x.step(1, 'a', b.act, `${b.reply} runs immediately (id not assigned yet, nothing stored yet)`),
    x.step(2, 'b', undefined, `the client's follow-up read of the ${x.entity} it was just told about → not found`),
    x.step(3, 'a', b.start, `${b.unawaited} finally runs its query`),
    x.step(4, 'a', b.start, `if it fails (constraint, lost connection) → unhandled rejection; the response already said success`),
    `Result: the caller${p === 'reply-before-write' ? ' got a success and an id' : ' moved on'} for work that may never be stored, and errors are invisible.`,
  ];
}

function buildTest(x: Ctx, p: Pattern, b: { unawaited: string; state: string; awaitCall: string }): string {
  if (p === 'iterate-across-await' || p === 'mutate-across-await') {
    return concurrentTest(x, {
      should: `survives joins and leaves while ${x.fnName} awaits`,
      n: 20,
      setup: {
        python: `# half the coroutines change ${b.state} while the others are suspended in ${b.awaitCall}`,
        js: `// half the tasks change ${b.state} while the others are suspended in ${b.awaitCall}`,
      },
      call: {
        python: `${x.sig.owner ? 'subject.' : ''}${x.fnName}(${x.sig.params.join(', ')}) if i % 2 == 0 else mutate_${b.state.replace(/\W+/g, '_').replace(/^_+|_+$/g, '')}(i)`,
        js: `i % 2 === 0 ? ${x.sig.owner ? 'subject.' : ''}${x.fnName}(${x.sig.params.join(', ')}) : mutateSharedState(i)`,
      },
      assert: {
        python: `errors = [r for r in results if isinstance(r, Exception)]\nassert errors == []  # no "changed size during iteration"`,
        js: `expect(results.filter((r) => r.status === 'rejected')).toHaveLength(0);`,
        go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n// go test -race reports the concurrent map access itself`,
        ruby: `expect(results.grep(StandardError)).to be_empty`,
      },
    });
  }
  return concurrentTest(x, {
    should: p === 'foreach-async' ? 'resolves only after every callback has finished' : `stores every ${x.entity} before replying`,
    n: 10,
    assert: {
      js: `for (const r of results) {\n  expect(r.status).toBe('fulfilled');\n  // what the caller was told exists must already be readable\n  const id = (r as PromiseFulfilledResult<{ id?: unknown }>).value?.id;\n  expect(id).toBeDefined();\n}\n// and a failing ${b.unawaited} must fail the call, not become an unhandled rejection:\n// make it reject once and expect the call to reject (or the route to answer 500)`,
      python: `assert [r for r in results if isinstance(r, Exception)] == []\n# every returned id must be readable now, and a failing write must raise here`,
      go: `for err := range errs {\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n}`,
      ruby: `expect(results.grep(StandardError)).to be_empty`,
    },
  });
}

function buildFix(x: Ctx, p: Pattern, b: { unawaited: string; startText: string; state: string; awaitCall: string }): string {
  if (p === 'iterate-across-await') {
    const code =
      x.fam === 'python'
        ? `targets = list(${b.state})  # snapshot: joins/leaves during the sends no longer touch the loop
results = await asyncio.gather(*(ws.send_json(message) for ws in targets), return_exceptions=True)
for ws, result in zip(targets, results):
    if isinstance(result, Exception):
        self.leave(room, ws)  # drop sockets whose send failed`
        : `const targets = [...${b.state}]; // snapshot before the first await
const settled = await Promise.allSettled(targets.map((t) => t.send(message)));
settled.forEach((r, i) => { if (r.status === 'rejected') remove(targets[i]); });`;
    return [`Iterate over a snapshot of ${b.state} taken before the first await, and send concurrently, collecting failures instead of letting one escape:`, fenced(x.fence, code)].join('\n\n');
  }
  if (p === 'mutate-across-await') {
    const code =
      x.fam === 'python'
        ? `_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

async with _locks[key]:  # serialize per key, not globally
    ...  # read ${b.state}, await, write ${b.state}`
        : x.fam === 'go'
          ? `mu.Lock()\n// read and write ${b.state} only while holding mu; do not block (I/O, channel sends) inside\nmu.Unlock()`
          : `const queues = new Map<string, Promise<unknown>>();
function serialize<T>(key: string, work: () => Promise<T>): Promise<T> {
  const next = (queues.get(key) ?? Promise.resolve()).then(work, work);
  queues.set(key, next.catch(() => undefined));
  return next;
}`;
    return [`Do not keep a value of ${b.state} across an await. Either compute and write it without suspending in between, serialize the read-await-write per key, or move the state into the database and update it atomically there.`, fenced(x.fence, code)].join('\n\n');
  }
  if (p === 'foreach-async') {
    const coll = /([\w.]+)\.forEach/.exec(b.startText)?.[1] ?? 'items';
    return [
      `Replace ${coll}.forEach(async …) with a loop that awaits, or with Promise.all when the iterations are independent, so ${x.fnName} finishes only when every callback has and a failure rejects the call:`,
      fenced(x.fence, `await Promise.all(${coll}.map(async (item) => {\n  /* the callback body, unchanged */\n}));\n// or, to keep the order:\nfor (const item of ${coll}) {\n  /* await … */\n}`),
    ].join('\n\n');
  }
  const collected = x.fact('collectedInto', '');
  if (collected) {
    return [
      `Await the promises collected in ${collected} before anything that depends on them (the reply, the commit, the next step), so ${x.fnName} finishes only when every write has and a failure rejects the call:`,
      fenced(x.fence, `await Promise.all(${collected});\n// or, to keep the order and stop at the first failure:\n// for (const item of items) await write(item);`),
      `Inside a transaction, await them before the callback returns: the transaction commits when the callback's promise settles, and writes still running then fail or land outside it.`,
    ].join('\n\n');
  }
  const awaited =
    x.fam === 'python'
      ? `saved = await ${b.startText.replace(/^await\s+/, '')}`
      : `const saved = await ${b.startText.replace(/^(void\s+|await\s+)/, '')};`;
  return [
    `Await ${b.unawaited} before anything that depends on it (analytics, the reply), and build the response from what it returned, so the id exists and a failure reaches the error handler (500) instead of being an unhandled rejection:`,
    fenced(x.fence, `${awaited}\n${x.fam === 'python' ? '# reply with saved.id' : '// reply with saved.id, after the write has landed'}`),
    `If the work must not delay the response, hand it to a durable queue (an outbox row in the same transaction, or a job with retries), not to an unawaited ${x.fam === 'python' ? 'task' : 'promise'}. ${x.fam === 'python' ? 'Run the tests with asyncio debug mode (PYTHONASYNCIODEBUG=1) so never-awaited coroutines are reported.' : 'Turn on `@typescript-eslint/no-floating-promises` so this cannot come back.'}`,
  ].join('\n\n');
}
