import { describe, expect, it } from 'vitest';
import { findFunctions } from '../../src/parse/functions.js';

const ts = `import { db } from './db';

export async function charge(userId: string) {
  const rows = await db.query('SELECT 1');
  return rows;
}

class Ledger {
  async post(entry: Entry) {
    await this.repo.save(entry);
  }
}

router.post('/orders', async (req, res) => {
  res.json(await create(req.body));
});

const settle = async (id: string) => {
  await pay(id);
};
`.split('\n');

const py = `import asyncio

class Broadcaster:
    async def broadcast(self, msg):
        for ws in self.sockets:
            await ws.send_json(msg)

def helper(x):
    return x + 1
`.split('\n');

const go = `package hub

func (s *Session) Subscribe(h *Hub) {
	s.mu.Lock()
	defer s.mu.Unlock()
}
`.split('\n');

const brief = (spans: Awaited<ReturnType<typeof findFunctions>>) => spans.map((s) => [s.name, s.startLine, s.endLine, s.async]);

describe('findFunctions', () => {
  it('TypeScript: declarations, methods with their class, route callbacks, arrow functions assigned to names', async () => {
    expect(brief(await findFunctions('typescript', ts))).toEqual([
      ['charge', 3, 6, true],
      ['Ledger.post', 9, 11, true],
      ["router.post('/orders') callback", 14, 16, true],
      ['settle', 18, 20, true],
    ]);
  });

  it('Python: methods and functions with async-ness', async () => {
    expect(brief(await findFunctions('python', py))).toEqual([
      ['Broadcaster.broadcast', 4, 6, true],
      ['helper', 8, 9, false],
    ]);
  });

  it('Python: the owner is the innermost class still open (nested classes end, decorators stay outside)', async () => {
    const nested = `class Outer:
    class Meta:
        db_table = "x"

    @transaction.atomic
    async def save_all(self):
        def inner():
            return 1
        return inner()

def top():
    pass
`.split('\n');
    expect(brief(await findFunctions('python', nested))).toEqual([
      ['Outer.save_all', 6, 9, true],
      ['Outer.inner', 7, 8, false],
      ['top', 11, 12, false],
    ]);
  });

  it('Go: methods', async () => {
    const spans = await findFunctions('go', go);
    expect(spans.map((s) => [s.startLine, s.endLine])).toEqual([[3, 6]]);
    expect(spans[0]!.name).toContain('Subscribe');
  });

  it('tolerates code rebuilt from hunks (blank gaps, a function cut at the top)', async () => {
    const cut = ['', '', '  await db.query("UPDATE t SET x = 1");', '}', '', 'export async function g() {', '  await h();', '}'];
    expect(brief(await findFunctions('typescript', cut))).toContainEqual(['g', 6, 8, true]);
  });

  it('span text is the function lines', async () => {
    const [first] = await findFunctions('python', py);
    expect(first!.text).toBe(py.slice(3, 6).join('\n'));
  });
});
