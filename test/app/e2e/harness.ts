/**
 * Starts the real app process (src/app/main.ts, the code `npm start` runs once built, through tsx so
 * no build is needed) against the fake GitHub on loopback, and talks to it only from outside:
 * signed webhooks in, the fake's recorded calls and state out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deliver, type FakeGitHub } from '../../../src/testing/fake-github.js';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SECRET = 'e2e-webhook-secret-9f2c';
export const PRIVATE_KEY = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export function tempDb(): { url: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'concdbg-e2e-'));
  return { url: `sqlite:${join(dir, 'concdbg.sqlite')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RunningApp {
  url: string;
  proc: ChildProcess;
  output: () => string;
  send: (event: string, payload: unknown, opts?: { id?: string; signature?: string }) => ReturnType<typeof deliver>;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/** Spawns the app; resolves once /healthz answers 200. */
export async function startApp(gh: FakeGitHub, env: Record<string, string>, opts: { waitReady?: boolean } = {}): Promise<RunningApp> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/app/main.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      APP_ID: '4242',
      PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      PORT: String(port),
      HOST: '127.0.0.1',
      GHE_HOST: gh.host,
      GHE_PROTOCOL: 'http',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
      CONCDBG_POLL_MS: '100',
      NODE_ENV: 'test',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const app: RunningApp = {
    url, proc, exited,
    output: () => out,
    send: (event, payload, o = {}) => deliver(url, { secret: SECRET, event, payload, ...o }),
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  if (opts.waitReady !== false) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`app exited early (${proc.exitCode}):\n${out}`);
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`app did not become healthy:\n${out}`);
      await sleep(100);
    }
  }
  return app;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value; fails with `what` after the timeout. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Waits until nothing changes on the fake for `quietMs` (no job still working). */
export async function settle(gh: FakeGitHub, quietMs = 2_500): Promise<void> {
  let n = gh.calls.length;
  let since = Date.now();
  for (;;) {
    await sleep(200);
    if (gh.calls.length !== n) {
      n = gh.calls.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}
