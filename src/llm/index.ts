/** The LLM diagnosis layer: public entry points. */
export { diagnoseWithLlm, dryRun, createClient, describeError, DEFAULT_PLAN_SETTINGS } from './diagnose.js';
export type {
  DailyBudget,
  DiagnoseWithLlmArgs,
  DiagnoseWithLlmResult,
  DryRunRequest,
  DryRunResult,
  LlmLogger,
  LlmUsage,
  RequestReport,
} from './diagnose.js';
export { llmConfigFromEnv, DEFAULT_MODEL, LlmConfigError, type LlmConfig } from './config.js';
export { chooseVariant, parseVariant, candidateScore } from './variant.js';
export { redactSecrets, redactLines } from './redact.js';
export { buildRegions, type Region } from './regions.js';
export { estimateTokens, estimateRequestTokens, naiveBaselineTokens, CHARS_PER_TOKEN, type TokenEstimate } from './tokens.js';
export { planRequests, rankCandidates, type Plan, type PlannedRequest } from './request.js';
export type { CandidateNote, LlmFinding } from './merge.js';
export { createLlmDiagnoser, describeNotes, formatDryRun, type LlmDiagnoserOptions } from './adapter.js';
