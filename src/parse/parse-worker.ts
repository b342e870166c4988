/** Worker thread of the parse pool: finds function boundaries for the files it is sent. */
import { parentPort } from 'node:worker_threads';
import { findFunctions } from './functions.js';
import type { ParseReply, ParseRequest } from './pool.js';

parentPort?.on('message', (req: ParseRequest) => {
  findFunctions(req.language, req.lines).then(
    (spans) => parentPort!.postMessage({ id: req.id, spans: spans.map(({ text: _text, ...bounds }) => bounds) } satisfies ParseReply),
    (err: unknown) => parentPort!.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies ParseReply),
  );
});
