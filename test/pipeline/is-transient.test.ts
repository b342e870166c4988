import { describe, expect, it } from 'vitest';
import { describeError, isTransient, retryAfterMs, TransientError } from '../../src/pipeline/index.js';

/** Shaped like Octokit's RequestError. */
function requestError(status: number, message: string, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), { name: 'HttpError', status, response: { status, headers, data: { message } } });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:443`), { code });
}

describe('isTransient', () => {
  it.each<[string, unknown, boolean]>([
    ['HTTP 500', requestError(500, 'Internal Server Error'), true],
    ['HTTP 502', requestError(502, 'Bad Gateway'), true],
    ['HTTP 503', requestError(503, 'Service Unavailable'), true],
    ['LLM API overloaded (529)', Object.assign(new Error('Overloaded'), { status: 529 }), true],
    ['HTTP 429', requestError(429, 'Too Many Requests'), true],
    ['HTTP 408', requestError(408, 'Request Timeout'), true],
    ['403 secondary rate limit', requestError(403, 'You have exceeded a secondary rate limit. Please wait a few minutes.'), true],
    ['403 with retry-after', requestError(403, 'Forbidden', { 'retry-after': '60' }), true],
    ['403 primary rate limit exhausted', requestError(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' }), true],
    ['403 with Headers object retry-after', Object.assign(new Error('Forbidden'), { status: 403, headers: new Headers({ 'Retry-After': '5' }) }), true],
    ['ECONNRESET', networkError('ECONNRESET'), true],
    ['ECONNREFUSED', networkError('ECONNREFUSED'), true],
    ['ETIMEDOUT', networkError('ETIMEDOUT'), true],
    ['fetch failed with a socket cause', new TypeError('fetch failed', { cause: networkError('UND_ERR_SOCKET') }), true],
    ['fetch failed, bare', new TypeError('fetch failed'), true],
    ['request timeout (AbortSignal.timeout)', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), true],
    ['wrapped transient cause', new Error('posting the review failed', { cause: requestError(502, 'Bad Gateway') }), true],
    ['TransientError', new TransientError('try later'), true],
    ['403 forbidden (no rate limit)', requestError(403, 'Resource not accessible by integration'), false],
    ['HTTP 404', requestError(404, 'Not Found'), false],
    ['HTTP 422', requestError(422, 'Validation Failed'), false],
    ['HTTP 401', requestError(401, 'Bad credentials'), false],
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'sha')"), false],
    ['our own abort', new DOMException('This operation was aborted', 'AbortError'), false],
    ['a string', 'boom', false],
    ['null', null, false],
  ])('%s → %s', (_name, err, expected) => {
    expect(isTransient(err)).toBe(expected);
  });
});

describe('retryAfterMs', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('reads retry-after in seconds', () => {
    expect(retryAfterMs(requestError(429, 'slow down', { 'retry-after': '30' }), now)).toBe(30_000);
  });

  it('reads retry-after as an HTTP date', () => {
    const at = new Date(now + 90_000).toUTCString();
    expect(retryAfterMs(requestError(503, 'x', { 'retry-after': at }), now)).toBe(90_000);
  });

  it('waits for the primary rate limit reset', () => {
    const reset = String((now + 600_000) / 1000);
    expect(retryAfterMs(requestError(403, 'x', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }), now)).toBe(600_000);
  });

  it('takes TransientError.retryAfterMs, and is undefined when nothing asks', () => {
    expect(retryAfterMs(new TransientError('x', 1234))).toBe(1234);
    expect(retryAfterMs(requestError(502, 'x'))).toBeUndefined();
  });
});

describe('describeError', () => {
  it('prefixes the HTTP status', () => {
    expect(describeError(requestError(502, 'Bad Gateway'))).toBe('HTTP 502: Bad Gateway');
    expect(describeError(new Error('plain'))).toBe('plain');
    expect(describeError('text')).toBe('text');
  });
});
