/**
 * Named nock scope builders for the Anthropic Messages API, used against the real SDK.
 * Every builder records the request bodies it receives, so tests can assert what was sent.
 */
import nock from 'nock';
import type { LlmConfig } from '../../src/llm/config.js';

/** Loopback only: nothing here can reach the real API even if an interceptor is missing. */
export const FAKE_BASE_URL = 'http://127.0.0.1:59999';

export function testConfig(over: Partial<LlmConfig> = {}): LlmConfig {
  return {
    apiKey: 'sk-ant-test-key-not-real',
    baseURL: FAKE_BASE_URL,
    model: 'claude-sonnet-5-5',
    maxTokens: 4096,
    inputTokenBudget: 50_000,
    minConfidence: 0.5,
    timeoutMs: 5_000,
    maxRetries: 2,
    maxCandidatesPerRequest: 8,
    ...over,
  };
}

export interface SentBody {
  model: string;
  max_tokens: number;
  system: Array<{ type: string; text: string; cache_control?: { type: string } }>;
  messages: Array<{ role: string; content: string }>;
  output_config?: { format?: { type: string; schema: unknown } };
}

export type Usage = { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };

const defaultUsage: Usage = { input_tokens: 1200, output_tokens: 800, cache_read_input_tokens: 3000, cache_creation_input_tokens: 0 };

export function message(text: string, stop_reason = 'end_turn', usage: Usage = defaultUsage) {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-5-5',
    content: text === '' ? [] : [{ type: 'text', text }],
    stop_reason,
    stop_sequence: null,
    usage,
  };
}

/** A fake API; each method queues one or more answers in order and records the bodies received. */
export class FakeAnthropic {
  readonly scope = nock(FAKE_BASE_URL);
  readonly bodies: SentBody[] = [];

  private route() {
    return this.scope.post('/v1/messages', (body: SentBody) => {
      this.bodies.push(body);
      return true;
    });
  }

  /** A structured answer (object serialised as the model's text). */
  answers(answer: unknown, usage?: Usage): this {
    this.route().reply(200, message(typeof answer === 'string' ? answer : JSON.stringify(answer), 'end_turn', usage));
    return this;
  }

  refuses(): this {
    this.route().reply(200, message('', 'refusal', { input_tokens: 900, output_tokens: 5 }));
    return this;
  }

  /** 529 overloaded, `times` times; retry-after-ms keeps the SDK's backoff short. */
  overloaded(times = 1): this {
    this.route()
      .times(times)
      .reply(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, { 'retry-after-ms': '5' });
    return this;
  }

  rateLimited(times = 1): this {
    this.route()
      .times(times)
      .reply(429, { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, { 'retry-after-ms': '5' });
    return this;
  }

  /** Answers only after `ms`: past the client's timeout, the SDK aborts. */
  hangs(ms: number, times = 1): this {
    this.route().times(times).delay(ms).reply(200, message('{"diagnoses":[]}'));
    return this;
  }

  isDone(): boolean {
    return this.scope.isDone();
  }
}
