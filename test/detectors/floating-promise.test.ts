import detector from '../../src/detectors/floating-promise.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'knex: a same-file async writer called without await inside a transaction callback',
      path: 'src/orders/store.ts',
      code: `async function writeLines(trx: Knex.Transaction, orderId: string, lines: Line[]) {
  for (const l of lines) {
    await trx('order_lines').insert({ order_id: orderId, sku: l.sku, qty: l.qty });
  }
}

export async function placeOrder(input: OrderInput) {
  return db.transaction(async (trx) => {
    const [{ id }] = await trx('orders').insert({ customer_id: input.customerId }).returning('id');
    writeLines(trx, id, input.lines);
    await trx('customers').where({ id: input.customerId }).update({ last_order_at: new Date() });
    return id;
  });
}
`,
      errors: [{ mode: 'async_ordering', line: 10 }],
    },
    {
      name: 'mongoose: an imported async rebuild (delete + insert) only .catch-ed, then the same model is read',
      path: 'src/routes/plans.ts',
      code: `import { Slot } from '../models/slot';
import { rebuildSlots } from '../services/slots';

plansRouter.put('/plans/:id', async (req, res) => {
  const plan = await Plan.findByIdAndUpdate(req.params.id, req.body, { new: true });
  rebuildSlots(plan).catch((err) => log.error(err));
  const slots = await Slot.find({ plan: plan._id }).lean();
  res.json({ plan, slots });
});
`,
      extra: [
        {
          path: 'src/services/slots.ts',
          code: `import { Slot } from '../models/slot';

export async function rebuildSlots(plan) {
  await Slot.deleteMany({ plan: plan._id });
  await Slot.insertMany(makeSlots(plan));
}
`,
        },
      ],
      errors: [{ mode: 'async_ordering', line: 6 }],
    },
    {
      name: 'writes pushed into an array that is never awaited',
      path: 'src/kennels/close.ts',
      code: `import { db } from '../db';
export async function closeKennels(ids: number[]) {
  const pending = [];
  for (const id of ids) {
    pending.push(db('kennels').where({ id }).update({ open: false }));
  }
  console.log('closing', pending.length);
}
`,
      errors: [{ mode: 'async_ordering', line: 5 }],
    },
    {
      name: 'knex: ids mapped to a same-file writer, only the array length is logged, the transaction returns',
      path: 'src/lockers/bulk.ts',
      code: `import type { Knex } from 'knex';
async function reserveLocker(trx: Knex.Transaction, memberId: number, lockerId: number) {
  await trx('lockers').where({ id: lockerId, member_id: null }).update({ member_id: memberId });
}
export async function reserveMany(db: Knex, memberId: number, lockerIds: number[]) {
  return db.transaction(async (trx) => {
    const pending = lockerIds.map((id) => reserveLocker(trx, memberId, id));
    log.info({ count: pending.length }, 'lockers reserved');
    return { memberId };
  });
}
`,
      errors: [{ mode: 'async_ordering', line: 7 }],
    },
    {
      name: 'knex: ids mapped to a writer passed by reference, array never awaited',
      path: 'src/lockers/release.ts',
      code: `import { db } from '../db';
async function releaseLocker(lockerId: number) {
  await db('lockers').where({ id: lockerId }).update({ member_id: null });
}
export async function releaseAll(lockerIds: number[]) {
  const jobs = lockerIds.map(releaseLocker);
  console.log('released', jobs.length);
}
`,
      errors: [{ mode: 'async_ordering', line: 6 }],
    },
    {
      name: 'mongoose: instance save only .catch()-ed, then more awaited work and the object is returned',
      path: 'src/services/bookings.js',
      code: `const Booking = require('../models/booking');
const Room = require('../models/room');
async function book(roomId, guest) {
  const room = await Room.findById(roomId);
  const booking = new Booking({ room: room._id, guest });
  booking.save().catch((err) => log.error(err, 'booking not saved'));
  room.available = false;
  await room.save();
  return { booking, room };
}
module.exports = { book };
`,
      errors: [{ mode: 'async_ordering', line: 6 }],
    },
    {
      name: 'mongoose: create only .catch()-ed, then the same model is aggregated',
      path: 'src/services/tips.js',
      code: `const Tip = require('../models/tip');
async function addTip(waiterId, amount) {
  Tip.create({ waiter: waiterId, amount }).catch((err) => log.error(err));
  const [total] = await Tip.aggregate([{ $match: { waiter: waiterId } }, { $group: { _id: null, sum: { $sum: '$amount' } } }]);
  return total.sum;
}
module.exports = { addTip };
`,
      errors: [{ mode: 'async_ordering', line: 3 }],
    },
    {
      name: 'express: prisma create not awaited, then 201 with its id',
      path: 'src/routes/notes.ts',
      code: `import { prisma } from '../db';
router.post('/notes', async (req, res) => {
  const note = { title: req.body.title, ownerId: req.user.id };
  prisma.note.create({ data: note });
  res.status(201).json({ title: note.title });
});
`,
      errors: [{ mode: 'async_ordering', line: 4 }],
    },
    {
      name: 'koa: raw INSERT through pool.query not awaited before ctx.body',
      path: 'src/api/events.js',
      code: `import { pool } from './db';
export async function track(ctx) {
  const { name } = ctx.request.body;
  pool.query('INSERT INTO events (name) VALUES ($1)', [name]);
  ctx.body = { ok: true };
}
`,
      errors: [{ mode: 'async_ordering', line: 4 }],
    },
    {
      name: 'knex transaction callback not awaited in a service',
      path: 'src/orders/archive.ts',
      code: `import { db } from '../db';
export async function archive(orderId: string) {
  db.transaction(async (trx) => {
    await trx('orders').where({ id: orderId }).update({ archived: true });
  });
  await audit(orderId);
}
`,
      errors: [{ mode: 'async_ordering', line: 3 }],
    },
    {
      name: 'python: coroutine of the same module called without await',
      path: 'app/service.py',
      code: `class Notifier:
    async def record(self, user_id):
        await self.db.execute("INSERT INTO seen (user_id) VALUES ($1)", user_id)

    async def handle(self, user_id):
        self.record(user_id)
        return {"ok": True}
`,
      errors: [{ mode: 'async_ordering', line: 6 }],
    },
    {
      name: 'express: writes started in a .map are kept in an array nobody awaits, then 201 with its length',
      path: 'src/routes/playlists.js',
      code: `const { Playlist, PlaylistTrack } = require('../models');
router.post('/playlists', async (req, res) => {
  const playlist = await Playlist.create({ ownerId: req.user.id, name: req.body.name });
  const adds = req.body.tracks.map((t, position) =>
    PlaylistTrack.create({ playlistId: playlist.id, trackId: t.id, position }),
  );
  res.status(201).json({ id: playlist.id, tracks: adds.length });
});
`,
      errors: [{ mode: 'async_ordering', line: 4 }],
    },
    {
      name: 'service: async callbacks awaiting a repository save, collected and dropped',
      path: 'src/labels/relabel.ts',
      code: `import { labelRepo } from '../db';
export async function relabel(ids: string[], color: string) {
  const saves = ids.map(async (id) => {
    await labelRepo.save({ id, color });
  });
  console.log('relabelled', saves.length);
}
`,
      errors: [{ mode: 'async_ordering', line: 3 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: the same-file writer awaited inside the transaction',
      path: 'src/orders/store.ts',
      code: `async function writeLines(trx: Knex.Transaction, orderId: string, lines: Line[]) {
  for (const l of lines) {
    await trx('order_lines').insert({ order_id: orderId, sku: l.sku, qty: l.qty });
  }
}

export async function placeOrder(input: OrderInput) {
  return db.transaction(async (trx) => {
    const [{ id }] = await trx('orders').insert({ customer_id: input.customerId }).returning('id');
    await writeLines(trx, id, input.lines);
    await trx('customers').where({ id: input.customerId }).update({ last_order_at: new Date() });
    return id;
  });
}
`,
    },
    {
      name: 'fixed twin: the imported rebuild awaited before the read',
      path: 'src/routes/plans.ts',
      code: `import { Slot } from '../models/slot';
import { rebuildSlots } from '../services/slots';

plansRouter.put('/plans/:id', async (req, res) => {
  const plan = await Plan.findByIdAndUpdate(req.params.id, req.body, { new: true });
  await rebuildSlots(plan);
  const slots = await Slot.find({ plan: plan._id }).lean();
  res.json({ plan, slots });
});
`,
      extra: [
        {
          path: 'src/services/slots.ts',
          code: `import { Slot } from '../models/slot';

export async function rebuildSlots(plan) {
  await Slot.deleteMany({ plan: plan._id });
  await Slot.insertMany(makeSlots(plan));
}
`,
        },
      ],
    },
    {
      name: 'writes pushed into an array that is awaited with Promise.all (fixed twin)',
      path: 'src/kennels/close.ts',
      code: `import { db } from '../db';
export async function closeKennels(ids: number[]) {
  const pending = [];
  for (const id of ids) {
    pending.push(db('kennels').where({ id }).update({ open: false }));
  }
  await Promise.all(pending);
  console.log('closing', pending.length);
}
`,
    },
    {
      name: 'knex: ids mapped to a same-file writer and awaited with Promise.all (fixed twin)',
      path: 'src/lockers/bulk.ts',
      code: `import type { Knex } from 'knex';
async function reserveLocker(trx: Knex.Transaction, memberId: number, lockerId: number) {
  await trx('lockers').where({ id: lockerId, member_id: null }).update({ member_id: memberId });
}
export async function reserveMany(db: Knex, memberId: number, lockerIds: number[]) {
  return db.transaction(async (trx) => {
    const pending = lockerIds.map((id) => reserveLocker(trx, memberId, id));
    await Promise.all(pending);
    log.info({ count: pending.length }, 'lockers reserved');
    return { memberId };
  });
}
`,
    },
    {
      name: 'writer passed by reference, the array awaited (fixed twin)',
      path: 'src/lockers/release.ts',
      code: `import { db } from '../db';
async function releaseLocker(lockerId: number) {
  await db('lockers').where({ id: lockerId }).update({ member_id: null });
}
export async function releaseAll(lockerIds: number[]) {
  const jobs = lockerIds.map(releaseLocker);
  await Promise.all(jobs);
  console.log('released', jobs.length);
}
`,
    },
    {
      name: 'map to a same-file function that only reads (not a write)',
      path: 'src/lockers/lookup.ts',
      code: `import { db } from '../db';
async function lockerLabel(lockerId: number) {
  return db('lockers').where({ id: lockerId }).first();
}
export async function labels(lockerIds: number[]) {
  const pending = lockerIds.map(lockerLabel);
  console.log('looking up', pending.length);
}
`,
    },
    {
      name: 'mongoose: instance save awaited before the object is returned (fixed twin)',
      path: 'src/services/bookings.js',
      code: `const Booking = require('../models/booking');
const Room = require('../models/room');
async function book(roomId, guest) {
  const room = await Room.findById(roomId);
  const booking = await Booking.create({ room: room._id, guest });
  room.available = false;
  await room.save();
  return { booking, room };
}
module.exports = { book };
`,
    },
    {
      name: 'mongoose: an audit row fired and forgotten with .catch, not handed back nor read again',
      path: 'src/services/audit.js',
      code: `const AuditEntry = require('../models/auditEntry');
const Room = require('../models/room');
async function closeRoom(roomId, userId) {
  const room = await Room.findById(roomId);
  const entry = new AuditEntry({ room: roomId, user: userId, action: 'close' });
  entry.save().catch((err) => log.warn(err));
  room.open = false;
  await room.save();
  return room;
}
module.exports = { closeRoom };
`,
    },
    {
      name: 'an email fired and forgotten with .catch before returning the saved object',
      path: 'src/services/receipts.js',
      code: `const Booking = require('../models/booking');
async function confirm(id) {
  const booking = await Booking.findById(id);
  mailer.sendReceipt(booking.email, booking).catch((err) => log.warn(err));
  booking.confirmed = true;
  await booking.save();
  return booking;
}
module.exports = { confirm };
`,
    },
    {
      name: 'fixed twin: the array of creates is awaited with Promise.all before the reply',
      path: 'src/routes/playlists.js',
      code: `const { Playlist, PlaylistTrack } = require('../models');
router.post('/playlists', async (req, res) => {
  const playlist = await Playlist.create({ ownerId: req.user.id, name: req.body.name });
  const adds = req.body.tracks.map((t, position) =>
    PlaylistTrack.create({ playlistId: playlist.id, trackId: t.id, position }),
  );
  await Promise.all(adds);
  res.status(201).json({ id: playlist.id, tracks: adds.length });
});
`,
    },
    {
      name: 'an array of saves returned, or handed to a helper, is the caller\'s to await',
      path: 'src/labels/relabel.ts',
      code: `import { labelRepo } from '../db';
export function relabelAll(ids: string[], color: string) {
  const saves = ids.map((id) => labelRepo.save({ id, color }));
  return saves;
}
export async function relabelSettled(ids: string[], color: string) {
  const saves = ids.map((id) => labelRepo.save({ id, color }));
  await settleAll(saves);
}
`,
    },
    {
      name: 'observables and sync maps are not floating promises',
      path: 'src/app/profile.component.ts',
      code: `export class ProfileComponent {
  async save(form: Profile) {
    this.http.post('/api/profile', form).subscribe(() => this.saved = true);
    this.cache.set(form.id, form);
    await this.toast.show('saving');
  }
}
`,
    },
    {
      name: 'fixed twin: prisma create awaited before the reply',
      path: 'src/routes/notes.ts',
      code: `import { prisma } from '../db';
router.post('/notes', async (req, res) => {
  const note = await prisma.note.create({ data: { title: req.body.title, ownerId: req.user.id } });
  res.status(201).json({ id: note.id });
});
`,
    },
    {
      name: 'fixed twin: koa insert awaited',
      path: 'src/api/events.js',
      code: `import { pool } from './db';
export async function track(ctx) {
  const { name } = ctx.request.body;
  await pool.query('INSERT INTO events (name) VALUES ($1)', [name]);
  ctx.body = { ok: true };
}
`,
    },
    {
      name: 'fixed twin: transaction returned',
      path: 'src/orders/archive.ts',
      code: `import { db } from '../db';
export async function archive(orderId: string) {
  return db.transaction(async (trx) => {
    await trx('orders').where({ id: orderId }).update({ archived: true });
  });
}
`,
    },
    {
      name: 'fixed twin: python coroutine awaited',
      path: 'app/service.py',
      code: `class Notifier:
    async def record(self, user_id):
        await self.db.execute("INSERT INTO seen (user_id) VALUES ($1)", user_id)

    async def handle(self, user_id):
        await self.record(user_id)
        return {"ok": True}
`,
    },
    {
      name: 'explicit fire-and-forget with void and catch, sync builders and Promise.all',
      path: 'src/routes/misc.ts',
      code: `router.post('/visits', async (req, res) => {
  const entity = repo.create({ path: req.body.path });
  seen.set(req.body.path, Date.now());
  void analyticsQueue.add('visit', { path: req.body.path }).catch(logError);
  repo.save(entity).catch((err) => log.error(err));
  await Promise.all([
    repo.save(entity),
    auditRepo.save({ kind: 'visit' }),
  ]);
  res.json({ ok: true });
});
`,
    },
    {
      name: 'promise kept in a variable and awaited later',
      path: 'src/jobs/sync.ts',
      code: `export async function sync(items: Item[]) {
  const pending = db.query('UPDATE items SET synced = true WHERE id = ANY($1)', [items.map((i) => i.id)]);
  await notify(items.length);
  await pending;
}
`,
    },
  ],
});
