import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { BACKENDS, type Backend } from './backends.js';

describe.each(BACKENDS)('claimDelivery on $name', ({ make }) => {
  let backend: Backend;
  const stores: Store[] = [];
  beforeAll(() => {
    backend = make();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
  });
  afterAll(async () => {
    await backend.cleanup();
  });

  it('gives exactly one of 50 concurrent claims of one delivery id', async () => {
    const url = await backend.freshUrl();
    // Several stores = several connections (pools of several connections on PostgreSQL).
    for (let i = 0; i < 3; i++) stores.push(await backend.open(url, { poolSize: 8 }));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.claimDelivery('delivery-1', 'pull_request')),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('gives one claim to each of 50 distinct delivery ids, and none on redelivery', async () => {
    const url = await backend.freshUrl();
    const store = await backend.open(url);
    stores.push(store);
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => store.claimDelivery(`d-${i}`, 'pull_request')));
    expect(first.every(Boolean)).toBe(true);
    const again = await Promise.all(Array.from({ length: 50 }, (_, i) => store.claimDelivery(`d-${i}`, 'pull_request')));
    expect(again.some(Boolean)).toBe(false);
  });

  it('prunes old deliveries only', async () => {
    const url = await backend.freshUrl();
    const store = await backend.open(url);
    stores.push(store);
    await store.claimDelivery('old', 'ping');
    expect(await store.pruneDeliveries(60_000)).toBe(0);
    expect(await store.pruneDeliveries(-1000)).toBe(1);
    expect(await store.claimDelivery('old', 'ping')).toBe(true);
  });
});
