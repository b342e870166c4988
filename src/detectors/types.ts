import type { Candidate, FailureMode, Language, Severity } from '../types.js';
import type { FunctionSpan, SchemaFacts, SourceFile } from '../parse/types.js';

export interface DetectorMeta {
  /** kebab-case id, equal to the file name under src/detectors/. */
  id: string;
  failureMode: FailureMode;
  languages: readonly Language[];
  /** One line. */
  description: string;
  defaultSeverity: Severity;
  /** Path of the detector's doc, relative to the repository root. */
  docs: string;
}

export interface DetectorContext {
  /** The file under review. */
  file: SourceFile;
  /** Every relevant file of the review, for facts that span files (lock order on another path, a migration). */
  files: readonly SourceFile[];
  /** Functions of `file` that contain at least one added line (innermost spans included). */
  changedFunctions: readonly FunctionSpan[];
  schema: SchemaFacts;
}

/** A detector's own report; the engine fills in detector id, file, language and failure mode defaults. */
export type DetectorReport = Omit<Candidate, 'detector' | 'file' | 'language' | 'failureMode' | 'severity'> &
  Partial<Pick<Candidate, 'failureMode' | 'severity'>>;

export interface Detector {
  meta: DetectorMeta;
  detect(ctx: DetectorContext): DetectorReport[];
}

/** Typed factory so every detector has the same shape (cf. typescript-eslint's createRule). */
export function createDetector(meta: DetectorMeta, detect: (ctx: DetectorContext) => DetectorReport[]): Detector {
  return { meta, detect };
}
