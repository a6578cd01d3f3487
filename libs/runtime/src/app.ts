import type { DestinationStream } from 'pino';
import {
  describeConfig,
  loadConfig,
  option,
  type CommandInfo,
  type ConfigOf,
  type HostPort,
  type LoadConfigOptions,
  type OptionSchema,
  type OptionSpec,
} from './config';
import { HealthServer } from './health';
import { Lifecycle, type ShutdownHook } from './lifecycle';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger';

/** Options every runnable app has; spread them into the app's own schema. */
export const runtimeOptions = {
  logLevel: option.enum({
    flag: 'log-level',
    env: 'LOG_LEVEL',
    values: LOG_LEVELS,
    default: 'info',
    description: 'Minimum level of log lines to emit.',
  }),
  shutdownTimeout: option.duration({
    flag: 'shutdown-timeout',
    env: 'SHUTDOWN_TIMEOUT',
    // Below the default 30s pod termination grace period, so a stuck shutdown is logged before SIGKILL.
    default: '25s',
    description: 'How long graceful shutdown may take before the process exits anyway.',
  }),
  healthProbeBindAddress: option.address({
    flag: 'health-probe-bind-address',
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    default: ':8081',
    description: 'Address the /healthz and /readyz probe endpoint binds to (empty host: all interfaces).',
  }),
};

export type RuntimeOptionSchema = OptionSchema & {
  logLevel: OptionSpec<LogLevel>;
  shutdownTimeout: OptionSpec<number>;
  healthProbeBindAddress: OptionSpec<HostPort>;
};

/** What an app's `start` gets to wire itself up with. */
export interface AppContext<C> {
  config: C;
  logger: Logger;
  health: HealthServer;
  /** Hooks run in reverse registration order on shutdown. */
  onShutdown(name: string, hook: ShutdownHook): void;
}

/** The parts of `process` runApp uses; replaceable in tests. */
export interface AppProcess {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  exit(code: number): never;
}

export interface RunAppOptions<S extends RuntimeOptionSchema> {
  command: CommandInfo;
  /** `component` field of every log line. */
  component: string;
  options: S;
  /** Wires the app; resolves once it is running. Register cleanup with `onShutdown`. */
  start(context: AppContext<ConfigOf<S>>): void | Promise<void>;
  argv?: readonly string[];
  env?: LoadConfigOptions['env'];
  process?: AppProcess;
  logDestination?: DestinationStream;
}

const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Runs a process: parses configuration (exit 2 on bad usage, 0 after --help), logs
 * start-up, serves health probes, starts the app and handles SIGTERM/SIGINT by
 * failing readiness, running shutdown hooks within --shutdown-timeout and exiting
 * 0 (1 when a hook failed or timed out). A second signal or an uncaught error exits 1 at once.
 */
export async function runApp<S extends RuntimeOptionSchema>(options: RunAppOptions<S>): Promise<void> {
  const proc = options.process ?? process;
  const exit = (code: number): never => proc.exit(code);
  const config = loadConfig(options.command, options.options, { argv: options.argv, env: options.env, exit });
  // S extends RuntimeOptionSchema guarantees these fields; TypeScript cannot resolve ConfigOf<S> generically.
  const runtimeConfig = config as unknown as ConfigOf<typeof runtimeOptions>;
  const logger = createLogger({
    component: options.component,
    version: options.command.version,
    level: runtimeConfig.logLevel,
    destination: options.logDestination,
  });

  const failFast = (what: string) => (err: unknown) => {
    logger.error({ err }, what);
    exit(1);
  };
  proc.on('uncaughtException', failFast('uncaught exception'));
  proc.on('unhandledRejection', failFast('unhandled promise rejection'));
  // Node's process warnings (a library's deprecated API, say) as JSON log lines. The images run
  // node with --no-warnings, which silences only node's own plain-text printing of them.
  proc.on('warning', (warning: unknown) => {
    const w = warning as Error & { code?: string };
    logger.warn({ warning: { name: w.name, code: w.code } }, w.message);
  });

  logger.info(
    { config: describeConfig(options.options, config), pid: process.pid, node: process.version },
    `starting ${options.command.name}`,
  );

  const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: runtimeConfig.shutdownTimeout });
  const stop = async (reason: string, failed: boolean) => {
    const code = await lifecycle.shutdown(reason);
    exit(failed ? 1 : code);
  };
  for (const signal of SHUTDOWN_SIGNALS) {
    proc.on(signal, () => {
      if (lifecycle.shuttingDown) {
        logger.warn({ signal }, 'second signal during shutdown; exiting now');
        exit(1);
      }
      logger.info({ signal }, 'received signal');
      void stop(`signal ${signal}`, false);
    });
  }

  const health = new HealthServer({ address: runtimeConfig.healthProbeBindAddress, logger });
  // Readiness fails as soon as shutdown begins, before any hook runs, so traffic drains first.
  health.addReadinessCheck('running', () =>
    lifecycle.shuttingDown ? { ok: false, message: 'shutting down' } : { ok: true },
  );
  try {
    await health.listen();
    // Registered first, so it stops last: probes keep answering (not ready) while the rest stops.
    lifecycle.onShutdown('health probe server', () => health.close());
    await options.start({
      config,
      logger,
      health,
      onShutdown: (name, hook) => lifecycle.onShutdown(name, hook),
    });
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await stop('start-up failed', true);
    return;
  }
  if (!lifecycle.shuttingDown) logger.info('started');
}
