/** The slice of pino (Probot's logger) the app uses, so tests can capture lines. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

/** A logger that keeps every line in memory (tests). */
export function memoryLog(lines: Array<Record<string, unknown>> = [], bindings: Record<string, unknown> = {}): Log & { lines: Array<Record<string, unknown>> } {
  const write = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, ...bindings, ...(obj as Record<string, unknown>), ...(msg !== undefined ? { msg } : {}) });
  };
  return {
    lines,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    child: (b) => memoryLog(lines, { ...bindings, ...b }),
  };
}

export const silentLog: Log = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
  child: () => silentLog,
};
