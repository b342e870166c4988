/**
 * `npm run bench -- webhooks`: the App as `npm start` runs it (a real process), against the fake
 * GitHub on loopback, on SQLite and on PostgreSQL (a throwaway embedded server).
 *
 * 1. Webhook answer latency: a second process sends signed `pull_request.synchronize`
 *    deliveries (GitHub's own 24 KB example payload, each with its own X-GitHub-Delivery id and
 *    X-Hub-Signature-256) at 200 requests/s for 30 s, spread over a few hundred PRs whose head
 *    SHA changes every few rounds, so the store claims deliveries, deduplicates jobs, enqueues and
 *    supersedes for real while the worker runs beside it. Requests go out at an even pace and
 *    each is timed from when it was due (sub-millisecond resolution, no coordinated omission).
 * 2. Pipeline throughput: K pull_request.opened events carrying examples/duplicate-charge.diff,
 *    one installation each, timed from the first send until every check run is completed.
 *
 * Environment: CONCDBG_BENCH_SECONDS (default 30), CONCDBG_BENCH_RATE (200), CONCDBG_BENCH_JOBS
 * (100), CONCDBG_BENCH_CONCURRENCY (worker jobs at once in the throughput run, 16),
 * CONCDBG_BENCH_DATABASES (sqlite,postgres), CONCDBG_BENCH_LOADER (paced, or autocannon: its
 * rate limit sends each second's requests in bursts, see runAutocannonLoad).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signBody, startAppProcess, type AppProcess } from '../testing/app-process.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../testing/embedded-postgres.js';
import { deliver, prFilesFromDiff, pullRequestEvent, startFakeGitHub, type FakeFile, type FakeGitHub } from '../testing/fake-github.js';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const TARGET_P99_MS = 50;
const WARMUP_SECONDS = 3;

/** What the load process is told (as JSON on its command line). */
interface LoadConfig {
  loader: 'paced' | 'autocannon';
  url: string;
  secret: string;
  rate: number;
  seconds: number;
  connections: number;
  repo: string;
  prs: number;
  installationBase: number;
  /** A PR gets a new head SHA every this many rounds over all PRs; the rounds in between are job dedups. */
  shaEvery: number;
}

interface LoadResult {
  /** How the load was generated. */
  loader: string;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  /** Connection errors by code (ECONNRESET, …). */
  errorCodes?: Record<string, number>;
  /** p99 of how late the load process itself sent a request (its own CPU starvation), ms. */
  sendLagP99?: number;
  statuses: Record<string, number>;
}

/** The slice of autocannon's API used here (the package ships no types). */
interface AutocannonInstance extends PromiseLike<{ non2xx: number; errors: number; timeouts: number; duration: number; latency: { p99: number }; statusCodeStats: Record<string, { count: number }> }> {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
interface RawRequest {
  body?: string;
  headers?: Record<string, string>;
}
type Autocannon = (opts: Record<string, unknown>) => AutocannonInstance;

// ---------------------------------------------------------------------------------------------
// The load process

function examplePayload(): Record<string, any> {
  const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, any>> }>;
  const ex = examples.find((e) => e.name === 'pull_request')?.examples.find((e) => e.action === 'synchronize');
  if (!ex) throw new Error('@octokit/webhooks-examples has no pull_request.synchronize example');
  return structuredClone(ex);
}

const percentile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]! : NaN);

/** Builds signed deliveries one by one: PR i % prs, a head SHA that changes every `shaEvery` rounds. */
function deliveryMaker(cfg: LoadConfig): () => { body: string; headers: Record<string, string> } {
  const p = examplePayload();
  const [owner, name] = cfg.repo.split('/') as [string, string];
  p.repository.full_name = cfg.repo;
  p.repository.name = name;
  p.repository.owner.login = owner;
  p.pull_request.state = 'open';
  p.pull_request.draft = false;
  let k = 0;
  return () => {
    const i = k++;
    const pr = (i % cfg.prs) + 1;
    const generation = Math.floor(Math.floor(i / cfg.prs) / cfg.shaEvery);
    const sha = createHash('sha1').update(`${cfg.repo}#${pr}@${generation}`).digest('hex');
    p.number = pr;
    p.pull_request.number = pr;
    p.pull_request.head.sha = sha;
    p.after = sha;
    p.installation.id = cfg.installationBase + pr;
    const body = JSON.stringify(p);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(cfg.secret, body),
        'user-agent': 'GitHub-Hookshot/concdbg-bench',
      },
    };
  };
}

