import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A /metrics endpoint served by the test process (Prometheus text format) with gauges the test
 * sets, for a Prometheus server to scrape. A gauge that is cleared disappears from the output,
 * so Prometheus marks its series stale.
 */
export interface GaugeExporter {
  /** `127.0.0.1:<port>`, for a scrape config. */
  readonly target: string;
  set(name: string, value: number, labels?: Record<string, string>): void;
  clear(name: string): void;
  /** Scrapes served so far. */
  readonly scrapes: number;
  close(): Promise<void>;
}

export async function startGaugeExporter(): Promise<GaugeExporter> {
  const gauges = new Map<string, Map<string, number>>();
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrapes += 1;
    const lines: string[] = [];
    for (const [name, series] of gauges) {
      lines.push(`# TYPE ${name} gauge`);
      for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`);
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(lines.join('\n') + '\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    target: `127.0.0.1:${port}`,
    set(name, value, labels = {}) {
      const text = Object.keys(labels).length
        ? `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`
        : '';
      if (!gauges.has(name)) gauges.set(name, new Map());
      gauges.get(name)?.set(text, value);
    },
    clear(name) {
      gauges.delete(name);
    },
    get scrapes() {
      return scrapes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
