/** What webhook handlers get: the store's webhook side, metrics, a logger, and a way to run work after the answer. */
import type { Store } from '../../store/types.js';
import type { GitHubApi } from '../github.js';
import type { Log } from '../log.js';
import type { AppMetrics } from '../metrics.js';

export type WebhookStore = Pick<Store, 'claimDelivery' | 'enqueueJob' | 'enqueueForDelivery' | 'supersedeOlder' | 'dismissFinding' | 'listPostedFindings' | 'findJob'>;

export interface WebhookDeps {
  store: WebhookStore;
  log: Log;
  metrics?: AppMetrics;
  /**
   * Runs GitHub calls after the webhook was answered (the answer never waits for GitHub):
   * closing superseded check runs, command reactions and replies. Errors are logged.
   */
  background: (name: string, task: () => Promise<void>) => void;
  /** Tells the in-process worker that a job is waiting (optional). */
  wake?: () => void;
}

/** One delivery, as a handler sees it. */
export interface Delivery<P> {
  id: string;
  /** The event name (pull_request, …), as the delivery claim records it. */
  event: string;
  payload: P;
  /** The installation's GitHub API for this repository. */
  github: () => GitHubApi;
}

/**
 * Claim the delivery id; false (logged and counted) for a redelivery, which must do nothing.
 * Handlers that enqueue from the payload alone claim with `store.enqueueForDelivery` instead
 * (one round trip for both) and report a duplicate through `duplicateDelivery`.
 */
export async function claimDelivery(d: Pick<Delivery<unknown>, 'id' | 'event'>, deps: WebhookDeps): Promise<boolean> {
  if (await deps.store.claimDelivery(d.id, d.event)) return true;
  duplicateDelivery(d, deps);
  return false;
}

export function duplicateDelivery(d: Pick<Delivery<unknown>, 'id' | 'event'>, deps: WebhookDeps): void {
  deps.metrics?.webhooksDeduplicated.inc({ event: d.event });
  deps.log.info({ deliveryId: d.id, event: d.event }, 'duplicate delivery; ignored');
}

/** Tracks background tasks so shutdown and tests can wait for them. */
export function backgroundRunner(log: Log) {
  const running = new Set<Promise<void>>();
  const run = (name: string, task: () => Promise<void>) => {
    const p = (async () => {
      try {
        await task();
      } catch (err) {
        log.error({ task: name, err: err instanceof Error ? err.message : String(err), status: (err as { status?: number }).status }, `background task failed: ${name}`);
      }
    })();
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const drain = async () => {
    while (running.size) await Promise.all([...running]);
  };
  return { run, drain, get size() { return running.size; } };
}
