import detector from '../../src/detectors/async-foreach.js';
import { runTable } from './tester.js';

runTable(detector, {
  invalid: [
    {
      name: 'forEach(async) writes each row, then the handler replies',
      path: 'src/routes/import.ts',
      code: `router.post('/import', async (req, res) => {
  req.body.rows.forEach(async (row) => {
    await prisma.contact.upsert({ where: { email: row.email }, create: row, update: row });
  });
  res.json({ imported: req.body.rows.length });
});
`,
      errors: [{ mode: 'async_ordering', line: 2 }],
    },
    {
      name: 'map(async) result dropped in a sequelize service',
      path: 'services/points.js',
      code: `const { Points } = require('../models');
async function award(users) {
  users.map(async (u) => {
    await Points.increment('total', { by: 5, where: { userId: u.id } });
  });
  return users.length;
}
`,
      errors: [{ mode: 'async_ordering', line: 3 }],
    },
    {
      name: 'async predicate in filter keeps everything',
      path: 'src/users/active.ts',
      code: `export async function activeUsers(ids: string[]) {
  return ids.filter(async (id) => (await cache.get(id)) !== null);
}
`,
      errors: [{ mode: 'async_ordering', line: 2 }],
    },
  ],
  valid: [
    {
      name: 'fixed twin: for...of awaits each upsert before replying',
      path: 'src/routes/import.ts',
      code: `router.post('/import', async (req, res) => {
  for (const row of req.body.rows) {
    await prisma.contact.upsert({ where: { email: row.email }, create: row, update: row });
  }
  res.json({ imported: req.body.rows.length });
});
`,
    },
    {
      name: 'fixed twin: Promise.all over map(async)',
      path: 'services/points.js',
      code: `const { Points } = require('../models');
async function award(users) {
  await Promise.all(
    users.map(async (u) => {
      await Points.increment('total', { by: 5, where: { userId: u.id } });
    }),
  );
  return users.length;
}
`,
    },
    {
      name: 'fixed twin: predicate results resolved first',
      path: 'src/users/active.ts',
      code: `export async function activeUsers(ids: string[]) {
  const flags = await Promise.all(ids.map(async (id) => (await cache.get(id)) !== null));
  return ids.filter((_, i) => flags[i]);
}
`,
    },
    {
      name: 'map(async) stored and awaited later; sync forEach',
      path: 'src/report.ts',
      code: `export async function build(ids: string[]) {
  const loads = ids.map(async (id) => {
    const r = await repo.findOneBy({ id });
    return r?.total ?? 0;
  });
  ids.forEach((id) => console.log(id));
  const totals = await Promise.all(loads);
  return totals.reduce((a, b) => a + b, 0);
}
`,
    },
  ],
});
