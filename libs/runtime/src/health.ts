import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { HostPort } from './config';
import type { Logger } from './logger';

export interface CheckResult {
  ok: boolean;
  /** Why the check fails (or a short status when it passes). */
  message?: string;
}

/** A readiness check should be cheap (report cached state); slow checks are cut off. */
export type ReadinessCheck = () => CheckResult | Promise<CheckResult>;

export interface CheckReport extends CheckResult {
  name: string;
}

export interface ReadinessReport {
  status: 'ok' | 'failed';
  checks: CheckReport[];
}

export interface HealthServerOptions {
  /** Empty host binds all IPv4 interfaces (0.0.0.0); port 0 picks a free port. */
  address: HostPort;
  logger: Logger;
  checkTimeoutMs?: number;
}

const DEFAULT_BIND_HOST = '0.0.0.0';

/**
 * Serves Kubernetes probes: `/healthz` (liveness: the process answers) and
 * `/readyz` (readiness: every registered check passes; the body lists each check).
 */
export class HealthServer {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly logger: Logger;
  private readonly checkTimeoutMs: number;
  private server?: Server;

  constructor(private readonly options: HealthServerOptions) {
    this.logger = options.logger;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  }

  addReadinessCheck(name: string, check: ReadinessCheck): void {
    if (this.checks.has(name)) throw new Error(`readiness check "${name}" is already registered`);
    this.checks.set(name, check);
  }

  async checkReadiness(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.checks].map(([name, check]) => this.runCheck(name, check)));
    return { status: checks.every((check) => check.ok) ? 'ok' : 'failed', checks };
  }

  /** Starts listening; resolves with the bound address (the real port when port 0 was asked for). */
  async listen(): Promise<HostPort> {
    if (this.server) throw new Error('health server is already listening');
    const app = express();
    app.disable('x-powered-by');
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.get('/readyz', async (_req, res) => {
      const report = await this.checkReadiness();
      res.status(report.status === 'ok' ? 200 : 503).json(report);
    });

    const host = this.options.address.host || DEFAULT_BIND_HOST;
    const server = app.listen(this.options.address.port, host);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', (err) =>
        reject(
          new Error(
            `health probe server cannot listen on ${host}:${this.options.address.port}: ${err.message}`,
            { cause: err },
          ),
        ),
      );
    });
    const bound = this.address();
    this.logger.info({ address: bound.host, port: bound.port }, 'health probe server listening');
    return bound;
  }

  /** The bound address; only valid after {@link listen}. */
  address(): HostPort {
    const info = this.server?.address() as AddressInfo | null | undefined;
    if (!info) throw new Error('health server is not listening');
    return { host: info.address, port: info.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Probe clients may hold keep-alive sockets; waiting for them would stall shutdown.
    server.closeAllConnections();
    await closed;
  }

  private async runCheck(name: string, check: ReadinessCheck): Promise<CheckReport> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, message: `check timed out after ${this.checkTimeoutMs}ms` }),
        this.checkTimeoutMs,
      );
    });
    try {
      const result = await Promise.race([Promise.resolve().then(check), timeout]);
      return { name, ...result };
    } catch (err) {
      return { name, ok: false, message: `check threw: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
