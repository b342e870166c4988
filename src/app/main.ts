/**
 * `npm start`: validates the environment (one line and exit 1 on a bad variable), opens the store,
 * and runs the Probot server with the concdbg handlers, /healthz, /metrics and, unless
 * CONCDBG_WORKER=0, the review worker. Without APP_ID, Probot's manifest flow registers the app.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { run, type ApplicationFunction } from 'probot';
import { installSignalHandlers } from '../pipeline/index.js';
import { openStore, type Store } from '../store/index.js';
import { concdbgApp } from './app.js';
import { EnvError, loadEnv, type AppEnv } from './env.js';
import { backgroundRunner } from './handlers/deps.js';
import { healthHandler, metricsHandler } from './health.js';
import type { Log } from './log.js';
import { createMetrics } from './metrics.js';
import { createReviewWorker } from './worker.js';

function die(message: string): never {
  process.stderr.write(`concdbg: ${message}\n`);
  process.exit(1);
}

/** Probot reads `.env` into process.env when it starts; do the same first, so what is validated is what runs. */
function applyDotEnv(): void {
  try {
    Object.assign(process.env, parseEnv(readFileSync(join(process.cwd(), '.env'), 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') die(`.env could not be read: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  applyDotEnv();
  let env: AppEnv;
  try {
    env = loadEnv(process.env);
  } catch (err) {
    if (err instanceof EnvError) die(err.message);
    throw err;
  }
  if (!env.APP_ID) {
    // Setup mode: Probot serves the manifest flow on http://localhost:PORT and writes .env.
    await run(() => undefined);
    return;
  }

  let store: Store;
  try {
    store = await openStore(env.DATABASE_URL);
  } catch (err) {
    die((err as Error).message.replace(/postgres(ql)?:\/\/[^@\s]*@/gi, 'postgres://***@'));
  }
  const metrics = createMetrics({ defaultMetrics: true });

  const appFn: ApplicationFunction = async (app, options) => {
    const log = app.log as unknown as Log;
    const bg = backgroundRunner(log);
    concdbgApp({
      store, log, metrics, background: bg.run,
      httpHandlers: [healthHandler(() => store.ping()), metricsHandler(metrics.registry)],
    })(app, options);

    if (!env.CONCDBG_WORKER) {
      log.info({ worker: false }, 'webhook-only replica: no review worker in this process');
      return;
    }
    const crashAfter = env.CONCDBG_TEST_CRASH_AFTER;
    const worker = createReviewWorker({
      store, log, metrics, llm: env.llm,
      auth: (id) => app.auth(id) as never,
      appAuth: () => app.auth() as never,
      concurrency: env.CONCDBG_WORKER_CONCURRENCY,
      leaseMs: env.CONCDBG_LEASE_MS,
      pollMs: env.CONCDBG_POLL_MS,
      maxAttempts: env.CONCDBG_MAX_ATTEMPTS,
      ...(crashAfter
        ? {
            afterStep: (step: string) => {
              if (step !== crashAfter) return;
              log.warn({ step }, 'CONCDBG_TEST_CRASH_AFTER: killing the process here');
              process.kill(process.pid, 'SIGKILL');
            },
          }
        : {}),
    });
    worker.start();
    installSignalHandlers(worker, {
      log,
      beforeExit: async () => {
        await bg.drain();
        await store.close();
      },
    });
    log.info({ llm: env.llm ? env.llm.model : 'offline', store: store.kind }, 'concdbg ready');
  };

  await run(appFn);
}

main().catch((err: unknown) => die(err instanceof Error ? err.message : String(err)));
