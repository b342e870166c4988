import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, llmConfigFromEnv } from '../../src/llm/config.js';

describe('llmConfigFromEnv', () => {
  it('returns null without a key (offline)', () => {
    expect(llmConfigFromEnv({})).toBeNull();
    expect(llmConfigFromEnv({ ANTHROPIC_API_KEY: '  ' })).toBeNull();
  });

  it('uses the defaults with only a key', () => {
    const c = llmConfigFromEnv({ ANTHROPIC_API_KEY: 'sk-ant-test' });
    expect(c).toMatchObject({
      apiKey: 'sk-ant-test',
      model: DEFAULT_MODEL,
      maxTokens: 8192,
      inputTokenBudget: 24000,
      minConfidence: 0.5,
      timeoutMs: 60000,
      maxRetries: 2,
    });
    expect(c?.baseURL).toBeUndefined();
    expect(c?.dailyTokenBudget).toBeUndefined();
  });

  it('reads every setting', () => {
    const c = llmConfigFromEnv({
      ANTHROPIC_API_KEY: 'k',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999',
      CONCDBG_MODEL: 'claude-opus-5-5',
      CONCDBG_LLM_INPUT_BUDGET: '5000',
      CONCDBG_LLM_DAILY_BUDGET: '1000000',
      CONCDBG_LLM_MAX_TOKENS: '4096',
      CONCDBG_LLM_TIMEOUT_MS: '30000',
      CONCDBG_LLM_MAX_RETRIES: '0',
      CONCDBG_LLM_MIN_CONFIDENCE: '0.7',
    });
    expect(c).toMatchObject({
      baseURL: 'http://127.0.0.1:9999',
      model: 'claude-opus-5-5',
      inputTokenBudget: 5000,
      dailyTokenBudget: 1_000_000,
      maxTokens: 4096,
      timeoutMs: 30000,
      maxRetries: 0,
      minConfidence: 0.7,
    });
  });

  it.each([
    [{ CONCDBG_LLM_INPUT_BUDGET: 'lots' }, 'CONCDBG_LLM_INPUT_BUDGET'],
    [{ CONCDBG_LLM_INPUT_BUDGET: '10' }, 'CONCDBG_LLM_INPUT_BUDGET'],
    [{ CONCDBG_LLM_MIN_CONFIDENCE: '2' }, 'CONCDBG_LLM_MIN_CONFIDENCE'],
    [{ ANTHROPIC_BASE_URL: 'not a url' }, 'ANTHROPIC_BASE_URL'],
    [{ CONCDBG_LLM_MAX_RETRIES: '-1' }, 'CONCDBG_LLM_MAX_RETRIES'],
  ])('rejects %o naming the variable, never the key', (bad, name) => {
    const run = () => llmConfigFromEnv({ ANTHROPIC_API_KEY: 'sk-ant-secret-value', ...bad });
    expect(run).toThrow(name);
    expect(run).not.toThrow('sk-ant-secret-value');
  });

  it('the default model is not one the SDK flags as near end of life', async () => {
    // The SDK's generated deprecation table, read from the installed package.
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const { dirname, join } = await import('node:path');
    const sdkDir = dirname(require.resolve('@anthropic-ai/sdk'));
    const { DEPRECATED_MODELS } = require(join(sdkDir, 'internal/data/deprecated-models.js')) as { DEPRECATED_MODELS: Record<string, string> };
    expect(Object.keys(DEPRECATED_MODELS)).toContain('claude-sonnet-4-5');
    expect(Object.keys(DEPRECATED_MODELS)).not.toContain(DEFAULT_MODEL);
  });
});
