/**
 * Turns candidates into the exact Messages API requests: ranking, the input-token budget, the
 * variant, the regions, and the fenced user message.
 *
 * One request per review batch (split only past `maxCandidatesPerRequest`, to bound the output):
 * - the static system prompt and the variant are sent once and cached (cache_control), so each
 *   extra request would pay for them again (at the cache-read rate) for no gain;
 * - candidates of one review often share a function or a file, and merged regions send that code
 *   once; several hazards (a deadlock's two lock paths) are only understood together;
 * - one call per review keeps well inside rate limits, and a failure falls back per candidate.
 */
import { randomBytes } from 'node:crypto';
import { zodOutputFormat } from '@anthropic-ai/sdk/helpers/zod';
import type { Candidate, Variant } from '../types.js';
import type { SourceFile } from '../parse/types.js';
import type { LlmConfig } from './config.js';
import { systemPrompt, variantPrompt } from './prompts.js';
import { buildRegions, type Region, type RegionOptions } from './regions.js';
import { redactSecrets } from './redact.js';
import { answerSchema } from './schema.js';
import { estimateRequestTokens, type TokenEstimate } from './tokens.js';
import { candidateScore, chooseVariant } from './variant.js';

/** The JSON schema sent as output_config.format (the SDK's strict transform of answerSchema). */
export function outputFormat() {
  return zodOutputFormat(answerSchema);
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: { type: 'ephemeral' };
}

/** The body of a request as it goes on the wire, minus output_config (added when sending). */
export interface RequestBody {
  model: string;
  max_tokens: number;
  system: TextBlock[];
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
}

export interface PlannedRequest {
  variant: Variant;
  /** Indexes into the caller's candidate array, in ranked order. */
  candidateIndexes: number[];
  regions: Region[];
  /** Random per request; the data fence's tag name contains it. */
  nonce: string;
  body: RequestBody;
  estimate: TokenEstimate;
}

export type PlanNote = 'offline-budget' | `offline-error: ${string}`;

export interface Plan {
  requests: PlannedRequest[];
  /** Candidates that will not be sent, with the reason. */
  skipped: Array<{ index: number; note: PlanNote }>;
  /** Estimated input tokens of all requests. */
  estimatedInputTokens: number;
}

export interface PlanOptions {
  variantOverride?: Variant | null;
  /** Nonce source (tests, dry runs that must be reproducible). */
  nonce?: () => string;
  regions?: RegionOptions;
}

type PlanConfig = Pick<LlmConfig, 'model' | 'maxTokens' | 'inputTokenBudget' | 'maxCandidatesPerRequest'>;

/** 64 random bits per request: the diff's author cannot guess the closing tag. */
const defaultNonce = () => randomBytes(8).toString('base64url');

