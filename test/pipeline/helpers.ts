import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';
import type { Backend } from '../store/backends.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const fixture = join(here, 'fixtures', 'worker.ts');

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Start test/pipeline/fixtures/worker.ts in its own Node process. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid === undefined) throw new Error('could not spawn the worker process');
  return { child, pid: child.pid, ready, exited, output: () => out };
}

export interface Event {
  what: 'start' | 'done' | 'dup' | 'aborted';
  jobId: number;
  pid: number;
  detail: string;
}

export function readEvents(file: string): Event[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [what, jobId, pid, ...rest] = line.split(' ');
      return { what: what as Event['what'], jobId: Number(jobId), pid: Number(pid), detail: rest.join(' ') };
    });
}

/** Poll `check` until it returns true; fail with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(25);
  }
}

export function countBy<T>(items: T[], key: (item: T) => string | number): Map<string | number, number> {
  const counts = new Map<string | number, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/**
 * Per-suite fixtures for worker-process tests on one backend: a temporary folder, the workers spawned by a test
 * (killed after it) and the store it opened (closed after it).
 */
export function processSuite(make: () => Backend, prefix: string) {
  const s = {
    backend: undefined as unknown as Backend,
    dir: '',
    workers: [] as WorkerProcess[],
    store: undefined as Store | undefined,
    /** A fresh database, migrated before any child process opens it. */
    async open(): Promise<{ url: string; store: Store }> {
      const url = await s.backend.freshUrl();
      s.store = await openStore(url);
      return { url, store: s.store };
    },
  };
  beforeAll(() => {
    s.backend = make();
    s.dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const w of s.workers.splice(0)) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await s.store?.close();
    s.store = undefined;
  });
  afterAll(async () => {
    await s.backend.cleanup();
    rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}
