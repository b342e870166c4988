/**
 * Starts the real concdbg App process (what `npm start` runs) against a fake GitHub on loopback,
 * for `npm run demo` and `npm run bench -- webhooks`: a throwaway RSA key, a random webhook
 * secret, a free port on 127.0.0.1, and an environment made only of what is passed here (no
 * ANTHROPIC_API_KEY or other secret of the caller leaks into it, so reviews stay offline).
 *
 * From dist/ it runs dist/app/main.js; from src/ (tests through tsx) it runs src/app/main.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface AppProcessOptions {
  /** GHE_HOST of the fake GitHub, 127.0.0.1:PORT. */
  githubHost: string;
  /** sqlite:PATH or postgres://… */
  databaseUrl: string;
  /** Extra environment (LOG_LEVEL, CONCDBG_WORKER_CONCURRENCY, …). */
  env?: Record<string, string>;
  /** Milliseconds to wait for /healthz to answer 200 (default 30 s). */
  readyTimeoutMs?: number;
}

export interface AppProcess {
  url: string;
  secret: string;
  proc: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (probe and release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A fresh RSA private key in PEM, like the one GitHub lets you download for an App. */
export function throwawayPrivateKey(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** X-Hub-Signature-256 of a body, as GitHub computes it. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The command that runs the app's entry from wherever this module was loaded. */
function appCommand(): string[] {
  const here = import.meta.dirname;
  const built = join(here, '../app/main.js');
  if (!import.meta.url.endsWith('.ts') && existsSync(built)) return [built];
  return ['--import', 'tsx', join(here, '../app/main.ts')];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** App processes still running; killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHook = false;
function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

export async function startAppProcess(opts: AppProcessOptions): Promise<AppProcess> {
  const port = await freePort();
  const secret = randomBytes(20).toString('hex');
  const proc = spawn(process.execPath, appCommand(), {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      APP_ID: '4242',
      PRIVATE_KEY: throwawayPrivateKey(),
      WEBHOOK_SECRET: secret,
      PORT: String(port),
      HOST: '127.0.0.1',
      GHE_HOST: opts.githubHost,
      GHE_PROTOCOL: 'http',
      DATABASE_URL: opts.databaseUrl,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(proc);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const app: AppProcess = {
    url, secret, proc, exited,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`the app exited before it was ready (code ${proc.exitCode ?? proc.signalCode}):\n${out.trim().slice(-2000)}`);
    }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) return app;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await app.stop(2_000);
      throw new Error(`the app did not answer /healthz within ${opts.readyTimeoutMs ?? 30_000} ms:\n${out.trim().slice(-2000)}`);
    }
    await sleep(50);
  }
}
