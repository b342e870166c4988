/**
 * Parses files on worker threads, so large diffs use every core. Only function boundaries cross the thread
 * boundary; the span texts are cut from the caller's own lines.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Language } from '../types.js';
import type { FunctionSpan } from './types.js';

export type SpanBounds = Omit<FunctionSpan, 'text'>;

export interface ParseRequest {
  id: number;
  language: Language;
  lines: readonly string[];
}

export type ParseReply = { id: number; spans: SpanBounds[] } | { id: number; error: string };

export interface ParsePool {
  findFunctions(language: Language, lines: readonly string[]): Promise<FunctionSpan[]>;
  close(): Promise<void>;
}

export function defaultPoolSize(): number {
  return Math.min(4, availableParallelism());
}

export function createParsePool(size = defaultPoolSize()): ParsePool {
  const ts = import.meta.url.endsWith('.ts');
  const script = new URL(ts ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
  const pending = new Map<number, { resolve: (s: SpanBounds[]) => void; reject: (e: Error) => void }>();
  const load = new Array<number>(size).fill(0);
  const workers = Array.from({ length: size }, (_, i) => {
    // Under the test runner the sources are TypeScript: register tsx in the worker, then load them.
    const w = ts
      ? new Worker(`import('tsx/esm/api').then((m) => m.register()).then(() => import(${JSON.stringify(script.href)}))`, { eval: true })
      : new Worker(script);
    w.on('message', (reply: ParseReply) => {
      load[i]!--;
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      if ('error' in reply) p?.reject(new Error(reply.error));
      else p?.resolve(reply.spans);
    });
    w.on('error', (err) => {
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
    return w;
  });
  let next = 0;
  return {
    async findFunctions(language, lines) {
      const id = next++;
      let target = 0;
      for (let i = 1; i < size; i++) if (load[i]! < load[target]!) target = i;
      load[target]!++;
      const bounds = await new Promise<SpanBounds[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        workers[target]!.postMessage({ id, language, lines } satisfies ParseRequest);
      });
      return bounds.map((b) => ({ ...b, text: lines.slice(b.startLine - 1, b.endLine).join('\n') }));
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
