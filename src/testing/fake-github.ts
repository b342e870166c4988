/**
 * A small fake of GitHub's REST API on 127.0.0.1, for end-to-end tests and `npm run demo`.
 * It serves the routes the concdbg App uses (with or without the GitHub Enterprise `/api/v3`
 * prefix), keeps what the app posted in `state`, records every call in `calls`, checks review
 * comment lines against the PR's patches (422 like GitHub), and injects faults on demand.
 *
 *   const gh = await startFakeGitHub();
 *   gh.addPull({ repo: 'octo/shop', number: 1, headSha, files: prFilesFromDiff(diffText) });
 *   // run the app with GHE_HOST=gh.host GHE_PROTOCOL=http, send it a webhook with deliver()
 *   await gh.close();
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed';
  previous_filename?: string;
  patch?: string;
  additions: number;
  deletions: number;
  changes: number;
}

export interface FakePull {
  repo: string;
  number: number;
  headSha: string;
  baseRef: string;
  baseSha: string;
  author: string;
  draft: boolean;
  state: 'open' | 'closed';
  files: FakeFile[];
}

export interface FakeCheckRun {
  id: number;
  repo: string;
  name: string;
  head_sha: string;
  external_id: string | null;
  status: string;
  conclusion: string | null;
  output: { title?: string; summary?: string; text?: string } | null;
  annotations: unknown[];
  actions: unknown[];
}

export interface FakeReviewComment {
  id: number;
  path: string;
  line: number;
  start_line?: number;
  side?: string;
  body: string;
}

export interface FakeReview {
  id: number;
  repo: string;
  pr: number;
  commit_id: string;
  event: string;
  body: string;
  comments: FakeReviewComment[];
  user: { login: string; type: string };
}

export interface FakeIssueComment {
  id: number;
  repo: string;
  pr: number;
  body: string;
  user: { login: string; type: string };
}

export interface FakeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** When it was answered (Date.now()). */
  at: number;
}

