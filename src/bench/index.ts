/**
 * `npm run bench [-- SECTION [ARG]]`: prints the benchmark tables (figures only, no assertions).
 * Sections: engine, tokens [CORPUS_DIR, default ../shared/corpus], webhooks (the running app's webhook latency
 * on SQLite and PostgreSQL, and jobs/s through the pipeline; see webhooks.ts for its environment).
 */
import { benchEngine } from './engine.js';
import { benchTokens } from './tokens.js';
import { benchWebhooks } from './webhooks.js';

const [only, arg] = process.argv.slice(2);
const sections: Record<string, () => Promise<void>> = {
  engine: () => benchEngine(),
  tokens: () => benchTokens(arg ?? '../shared/corpus'),
  webhooks: () => benchWebhooks(),
};

if (only && !sections[only]) {
  console.error(`unknown section "${only}"; one of: ${Object.keys(sections).join(', ')}`);
  process.exitCode = 2;
} else {
  for (const [name, run] of Object.entries(sections)) {
    if (!only || only === name) await run();
  }
}
