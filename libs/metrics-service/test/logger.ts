import type { MetricsServiceLogger } from '../src/logger';

export interface CapturingLogger extends MetricsServiceLogger {
  lines: Array<{ level: string; msg?: string; obj: object }>;
}

/** A logger that keeps its lines in memory (set DEBUG_TEST_LOGS=1 to print them too). */
export function capturingLogger(): CapturingLogger {
  const lines: CapturingLogger['lines'] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg, obj });
    if (process.env['DEBUG_TEST_LOGS']) console.log(level, msg, obj);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