/**
 * Open-loop load at an even pace: request i is due at start + i/rate, sent on time whatever the
 * answers to earlier ones (keep-alive connections, as many as needed), and timed from when it was
 * due to the end of its answer, so a slow answer cannot hide the requests queued behind it.
 */
async function runPacedLoad(cfg: LoadConfig): Promise<LoadResult> {
  const next = deliveryMaker(cfg);
  const target = new URL(`${cfg.url}/api/github/webhooks`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(cfg.rate * cfg.seconds);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  let timeouts = 0;
  let inFlight = 0;
  let allSent!: () => void;
  const drained = new Promise<void>((r) => { allSent = r; });
  let sent = 0;

  const lags: number[] = [];
  const send = (due: number) => {
    lags.push(performance.now() - due);
    const { body, headers } = next();
    inFlight++;
    const done = () => {
      if (--inFlight === 0 && sent === total) allSent();
    };
    const req = httpRequest({ agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.once('end', () => {
        latencies.push(performance.now() - due);
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        done();
      });
    });
    let timedOut = false;
    req.setTimeout(10_000, () => {
      timedOut = true;
      timeouts++;
      req.destroy();
    });
    req.once('error', (e: NodeJS.ErrnoException) => {
      if (!timedOut) {
        errors++;
        errorCodes[e.code ?? e.message] = (errorCodes[e.code ?? e.message] ?? 0) + 1;
      }
      done();
    });
    req.end(body);
  };

  const start = performance.now() + 20;
  const interval = 1000 / cfg.rate;
  await new Promise<void>((resolveAll) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) send(start + sent++ * interval);
      if (sent === total) return resolveAll();
      setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
  if (inFlight > 0) await drained;
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const non2xx = Object.entries(statuses).filter(([st]) => !st.startsWith('2')).reduce((n, [, c]) => n + c, 0);
  return {
    loader: 'paced', requests: total, non2xx, errors, timeouts, seconds,
    p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN, sendLagP99: percentile(lags, 0.99), errorCodes, statuses,
  };
}

/**
 * autocannon's rate limit lets each connection send its share of a second's requests back to
 * back, then wait for the next second: bursts at full speed rather than an even 200/s. Kept for
 * comparison (CONCDBG_BENCH_LOADER=autocannon); its latencies are answer times under those bursts.
 */
async function runAutocannonLoad(cfg: LoadConfig): Promise<LoadResult> {
  const autocannon = require('autocannon') as Autocannon;
  const next = deliveryMaker(cfg);
  const setupRequest = (req: RawRequest): RawRequest => {
    const d = next();
    req.body = d.body;
    req.headers = { ...req.headers, ...d.headers };
    return req;
  };
  const latencies: number[] = [];
  const instance = autocannon({
    url: `${cfg.url}/api/github/webhooks`,
    method: 'POST',
    connections: cfg.connections,
    overallRate: cfg.rate,
    duration: cfg.seconds,
    timeout: 10,
    requests: [{ setupRequest }],
  });
  instance.on('response', (_c, _status, _bytes, ms) => latencies.push(ms));
  const r = await instance;
  latencies.sort((a, b) => a - b);
  return {
    loader: `autocannon, ${cfg.connections} connections`,
    requests: latencies.length + r.errors + r.timeouts,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies.at(-1) ?? NaN,
    statuses: Object.fromEntries(Object.entries(r.statusCodeStats).map(([st, v]) => [st, v.count])),
  };
}

// ---------------------------------------------------------------------------------------------
// The orchestrating process

interface LatencyRow extends LoadResult {
  database: string;
  /** p99 of the warm-up run on the freshly started process. */
  warmupP99: number;
  rate: number;
  jobsQueued: number;
  deduplicated: number;
}

interface JobsRow {
  database: string;
  jobs: number;
  concurrency: number;
  seconds: number;
  completed: number;
  writesPerJob: number;
  medianJobSeconds: number;
  conclusions: Record<string, number>;
}

const envInt = (name: string, def: number, min: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const progress = (s: string) => process.stderr.write(s);

/** Children started here, killed if this process ends before stopping them. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function runLoadProcess(cfg: LoadConfig): Promise<LoadResult> {
  const self = fileURLToPath(import.meta.url);
  const args = self.endsWith('.ts') ? ['--import', 'tsx', self] : [self];
  const child = spawn(process.execPath, [...args, '--load', JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => {
      children.delete(child);
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return rej(new Error(`the load process failed (exit ${code}):\n${err.trim().slice(-1500)}`));
      res(JSON.parse(last) as LoadResult);
    });
  });
}

/** Throws with the tail of the app's output if it is no longer running. */
function assertRunning(app: AppProcess, during: string): void {
  if (app.proc.exitCode === null && app.proc.signalCode === null) return;
  throw new Error(`the app exited (${app.proc.exitCode ?? app.proc.signalCode}) during ${during}:\n${app.output().trim().slice(-3000)}`);
}

async function metric(app: AppProcess, name: string): Promise<number> {
  assertRunning(app, 'the run');
  const text = await (await fetch(`${app.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

async function databaseUrl(kind: string, label: string, dirs: string[], pgServer: () => Promise<ThrowawayPostgres>): Promise<string> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'concdbg-bench-webhooks-'));
    dirs.push(dir);
    return `sqlite:${join(dir, `${label}.sqlite`)}`;
  }
  if (kind === 'postgres') return (await pgServer()).createDatabase(`concdbg_bench_${label}`);
  throw new Error(`CONCDBG_BENCH_DATABASES: unknown database "${kind}" (sqlite or postgres)`);
}

async function latencyRun(gh: FakeGitHub, db: string, dbUrl: string, files: FakeFile[], o: { seconds: number; rate: number; loader: LoadConfig['loader'] }): Promise<LatencyRow> {
  const repo = `bench/hooks-${db}`;
  const prs = 300;
  const installationBase = 10_000;
  for (let n = 1; n <= prs; n++) gh.addPull({ repo, number: n, headSha: 'f'.repeat(40), files });
  const app = await startAppProcess({ githubHost: gh.host, databaseUrl: dbUrl, env: process.env.CONCDBG_BENCH_WORKER === '0' ? { CONCDBG_WORKER: '0' } : {} });
  try {
    // Warm-up outside the measurement, at the same pace on other PRs: a cold process pays for JIT
    // compilation and for opening its database connections (the PostgreSQL pool) under load.
    const warmRepo = `bench/warmup-${db}`;
    for (let n = 1; n <= prs; n++) gh.addPull({ repo: warmRepo, number: n, headSha: 'e'.repeat(40), files });
    const warm = await runLoadProcess({ loader: o.loader, url: app.url, secret: app.secret, rate: o.rate, seconds: WARMUP_SECONDS, connections: 10, repo: warmRepo, prs, installationBase: 30_000, shaEvery: 3 });
    const queued0 = await metric(app, 'concdbg_jobs_queued_total');
    const dedup0 = await metric(app, 'concdbg_webhooks_deduplicated_total');
    progress(`webhooks [${db}]: ${o.rate} signed deliveries/s for ${o.seconds} s over ${prs} PRs … `);
    const r = await runLoadProcess({ loader: o.loader, url: app.url, secret: app.secret, rate: o.rate, seconds: o.seconds, connections: 10, repo, prs, installationBase, shaEvery: 3 });
    const jobsQueued = (await metric(app, 'concdbg_jobs_queued_total')) - queued0;
    const deduplicated = (await metric(app, 'concdbg_webhooks_deduplicated_total')) - dedup0;
    progress(`p99 ${r.p99.toFixed(1)} ms\n`);
    return { ...r, database: db, rate: o.rate, jobsQueued, deduplicated, warmupP99: warm.p99 };
  } finally {
    await app.stop(15_000);
  }
}

async function jobsRun(gh: FakeGitHub, db: string, dbUrl: string, files: FakeFile[], o: { jobs: number; concurrency: number }): Promise<JobsRow> {
  const repo = `bench/jobs-${db}`;
  const app = await startAppProcess({
    githubHost: gh.host,
    databaseUrl: dbUrl,
    env: { CONCDBG_WORKER_CONCURRENCY: String(o.concurrency), CONCDBG_POLL_MS: '50' },
  });
  try {
    const pulls = Array.from({ length: o.jobs }, (_, i) =>
      gh.addPull({ repo, number: i + 1, headSha: createHash('sha1').update(`${repo}#${i + 1}`).digest('hex'), files }));
    const firstCall = gh.calls.length;
    progress(`pipeline [${db}]: ${o.jobs} PRs (one installation each), ${o.concurrency} jobs at a time `);
    const t0 = Date.now();
    // Sent 10 at a time: a burst of PRs, as after a busy merge window.
    for (let i = 0; i < pulls.length; i += 10) {
      const sent = await Promise.all(pulls.slice(i, i + 10).map((p, j) => deliver(app.url, { secret: app.secret, event: 'pull_request', payload: pullRequestEvent(p, 'opened', 20_000 + i + j) })));
      const bad = sent.find((s) => s.status < 200 || s.status >= 300);
      if (bad) throw new Error(`the app answered a webhook with HTTP ${bad.status}: ${bad.body.slice(0, 200)}`);
    }
    const completedRuns = () => gh.state.checkRuns.filter((c) => c.repo === repo && c.status === 'completed');
    const deadline = Date.now() + Math.max(120_000, o.jobs * 10_000);
    let ticks = 0;
    while (new Set(completedRuns().map((c) => c.head_sha)).size < o.jobs) {
      if (app.proc.exitCode !== null || app.proc.signalCode !== null) throw new Error(`the app exited during the pipeline run:\n${app.output().slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`only ${completedRuns().length} of ${o.jobs} check runs completed in time`);
      await sleep(25);
      if (++ticks % 40 === 0) progress('.');
    }
    const seconds = (Date.now() - t0) / 1000;
    const calls = gh.calls.slice(firstCall).filter((c) => c.path.startsWith(`/repos/${repo}/`));
    const writes = calls.filter((c) => c.method !== 'GET').length;
    // Per job: from its first GitHub call to the PATCH that completed its check run.
    const runPr = new Map(gh.state.checkRuns.filter((c) => c.repo === repo).map((c) => [c.id, pulls.find((p) => p.headSha === c.head_sha)!.number]));
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    for (const c of calls) {
      const pr = /\/(?:pulls|issues)\/(\d+)/.exec(c.path)?.[1];
      const run = /\/check-runs\/(\d+)$/.exec(c.path)?.[1];
      const n = pr ? Number(pr) : run ? runPr.get(Number(run)) : undefined;
      if (n === undefined) continue;
      if (!first.has(n)) first.set(n, c.at);
      if (run && (c.body as { conclusion?: string } | undefined)?.conclusion) last.set(n, c.at);
    }
    const durations = [...last].map(([n, t]) => (t - (first.get(n) ?? t)) / 1000).sort((a, b) => a - b);
    const conclusions: Record<string, number> = {};
    for (const c of completedRuns()) conclusions[c.conclusion ?? 'none'] = (conclusions[c.conclusion ?? 'none'] ?? 0) + 1;
    progress(` ${(o.jobs / seconds).toFixed(1)} jobs/s\n`);
    return {
      database: db, jobs: o.jobs, concurrency: o.concurrency, seconds, completed: completedRuns().length,
      writesPerJob: writes / o.jobs, medianJobSeconds: percentile(durations, 0.5), conclusions,
    };
  } finally {
    await app.stop(15_000);
  }
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');

function printTables(lat: LatencyRow[], jobs: JobsRow[], loadBefore: number): void {
  const out: string[] = ['', '### Webhook answer latency (signed pull_request.synchronize, 24 KB payloads, from a second process)', ''];
  out.push('| database | requests | rate (req/s) | p50 (ms) | p99 (ms) | max (ms) | errors (non-2xx) | jobs queued | deduplicated | p99 < 50 ms |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of lat) {
    const errors = r.non2xx + r.errors + r.timeouts;
    const detail = [
      ...(r.non2xx ? [`${r.non2xx} non-2xx`] : []),
      ...(r.timeouts ? [`${r.timeouts} timed out`] : []),
      ...Object.entries(r.errorCodes ?? {}).map(([code, n]) => `${n} ${code}`),
    ];
    out.push(`| ${r.database} | ${r.requests} | ${(r.requests / r.seconds).toFixed(0)} (target ${r.rate}) | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${errors}${detail.length ? ` (${detail.join(', ')})` : ''} | ${r.jobsQueued} | ${r.deduplicated} | ${r.p99 < TARGET_P99_MS ? 'yes' : '**no**'} |`);
  }
  out.push('', `Load: ${lat[0]?.loader === 'paced' ? 'open loop, one request every 1/rate s on keep-alive connections, each timed from when it was due to the end of its answer' : lat[0]?.loader ?? ''} (a second process), ` +
    `after a ${WARMUP_SECONDS} s warm-up at the same rate on other PRs (its p99 on the freshly started app: ${lat.map((r) => `${r.database} ${ms(r.warmupP99)} ms`).join(', ')}). ` +
    'The review worker runs in the app process (default concurrency) while the deliveries arrive; the fake GitHub, the load process, the app and PostgreSQL share this machine\'s ' + `${availableParallelism()} CPUs ` +
    `(1-minute load average ${loadBefore.toFixed(1)} when the bench started, ${loadavg()[0]!.toFixed(1)} at the end: other work on the machine shows up in the tail).` +
    (lat.some((r) => r.sendLagP99 !== undefined) ? ` p99 of how late the load process itself sent a request: ${lat.map((r) => `${r.database} ${ms(r.sendLagP99 ?? NaN)} ms`).join(', ')}.` : ''));
  if (jobs.length) {
    out.push('', '### Pipeline throughput (pull_request.opened with examples/duplicate-charge.diff, local fake GitHub)', '');
    out.push('| database | jobs | jobs at a time | wall time (s) | jobs/s | GitHub writes per job | median job time (s) | conclusions |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const r of jobs) {
      out.push(`| ${r.database} | ${r.completed}/${r.jobs} | ${r.concurrency} | ${r.seconds.toFixed(1)} | ${(r.jobs / r.seconds).toFixed(2)} | ${r.writesPerJob.toFixed(1)} | ${r.medianJobSeconds.toFixed(2)} | ${Object.entries(r.conclusions).map(([k, v]) => `${k} ${v}`).join(', ')} |`);
    }
    const w = jobs[0]!.writesPerJob;
    out.push('', `What bounds it: Probot's Octokit spaces content-creating requests ≥ 1 s apart per installation (GitHub's advice), ` +
      `and each job makes about ${w.toFixed(0)} writes in sequence (check run, review, summary comment, check run update), so one job takes ≥ ${Math.max(0, w - 1).toFixed(0)} s ` +
      `however fast the store and the engine are. Every PR here has its own installation, so jobs run side by side and throughput ≈ jobs at a time ÷ job time; ` +
      `PRs of one installation would be serialised at about 1 write/s.`);
  }
  console.log(out.join('\n'));
}

export async function benchWebhooks(): Promise<void> {
  const seconds = envInt('CONCDBG_BENCH_SECONDS', 30, 1);
  const rate = envInt('CONCDBG_BENCH_RATE', 200, 1);
  const jobs = envInt('CONCDBG_BENCH_JOBS', 100, 0);
  const concurrency = envInt('CONCDBG_BENCH_CONCURRENCY', 16, 1);
  const loader = process.env.CONCDBG_BENCH_LOADER === 'autocannon' ? 'autocannon' : 'paced';
  const databases = (process.env.CONCDBG_BENCH_DATABASES ?? 'sqlite,postgres').split(',').map((s) => s.trim()).filter(Boolean);

  const dirs: string[] = [];
  let gh: FakeGitHub | undefined;
  let pg: Promise<ThrowawayPostgres> | undefined;
  const pgServer = () => (pg ??= startThrowawayPostgres());
  const cleanup = async () => {
    for (const c of children) c.kill('SIGKILL');
    await gh?.close().catch(() => undefined);
    if (pg) await (await pg.catch(() => undefined))?.stop().catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  const onSignal = () => {
    progress('\nbench interrupted; stopping the app, the load process and PostgreSQL\n');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const loadBefore = loadavg()[0]!;
  try {
    gh = await startFakeGitHub();
    const files = prFilesFromDiff(readFileSync(join(ROOT, 'examples/duplicate-charge.diff'), 'utf8'));
    const lat: LatencyRow[] = [];
    const thr: JobsRow[] = [];
    for (const db of databases) {
      lat.push(await latencyRun(gh, db, await databaseUrl(db, 'hooks', dirs, pgServer), files, { seconds, rate, loader }));
      if (jobs > 0) thr.push(await jobsRun(gh, db, await databaseUrl(db, 'jobs', dirs, pgServer), files, { jobs, concurrency }));
    }
    printTables(lat, thr, loadBefore);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

// `node dist/bench/webhooks.js --load '<json>'`: the load process started by runLoadProcess.
if (process.argv[2] === '--load' && process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cfg = JSON.parse(process.argv[3] ?? '{}') as LoadConfig;
  (cfg.loader === 'autocannon' ? runAutocannonLoad(cfg) : runPacedLoad(cfg)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0)),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    },
  );
}
