/**
 * Prometheus metrics (prom-client), one registry per app instance so tests do not share state.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface AppMetrics {
  registry: Registry;
  webhooksReceived: Counter<'event'>;
  webhooksDeduplicated: Counter<'event'>;
  jobsQueued: Counter<'trigger'>;
  jobsRunning: Gauge;
  jobsFailed: Counter;
  jobsSuperseded: Counter;
  jobsCompleted: Counter<'conclusion'>;
  reviewLatency: Histogram;
  findings: Counter<'mode' | 'source'>;
  llmTokens: Counter<'direction'>;
  githubErrors: Counter<'status'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): AppMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'concdbg_' });
  const r = [registry];
  return {
    registry,
    webhooksReceived: new Counter({ name: 'concdbg_webhooks_received_total', help: 'Webhook deliveries received (signature verified).', labelNames: ['event'], registers: r }),
    webhooksDeduplicated: new Counter({ name: 'concdbg_webhooks_deduplicated_total', help: 'Deliveries answered without work: a redelivery, or a job that already existed.', labelNames: ['event'], registers: r }),
    jobsQueued: new Counter({ name: 'concdbg_jobs_queued_total', help: 'Review jobs enqueued.', labelNames: ['trigger'], registers: r }),
    jobsRunning: new Gauge({ name: 'concdbg_jobs_running', help: 'Review jobs running in this process.', registers: r }),
    jobsFailed: new Counter({ name: 'concdbg_jobs_failed_total', help: 'Review jobs that failed for good (after retries).', registers: r }),
    jobsSuperseded: new Counter({ name: 'concdbg_jobs_superseded_total', help: 'Review jobs cancelled by a newer push.', registers: r }),
    jobsCompleted: new Counter({ name: 'concdbg_jobs_completed_total', help: 'Review jobs completed, by check conclusion.', labelNames: ['conclusion'], registers: r }),
    reviewLatency: new Histogram({
      name: 'concdbg_review_latency_seconds',
      help: 'From job claim to check run completed.',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: r,
    }),
    findings: new Counter({ name: 'concdbg_findings_total', help: 'Findings reported, by failure mode and source.', labelNames: ['mode', 'source'], registers: r }),
    llmTokens: new Counter({ name: 'concdbg_llm_tokens_total', help: 'LLM tokens used.', labelNames: ['direction'], registers: r }),
    githubErrors: new Counter({ name: 'concdbg_github_api_errors_total', help: 'GitHub API errors, by HTTP status.', labelNames: ['status'], registers: r }),
  };
}
