/**
 * `npm run demo`: the App's main job, offline, with no GitHub account and no key. Starts the fake
 * GitHub on loopback, starts the real app process against it (a throwaway SQLite file, a generated
 * private key, a random webhook secret), opens a pull request carrying
 * examples/duplicate-charge.diff, sends the signed `pull_request.opened` webhook, waits for the
 * check run to complete, prints what the app posted, then stops everything and removes the files.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pc from 'picocolors';
import { startAppProcess, type AppProcess } from '../testing/app-process.js';
import { deliver, prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeGitHub } from '../testing/fake-github.js';
import { plainStyle, renderPosted, type Style } from './render.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const EXAMPLE_DIFF = join(ROOT, 'examples/duplicate-charge.diff');

export interface DemoOptions {
  /** Where the review goes (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Progress and errors (default process.stderr). */
  err?: NodeJS.WritableStream;
  /** How long to wait for the check run to complete (default 60 s). */
  timeoutMs?: number;
  /** Colours in the output (default: when `out` is a terminal and NO_COLOR is unset). */
  color?: boolean;
  /** Aborting stops the demo and cleans up (Ctrl-C). */
  signal?: AbortSignal;
  diffPath?: string;
}

const REPO = 'acme/shop';
const PR = 42;
const HEAD_SHA = 'c0ffee1d2e3f405162738495a6b7c8d9e0f1a2b3';

class DemoError extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res, rej) => {
    if (signal?.aborted) return rej(new DemoError('interrupted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      res();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      rej(new DemoError('interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function styleFor(color: boolean): Style {
  if (!color) return plainStyle;
  const c = pc.createColors(true);
  return { heading: (s) => c.bold(c.cyan(s)), dim: c.dim, bad: (s) => c.bold(c.red(s)), good: (s) => c.bold(c.green(s)) };
}

/** Runs the demo; resolves with the exit code (0, or 1 after one clear line on `err`). */
export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const color = opts.color ?? (Boolean((out as { isTTY?: boolean }).isTTY) && !process.env.NO_COLOR);
  const signal = opts.signal;
  const started = Date.now();

  let gh: FakeGitHub | undefined;
  let app: AppProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'concdbg-demo-'));
  try {
    if (signal?.aborted) throw new DemoError('interrupted');
    const diff = readFileSync(opts.diffPath ?? EXAMPLE_DIFF, 'utf8');
    err.write('concdbg demo: starting a fake GitHub and the app on 127.0.0.1 ');
    gh = await startFakeGitHub();
    app = await startAppProcess({
      githubHost: gh.host,
      databaseUrl: `sqlite:${join(dir, 'concdbg.sqlite')}`,
      env: { CONCDBG_POLL_MS: '100' },
    });
    if (signal?.aborted) throw new DemoError('interrupted');

    const pull = gh.addPull({ repo: REPO, number: PR, headSha: HEAD_SHA, files: prFilesFromDiff(diff), author: 'dev-alice' });
    const sent = await deliver(app.url, { secret: app.secret, event: 'pull_request', payload: pullRequestEvent(pull, 'opened', 7) });
    if (sent.status < 200 || sent.status >= 300) {
      throw new DemoError(`the app answered the webhook with HTTP ${sent.status}: ${sent.body.slice(0, 200)}`);
    }
    err.write(`\nconcdbg demo: sent pull_request.opened for ${REPO}#${PR} (delivery ${sent.id.slice(0, 8)}); waiting for the review `);

    const deadline = Date.now() + timeoutMs;
    const done = () => gh!.state.checkRuns.some((r) => r.repo === REPO && r.head_sha === HEAD_SHA && r.status === 'completed');
    let ticks = 0;
    while (!done()) {
      if (app.proc.exitCode !== null || app.proc.signalCode !== null) {
        throw new DemoError(`the app exited (code ${app.proc.exitCode ?? app.proc.signalCode}) before posting its review:\n${app.output().trim().slice(-1500)}`);
      }
      if (Date.now() > deadline) {
        throw new DemoError(`the app did not complete its check run within ${Math.round(timeoutMs / 1000)} s`);
      }
      await sleep(100, signal);
      if (++ticks % 5 === 0) err.write('.');
    }
    // The check run is completed last; give any write still in flight a moment to land.
    await quiet(gh, 400, 3_000, signal);
    err.write(` done in ${((Date.now() - started) / 1000).toFixed(1)} s\n\n`);

    const posted = {
      pull,
      checkRuns: gh.state.checkRuns.filter((r) => r.repo === REPO),
      reviews: gh.state.reviews.filter((r) => r.repo === REPO && r.pr === PR),
      comments: gh.state.comments.filter((c) => c.repo === REPO && c.pr === PR),
    };
    out.write(`${renderPosted(posted, styleFor(color))}\n`);
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    err.write(`\nconcdbg demo: ${message === 'interrupted' ? 'interrupted; cleaning up' : `failed: ${message}`}\n`);
    return message === 'interrupted' ? 130 : 1;
  } finally {
    await app?.stop(5_000).catch(() => undefined);
    await gh?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until the fake has seen no request for `quietMs` (at most `maxMs`). */
async function quiet(gh: FakeGitHub, quietMs: number, maxMs: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + maxMs;
  let n = gh.calls.length;
  let since = Date.now();
  while (Date.now() < until && Date.now() - since < quietMs) {
    await sleep(50, signal);
    if (gh.calls.length !== n) {
      n = gh.calls.length;
      since = Date.now();
    }
  }
}
