/** `npm run bench [-- engine|tokens|webhooks]`: prints the benchmark tables (no assertions; figures only). */
import { benchEngine } from './engine.js';

const only = process.argv[2];
const sections: Record<string, () => Promise<void>> = {
  engine: () => benchEngine(),
};

for (const [name, run] of Object.entries(sections)) {
  if (!only || only === name) await run();
}
