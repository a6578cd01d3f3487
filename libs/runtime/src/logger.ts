import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Which binary is logging, e.g. `controller`. */
  component: string;
  version: string;
  level?: LogLevel;
  /** Defaults to synchronous stdout, so lines written right before process.exit are not lost. */
  destination?: DestinationStream;
}

/**
 * A JSON-lines logger. Field names are stable: `time` (ISO 8601), `level` (label),
 * `msg`, `component`, `version`, `err` (serialized error), plus per-call fields.
 * No pino transports: they run in worker threads, which do not survive bundling.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component, version: options.version },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
