/**
 * The structured answer the model must return (sent as output_config.format via zodOutputFormat).
 * Bounds (confidence 0..1, integer lines) are checked by our own validation rather than in the
 * schema, because the SDK moves such keywords into descriptions anyway.
 */
import { z } from 'zod';
import { FAILURE_MODES, SEVERITIES } from '../types.js';

export const evidenceSchema = z.object({
  line: z.number().describe('New-side line number printed in the region'),
  role: z.string().describe('check, act, read, write, lock, await, ack, publish, ...'),
  note: z.string().describe('What this line does in the hazard, briefly'),
});

export const diagnosisSchema = z.object({
  candidate: z
    .union([z.number(), z.literal('new')])
    .describe('The id of the candidate this diagnoses, or "new" for a distinct hazard inside a shown region'),
  verdict: z.enum(['hazard', 'not_a_hazard']),
  file: z.string().describe('Path of the file, as given in the region header'),
  line: z.number().describe('First new-side line of the hazard (a line printed in a region)'),
  endLine: z.number().describe('Last new-side line of the hazard'),
  failureMode: z.enum(FAILURE_MODES),
  severity: z.enum(SEVERITIES),
  confidence: z.number().describe('0..1: probability the hazard is real and reachable'),
  title: z.string().describe('One line, with the code identifiers'),
  whyThisMode: z.string().describe('Why this failure mode; for not_a_hazard, which line prevents it'),
  whyNotOtherModes: z
    .array(z.object({ mode: z.enum(FAILURE_MODES), reason: z.string() }))
    .describe('The nearest other modes (at least two) and why not each'),
  interleaving: z.array(z.string()).describe('Numbered steps, actor + statement + line, ending in the bad outcome'),
  evidence: z.array(evidenceSchema),
  missingTest: z.string().describe('A concrete concurrent test in the file language and test framework'),
  fix: z.string().describe('The structural fix at the right layer, with code where it helps'),
  whatNotToDo: z.array(z.string()),
});

export const answerSchema = z.object({
  diagnoses: z.array(diagnosisSchema),
});

export type Diagnosis = z.infer<typeof diagnosisSchema>;
export type Answer = z.infer<typeof answerSchema>;

/** The same item with the failure mode relaxed to any string: tells "unknown mode" apart from other schema errors. */
export const looseModeDiagnosisSchema = diagnosisSchema.extend({ failureMode: z.string() });
