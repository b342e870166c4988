export type { DiffFile, DiffLine, DiffLineKind, DiffParseResult, FileStatus, Hunk } from './types.js';
export { isProbablyDiff, looksBinary, parseDiff } from './parse.js';
export {
  classifyFile,
  DROP_REASONS,
  filterDiff,
  languageOf,
  SIGNAL_RULES,
  SIGNALS,
  signalsIn,
  type Classification,
  type DropReason,
  type KeptFile,
  type Signal,
} from './relevance.js';
