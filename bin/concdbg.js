#!/usr/bin/env node
import { preferCompactHeap } from '../dist/cli/heap.js';

preferCompactHeap();
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
