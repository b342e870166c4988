import detector from '../../src/detectors/shared-state-across-await.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'python: iterate self.subscribers and await each send while others subscribe',
      path: 'app/live/feed.py',
      code: `class Feed:
    def __init__(self):
        self.subscribers = set()

    def subscribe(self, queue):
        self.subscribers.add(queue)

    def unsubscribe(self, queue):
        self.subscribers.discard(queue)

    async def publish(self, item):
        for queue in self.subscribers:
            await queue.put(item)
`,
      errors: [{ mode: 'async_ordering', line: 12 }],
    },
    {
      name: 'ts: module-level map iterated with await while sockets come and go',
      path: 'src/ws/presence.ts',
      code: `const sockets = new Map<string, WebSocket>();
export function join(id: string, ws: WebSocket) {
  sockets.set(id, ws);
}
export function leave(id: string) {
  sockets.delete(id);
}
export async function announce(text: string) {
  for (const [id, ws] of sockets) {
    await sendAsync(ws, text);
  }
}
`,
      errors: [{ mode: 'async_ordering', line: 9 }],
    },
    {
      name: 'ts: this.cache checked, awaited load, then set',
      path: 'src/config/loader.ts',
      code: `export class ConfigLoader {
  private cache = new Map<string, Config>();
  async get(tenant: string) {
    if (!this.cache.has(tenant)) {
      const cfg = await fetchConfig(tenant);
      this.cache.set(tenant, cfg);
    }
    return this.cache.get(tenant)!;
  }
}
`,
      errors: [{ mode: 'async_ordering', line: 4 }],
    },
    {
      name: 'ts: this.pending handed to an awaited post, then reset to []',
      path: 'src/telemetry/sink.ts',
      code: `export class MetricSink {
  private pending: Metric[] = [];
  constructor(private readonly http: HttpClient) {}
  record(m: Metric) {
    this.pending.push(m);
  }
  async drain() {
    if (!this.pending.length) return;
    await this.http.post('/metrics', { points: this.pending });
    this.pending = [];
  }
}
`,
      errors: [{ mode: 'async_ordering', line: 9 }],
    },
    {
      name: 'ts: module-level queue copied, sent, then truncated with length = 0',
      path: 'src/outbox/pump.ts',
      code: `const queue: Envelope[] = [];
export function enqueue(e: Envelope) {
  queue.push(e);
}
export async function pump() {
  const batch = queue.slice();
  await transport.send(batch);
  queue.length = 0;
}
`,
      errors: [{ mode: 'async_ordering', line: 8 }],
    },
    {
      name: 'python: self.lines shipped with await, then cleared',
      path: 'app/logs/shipper.py',
      code: `class LogShipper:
    def __init__(self, client):
        self.client = client
        self.lines = []

    def write(self, line):
        self.lines.append(line)

    async def ship(self):
        if not self.lines:
            return
        await self.client.bulk(self.lines)
        self.lines.clear()
`,
      errors: [{ mode: 'async_ordering', line: 13 }],
    },
    {
      name: 'python: shared report counter += await in coroutines run by gather',
      path: 'app/crawl/crawler.py',
      code: `import asyncio


class Crawler:
    async def crawl(self, report, urls):
        await asyncio.gather(*(self._fetch(report, u) for u in urls))

    async def _fetch(self, report, url):
        report.bytes_seen += await self.http.size(url)
`,
      errors: [{ mode: 'async_ordering', line: 9 }],
    },
    {
      name: 'python: self.total copied, awaited, stored back, tasks in a TaskGroup',
      path: 'app/scoring/scorer.py',
      code: `import asyncio


class Scorer:
    def __init__(self, model):
        self.model = model
        self.total = 0

    async def score_all(self, items):
        async with asyncio.TaskGroup() as tg:
            for it in items:
                tg.create_task(self.score_one(it))

    async def score_one(self, item):
        current = self.total
        points = await self.model.score(item)
        self.total = current + points
`,
      errors: [{ mode: 'async_ordering', line: 17 }],
    },
    {
      name: 'ts: closure total += await inside Promise.all(map(async …))',
      path: 'src/storage/usage.ts',
      code: `export async function totalSize(keys: string[]) {
  let total = 0;
  await Promise.all(
    keys.map(async (k) => {
      total += await headSize(k);
    }),
  );
  return total;
}
`,
      errors: [{ mode: 'async_ordering', line: 5 }],
    },
    {
      name: 'python: module-level counter += await in a route handler',
      path: 'app/api/uploads.py',
      code: `from fastapi import APIRouter

router = APIRouter()
usage = UsageCounters()


@router.post("/uploads")
async def upload(file: UploadFile):
    usage.bytes_stored += await blob_store.put(file)
    return {"ok": True}
`,
      errors: [{ mode: 'async_ordering', line: 9 }],
    },
  ],
  valid: [
    {
      name: 'python: a request body object updated with += await in a route handler',
      path: 'app/api/measure.py',
      code: `from fastapi import APIRouter

router = APIRouter()


@router.post("/measure")
async def measure(payload: Payload):
    payload.size += await sizer.measure(payload)
    return payload
`,
    },
    {
      name: 'fixed twin: ts swaps the buffer out before awaiting the post',
      path: 'src/telemetry/sink.ts',
      code: `export class MetricSink {
  private pending: Metric[] = [];
  constructor(private readonly http: HttpClient) {}
  record(m: Metric) {
    this.pending.push(m);
  }
  async drain() {
    if (!this.pending.length) return;
    const points = this.pending;
    this.pending = [];
    await this.http.post('/metrics', { points });
  }
}
`,
    },
    {
      name: 'fixed twin: module-level queue spliced out before the await',
      path: 'src/outbox/pump.ts',
      code: `const queue: Envelope[] = [];
export function enqueue(e: Envelope) {
  queue.push(e);
}
export async function pump() {
  const batch = queue.splice(0, queue.length);
  await transport.send(batch);
}
`,
    },
    {
      name: 'fixed twin: python swaps self.lines before the await',
      path: 'app/logs/shipper.py',
      code: `class LogShipper:
    def __init__(self, client):
        self.client = client
        self.lines = []

    def write(self, line):
        self.lines.append(line)

    async def ship(self):
        if not self.lines:
            return
        batch, self.lines = self.lines, []
        await self.client.bulk(batch)
`,
    },
    {
      name: 'a cache rebuilt from fresh rows after the await, and a close() that empties the buffer',
      path: 'src/registry.ts',
      code: `export class Registry {
  private items = new Map<string, Item>();
  private outbox: Item[] = [];
  put(k: string, v: Item) {
    this.items.set(k, v);
    this.outbox.push(v);
  }
  async reload() {
    const rows = await this.db.load(Array.from(this.items.keys()));
    this.items = new Map();
    for (const r of rows) this.items.set(r.id, r);
  }
  async close() {
    await this.db.write(this.outbox);
    this.outbox = [];
  }
}
`,
    },
    {
      name: 'fixed twin: python awaits into a local, then adds without a suspension in between',
      path: 'app/crawl/crawler.py',
      code: `import asyncio


class Crawler:
    async def crawl(self, report, urls):
        await asyncio.gather(*(self._fetch(report, u) for u in urls))

    async def _fetch(self, report, url):
        size = await self.http.size(url)
        report.bytes_seen += size
`,
    },
    {
      name: 'python: += await in a sequential loop',
      path: 'app/crawl/sequential.py',
      code: `class Crawler:
    async def crawl(self, report, urls):
        for u in urls:
            report.bytes_seen += await self.http.size(u)
`,
    },
    {
      name: 'fixed twin: ts sums the results of Promise.all',
      path: 'src/storage/usage.ts',
      code: `export async function totalSize(keys: string[]) {
  const sizes = await Promise.all(keys.map((k) => headSize(k)));
  return sizes.reduce((a, b) => a + b, 0);
}
`,
    },
    {
      name: 'ts: local string built with += await in a for-of loop',
      path: 'src/render/page.ts',
      code: `export async function render(parts: Part[]) {
  let html = '';
  for (const p of parts) {
    html += await renderPart(p);
  }
  return html;
}
`,
    },
    {
      name: 'arrays filled once at startup and iterated with await (plugins)',
      path: 'src/core/plugins.ts',
      code: `export class Host {
  private plugins: Plugin[] = [];
  use(p: Plugin) {
    this.plugins.push(p);
  }
  async init() {
    for (const p of this.plugins) {
      await p.init(this);
    }
  }
}
`,
    },
    {
      name: 'python: list appended at registration and iterated with await',
      path: 'app/hooks.py',
      code: `class Hooks:
    def __init__(self):
        self.handlers = []

    def register(self, fn):
        self.handlers.append(fn)

    async def run(self, event):
        for fn in self.handlers:
            await fn(event)
`,
    },
    {
      name: 'fixed twin: python iterates a snapshot',
      path: 'app/live/feed.py',
      code: `class Feed:
    def __init__(self):
        self.subscribers = set()

    def subscribe(self, queue):
        self.subscribers.add(queue)

    def unsubscribe(self, queue):
        self.subscribers.discard(queue)

    async def publish(self, item):
        for queue in list(self.subscribers):
            await queue.put(item)
`,
    },
    {
      name: 'fixed twin: ts iterates Array.from snapshot',
      path: 'src/ws/presence.ts',
      code: `const sockets = new Map<string, WebSocket>();
export function join(id: string, ws: WebSocket) {
  sockets.set(id, ws);
}
export function leave(id: string) {
  sockets.delete(id);
}
export async function announce(text: string) {
  for (const [id, ws] of Array.from(sockets)) {
    await sendAsync(ws, text);
  }
}
`,
    },
    {
      name: 'fixed twin: cache holds the promise, set before any await',
      path: 'src/config/loader.ts',
      code: `export class ConfigLoader {
  private cache = new Map<string, Promise<Config>>();
  async get(tenant: string) {
    let p = this.cache.get(tenant);
    if (!p) {
      p = fetchConfig(tenant);
      this.cache.set(tenant, p);
    }
    return p;
  }
}
`,
    },
    {
      name: 'python: loop under an asyncio lock; locals and per-request objects',
      path: 'app/live/rooms.py',
      code: `class Rooms:
    def __init__(self):
        self.members = {}
        self._lock = asyncio.Lock()

    def add(self, room, ws):
        self.members.setdefault(room, set()).add(ws)

    async def send_all(self, room, msg):
        async with self._lock:
            for ws in self.members.get(room, ()):
                await ws.send_json(msg)

    async def echo(self, request):
        seen = set()
        for item in request.items:
            seen.add(item)
            await request.reply(item)
`,
    },
    {
      name: 'koa ctx state and local arrays across awaits',
      path: 'src/mw/timing.ts',
      code: `export async function timing(ctx: Context, next: Next) {
  const marks: number[] = [];
  for (const m of ctx.state.marks) {
    await record(m);
    marks.push(m);
  }
  await next();
}
`,
    },
  ],
});
