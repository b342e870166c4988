/**
 * diagnoseWithLlm: the LLM diagnosis of a review's candidates, with every fault ending in the
 * offline diagnosis for the candidates concerned, never in a failed review.
 *
 * Dependencies are injected: the offline diagnosis (`offline`), the daily budget (`budget`, backed
 * by the store), the logger, and optionally the Anthropic client itself.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { Candidate, Finding, Variant } from '../types.js';
import type { SourceFile } from '../parse/types.js';
import { DEFAULT_MODEL, type LlmConfig } from './config.js';
import { parseableOutputFormat, type ParsedAnswer } from './answer.js';
import { mergeDiagnoses, type CandidateNote, type LlmFinding } from './merge.js';
import { outputFormat, planRequests, type PlannedRequest, type PlanNote, type RequestBody } from './request.js';
import type { RegionOptions } from './regions.js';

export interface LlmUsage {
  /** All input tokens: uncached + cache writes + cache reads. */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the prompt cache (billed at the cache-read rate). */
  cachedTokens: number;
  /** Input tokens written to the prompt cache. */
  cacheWriteTokens: number;
  /** HTTP requests that returned a message (repairs included). */
  requests: number;
}

/** Per-installation daily token budget, kept by the store. */
export interface DailyBudget {
  /** Reserve up to `tokens` (estimated input + max output) for one request; false when the day's budget is spent. */
  reserve(tokens: number): Promise<boolean>;
  /** Record what a request really used. */
  record(usage: LlmUsage): Promise<void>;
}

export interface LlmLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface DiagnoseWithLlmArgs {
  candidates: readonly Candidate[];
  /** The relevant files of the review; code from no other file is ever sent. */
  files: readonly SourceFile[];
  config: LlmConfig;
  /** The offline (detector) diagnosis of one candidate: the fallback for every fault. */
  offline: (c: Candidate) => Omit<Finding, 'id'>;
  budget?: DailyBudget;
  /** From `/concdbg mode X` or the repository settings. */
  variantOverride?: Variant | null;
  log?: LlmLogger;
  /** An Anthropic client to use instead of one built from `config`. */
  client?: Anthropic;
  /** Nonce source for the data fence (tests). */
  nonce?: () => string;
  regions?: RegionOptions;
}

export interface RequestReport {
  variant: Variant;
  candidateIndexes: number[];
  estimatedInputTokens: number;
  outcome: 'llm' | 'repaired' | 'refusal' | 'malformed' | 'error' | 'daily-budget';
  /** For error/malformed: a short reason without any request or response content. */
  reason?: string;
}

export interface DiagnoseWithLlmResult {
  /** Refined, added, disputed and offline findings (without ids: the engine fingerprints them). */
  findings: LlmFinding[];
  usage: LlmUsage;
  /** notes[i] says how candidates[i] was diagnosed: llm | disputed | dismissed | offline-budget[: daily] | offline-error: reason. */
  notes: CandidateNote[];
  requests: RequestReport[];
  /** LLM diagnoses that were dropped by validation, one short reason each. */
  dropped: string[];
}

export function createClient(config: LlmConfig): Anthropic {
  return new Anthropic({
    apiKey: config.apiKey,
    ...(config.baseURL ? { baseURL: config.baseURL } : {}),
    maxRetries: config.maxRetries,
    timeout: config.timeoutMs,
  });
}

const emptyUsage = (): LlmUsage => ({ inputTokens: 0, outputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, requests: 0 });

