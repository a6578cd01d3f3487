import type { Logger } from './logger';

export type ShutdownHook = () => void | Promise<void>;

export interface LifecycleOptions {
  logger: Logger;
  /** Budget for all shutdown hooks together. */
  shutdownTimeoutMs: number;
}

/** What {@link Lifecycle.shutdown} resolves with: 0 when every hook finished in time, else 1. */
export type ShutdownExitCode = 0 | 1;

/**
 * Ordered shutdown: hooks run one after another in reverse registration order
 * (last started, first stopped) within one overall timeout.
 */
export class Lifecycle {
  private readonly hooks: { name: string; hook: ShutdownHook }[] = [];
  private shutdownResult?: Promise<ShutdownExitCode>;

  constructor(private readonly options: LifecycleOptions) {}

  get shuttingDown(): boolean {
    return this.shutdownResult !== undefined;
  }

  onShutdown(name: string, hook: ShutdownHook): void {
    if (this.shuttingDown) {
      // Registered while stopping (e.g. start-up raced a signal): stop it right away.
      this.options.logger.warn({ hook: name }, 'shutdown hook registered during shutdown; running it now');
      void this.runHook(name, hook);
      return;
    }
    this.hooks.push({ name, hook });
  }

  /** Runs the hooks once; later calls return the same result. */
  shutdown(reason: string): Promise<ShutdownExitCode> {
    this.shutdownResult ??= this.runHooks(reason);
    return this.shutdownResult;
  }

  private async runHooks(reason: string): Promise<ShutdownExitCode> {
    const { logger, shutdownTimeoutMs } = this.options;
    logger.info({ reason, timeoutMs: shutdownTimeoutMs, hooks: this.hooks.length }, 'shutting down');
    const pending = [...this.hooks].reverse();
    let failed = false;
    let current: string | undefined;
    const sequence = (async () => {
      for (const { name, hook } of pending) {
        current = name;
        if (!(await this.runHook(name, hook))) failed = true;
      }
      current = undefined;
    })();

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), shutdownTimeoutMs);
    });
    const outcome = await Promise.race([sequence.then(() => false as const), timedOut]);
    clearTimeout(timer);
    if (outcome) {
      const notRun = pending
        .slice(pending.findIndex((entry) => entry.name === current) + 1)
        .map((entry) => entry.name);
      logger.error({ timeoutMs: shutdownTimeoutMs, hook: current, notRun }, 'shutdown timed out');
      return 1;
    }
    if (failed) {
      logger.error('shutdown finished with errors');
      return 1;
    }
    logger.info('shutdown complete');
    return 0;
  }

  private async runHook(name: string, hook: ShutdownHook): Promise<boolean> {
    const started = Date.now();
    try {
      await hook();
      this.options.logger.debug({ hook: name, durationMs: Date.now() - started }, 'shutdown hook finished');
      return true;
    } catch (err) {
      this.options.logger.error({ hook: name, err }, 'shutdown hook failed');
      return false;
    }
  }
}
