/** GET /healthz (process up and store reachable: 200, else 503 with the reason) and GET /metrics (Prometheus). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export function healthHandler(ping: () => Promise<void>, opts: { timeoutMs?: number } = {}) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/healthz') return false;
    try {
      await withTimeout(ping(), opts.timeoutMs ?? 2_000);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', store: 'reachable' }));
    } catch (err) {
      const reason = `store unreachable: ${err instanceof Error ? err.message : String(err)}`.replace(/postgres(ql)?:\/\/[^@\s]*@/gi, 'postgres://***@');
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unavailable', reason }));
    }
    return true;
  };
}

export function metricsHandler(registry: Registry) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') return false;
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    return true;
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
