import detector from '../../src/detectors/shared-state-across-await.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'python: method awaited from a task created per message; capacity/duplicate check, await, then append',
      path: 'lobby/waitlist.py',
      code: `class Waitlist:
    def __init__(self, profiles, cap=20):
        self._profiles = profiles
        self.cap = cap
        self._names = []

    def _listed(self, player_id):
        return any(n.player_id == player_id for n in self._names)

    async def join(self, player_id):
        if self._listed(player_id):
            raise AlreadyListed(player_id)
        if len(self._names) >= self.cap:
            raise Full()
        profile = await self._profiles.fetch(player_id)
        self._names.append(Name(player_id, profile))
        return profile


async def on_join(ws, waitlist, player_id):
    await waitlist.join(player_id)
    await ws.send_json({"ok": True})


async def socket(ws, lobby):
    async for msg in ws:
        asyncio.create_task(on_join(ws, lobby.waitlist, msg.data))
`,
      errors: [{ mode: 'async_ordering', line: 11 }],
    },
    {
      name: 'python: aiohttp app-held pool; a sync helper selects the best element, awaits, then pops it',
      path: 'rental/fleet.py',
      code: `class Fleet:
    def __init__(self, db):
        self._db = db
        self._ready = {}

    def _pick(self, size):
        fits = [b for b in self._ready.values() if b.size == size]
        if not fits:
            raise NoBike(size)
        return max(fits, key=lambda b: b.charge)

    async def rent(self, rider, size):
        bike = self._pick(size)
        await self._db.execute("UPDATE bikes SET rider = $2 WHERE id = $1", bike.id, rider)
        self._ready.pop(bike.id, None)
        return bike


async def on_startup(app):
    app["fleet"] = Fleet(app["db"])
`,
      errors: [{ mode: 'async_ordering', line: 13 }],
    },
    {
      name: 'python: app-state instance, a sync helper lists free slots, the check, an await, then the claim',
      path: 'clinic/rooms.py',
      code: `class RoomBoard:
    def __init__(self, rooms, notifier):
        self._rooms = {r.id: r for r in rooms}
        self._taken = {}
        self._notifier = notifier

    def _open_rooms(self):
        return [r for r in self._rooms.values() if r.id not in self._taken]

    async def seat(self, patient):
        rooms = self._open_rooms()
        if not rooms:
            raise LookupError("no room")
        room = rooms[-1]
        nurse = await self._notifier.call(room, patient)
        self._taken[room.id] = (patient.id, nurse)
        return room


def board(request) -> RoomBoard:
    return request.app.state.boards[request.path_params["clinic"]]
`,
      errors: [{ mode: 'async_ordering', line: 11 }],
    },
    {
      name: 'python: singleton picks the first free element, awaits, and only then removes it',
      path: 'app/desk/pool.py',
      code: `class CourtPool:
    def __init__(self):
        self._open = {}

    async def book(self, db, kind):
        courts = self._open.get(kind, [])
        if not courts:
            raise NoneFree(kind)
        court = courts[0]
        await db.insert_booking(court)
        courts.remove(court)
        return court


pool = CourtPool()
`,
      errors: [{ mode: 'async_ordering', line: 9 }],
    },
    {
      name: 'python: module-level list written through a pooled connection, then emptied with del [:]',
      path: 'svc/audit/outbox.py',
      code: `_events: list[dict] = []


def note(evt):
    _events.append(evt)


async def persist():
    async with db.acquire() as conn:
        await conn.executemany(SQL, _events)
    del _events[:]
`,
      errors: [{ mode: 'async_ordering', line: 11 }],
    },
    {
      name: 'python: global buffer posted, then rebound to [] after the await',
      path: 'svc/metrics/push.py',
      code: `samples = []


def observe(v):
    samples.append(v)


async def push():
    global samples
    await http.post("/ingest", json=samples)
    samples = []
`,
      errors: [{ mode: 'async_ordering', line: 10 }],
    },
    {
      name: 'python: singleton self._rows written with await, then reset to []',
      path: 'svc/search/indexer.py',
      code: `class Indexer:
    def __init__(self, es):
        self.es = es
        self._rows = []

    def add(self, row):
        self._rows.append(row)

    async def commit(self):
        await self.es.bulk(self._rows)
        self._rows = []


indexer = Indexer(es_client)
`,
      errors: [{ mode: 'async_ordering', line: 10 }],
    },
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
    {
      name: 'ts: singleton service checks a Map entry, awaits the insert, then sets it from the stale value',
      path: 'src/shows/seat-hold.service.ts',
      code: `import { ConflictException, Injectable } from '@nestjs/common';
import { HoldRepository } from './hold.repository';

@Injectable()
export class SeatHoldService {
  private remaining = new Map<string, number>();

  constructor(private readonly holds: HoldRepository) {}

  async hold(showId: string, qty: number) {
    const left = this.remaining.get(showId) ?? 0;
    if (left < qty) throw new ConflictException('sold out');
    await this.holds.insert({ showId, qty });
    this.remaining.set(showId, left - qty);
  }
}
`,
      errors: [{ mode: 'async_ordering', line: 12 }],
    },
    {
      name: 'python: parameter of a class kept in a module-level dict, checked, commit awaited, field overwritten',
      path: 'app/lobby/seats.py',
      code: `from dataclasses import dataclass

from sqlalchemy import insert

from .models import Seat


@dataclass
class Lobby:
    code: str
    seats_taken: int
    capacity: int


lobbies: dict[str, Lobby] = {}


async def take_seat(lobby: Lobby, player_id: int, db) -> bool:
    taken = lobby.seats_taken
    if taken >= lobby.capacity:
        return False
    await db.execute(insert(Seat).values(lobby=lobby.code, player_id=player_id))
    await db.commit()
    lobby.seats_taken = taken + 1
    return True
`,
      errors: [{ mode: 'async_ordering', line: 20 }],
    },
    {
      name: 'js: element of a module-level Map checked, awaited save, fields overwritten',
      path: 'src/boards/scores.js',
      code: `import { scoresRepo } from './repo.js';

const boards = new Map();

export async function submitScore(boardId, player, score) {
  const board = boards.get(boardId);
  if (!board || score <= board.top) return false;
  await scoresRepo.insert({ boardId, player, score });
  board.top = score;
  board.holder = player;
  return true;
}
`,
      errors: [{ mode: 'async_ordering', line: 7 }],
    },
    {
      name: 'python: module-level manager checks its quota, awaits the call, then adds to it',
      path: 'app/quota.py',
      code: `class QuotaManager:
    def __init__(self):
        self.used = 0
        self.limit = 1000

    async def consume(self, n, client):
        if self.used + n > self.limit:
            raise RuntimeError("quota exceeded")
        await client.post("/usage", json={"n": n})
        self.used += n


quota = QuotaManager()
`,
      errors: [{ mode: 'async_ordering', line: 7 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: placeholder appended before the await, removed on failure',
      path: 'lobby/waitlist.py',
      code: `class Waitlist:
    def __init__(self, profiles, cap=20):
        self._profiles = profiles
        self.cap = cap
        self._names = []

    def _listed(self, player_id):
        return any(n.player_id == player_id for n in self._names)

    async def join(self, player_id):
        if self._listed(player_id):
            raise AlreadyListed(player_id)
        if len(self._names) >= self.cap:
            raise Full()
        name = Name(player_id, None)
        self._names.append(name)
        try:
            name.profile = await self._profiles.fetch(player_id)
        except Exception:
            self._names.remove(name)
            raise
        return name.profile


async def on_join(ws, waitlist, player_id):
    await waitlist.join(player_id)
    await ws.send_json({"ok": True})


async def socket(ws, lobby):
    async for msg in ws:
        asyncio.create_task(on_join(ws, lobby.waitlist, msg.data))
`,
    },
    {
      name: 'fixed twin: the selected element is popped before the first await',
      path: 'rental/fleet.py',
      code: `class Fleet:
    def __init__(self, db):
        self._db = db
        self._ready = {}

    def _pick(self, size):
        fits = [b for b in self._ready.values() if b.size == size]
        if not fits:
            raise NoBike(size)
        return max(fits, key=lambda b: b.charge)

    async def rent(self, rider, size):
        bike = self._pick(size)
        self._ready.pop(bike.id, None)
        try:
            await self._db.execute("UPDATE bikes SET rider = $2 WHERE id = $1", bike.id, rider)
        except Exception:
            self._ready[bike.id] = bike
            raise
        return bike


async def on_startup(app):
    app["fleet"] = Fleet(app["db"])
`,
    },
    {
      name: 'fixed twin: python app-state instance claims the slot before awaiting the call',
      path: 'clinic/rooms.py',
      code: `class RoomBoard:
    def __init__(self, rooms, notifier):
        self._rooms = {r.id: r for r in rooms}
        self._taken = {}
        self._notifier = notifier

    def _open_rooms(self):
        return [r for r in self._rooms.values() if r.id not in self._taken]

    async def seat(self, patient):
        rooms = self._open_rooms()
        if not rooms:
            raise LookupError("no room")
        room = rooms[-1]
        self._taken[room.id] = (patient.id, None)
        nurse = await self._notifier.call(room, patient)
        self._taken[room.id] = (patient.id, nurse)
        return room


def board(request) -> RoomBoard:
    return request.app.state.boards[request.path_params["clinic"]]
`,
    },
    {
      name: 'python: a per-request object whose helper reads its own fields across an await',
      path: 'clinic/visit.py',
      code: `class VisitForm:
    def __init__(self, data):
        self._rows = data
        self._done = {}

    def _pending(self):
        return [r for r in self._rows if r not in self._done]

    async def run(self, client):
        todo = self._pending()
        if not todo:
            return
        res = await client.post("/visits", json=todo)
        self._done[todo[0]] = res


async def handler(request):
    form = VisitForm(await request.json())
    await form.run(request.app.state.client)
`,
    },
    {
      name: 'fixed twin: python claims the element with pop before awaiting',
      path: 'app/desk/pool.py',
      code: `class CourtPool:
    def __init__(self):
        self._open = {}

    async def book(self, db, kind):
        courts = self._open.get(kind, [])
        if not courts:
            raise NoneFree(kind)
        court = courts[0]
        courts.remove(court)
        await db.insert_booking(court)
        return court


pool = CourtPool()
`,
    },
    {
      name: 'python: module-level list swapped out before the pooled write',
      path: 'svc/audit/outbox.py',
      code: `_events: list[dict] = []


def note(evt):
    _events.append(evt)


async def persist():
    batch = list(_events)
    _events.clear()
    async with db.acquire() as conn:
        await conn.executemany(SQL, batch)
`,
    },
    {
      name: 'python: global buffer swapped with a tuple assignment before the await',
      path: 'svc/metrics/push.py',
      code: `samples = []


def observe(v):
    samples.append(v)


async def push():
    global samples
    batch, samples = samples, []
    await http.post("/ingest", json=batch)
`,
    },
    {
      name: 'python: singleton buffer flushed under an asyncio lock',
      path: 'svc/search/indexer.py',
      code: `class Indexer:
    def __init__(self, es):
        self.es = es
        self._rows = []
        self._lock = asyncio.Lock()

    def add(self, row):
        self._rows.append(row)

    async def commit(self):
        async with self._lock:
            await self.es.bulk(self._rows)
            self._rows = []
`,
    },
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
    {
      name: 'fixed twin: ts service takes the seats before awaiting and gives them back on failure',
      path: 'src/shows/seat-hold.service.ts',
      code: `import { ConflictException, Injectable } from '@nestjs/common';
import { HoldRepository } from './hold.repository';

@Injectable()
export class SeatHoldService {
  private remaining = new Map<string, number>();

  constructor(private readonly holds: HoldRepository) {}

  async hold(showId: string, qty: number) {
    const left = this.remaining.get(showId) ?? 0;
    if (left < qty) throw new ConflictException('sold out');
    this.remaining.set(showId, left - qty);
    try {
      await this.holds.insert({ showId, qty });
    } catch (err) {
      this.remaining.set(showId, (this.remaining.get(showId) ?? 0) + qty);
      throw err;
    }
  }
}
`,
    },
    {
      name: 'fixed twin: python lobby check, insert and update under the lobby lock',
      path: 'app/lobby/seats.py',
      code: `import asyncio
from dataclasses import dataclass, field

from sqlalchemy import insert

from .models import Seat


@dataclass
class Lobby:
    code: str
    seats_taken: int
    capacity: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


lobbies: dict[str, Lobby] = {}


async def take_seat(lobby: Lobby, player_id: int, db) -> bool:
    async with lobby.lock:
        taken = lobby.seats_taken
        if taken >= lobby.capacity:
            return False
        await db.execute(insert(Seat).values(lobby=lobby.code, player_id=player_id))
        await db.commit()
        lobby.seats_taken = taken + 1
    return True
`,
    },
    {
      name: 'fixed twin: js re-checks the board after the await before writing',
      path: 'src/boards/scores.js',
      code: `import { scoresRepo } from './repo.js';

const boards = new Map();

export async function submitScore(boardId, player, score) {
  const board = boards.get(boardId);
  if (!board || score <= board.top) return false;
  await scoresRepo.insert({ boardId, player, score });
  if (score > board.top) {
    board.top = score;
    board.holder = player;
  }
  return true;
}
`,
    },
    {
      name: 'fixed twin: python manager reserves the quota before the await',
      path: 'app/quota.py',
      code: `class QuotaManager:
    def __init__(self):
        self.used = 0
        self.limit = 1000

    async def consume(self, n, client):
        if self.used + n > self.limit:
            raise RuntimeError("quota exceeded")
        self.used += n
        try:
            await client.post("/usage", json={"n": n})
        except Exception:
            self.used -= n
            raise


quota = QuotaManager()
`,
    },
    {
      name: 'a per-call object checked and written across awaits, a running flag claimed first, a max merge',
      path: 'app/shipping.py',
      code: `from dataclasses import dataclass


@dataclass
class Shipment:
    status: str
    carrier: str


class Syncer:
    def __init__(self):
        self.running = False
        self.high_water = 0

    async def run(self, source):
        if self.running:
            return
        self.running = True
        try:
            seen = await source.fetch_since(self.high_water)
        finally:
            self.running = False

    async def note(self, source, value):
        if value <= self.high_water:
            return
        await source.ack(value)
        self.high_water = max(self.high_water, value)


syncer = Syncer()


async def ship(shipment: Shipment, client) -> None:
    if shipment.status != "paid":
        return
    await client.book(shipment.carrier)
    shipment.status = "shipped"
`,
    },
  ],
});
