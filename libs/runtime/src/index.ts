export { runApp, runtimeOptions, type AppContext, type AppProcess, type RunAppOptions, type RuntimeOptionSchema } from './app';
export {
  formatHostPort,
  option,
  type CommandInfo,
  type ConfigOf,
  type HostPort,
  type LoadConfigOptions,
  type OptionSchema,
  type OptionSpec,
  type ParseConfigOptions,
} from './config';
export { formatDuration } from './duration';
export { HealthServer, type CheckReport, type CheckResult, type HealthServerOptions, type ReadinessCheck, type ReadinessReport } from './health';
export { Lifecycle, type LifecycleOptions, type ShutdownExitCode, type ShutdownHook } from './lifecycle';
export { createLogger, type LogLevel, type Logger, type LoggerOptions } from './logger';
export { KEDA_TS_VERSION } from './version';
export { startMetricsEndpoint, type MetricsSource } from './metrics-endpoint';
