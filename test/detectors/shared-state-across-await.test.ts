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
  ],
  valid: [
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