export interface Fault {
  method: string;
  /** Matched against the path without the /api/v3 prefix and without the query. */
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Apply the request's effect first, then answer with the fault (a lost answer). */
  after?: boolean;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface FakeGitHubState {
  pulls: Map<string, FakePull>;
  checkRuns: FakeCheckRun[];
  reviews: FakeReview[];
  comments: FakeIssueComment[];
  reactions: Array<{ repo: string; commentId: number; content: string }>;
  /** "owner/repo@ref:path" → file text. */
  contents: Map<string, string>;
  /** "owner/repo:login" → role (admin, maintain, write, triage, read). Missing: 404 (not a collaborator). */
  permissions: Map<string, string>;
  tokensIssued: number;
}

export interface FakeGitHub {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, for GHE_HOST. */
  host: string;
  appSlug: string;
  calls: FakeCall[];
  state: FakeGitHubState;
  addPull(p: Partial<FakePull> & Pick<FakePull, 'repo' | 'number' | 'headSha' | 'files'>): FakePull;
  /** A push: new head SHA (and files). */
  push(repo: string, number: number, headSha: string, files?: FakeFile[]): void;
  setContent(repo: string, ref: string, path: string, text: string): void;
  setPermission(repo: string, login: string, role: string): void;
  /** Inject a fault on the next matching request(s). */
  fault(f: Fault): void;
  /** Calls matching a method and a path pattern. */
  callsTo(method: string, path: RegExp): FakeCall[];
  close(): Promise<void>;
}

const keyOf = (repo: string, n: number) => `${repo}#${n}`;

/** Splits a `git diff` into the files the pulls/files API would list (patch = the hunks). */
export function prFilesFromDiff(diff: string): FakeFile[] {
  const out: FakeFile[] = [];
  for (const chunk of diff.split(/^(?=diff --git )/m)) {
    if (!chunk.startsWith('diff --git ')) continue;
    const lines = chunk.replace(/\n$/, '').split('\n');
    const plus = lines.find((l) => l.startsWith('+++ '));
    const minus = lines.find((l) => l.startsWith('--- '));
    const newPath = plus && plus !== '+++ /dev/null' ? plus.slice(6) : undefined;
    const oldPath = minus && minus !== '--- /dev/null' ? minus.slice(6) : undefined;
    const first = lines.findIndex((l) => l.startsWith('@@'));
    const hunks = first >= 0 ? lines.slice(first) : [];
    const additions = hunks.filter((l) => l.startsWith('+')).length;
    const deletions = hunks.filter((l) => l.startsWith('-')).length;
    const status = !oldPath ? 'added' : !newPath ? 'removed' : oldPath !== newPath ? 'renamed' : 'modified';
    out.push({
      filename: (newPath ?? oldPath)!,
      status,
      ...(status === 'renamed' ? { previous_filename: oldPath! } : {}),
      ...(hunks.length ? { patch: hunks.join('\n') } : {}),
      additions,
      deletions,
      changes: additions + deletions,
    });
  }
  return out;
}

/** Right-side lines of a patch mapped to their hunk index (what GitHub accepts review comments on). */
function rightLines(patch: string | undefined): Map<number, number> {
  const m = new Map<number, number>();
  if (!patch) return m;
  let hunk = -1;
  let line = 0;
  for (const l of patch.split('\n')) {
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(l);
    if (h) {
      hunk++;
      line = Number(h[1]);
      continue;
    }
    if (hunk < 0) continue;
    if (l.startsWith('+') || l.startsWith(' ') || l === '') m.set(line++, hunk);
  }
  return m;
}

export async function startFakeGitHub(opts: { port?: number; appSlug?: string } = {}): Promise<FakeGitHub> {
  const appSlug = opts.appSlug ?? 'concdbg';
  const bot = { login: `${appSlug}[bot]`, type: 'Bot' };
  const state: FakeGitHubState = {
    pulls: new Map(), checkRuns: [], reviews: [], comments: [], reactions: [], contents: new Map(), permissions: new Map(), tokensIssued: 0,
  };
  const calls: FakeCall[] = [];
  const faults: Array<Fault & { left: number }> = [];
  let nextId = 1000;

  type Handler = (m: string[], q: Record<string, string>, body: any) => { status: number; body?: unknown } | undefined;
  const routes: Array<[string, RegExp, Handler]> = [];
  const route = (method: string, re: RegExp, h: Handler) => routes.push([method, re, h]);
  const pullOf = (repo: string, n: string) => state.pulls.get(keyOf(repo, Number(n)));
  const notFound = { status: 404, body: { message: 'Not Found' } };
  const page = <T>(items: T[], q: Record<string, string>) => {
    const per = Math.min(100, Number(q.per_page ?? 30));
    const p = Math.max(1, Number(q.page ?? 1));
    return items.slice((p - 1) * per, p * per);
  };

  route('POST', /^\/app\/installations\/(\d+)\/access_tokens$/, () => {
    state.tokensIssued++;
    return { status: 201, body: { token: `ghs_fake${randomUUID().replace(/-/g, '')}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} } };
  });
  route('GET', /^\/app$/, () => ({ status: 200, body: { id: 1, slug: appSlug, name: appSlug } }));
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)$/, ([, repo, n]) => {
    const p = pullOf(repo!, n!);
    if (!p) return notFound;
    return {
      status: 200,
      body: {
        number: p.number, state: p.state, draft: p.draft, changed_files: p.files.length,
        head: { sha: p.headSha, ref: 'feature' }, base: { ref: p.baseRef, sha: p.baseSha }, user: { login: p.author, type: 'User' },
      },
    };
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/files$/, ([, repo, n], q) => {
    const p = pullOf(repo!, n!);
    if (!p) return notFound;
    return { status: 200, body: page(p.files.slice(0, 3000), q) };
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/contents\/(.+)$/, ([, repo, path], q) => {
    const text = state.contents.get(`${repo}@${q.ref ?? 'main'}:${decodeURIComponent(path!)}`);
    if (text === undefined) return notFound;
    return { status: 200, body: { type: 'file', encoding: 'base64', content: Buffer.from(text).toString('base64'), path } };
  });
  route('POST', /^\/repos\/([^/]+\/[^/]+)\/check-runs$/, ([, repo], _q, b) => {
    if (!b?.name || !b?.head_sha) return { status: 422, body: { message: 'name and head_sha are required' } };
    if ((b.output?.annotations?.length ?? 0) > 50) return { status: 422, body: { message: 'Only 50 annotations are allowed per request' } };
    const run: FakeCheckRun = {
      id: nextId++, repo: repo!, name: b.name, head_sha: b.head_sha, external_id: b.external_id ?? null, status: b.status ?? 'queued',
      conclusion: b.conclusion ?? null, output: b.output ?? null, annotations: [...(b.output?.annotations ?? [])], actions: b.actions ?? [],
    };
    state.checkRuns.push(run);
    return { status: 201, body: run };
  });
  route('PATCH', /^\/repos\/([^/]+\/[^/]+)\/check-runs\/(\d+)$/, ([, repo, id], _q, b) => {
    const run = state.checkRuns.find((c) => c.id === Number(id) && c.repo === repo);
    if (!run) return notFound;
    if ((b?.output?.annotations?.length ?? 0) > 50) return { status: 422, body: { message: 'Only 50 annotations are allowed per request' } };
    if (b.status) run.status = b.status;
    if (b.conclusion) {
      run.conclusion = b.conclusion;
      run.status = 'completed';
    }
    if (b.output) {
      run.output = { title: b.output.title, summary: b.output.summary, text: b.output.text };
      run.annotations.push(...(b.output.annotations ?? []));
    }
    if (b.actions) run.actions = b.actions;
    return { status: 200, body: run };
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/commits\/([^/]+)\/check-runs$/, ([, repo, ref], q) => {
    const runs = state.checkRuns.filter((c) => c.repo === repo && c.head_sha === ref && (!q.check_name || c.name === q.check_name));
    return { status: 200, body: { total_count: runs.length, check_runs: page(runs, q) } };
  });
  route('POST', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/reviews$/, ([, repo, n], _q, b) => {
    const p = pullOf(repo!, n!);
    if (!p) return notFound;
    if (b.event && b.event !== 'COMMENT') return { status: 422, body: { message: `this fake only expects COMMENT reviews, got ${b.event}` } };
    const comments: FakeReviewComment[] = [];
    for (const c of b.comments ?? []) {
      const file = p.files.find((f) => f.filename === c.path);
      const lines = rightLines(file?.patch);
      const end = lines.get(c.line);
      const start = c.start_line !== undefined ? lines.get(c.start_line) : end;
      if (end === undefined || start === undefined || start !== end || (c.start_line !== undefined && c.start_line >= c.line)) {
        return { status: 422, body: { message: 'Unprocessable Entity', errors: [`pull_request_review_thread.line must be part of the diff (${c.path}:${c.start_line ?? ''}-${c.line})`] } };
      }
      comments.push({ id: nextId++, path: c.path, line: c.line, ...(c.start_line !== undefined ? { start_line: c.start_line } : {}), side: c.side, body: c.body });
    }
    const review: FakeReview = { id: nextId++, repo: repo!, pr: p.number, commit_id: b.commit_id ?? p.headSha, event: b.event ?? 'COMMENT', body: b.body ?? '', comments, user: bot };
    state.reviews.push(review);
    return { status: 200, body: { id: review.id, body: review.body, commit_id: review.commit_id, user: bot, state: 'COMMENTED' } };
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/reviews$/, ([, repo, n], q) => ({
    status: 200,
    body: page(state.reviews.filter((r) => r.repo === repo && r.pr === Number(n)).map((r) => ({ id: r.id, body: r.body, commit_id: r.commit_id, user: r.user })), q),
  }));
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)\/reviews\/(\d+)\/comments$/, ([, , , id], q) => {
    const r = state.reviews.find((x) => x.id === Number(id));
    return r ? { status: 200, body: page(r.comments, q) } : notFound;
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/, ([, repo, n], q) => ({
    status: 200,
    body: page(state.comments.filter((c) => c.repo === repo && c.pr === Number(n)), q),
  }));
  route('POST', /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/, ([, repo, n], _q, b) => {
    const c: FakeIssueComment = { id: nextId++, repo: repo!, pr: Number(n), body: b.body, user: bot };
    state.comments.push(c);
    return { status: 201, body: c };
  });
  route('PATCH', /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/, ([, repo, id], _q, b) => {
    const c = state.comments.find((x) => x.id === Number(id) && x.repo === repo);
    if (!c) return notFound;
    c.body = b.body;
    return { status: 200, body: c };
  });
  route('POST', /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)\/reactions$/, ([, repo, id], _q, b) => {
    state.reactions.push({ repo: repo!, commentId: Number(id), content: b.content });
    return { status: 201, body: { id: nextId++, content: b.content } };
  });
  route('GET', /^\/repos\/([^/]+\/[^/]+)\/collaborators\/([^/]+)\/permission$/, ([, repo, login]) => {
    const role = state.permissions.get(`${repo}:${login}`);
    if (!role) return notFound;
    const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
    return { status: 200, body: { permission, role_name: role, user: { login } } };
  });

  const server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const query = Object.fromEntries(u.searchParams);
    const method = req.method ?? 'GET';
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      calls.push({ method, path, query, body, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(payload === undefined ? '' : JSON.stringify(payload));
    };

    const fi = faults.findIndex((f) => f.method === method && f.path.test(path) && f.left > 0);
    const fault = fi >= 0 ? faults[fi] : undefined;
    if (fault) {
      fault.left--;
      if (!fault.after) return send(fault.status, fault.body ?? { message: `injected ${fault.status}` }, fault.headers);
    }
    for (const [m, re, h] of routes) {
      if (m !== method) continue;
      const match = re.exec(path);
      if (!match) continue;
      const out = h([...match] as string[], query, body ?? {}) ?? notFound;
      if (fault?.after) return send(fault.status, fault.body ?? { message: `injected ${fault.status}` }, fault.headers);
      return send(out.status, out.body);
    }
    return send(404, { message: `fake GitHub has no route for ${method} ${path}` });
  }

  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    appSlug,
    calls,
    state,
    addPull(p) {
      const pull: FakePull = { baseRef: 'main', baseSha: '0'.repeat(40), author: 'alice', draft: false, state: 'open', ...p };
      state.pulls.set(keyOf(p.repo, p.number), pull);
      return pull;
    },
    push(repo, number, headSha, files) {
      const p = state.pulls.get(keyOf(repo, number));
      if (!p) throw new Error(`no pull ${repo}#${number}`);
      p.headSha = headSha;
      if (files) p.files = files;
    },
    setContent(repo, ref, path, text) {
      state.contents.set(`${repo}@${ref}:${path}`, text);
    },
    setPermission(repo, login, role) {
      state.permissions.set(`${repo}:${login}`, role);
    },
    fault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    callsTo(method, re) {
      return calls.filter((c) => c.method === method && re.test(c.path));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Signs a webhook body the way GitHub does (X-Hub-Signature-256). */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** POSTs a signed webhook delivery to the app; returns the HTTP status and body. */
export async function deliver(
  appUrl: string,
  opts: { secret: string; event: string; payload: unknown; id?: string; signature?: string },
): Promise<{ status: number; body: string; id: string }> {
  const body = JSON.stringify(opts.payload);
  const id = opts.id ?? randomUUID();
  const res = await fetch(`${appUrl.replace(/\/$/, '')}/api/github/webhooks`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': opts.event,
      'x-github-delivery': id,
      'x-hub-signature-256': opts.signature ?? signWebhook(opts.secret, body),
      'user-agent': 'GitHub-Hookshot/fake',
    },
    body,
  });
  return { status: res.status, body: await res.text(), id };
}

/** A pull_request webhook payload for a fake pull. */
export function pullRequestEvent(pull: FakePull, action: string, installationId = 1): Record<string, unknown> {
  const [owner, name] = pull.repo.split('/');
  return {
    action,
    number: pull.number,
    pull_request: {
      number: pull.number, state: pull.state, draft: pull.draft,
      head: { sha: pull.headSha, ref: 'feature' }, base: { ref: pull.baseRef, sha: pull.baseSha }, user: { login: pull.author, type: 'User' },
    },
    repository: { full_name: pull.repo, name, owner: { login: owner } },
    sender: { login: pull.author, type: 'User' },
    installation: { id: installationId },
  };
}

/** An issue_comment webhook payload on a fake pull. */
export function commentEvent(pull: FakePull, body: string, user: { login: string; type?: string }, commentId: number, installationId = 1): Record<string, unknown> {
  const [owner, name] = pull.repo.split('/');
  return {
    action: 'created',
    issue: { number: pull.number, state: pull.state, user: { login: pull.author }, pull_request: { url: `https://example.invalid/pulls/${pull.number}` } },
    comment: { id: commentId, body, user: { login: user.login, type: user.type ?? 'User' } },
    repository: { full_name: pull.repo, name, owner: { login: owner } },
    sender: { login: user.login, type: user.type ?? 'User' },
    installation: { id: installationId },
  };
}
