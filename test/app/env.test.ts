import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../../src/app/env.js';
import { privateKey } from './support/probot.js';

const ok = { APP_ID: '123', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 'shh' };

describe('loadEnv', () => {
  it.each([
    { name: 'the minimum', env: ok, valid: true },
    { name: 'no APP_ID: manifest flow, nothing else required', env: {}, valid: true },
    { name: 'missing WEBHOOK_SECRET', env: { ...ok, WEBHOOK_SECRET: undefined }, valid: false, errorContains: 'WEBHOOK_SECRET is missing: set it to' },
    { name: 'empty WEBHOOK_SECRET counts as missing', env: { ...ok, WEBHOOK_SECRET: '' }, valid: false, errorContains: 'WEBHOOK_SECRET is missing' },
    { name: 'missing key', env: { ...ok, PRIVATE_KEY: undefined }, valid: false, errorContains: 'PRIVATE_KEY is missing' },
    { name: 'key path that does not exist', env: { ...ok, PRIVATE_KEY: undefined, PRIVATE_KEY_PATH: '/nope/key.pem' }, valid: false, errorContains: 'PRIVATE_KEY_PATH' },
    { name: 'key that is not PEM', env: { ...ok, PRIVATE_KEY: 'hunter2' }, valid: false, errorContains: 'PRIVATE_KEY is not a PEM' },
    { name: 'APP_ID not a number', env: { ...ok, APP_ID: 'my-app' }, valid: false, errorContains: 'APP_ID must be the numeric id' },
    { name: 'PORT out of range', env: { ...ok, PORT: '70000' }, valid: false, errorContains: 'PORT must be at most 65535' },
    { name: 'PORT not a number', env: { ...ok, PORT: 'http' }, valid: false, errorContains: 'PORT must be a whole number' },
    { name: 'LOG_LEVEL unknown', env: { ...ok, LOG_LEVEL: 'loud' }, valid: false, errorContains: 'LOG_LEVEL must be one of' },
    { name: 'GHE_HOST with a scheme', env: { ...ok, GHE_HOST: 'https://ghe.example.com' }, valid: false, errorContains: 'GHE_HOST must be a host name' },
    { name: 'GHE_HOST with a port', env: { ...ok, GHE_HOST: '127.0.0.1:8080', GHE_PROTOCOL: 'http' }, valid: true },
    { name: 'GHE_PROTOCOL without GHE_HOST', env: { ...ok, GHE_PROTOCOL: 'http' }, valid: false, errorContains: 'GHE_PROTOCOL is set without GHE_HOST' },
    { name: 'DATABASE_URL unsupported', env: { ...ok, DATABASE_URL: 'mysql://x/y' }, valid: false, errorContains: 'DATABASE_URL' },
    { name: 'DATABASE_URL postgres', env: { ...ok, DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' }, valid: true },
    { name: 'CONCDBG_WORKER bad', env: { ...ok, CONCDBG_WORKER: 'yes' }, valid: false, errorContains: 'CONCDBG_WORKER must be 0' },
    { name: 'WEBHOOK_PROXY_URL not a URL', env: { ...ok, WEBHOOK_PROXY_URL: 'smee' }, valid: false, errorContains: 'WEBHOOK_PROXY_URL must be an http(s) URL' },
    { name: 'bad LLM variable', env: { ...ok, ANTHROPIC_API_KEY: 'sk-x', CONCDBG_LLM_MAX_TOKENS: 'lots' }, valid: false, errorContains: 'CONCDBG_LLM_MAX_TOKENS' },
  ])('$name', ({ env, valid, errorContains }) => {
    const run = () => loadEnv(env as Record<string, string | undefined>);
    if (valid) expect(run).not.toThrow();
    else {
      expect(run).toThrow(EnvError);
      expect(run).toThrow(errorContains);
    }
  });

  it('never echoes a secret value in its message', () => {
    for (const env of [{ ...ok, PRIVATE_KEY: 'super-secret-value' }, { ...ok, ANTHROPIC_API_KEY: 'sk-ant-secret', CONCDBG_LLM_TIMEOUT_MS: 'x' }, { ...ok, DATABASE_URL: 'postgres://user:pa55word@' }]) {
      try {
        loadEnv(env);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/super-secret-value|sk-ant-secret|pa55word/);
        expect((err as Error).message.split('\n')).toHaveLength(1);
        continue;
      }
      throw new Error('expected an error');
    }
  });

  it('defaults: worker on, sqlite store, offline LLM', () => {
    const e = loadEnv(ok);
    expect(e).toMatchObject({ CONCDBG_WORKER: true, DATABASE_URL: 'sqlite:./concdbg.sqlite', PORT: 3000, CONCDBG_LEASE_MS: 30_000, llm: null });
    expect(loadEnv({ ...ok, CONCDBG_WORKER: '0' }).CONCDBG_WORKER).toBe(false);
  });
});
