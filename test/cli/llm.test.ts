/** The CLI's LLM path against a fake Anthropic API on loopback, and its offline fallbacks. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diagnosis } from '../llm/answers.js';
import { cli } from './run.js';

const example = path.resolve(import.meta.dirname, '../../examples/duplicate-charge.diff');

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A fake Messages API answering every request with `answer` (or `status`), recording the bodies. */
async function fakeAnthropic(reply: { status?: number; answer?: unknown }): Promise<{ url: string; bodies: Array<Record<string, unknown>> }> {
  const bodies: Array<Record<string, unknown>> = [];
  server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      bodies.push(JSON.parse(data || '{}'));
      if (reply.status && reply.status !== 200) {
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'msg_cli',
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-5-5',
          content: [{ type: 'text', text: JSON.stringify(reply.answer) }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 900, output_tokens: 400, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, bodies };
}

function env(url: string): NodeJS.ProcessEnv {
  return { ANTHROPIC_API_KEY: 'sk-ant-test-not-real', ANTHROPIC_BASE_URL: url, CONCDBG_LLM_MAX_RETRIES: '0', CONCDBG_LLM_TIMEOUT_MS: '5000' };
}

describe('concdbg review with ANTHROPIC_API_KEY', () => {
  it('uses the LLM diagnosis and counts its tokens', async () => {
    const offline = JSON.parse((await cli(['review', example, '--format', 'json'])).stdout);
    const c = offline.findings.find((f: { failureMode: string }) => f.failureMode === 'toctou');
    const api = await fakeAnthropic({
      answer: { diagnoses: [diagnosis({ candidate: 0, line: c.line, endLine: c.endLine, title: 'LLM: both requests pass the dedup SELECT and charge twice' })] },
    });
    const r = await cli(['review', example, '--format', 'json'], { env: env(api.url) });
    const out = JSON.parse(r.stdout);
    expect(api.bodies.length).toBeGreaterThan(0);
    expect(out.stats.llmInputTokens).toBe(900);
    expect(out.stats.llmOutputTokens).toBe(400);
    const llm = out.findings.find((f: { source: string }) => f.source === 'llm');
    expect(llm.title).toBe('LLM: both requests pass the dedup SELECT and charge twice');
    expect(llm.id).toBe(c.id); // a refinement keeps the detector's fingerprint
    expect(r.code).toBe(1);
  });

  it('falls back to the offline diagnosis when the API is overloaded', async () => {
    const api = await fakeAnthropic({ status: 529 });
    const r = await cli(['review', example, '--format', 'json'], { env: env(api.url) });
    const out = JSON.parse(r.stdout);
    expect(api.bodies.length).toBe(1);
    expect(out.findings.length).toBeGreaterThan(0);
    expect(out.findings.every((f: { source: string }) => f.source === 'heuristic')).toBe(true);
    expect(r.code).toBe(1);
  });

  it('--no-llm sends nothing', async () => {
    const api = await fakeAnthropic({ status: 500 });
    const r = await cli(['review', example, '--format', 'json', '--no-llm'], { env: env(api.url) });
    expect(api.bodies).toHaveLength(0);
    expect(JSON.parse(r.stdout).stats.llmInputTokens).toBe(0);
  });

  it('--dry-run prints the request (variant, regions, token estimate) and sends nothing', async () => {
    const api = await fakeAnthropic({ status: 500 });
    const r = await cli(['review', example, '--dry-run'], { env: env(api.url) });
    expect(api.bodies).toHaveLength(0);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/request 1: variant \w+/);
    expect(r.stdout).toMatch(/src\/api\/charge\.ts:\d+-\d+/);
    expect(r.stdout).toContain('"cache_control"');
  });

  it('a bad LLM setting is a usage error naming the variable', async () => {
    const r = await cli(['review', example], { env: { ANTHROPIC_API_KEY: 'sk-ant-x', CONCDBG_LLM_INPUT_BUDGET: 'lots' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CONCDBG_LLM_INPUT_BUDGET/);
    expect(r.stderr).not.toContain('sk-ant-x');
  });
});
