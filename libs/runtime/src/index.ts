export {
  runApp,
  runtimeOptions,
  type AppContext,
  type AppProcess,
  type RunAppOptions,
  type RuntimeOptionSchema,
} from './app';
export {
  CommandLineExit,
  USAGE_ERROR_EXIT_CODE,
  describeConfig,
  formatHostPort,
  loadConfig,
  option,
  parseConfig,
  parseHostPort,
  type CommandInfo,
  type ConfigOf,
  type HostPort,
  type LoadConfigOptions,
  type OptionSchema,
  type OptionSpec,
  type ParseConfigOptions,
} from './config';
export { formatDuration, parseDuration } from './duration';
export {
  HealthServer,
  type CheckReport,
  type CheckResult,
  type HealthServerOptions,
  type ReadinessCheck,
  type ReadinessReport,
} from './health';
export { Lifecycle, type LifecycleOptions, type ShutdownExitCode, type ShutdownHook } from './lifecycle';
export { LOG_LEVELS, createLogger, type LogLevel, type Logger, type LoggerOptions } from './logger';
export { KEDA_TS_VERSION } from './version';
export { startMetricsEndpoint, type MetricsSource } from './metrics-endpoint';
