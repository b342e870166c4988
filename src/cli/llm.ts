/** Chooses the CLI's diagnosis: the LLM when ANTHROPIC_API_KEY is set and --no-llm is absent, offline otherwise. */
import type { Diagnoser, EngineOutput } from '../engine/review.js';
import { createLlmDiagnoser, dryRun, formatDryRun, llmConfigFromEnv } from '../llm/index.js';

export interface LlmSetup {
  diagnose?: Diagnoser;
  notices: string[];
  /** The requests the LLM diagnosis would send for this review, printed instead of sending them. */
  dryRun(result: EngineOutput): string;
}

export function llmSetup(opts: { env: NodeJS.ProcessEnv; noLlm: boolean; dryRun: boolean }): LlmSetup {
  // Throws LlmConfigError (one line naming the variable) on a bad value: the CLI turns it into exit 2.
  const config = opts.noLlm ? null : llmConfigFromEnv(opts.env);
  const notices: string[] = [];
  if (opts.dryRun && !config) notices.push('dry run: no ANTHROPIC_API_KEY (or --no-llm): showing what would be sent with one');
  return {
    diagnose: config && !opts.dryRun ? createLlmDiagnoser({ config }) : undefined,
    notices,
    dryRun: (result) => formatDryRun(dryRun({ candidates: result.candidates, files: result.files, config: config ?? {} })),
  };
}
