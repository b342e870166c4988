/**
 * The worker side of the review pipeline. The app's review handler plugs in
 * as a `JobHandler`; see `Worker` for the lifecycle and `JobContext` for the
 * rules a handler follows (watch the signal, record an intent before posting).
 */
export { Worker, type JobContext, type JobHandler, type JobOutcome, type WorkerLogger, type WorkerOptions } from './worker.js';
export { exponentialBackoff, type Backoff, type BackoffOptions } from './backoff.js';
export {
  describeError,
  isTransient,
  JobSupersededError,
  LeaseLostError,
  retryAfterMs,
  ShutdownError,
  TransientError,
} from './errors.js';
export { installSignalHandlers, type SignalOptions } from './signals.js';
export { hasReviewMarker, jobKeyString, reviewMarker } from './markers.js';
