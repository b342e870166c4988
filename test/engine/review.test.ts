import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchor, review } from '../../src/engine/review.js';
import { fingerprint } from '../../src/engine/fingerprint.js';
import type { SourceFile } from '../../src/parse/types.js';

/** A 40-line file whose hunk (lines 20-26) starts inside a function whose header (line 14) the diff does not show. */
const whole = [
  ...Array.from({ length: 13 }, (_, i) => `// line ${i + 1}`),
  'export async function reserveSeat(eventId: string, userId: string) {', // 14
  '  const event = await prisma.event.findUnique({ where: { id: eventId } });', // 15
  '  if (!event) throw new Error("no event");', // 16
  '  // capacity check', // 17
  '  const taken = event.seatsTaken;', // 18
  '  const next = taken + 1;', // 19
  '  if (next > event.capacity) throw new Error("full");', // 20
  '  await prisma.event.update({ where: { id: eventId }, data: { seatsTaken: next } });', // 21
  '  return { eventId, userId };', // 22
  '}', // 23
  ...Array.from({ length: 17 }, (_, i) => `// tail ${i + 24}`),
];

const diff = [
  'diff --git a/src/seats.ts b/src/seats.ts',
  'index 1111111..2222222 100644',
  '--- a/src/seats.ts',
  '+++ b/src/seats.ts',
  '@@ -18,5 +18,5 @@ export async function reserveSeat(eventId: string, userId: string) {',
  '   const taken = event.seatsTaken;',
  '   const next = taken + 1;',
  '-  if (next > event.capacity) throw new Error("sold out");',
  '+  if (next > event.capacity) throw new Error("full");',
  '   await prisma.event.update({ where: { id: eventId }, data: { seatsTaken: next } });',
  '   return { eventId, userId };',
  '',
].join('\n');

describe('review --root', () => {
  it('without a root, a hunk that starts inside a function is its own region named from the hunk header', async () => {
    const out = await review(diff);
    const f = out.files[0]!;
    expect(f.whole).toBe(false);
    expect(f.functions.some((s) => s.name === 'reserveSeat' && s.startLine === 18)).toBe(true);
  });

  it('without a root, a Go hunk that opens inside a struct still yields the functions it shows', async () => {
    const goDiff = [
      'diff --git a/pool/worker.go b/pool/worker.go',
      'index 1111111..2222222 100644',
      '--- a/pool/worker.go',
      '+++ b/pool/worker.go',
      '@@ -10,6 +10,17 @@ type Worker struct {',
      ' \tmu   sync.Mutex',
      ' \t// jobs waiting for this worker',
      ' \tjobs []Job',
      '+\t// peers that can take over when this worker is busy',
      '+\tpeers []*Worker',
      ' }',
      ' ',
      '+// Offer hands the job to the first idle peer.',
      '+func (w *Worker) Offer(j Job) bool {',
      '+\tw.mu.Lock()',
      '+\tdefer w.mu.Unlock()',
      '+\treturn len(w.peers) > 0',
      '+}',
      '+',
      ' // Stop drains the queue.',
      '',
    ].join('\n');
    const f = (await review(goDiff)).files[0]!;
    expect(f.functions).toContainEqual(expect.objectContaining({ name: 'Offer', startLine: 18, endLine: 22 }));
  });

  it('with a root holding the new revision, the whole file is read and the real function found', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'concdbg-root-'));
    mkdirSync(path.join(root, 'src'));
    writeFileSync(path.join(root, 'src/seats.ts'), whole.join('\n') + '\n');
    const out = await review(diff, { root });
    const f = out.files[0]!;
    expect(f.whole).toBe(true);
    expect(f.lines[13]).toContain('export async function reserveSeat');
    expect(f.functions).toContainEqual(expect.objectContaining({ name: 'reserveSeat', startLine: 14, endLine: 23 }));
  });

  it('a file on disk that does not match the diff is ignored (line numbers would lie)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'concdbg-root-'));
    mkdirSync(path.join(root, 'src'));
    writeFileSync(path.join(root, 'src/seats.ts'), ['// an older revision', ...whole].join('\n'));
    expect((await review(diff, { root })).files[0]!.whole).toBe(false);
  });

  it('never reads outside the root', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'concdbg-root-'));
    const escaping = diff.replaceAll('src/seats.ts', '../../etc/seats.ts');
    expect((await review(escaping, { root })).files[0]?.whole ?? false).toBe(false);
  });
});

describe('settings applied by the engine', () => {
  it('includePath drops files and counts them in stats.filter', async () => {
    const out = await review(diff, { includePath: (p) => !p.startsWith('src/') });
    expect(out.stats.relevantFiles).toBe(0);
    expect(out.stats.filter?.droppedBy['excluded by settings']).toBe(1);
  });
});

describe('anchor', () => {
  const file = { shown: new Set([5, 6, 7, 10]) };
  it('narrows a range to lines the diff shows', () => {
    expect(anchor(file, 3, 8)).toEqual({ line: 5, endLine: 7 });
    expect(anchor(file, 8, 12)).toEqual({ line: 10, endLine: 10 });
  });
  it('gives nothing when no line of the range is shown', () => {
    expect(anchor(file, 1, 4)).toBeUndefined();
  });
});

describe('fingerprint', () => {
  it('ignores white space and line numbers, but not the file, mode or text', () => {
    const a = fingerprint('a.ts', 'toctou', ['const x = await db.query(q);']);
    expect(fingerprint('a.ts', 'toctou', ['  const   x = await db.query(q);  '])).toBe(a);
    expect(fingerprint('b.ts', 'toctou', ['const x = await db.query(q);'])).not.toBe(a);
    expect(fingerprint('a.ts', 'lost_update', ['const x = await db.query(q);'])).not.toBe(a);
    expect(fingerprint('a.ts', 'toctou', ['const y = await db.query(q);'])).not.toBe(a);
  });
});

describe('finding ids', () => {
  it('survive unrelated edits above the hazard', async () => {
    const { newFilesDiff } = await import('../detectors/tester.js');
    const body = [
      'export async function claimHandle(userId: string, handle: string) {',
      '  const taken = await prisma.user.findFirst({ where: { handle } });',
      '  if (taken) throw new Error("taken");',
      '  await prisma.user.update({ where: { id: userId }, data: { handle } });',
      '}',
    ];
    const before = await review(newFilesDiff([{ path: 'src/handles.ts', code: ['import { prisma } from "./db";', ...body].join('\n') }]));
    const after = await review(
      newFilesDiff([{ path: 'src/handles.ts', code: ['import { prisma } from "./db";', '', '// Handles are shown on profiles.', 'const MAX = 30;', ...body].join('\n') }]),
    );
    expect(before.findings.length).toBeGreaterThan(0);
    expect(after.findings.map((f) => f.id)).toEqual(before.findings.map((f) => f.id));
    expect(after.findings[0]!.line).toBe(before.findings[0]!.line + 3);
  });
});
