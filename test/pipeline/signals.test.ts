import { describe, expect, it } from 'vitest';
import { installSignalHandlers, Worker } from '../../src/pipeline/index.js';
import { openStore } from '../../src/store/index.js';

describe('installSignalHandlers', () => {
  it('on SIGTERM stops the worker, runs beforeExit, then exits 0; a second signal exits 1', async () => {
    const store = await openStore('sqlite::memory:');
    const worker = new Worker({ store, handler: async () => undefined, pollMs: 10 });
    worker.start();
    const steps: string[] = [];
    let bothExited!: () => void;
    const done = new Promise<void>((r) => (bothExited = r));
    const uninstall = installSignalHandlers(worker, {
      signals: ['SIGUSR2'],
      beforeExit: async () => {
        steps.push('beforeExit');
        await store.close();
      },
      exit: (code) => {
        steps.push(`exit ${code}`);
        if (steps.filter((s) => s.startsWith('exit')).length === 2) bothExited();
      },
    });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      await done;
      expect(steps).toEqual(['exit 1', 'beforeExit', 'exit 0']);
      // The worker claims nothing once stopped.
      expect(await worker.runOnce()).toBeNull();
    } finally {
      uninstall();
    }
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });
});
