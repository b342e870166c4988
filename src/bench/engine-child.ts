/** One measurement in a fresh process, so peak memory belongs to this run alone. Prints JSON. */
import { readFileSync } from 'node:fs';
import { preferCompactHeap } from '../cli/heap.js';
import { review } from '../engine/review.js';

// The same heap policy as the `concdbg` command, so the figures are the CLI's.
preferCompactHeap();

const [mode, file] = process.argv.slice(2);
if (!file || (mode !== 'review' && mode !== 'split')) {
  process.stderr.write('usage: engine-child review|split FILE\n');
  process.exit(2);
}
const start = performance.now();
let findings: number | undefined;
if (mode === 'split') {
  const lines = readFileSync(file, 'utf8').split('\n');
  if (lines.length === 0) process.exit(1);
} else {
  findings = (await review(readFileSync(file))).findings.length;
}
const seconds = (performance.now() - start) / 1000;
process.stdout.write(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, findings }));
