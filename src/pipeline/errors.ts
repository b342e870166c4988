/**
 * Which failures are worth retrying. A review job talks to GitHub and to the
 * LLM API; server errors, rate limits and network trouble pass, so the worker
 * retries them with backoff. Everything else (a 404, a 422, a bug) will fail
 * the same way again, so the job fails at once and its check run says why.
 */

/** Throw (or wrap) to force a retry, optionally after a given delay. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Abort reason when another worker took the job over after our lease ran out. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly jobId: number) {
    super(`lost the lease on review job ${jobId}: another worker owns it now`);
  }
}

/** Abort reason when a newer push superseded the job. */
export class JobSupersededError extends Error {
  override readonly name = 'JobSupersededError';
  constructor(
    readonly jobId: number,
    readonly supersededBy: string | null,
  ) {
    super(`review job ${jobId} was superseded${supersededBy ? ` by ${supersededBy}` : ''}`);
  }
}

/** Abort reason when the worker is shutting down and released the job for another worker. */
export class ShutdownError extends Error {
  override readonly name = 'ShutdownError';
  constructor(readonly jobId: number) {
    super(`worker shutting down: review job ${jobId} released for another worker`);
  }
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * True for failures that may pass on retry: HTTP 5xx, 408, 429, a 403 that is
 * a rate limit (GitHub's secondary rate limit message, a retry-after header,
 * or x-ratelimit-remaining: 0), connection errors (ECONNRESET, ECONNREFUSED,
 * ETIMEDOUT, …), `fetch failed`, request timeouts, and `TransientError`.
 * Looks through `cause` chains (fetch wraps the socket error).
 */
export function isTransient(err: unknown): boolean {
  for (const e of causeChain(err)) {
    if (e instanceof TransientError) return true;
    const status = statusOf(e);
    if (status !== undefined) {
      if (status >= 500 || status === 408 || status === 429) return true;
      if (status === 403) return isRateLimit(e);
      return false;
    }
    const code = stringProp(e, 'code');
    if (code && NETWORK_CODES.has(code)) return true;
    const name = stringProp(e, 'name');
    if (name === 'TimeoutError' || name === 'APIConnectionError' || name === 'APIConnectionTimeoutError') return true;
    if (e instanceof TypeError && /fetch failed/i.test(e.message)) return true;
  }
  return false;
}

/**
 * How long the failure asks us to wait, in ms: `TransientError.retryAfterMs`,
 * a `retry-after` header (seconds or an HTTP date), or the primary rate
 * limit's `x-ratelimit-reset` when `x-ratelimit-remaining` is 0.
 */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | undefined {
  for (const e of causeChain(err)) {
    if (e instanceof TransientError && e.retryAfterMs !== undefined) return Math.max(0, e.retryAfterMs);
    const retryAfter = headerOf(e, 'retry-after');
    if (retryAfter !== undefined) {
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
      const date = Date.parse(retryAfter);
      if (Number.isFinite(date)) return Math.max(0, date - now);
    }
    if (headerOf(e, 'x-ratelimit-remaining') === '0') {
      const reset = Number(headerOf(e, 'x-ratelimit-reset'));
      if (Number.isFinite(reset) && reset > 0) return Math.max(0, reset * 1000 - now);
    }
  }
  return undefined;
}

/** A one-line description for last_error and check run summaries. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status = statusOf(err);
    return `${status !== undefined ? `HTTP ${status}: ` : ''}${err.message || err.name}`;
  }
  return String(err);
}

function isRateLimit(e: object): boolean {
  const messages = [stringProp(e, 'message'), stringProp(objectProp(objectProp(e, 'response'), 'data'), 'message')];
  if (messages.some((m) => m !== undefined && /secondary rate limit|abuse detection|rate limit exceeded/i.test(m))) return true;
  return headerOf(e, 'retry-after') !== undefined || headerOf(e, 'x-ratelimit-remaining') === '0';
}

function* causeChain(err: unknown): Generator<object> {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

function statusOf(e: object): number | undefined {
  for (const value of [
    (e as { status?: unknown }).status,
    (e as { statusCode?: unknown }).statusCode,
    prop(objectProp(e, 'response'), 'status'),
  ]) {
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

function headerOf(e: object, name: string): string | undefined {
  for (const headers of [objectProp(objectProp(e, 'response'), 'headers'), objectProp(e, 'headers')]) {
    if (!headers) continue;
    if (typeof (headers as Headers).get === 'function') {
      const value = (headers as Headers).get(name);
      if (value !== null) return value;
      continue;
    }
    for (const [key, value] of Object.entries(headers)) {
      if (key.toLowerCase() === name && value !== undefined && value !== null) return String(value);
    }
  }
  return undefined;
}

function prop(e: unknown, key: string): unknown {
  return e !== null && typeof e === 'object' ? (e as Record<string, unknown>)[key] : undefined;
}

function objectProp(e: unknown, key: string): object | undefined {
  const value = prop(e, key);
  return value !== null && typeof value === 'object' ? value : undefined;
}

function stringProp(e: unknown, key: string): string | undefined {
  const value = prop(e, key);
  return typeof value === 'string' ? value : undefined;
}
