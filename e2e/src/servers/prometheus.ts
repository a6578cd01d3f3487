import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { TestServerDefinition } from './launcher';

/** The user the Prometheus definition accepts with `basicAuth: true` (the hash is bcrypt of the password). */
export const PROMETHEUS_BASIC_AUTH = {
  username: 'keda',
  password: 'prom-s3cret',
  bcrypt: '$2b$10$ZBS6wucVFutq7pFOOMagb.ChGjYzcVqYmbtDcdbG3JK9m4kJpWIm6',
} as const;

export interface PrometheusServerOptions {
  /** `host:port` of /metrics endpoints to scrape (e.g. an exporter served by the test). */
  scrapeTargets?: string[];
  /** Scrape and evaluation interval in seconds (default 1). */
  scrapeIntervalSeconds?: number;
  /** Serve HTTPS with this certificate; with `clientCaPem`, require a client certificate it signed. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Require HTTP basic auth with PROMETHEUS_BASIC_AUTH. */
  basicAuth?: boolean;
  /** Client certificate for the readiness probe when the server requires one. */
  probeClient?: { certPem: string; keyPem: string };
}

/** A Prometheus server (Debian `prometheus`) scraping the given targets every second. */
export function prometheusServer(options: PrometheusServerOptions = {}): TestServerDefinition<'http'> {
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  return {
    name: 'prometheus',
    ports: ['http'],
    prepare: async ({ dataDir }) => {
      const config = {
        global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
        scrape_configs: options.scrapeTargets?.length
          ? [{ job_name: 'test', static_configs: [{ targets: options.scrapeTargets }] }]
          : [],
      };
      writeFileSync(path.join(dataDir, 'prometheus.yml'), stringify(config));
      const web: Record<string, unknown> = {};
      if (options.tls) {
        writeFileSync(path.join(dataDir, 'tls.crt'), options.tls.certPem);
        writeFileSync(path.join(dataDir, 'tls.key'), options.tls.keyPem, { mode: 0o600 });
        const tls: Record<string, string> = { cert_file: path.join(dataDir, 'tls.crt'), key_file: path.join(dataDir, 'tls.key') };
        if (options.tls.clientCaPem) {
          writeFileSync(path.join(dataDir, 'client-ca.crt'), options.tls.clientCaPem);
          Object.assign(tls, { client_auth_type: 'RequireAndVerifyClientCert', client_ca_file: path.join(dataDir, 'client-ca.crt') });
        }
        web['tls_server_config'] = tls;
      }
      if (options.basicAuth) web['basic_auth_users'] = { [PROMETHEUS_BASIC_AUTH.username]: PROMETHEUS_BASIC_AUTH.bcrypt };
      writeFileSync(path.join(dataDir, 'web.yml'), stringify(web));
    },
    command: ({ ports, dataDir }) => ({
      command: 'prometheus',
      args: [
        `--config.file=${path.join(dataDir, 'prometheus.yml')}`,
        `--web.config.file=${path.join(dataDir, 'web.yml')}`,
        `--storage.tsdb.path=${path.join(dataDir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${ports.http}`,
        '--log.level=warn',
      ],
    }),
    ready: ({ ports }) =>
      new Promise<boolean>((resolve) => {
        const request = options.tls ? httpsRequest : httpRequest;
        const headers: Record<string, string> = {};
        if (options.basicAuth) {
          headers['authorization'] = `Basic ${Buffer.from(`${PROMETHEUS_BASIC_AUTH.username}:${PROMETHEUS_BASIC_AUTH.password}`).toString('base64')}`;
        }
        const req = request(
          {
            host: '127.0.0.1',
            port: ports.http,
            path: '/-/ready',
            headers,
            timeout: 2000,
            rejectUnauthorized: false,
            cert: options.probeClient?.certPem,
            key: options.probeClient?.keyPem,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          },
        );
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
        req.end();
      }),
    readyTimeoutMs: 60_000,
  };
}

/** The base URL of a running Prometheus from this definition. */
export function prometheusUrl(port: number, tls = false): string {
  return `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
}
