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

const defaultNonce = () => randomBytes(12).toString('hex');

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
  const user = renderUserMessage(members, regions, variant, nonce);
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

/**
 * The facts of a candidate as the model sees them. Compact: the evidence lines' text is already in
 * the regions, so only their line numbers and roles are repeated here.
 */
function candidateJson(index: number, c: Candidate): unknown {
  return {
    id: index,
    mode: c.failureMode,
    detector: c.detector,
    file: c.file,
    lines: c.line === c.endLine ? String(c.line) : `${c.line}-${c.endLine}`,
    severity: c.severity,
    confidence: c.confidence,
    title: c.title,
    ...(c.functionName ? { fn: c.functionName } : {}),
    entity: c.entity,
    evidence: c.evidence.map((e) => `${e.line} ${e.role}`).join(', '),
    ...(Object.keys(c.facts).length ? { facts: c.facts } : {}),
  };
}

/**
 * The user message: a short trusted preamble, then ALL review-derived content (candidate facts,
 * which quote the code, and the code regions) inside one fence whose tag carries the nonce, then a
 * trusted reminder after the fence. Nothing from the diff is ever placed in the system prompt.
 */
export function renderUserMessage(
  members: ReadonlyArray<{ index: number; candidate: Candidate }>,
  regions: readonly Region[],
  variant: Variant,
  nonce: string,
): string {
  const tag = `untrusted_code_${nonce}`;
  // One candidate per line: compact, and still easy to read in a dry run.
  const candidatesText = members.map((m) => redactSecrets(JSON.stringify(candidateJson(m.index, m.candidate))).text).join('\n');
  const regionText = regions
    .map((r) => `### ${r.file} ${r.startLine}-${r.endLine} (candidates ${r.candidates.join(', ')})\n${r.text}`)
    .join('\n\n');
  const ids = members.map((m) => m.index).join(', ');
  return [
    `Variant: ${variant}. Untrusted data fence: ${tag}.`,
    `<${tag}>`,
    '## Candidates',
    candidatesText,
    '## Regions (new-side line numbers, + added, ⋮ not shown)',
    regionText,
    `</${tag}>`,
    `Diagnose candidates ${ids}; "new" only inside these regions; only printed line numbers.`,
  ].join('\n');
}
