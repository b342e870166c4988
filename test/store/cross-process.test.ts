import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useBackend } from './backends.js';

const here = dirname(fileURLToPath(import.meta.url));

interface Won {
  deliveries: number[];
  createdJobs: number[];
  superseded: number[];
  findings: number[];
  reserved: number;
}

/** Start a racer process; resolves its handle once it is ready. */
function startRacer(url: string): Promise<{ go(): void; result: Promise<Won> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'racer.ts')], {
    cwd: join(here, '..', '..'),
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const result = new Promise<Won>((resolve, reject) => {
    child.once('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as Won);
      else reject(new Error(`racer exited ${code}:\n${out}\n${err}`));
    });
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) resolve({ go: () => child.stdin.end('go\n'), result });
    });
    result.catch(reject);
  });
}

describe.each(BACKENDS)('only-once rules across 4 processes on one $name database', ({ make }) => {
  const db = useBackend(make);

  it('every delivery, job key, finding and budget unit is won by exactly one process', async () => {
    await db.fresh(); // migrated here, before the racers open it
    const racers = await Promise.all(Array.from({ length: 4 }, () => startRacer(db.url())));
    for (const r of racers) r.go();
    const won = await Promise.all(racers.map((r) => r.result));

    const deliveries = won.flatMap((w) => w.deliveries).sort((a, b) => a - b);
    expect(deliveries).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const findings = won.flatMap((w) => w.findings).sort((a, b) => a - b);
    expect(findings).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // Five head SHAs: five jobs created in all, four of them superseded, each reported once.
    const created = won.flatMap((w) => w.createdJobs);
    expect(new Set(created).size).toBe(5);
    expect(created).toHaveLength(5);
    const superseded = won.flatMap((w) => w.superseded);
    expect(superseded).toHaveLength(4);
    expect(new Set(superseded).size).toBe(4);
    // 80 reservations of 1 against a limit of 30.
    expect(won.reduce((n, w) => n + w.reserved, 0)).toBe(30);
  });
});
