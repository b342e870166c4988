/**
 * A Probot instance loaded with the concdbg app over a real SQLite store in memory, for handler
 * tests with nock. Retries and throttling are off so a nock scope sees exactly the calls made.
 */
import { generateKeyPairSync } from 'node:crypto';
import examples from '@octokit/webhooks-examples';
import nock from 'nock';
import { Probot, ProbotOctokit } from 'probot';
import { concdbgApp } from '../../../src/app/app.js';
import { backgroundRunner } from '../../../src/app/handlers/deps.js';
import { memoryLog } from '../../../src/app/log.js';
import { createMetrics } from '../../../src/app/metrics.js';
import { openStore } from '../../../src/store/index.js';

export const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

export const API = 'https://api.github.com';

/** A deep copy of a webhook example, with an installation. */
export function example<T = Record<string, any>>(name: string, action: string, pick: (e: any) => boolean = (e) => Boolean(e.installation)): T {
  const all = (examples as unknown as Array<{ name: string; examples: any[] }>).find((x) => x.name === name)!.examples.filter((e) => e.action === action);
  const found = all.find(pick) ?? all[0];
  if (!found) throw new Error(`no example for ${name}.${action}`);
  const copy = structuredClone(found);
  copy.installation = { id: 1, node_id: 'x' };
  return copy as T;
}

export async function setup() {
  nock.disableNetConnect();
  const store = await openStore('sqlite::memory:');
  const log = memoryLog();
  const metrics = createMetrics();
  const bg = backgroundRunner(log);
  let wakes = 0;
  const probot = new Probot({
    appId: 1,
    privateKey,
    // A function, so Probot's own throttle options cannot switch throttling back on.
    Octokit: ProbotOctokit.defaults((o: any) => ({ ...o, retry: { enabled: false }, throttle: { ...o?.throttle, enabled: false } })),
    log: log as never,
  });
  await probot.load(concdbgApp({ store, log, metrics, background: bg.run, wake: () => void wakes++ }));
  let n = 0;
  return {
    probot, store, log, metrics, bg,
    get wakes() { return wakes; },
    receive: (name: string, payload: unknown, id = `delivery-${++n}`) => probot.receive({ id, name, payload } as never),
    /** nock scope for the installation token. */
    token: () => nock(API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2999-01-01T00:00:00Z', permissions: {} }),
    async close() {
      await bg.drain();
      nock.cleanAll();
      nock.enableNetConnect();
      await store.close();
    },
  };
}
