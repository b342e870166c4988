/**
 * Entry of `npm run demo` (see demo.ts). Ctrl-C or SIGTERM stops the app and the fake GitHub and
 * removes the temporary files before exiting.
 */
import { runDemo } from './demo.js';

const ac = new AbortController();
const stop = () => ac.abort();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const timeoutS = Number(process.env.CONCDBG_DEMO_TIMEOUT_S ?? 60);
process.exitCode = await runDemo({ signal: ac.signal, timeoutMs: (Number.isFinite(timeoutS) && timeoutS > 0 ? timeoutS : 60) * 1000 });
