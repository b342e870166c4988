import type { Worker, WorkerLogger } from './worker.js';

export interface SignalOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Runs after the worker stopped, before exit: close the HTTP server, the store. */
  beforeExit?: () => Promise<void> | void;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
  log?: WorkerLogger;
}

/**
 * On SIGTERM / SIGINT: stop the worker (no new claims; in-flight jobs finish
 * within its grace period or are released), run `beforeExit`, exit 0.
 * A second signal exits at once with 1 (jobs still held are reclaimed after
 * their leases expire). Returns a function that removes the handlers.
 */
export function installSignalHandlers(worker: Worker, opts: SignalOptions = {}): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      opts.log?.warn({ signal }, 'second signal: exiting without waiting');
      exit(1);
      return;
    }
    stopping = true;
    opts.log?.info({ signal }, 'stopping the review worker');
    worker
      .stop()
      .then(() => opts.beforeExit?.())
      .then(
        () => exit(0),
        (err: unknown) => {
          opts.log?.error({ err: err instanceof Error ? err.message : String(err) }, 'error while shutting down');
          exit(1);
        },
      );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
