import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { healthHandler, metricsHandler } from '../../src/app/health.js';
import { createMetrics } from '../../src/app/metrics.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(handlers: Array<(req: any, res: any) => Promise<boolean>>): Promise<string> {
  server = createServer(async (req, res) => {
    for (const h of handlers) if (await h(req, res)) return;
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
}

describe('/healthz', () => {
  it('200 when the store answers', async () => {
    const url = await serve([healthHandler(async () => undefined)]);
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok', store: 'reachable' });
  });

  it('503 with the reason when the store fails, without the password', async () => {
    const url = await serve([healthHandler(async () => { throw new Error('connect ECONNREFUSED for postgres://app:s3cr3t@db:5432/x'); })]);
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(503);
    const body = (await r.json()) as { reason: string };
    expect(body.reason).toContain('store unreachable: connect ECONNREFUSED');
    expect(body.reason).not.toContain('s3cr3t');
  });

  it('503 when the store hangs', async () => {
    const url = await serve([healthHandler(() => new Promise(() => undefined), { timeoutMs: 50 })]);
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { reason: string }).reason).toContain('no answer within 50 ms');
  });
});

describe('/metrics', () => {
  it('serves every app metric in Prometheus format', async () => {
    const m = createMetrics();
    m.webhooksReceived.inc({ event: 'pull_request' });
    m.findings.inc({ mode: 'toctou', source: 'llm' });
    m.githubErrors.inc({ status: '502' });
    m.llmTokens.inc({ direction: 'input' }, 1200);
    const url = await serve([metricsHandler(m.registry)]);
    const r = await fetch(`${url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = await r.text();
    for (const name of [
      'concdbg_webhooks_received_total', 'concdbg_webhooks_deduplicated_total', 'concdbg_jobs_queued_total', 'concdbg_jobs_running',
      'concdbg_jobs_failed_total', 'concdbg_jobs_superseded_total', 'concdbg_review_latency_seconds', 'concdbg_findings_total',
      'concdbg_llm_tokens_total', 'concdbg_github_api_errors_total',
    ]) expect(text).toContain(`# TYPE ${name}`);
    expect(text).toContain('concdbg_findings_total{mode="toctou",source="llm"} 1');
    expect(text).toContain('concdbg_github_api_errors_total{status="502"} 1');
  });

  it('other paths fall through', async () => {
    const url = await serve([metricsHandler(createMetrics().registry), healthHandler(async () => undefined)]);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});