/** Ranks candidates by detector score (severity × confidence), highest first; ties keep input order. */
export function rankCandidates(candidates: readonly Candidate[]): number[] {
  return candidates
    .map((c, i) => ({ i, s: candidateScore(c) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.i);
}

/**
 * Plans the requests for a review: candidates in files the engine did not pass are skipped; the rest
 * are taken in ranked order while the estimated input of all requests stays within the budget;
 * a candidate that does not fit is skipped ('offline-budget') and smaller ones after it may still fit.
 */
export function planRequests(
  candidates: readonly Candidate[],
  files: readonly SourceFile[],
  config: PlanConfig,
  options: PlanOptions = {},
): Plan {
  const paths = new Set(files.map((f) => f.path));
  const skipped: Plan['skipped'] = [];
  const chunks: number[][] = [];
  const built: PlannedRequest[] = [];
  const nonce = options.nonce ?? defaultNonce;
  let total = 0;

  for (const index of rankCandidates(candidates)) {
    const c = candidates[index]!;
    if (!paths.has(c.file)) {
      skipped.push({ index, note: 'offline-error: file not among the reviewed files' });
      continue;
    }
    const last = chunks[chunks.length - 1];
    const joinLast = last !== undefined && last.length < config.maxCandidatesPerRequest;
    const members = joinLast ? [...last, index] : [index];
    const req = buildRequest(members, candidates, files, config, options.variantOverride, nonce(), options.regions);
    const previous = joinLast ? built[built.length - 1]!.estimate.total : 0;
    if (total - previous + req.estimate.total > config.inputTokenBudget) {
      skipped.push({ index, note: 'offline-budget' });
      continue;
    }
    total += req.estimate.total - previous;
    if (joinLast) {
      chunks[chunks.length - 1] = members;
      built[built.length - 1] = req;
    } else {
      chunks.push(members);
      built.push(req);
    }
  }
  skipped.sort((a, b) => a.index - b.index);
  return { requests: built, skipped, estimatedInputTokens: total };
}

/** Builds one request for the given candidates (indexes into `candidates`). */
export function buildRequest(
  indexes: readonly number[],
  candidates: readonly Candidate[],
  files: readonly SourceFile[],
  config: Pick<LlmConfig, 'model' | 'maxTokens'>,
  variantOverride: Variant | null | undefined,
  nonce: string,
  regionOptions?: RegionOptions,
): PlannedRequest {
  const members = indexes.map((index) => ({ index, candidate: candidates[index]! }));
  const variant = chooseVariant(
    members.map((m) => m.candidate),
    variantOverride,
  );
  const regions = buildRegions(members, files, regionOptions);
  const user = renderUserMessage(members, regions, nonce);
  const body: RequestBody = {
    model: config.model,
    max_tokens: config.maxTokens,
    system: [
      { type: 'text', text: systemPrompt(), cache_control: { type: 'ephemeral' } },
      { type: 'text', text: variantPrompt(variant), cache_control: { type: 'ephemeral' } },
    ],
    messages: [{ role: 'user', content: user }],
  };
  const estimate = estimateRequestTokens({ system: body.system, messages: body.messages, schema: outputFormat().schema });
  return { variant, candidateIndexes: [...indexes], regions, nonce, body, estimate };
}

/** Longest fact value sent; longer ones are cut (the code itself is in the regions). */
const MAX_FACT_CHARS = 80;

/**
 * Facts the sent code already shows: the calls at the evidence lines (`…Call`), the ORM, the actor kind,
 * the lock kind, the test framework, and whether a transaction is open (its lines are sent as guard lines).
 * `pattern` is shown in the candidate's head instead.
 */
const SHOWN_BY_CODE = /^(?:[a-z]+Call|orm|actor|lockKind|testFramework|inTransaction|pattern)$/;

/** Fact values the system prompt already states as the default assumption. */
const DEFAULT_FACTS: Record<string, string> = { isolation: 'read committed' };

const oneLine = (v: string) => v.replace(/\s+/g, ' ').trim();
const clipFact = (v: string) => (v.length > MAX_FACT_CHARS ? `${v.slice(0, MAX_FACT_CHARS - 1)}…` : v);

/**
 * One candidate as the model sees it, on one line (the format is explained in the system prompt):
 * `#id mode lines pattern on entity; line role, line role; key=value; …`, where `pattern` is the detector's
 * `pattern` fact, else its id. Compact on purpose: the code is in the regions, so the detector's title
 * (which quotes it), the function name (its header line is sent) and facts the code already shows (see
 * SHOWN_BY_CODE, values the code shows verbatim, values the entity names) are left out; the detector's
 * severity and confidence are not shown (the model judges on its own; the gate keeps the detector's values).
 */
export function candidateLine(index: number, c: Candidate, code: string): string {
  const lines = c.line === c.endLine ? String(c.line) : `${c.line}-${c.endLine}`;
  const entity = clipFact(oneLine(c.entity));
  const pattern = c.facts['pattern'] ? oneLine(c.facts['pattern']) : c.detector;
  const parts = [`#${index} ${c.failureMode} ${lines} ${pattern} on ${entity}`];
  // Evidence as "line role" pairs; lines sharing a role are listed once ("12,14,16 status-write").
  const byRole = new Map<string, number[]>();
  for (const e of c.evidence) {
    const role = oneLine(e.role);
    byRole.set(role, [...(byRole.get(role) ?? []), e.line]);
  }
  if (byRole.size > 0) parts.push([...byRole].map(([role, ls]) => `${ls.join(',')} ${role}`).join(', '));
  const sent = new Set<string>();
  const entityWords = new Set(oneLine(c.entity).split(/[^A-Za-z0-9_]+/).filter(Boolean));
  for (const [key, raw] of Object.entries(c.facts)) {
    if (SHOWN_BY_CODE.test(key) || DEFAULT_FACTS[key] === oneLine(raw).toLowerCase()) continue;
    // Code the regions already show is not repeated: a verbatim value is dropped, quoted code inside a value is elided.
    const whole = oneLine(raw);
    if (!/line$/i.test(key) && whole.length >= 4 && !/^\d+$/.test(whole) && code.includes(whole)) continue;
    let value = whole.replace(/`([^`]+)`/g, (m, q: string) => (code.includes(q) ? '`…`' : m));
    if (!value || value === entity || entityWords.has(value) || sent.has(value) || value === '`…`') continue;
    // "line 11: <code>" where line 11 is sent: the line number says it all.
    value = value.replace(/^(line \d+): (.*)$/i, (m, head: string, rest: string) => (code.includes(rest) ? head : m));
    sent.add(value);
    parts.push(`${key}=${clipFact(value)}`);
  }
  return redactSecrets(parts.join('; ')).text;
}

/**
 * The user message. ALL review-derived content sits inside one fence whose tag carries the nonce: per file,
 * a "## path" header, the candidates of that file (one line each), then its regions (an "⋮" row between
 * two regions). One trusted line follows the fence. Nothing from the diff is ever placed in the system
 * prompt; the format, the fence rules and the output rules are explained there (static and cached), so
 * they are not paid for again in every review.
 */
export function renderUserMessage(
  members: ReadonlyArray<{ index: number; candidate: Candidate }>,
  regions: readonly Region[],
  nonce: string,
): string {
  const tag = `untrusted_${nonce}`;
  const files = [...new Set([...members.map((m) => m.candidate.file), ...regions.map((r) => r.file)])];
  const blocks = files.map((file) => {
    const own = regions.filter((r) => r.file === file).sort((a, b) => a.startLine - b.startLine);
    const code = own.map((r) => r.text).join('\n⋮\n');
    const cands = members.filter((m) => m.candidate.file === file).map((m) => candidateLine(m.index, m.candidate, code));
    const header = own.length > 0 && own.every((r) => r.addedOnly) ? `## ${file} +` : `## ${file}`;
    return [header, ...cands, code].filter(Boolean).join('\n');
  });
  return [`<${tag}>`, ...blocks, `</${tag}>`, `Diagnose ${members.map((m) => m.index).join(', ')}.`].join('\n');
}
