import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from './config';
import type { Logger } from './logger';

/** What a Prometheus registry offers (prom-client's Registry fits). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/**
 * Serves `GET /metrics` of `source` in plain HTTP on `address` (empty host: all interfaces, port 0:
 * a free one); resolves with the listening server. Every other path is a 404.
 */
export async function startMetricsEndpoint(source: MetricsSource, address: HostPort, logger: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    source.metrics().then(
      (body) => res.writeHead(200, { 'content-type': source.contentType }).end(body),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host || '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ port: (server.address() as AddressInfo).port, host: address.host || '0.0.0.0' }, 'Prometheus /metrics listening');
  return server;
}