export async function diagnoseWithLlm(args: DiagnoseWithLlmArgs): Promise<DiagnoseWithLlmResult> {
  const { candidates, files, config, offline, budget, log } = args;
  const plan = planRequests(candidates, files, config, {
    variantOverride: args.variantOverride ?? null,
    ...(args.nonce ? { nonce: args.nonce } : {}),
    ...(args.regions ? { regions: args.regions } : {}),
  });
  const findings: LlmFinding[] = [];
  const notes: Array<CandidateNote | undefined> = new Array(candidates.length);
  const usage = emptyUsage();
  const reports: RequestReport[] = [];
  const dropped: string[] = [];
  const fallback = (index: number, note: CandidateNote | PlanNote) => {
    findings.push({ ...offline(candidates[index]!), candidateIndex: index, origin: 'offline' });
    notes[index] = note;
  };

  for (const s of plan.skipped) fallback(s.index, s.note);
  if (plan.skipped.some((s) => s.note === 'offline-budget')) {
    log?.info(`concdbg llm: ${plan.skipped.filter((s) => s.note === 'offline-budget').length} candidate(s) over the input budget, diagnosed offline`);
  }

  const client = plan.requests.length > 0 ? (args.client ?? createClient(config)) : undefined;
  for (const req of plan.requests) {
    const report: RequestReport = {
      variant: req.variant,
      candidateIndexes: req.candidateIndexes,
      estimatedInputTokens: req.estimate.total,
      outcome: 'llm',
    };
    reports.push(report);
    const outcome = await runRequest(client!, req, config, budget, usage, log);
    if (outcome.kind !== 'answer') {
      report.outcome = outcome.kind;
      if (outcome.kind !== 'daily-budget') report.reason = outcome.reason;
      const note: CandidateNote =
        outcome.kind === 'daily-budget' ? 'offline-budget: daily' : `offline-error: ${outcome.kind === 'refusal' ? 'refusal' : outcome.reason}`;
      for (const i of req.candidateIndexes) fallback(i, note);
      log?.warn(`concdbg llm: ${req.candidateIndexes.length} candidate(s) diagnosed offline (${note})`);
      continue;
    }
    if (outcome.repaired) report.outcome = 'repaired';
    if (outcome.answer.unknownModes > 0) dropped.push(`${outcome.answer.unknownModes} diagnosis(es) with an unknown failure mode`);
    const merged = mergeDiagnoses({
      diagnoses: outcome.answer.diagnoses,
      candidateIndexes: req.candidateIndexes,
      regions: req.regions,
      candidates,
      files,
      minConfidence: config.minConfidence,
      offline,
    });
    findings.push(...merged.findings);
    for (const [i, n] of merged.notes) notes[i] = n;
    dropped.push(...merged.dropped);
  }

  findings.sort((a, b) => a.candidateIndex - b.candidateIndex || (a.origin === 'added' ? 1 : 0) - (b.origin === 'added' ? 1 : 0));
  return {
    findings,
    usage,
    notes: notes.map((n) => n ?? 'offline-error: not planned'),
    requests: reports,
    dropped,
  };
}

type Outcome =
  | { kind: 'answer'; answer: Extract<ParsedAnswer, { ok: true }>; repaired: boolean }
  | { kind: 'refusal'; reason: string }
  | { kind: 'malformed'; reason: string }
  | { kind: 'error'; reason: string }
  | { kind: 'daily-budget' };

async function runRequest(
  client: Anthropic,
  req: PlannedRequest,
  config: LlmConfig,
  budget: DailyBudget | undefined,
  usage: LlmUsage,
  log: LlmLogger | undefined,
): Promise<Outcome> {
  let messages = req.body.messages;
  for (let attempt = 0; attempt < 2; attempt++) {
    const estimate = req.estimate.total + (attempt > 0 ? Math.ceil(JSON.stringify(messages.slice(1)).length / 4) : 0);
    if (budget && !(await budget.reserve(estimate + config.maxTokens))) return { kind: 'daily-budget' };
    let message: Awaited<ReturnType<typeof send>>;
    try {
      message = await send(client, { ...req.body, messages });
    } catch (e) {
      return { kind: 'error', reason: describeError(e) };
    }
    const u = usageOf(message.usage);
    add(usage, u);
    if (budget) await budget.record(u);
    if (message.stop_reason === 'refusal') return { kind: 'refusal', reason: 'refusal' };
    const parsed = message.parsed_output;
    const rawText = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    const result: ParsedAnswer = parsed ?? { ok: false, error: 'the answer had no text', raw: rawText };
    if (result.ok) return { kind: 'answer', answer: result, repaired: attempt > 0 };
    const why = message.stop_reason === 'max_tokens' ? `${result.error} (the answer was cut at max_tokens: be more concise)` : result.error;
    log?.warn(`concdbg llm: malformed answer (attempt ${attempt + 1}): ${result.error.slice(0, 200)}`);
    if (attempt > 0) return { kind: 'malformed', reason: 'malformed output after one repair' };
    messages = [
      ...req.body.messages,
      { role: 'assistant', content: result.raw.slice(0, 20_000) || '(empty)' },
      {
        role: 'user',
        content: `That answer does not match the required schema: ${why.slice(0, 2_000)}\nReply again with the complete JSON object matching the schema, and nothing else.`,
      },
    ];
  }
  return { kind: 'malformed', reason: 'malformed output after one repair' };
}

