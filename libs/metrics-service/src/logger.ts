/** The logging surface this library needs; a pino logger (see @keda-ts/runtime) fits it. */
export interface MetricsServiceLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