function send(client: Anthropic, body: RequestBody) {
  return client.messages.parse({
    model: body.model,
    max_tokens: body.max_tokens,
    system: body.system,
    messages: body.messages,
    output_config: { format: parseableOutputFormat() },
  });
}

function usageOf(u: Anthropic.Usage | undefined): LlmUsage {
  const input = u?.input_tokens ?? 0;
  const read = u?.cache_read_input_tokens ?? 0;
  const write = u?.cache_creation_input_tokens ?? 0;
  return { inputTokens: input + read + write, outputTokens: u?.output_tokens ?? 0, cachedTokens: read, cacheWriteTokens: write, requests: 1 };
}

function add(into: LlmUsage, u: LlmUsage): void {
  into.inputTokens += u.inputTokens;
  into.outputTokens += u.outputTokens;
  into.cachedTokens += u.cachedTokens;
  into.cacheWriteTokens += u.cacheWriteTokens;
  into.requests += u.requests;
}

/** A short reason for the check run and logs: status and kind, never request or response content. */
export function describeError(e: unknown): string {
  if (e instanceof Anthropic.APIConnectionTimeoutError) return 'timeout';
  if (e instanceof Anthropic.APIConnectionError) return 'connection failed';
  if (e instanceof Anthropic.APIError) {
    const s = e.status;
    const kind =
      s === 429 ? 'rate limited' : s === 529 ? 'overloaded' : s === 401 ? 'authentication failed' : s === 403 ? 'forbidden' : s !== undefined && s >= 500 ? 'server error' : 'request rejected';
    return s === undefined ? `api error (${kind})` : `api ${s} ${kind}`;
  }
  if (e instanceof Anthropic.AnthropicError) return 'sdk error';
  return 'unexpected error';
}

export interface DryRunRequest {
  variant: Variant;
  candidateIndexes: number[];
  regions: Array<{ file: string; startLine: number; endLine: number; candidates: number[]; redactions: number }>;
  estimate: PlannedRequest['estimate'];
  /** The exact body that would be POSTed to /v1/messages (the fence nonce aside, which is random per request). */
  body: RequestBody & { output_config: { format: { type: 'json_schema'; schema: Record<string, unknown> } } };
}

export interface DryRunResult {
  model: string;
  requests: DryRunRequest[];
  skipped: Array<{ index: number; note: PlanNote }>;
  estimatedInputTokens: number;
}

export const DEFAULT_PLAN_SETTINGS = {
  model: DEFAULT_MODEL,
  maxTokens: 8_192,
  inputTokenBudget: 24_000,
  maxCandidatesPerRequest: 8,
} as const;

/**
 * The requests diagnoseWithLlm would send, without sending anything (CLI `--dry-run`, benchmark).
 * Works without an API key: missing settings take their defaults.
 */
export function dryRun(args: {
  candidates: readonly Candidate[];
  files: readonly SourceFile[];
  config?: Partial<Pick<LlmConfig, 'model' | 'maxTokens' | 'inputTokenBudget' | 'maxCandidatesPerRequest'>>;
  variantOverride?: Variant | null;
  nonce?: () => string;
  regions?: RegionOptions;
}): DryRunResult {
  const config = { ...DEFAULT_PLAN_SETTINGS, ...stripUndefined(args.config ?? {}) };
  const plan = planRequests(args.candidates, args.files, config, {
    variantOverride: args.variantOverride ?? null,
    ...(args.nonce ? { nonce: args.nonce } : {}),
    ...(args.regions ? { regions: args.regions } : {}),
  });
  const format = outputFormat();
  return {
    model: config.model,
    requests: plan.requests.map((r) => ({
      variant: r.variant,
      candidateIndexes: r.candidateIndexes,
      regions: r.regions.map(({ file, startLine, endLine, candidates, redactions }) => ({ file, startLine, endLine, candidates, redactions })),
      estimate: r.estimate,
      body: { ...r.body, output_config: { format: { type: 'json_schema', schema: format.schema } } },
    })),
    skipped: plan.skipped,
    estimatedInputTokens: plan.estimatedInputTokens,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
