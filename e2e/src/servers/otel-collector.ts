import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { TestServerDefinition } from './launcher';

export interface OtelCollectorOptions {
  /** The collector binary (`(await ensureToolchain('otelcol')).otelcol`, built by e2e/toolchain/build.sh). */
  binary: string;
}

/** The file (in the server's data dir) the collector writes what it receives to, one OTLP JSON object a line. */
export const OTEL_COLLECTOR_METRICS_FILE = 'metrics.jsonl';

/**
 * An OpenTelemetry Collector (otlpreceiver + fileexporter, see build_otelcol) listening for OTLP on
 * 127.0.0.1 only: `grpc` and `http` (/v1/metrics) ports. Every metrics request it receives is appended
 * to OTEL_COLLECTOR_METRICS_FILE as OTLP JSON; read it with {@link readOtlpMetrics}. Its own telemetry
 * is off, so it opens no other listener.
 */
export function otelCollectorServer(options: OtelCollectorOptions): TestServerDefinition<'grpc' | 'http'> {
  return {
    name: 'otel-collector',
    ports: ['grpc', 'http'],
    prepare: async ({ dataDir, ports }) => {
      const config = {
        receivers: {
          otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${ports.grpc}` }, http: { endpoint: `127.0.0.1:${ports.http}` } } },
        },
        exporters: { file: { path: path.join(dataDir, OTEL_COLLECTOR_METRICS_FILE), format: 'json', flush_interval: '100ms' } },
        service: {
          telemetry: { logs: { level: 'warn' }, metrics: { level: 'none' } },
          pipelines: { metrics: { receivers: ['otlp'], exporters: ['file'] } },
        },
      };
      writeFileSync(path.join(dataDir, 'config.yaml'), stringify(config));
    },
    command: ({ dataDir }) => ({ command: options.binary, args: [`--config=file:${path.join(dataDir, 'config.yaml')}`] }),
    // Any HTTP answer (404 on /) means the OTLP/HTTP receiver listens.
    ready: ({ ports }) =>
      new Promise<boolean>((resolve) => {
        const req = httpRequest({ host: '127.0.0.1', port: ports.http, path: '/', timeout: 2000 }, (res) => {
          res.resume();
          resolve(true);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
        req.end();
      }),
    readyTimeoutMs: 30_000,
  };
}

/** One data point as the collector received it, attributes flattened to strings/numbers. */
export interface OtlpPoint {
  metric: string;
  /** gauge | sum | histogram | ... */
  kind: string;
  unit?: string;
  /** For sums: whether monotonic (a counter) and the temporality (2 = cumulative). */
  isMonotonic?: boolean;
  aggregationTemporality?: number;
  attributes: Record<string, string | number | boolean>;
  value: number;
  resource: Record<string, string | number | boolean>;
  scope: string;
  timeUnixNano: string;
}

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
const flat = (attrs: { key: string; value: AnyValue }[] | undefined): Record<string, string | number | boolean> =>
  Object.fromEntries((attrs ?? []).map((a) => [a.key, a.value.stringValue ?? (a.value.intValue !== undefined ? Number(a.value.intValue) : undefined) ?? a.value.doubleValue ?? a.value.boolValue ?? '']));

/** Every data point in the collector's file so far (oldest first); [] before the first export. */
export function readOtlpMetrics(dataDir: string): OtlpPoint[] {
  const file = path.join(dataDir, OTEL_COLLECTOR_METRICS_FILE);
  if (!existsSync(file)) return [];
  const points: OtlpPoint[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    let doc: { resourceMetrics?: unknown[] };
    try {
      doc = JSON.parse(line);
    } catch {
      continue; // a line being written
    }
    for (const rm of (doc.resourceMetrics ?? []) as { resource?: { attributes?: [] }; scopeMetrics?: unknown[] }[]) {
      const resource = flat(rm.resource?.attributes);
      for (const sm of (rm.scopeMetrics ?? []) as { scope?: { name?: string }; metrics?: Record<string, unknown>[] }[]) {
        for (const m of sm.metrics ?? []) {
          for (const kind of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
            const data = m[kind] as { dataPoints?: Record<string, unknown>[]; isMonotonic?: boolean; aggregationTemporality?: number } | undefined;
            if (!data) continue;
            for (const dp of data.dataPoints ?? []) {
              const v = dp['asDouble'] ?? dp['asInt'] ?? dp['sum'] ?? 0;
              points.push({
                metric: String(m['name']),
                kind,
                unit: m['unit'] as string | undefined,
                // proto3 JSON leaves out false.
                isMonotonic: kind === 'sum' ? data.isMonotonic === true : undefined,
                aggregationTemporality: data.aggregationTemporality,
                attributes: flat(dp['attributes'] as { key: string; value: AnyValue }[]),
                value: Number(v),
                resource,
                scope: sm.scope?.name ?? '',
                timeUnixNano: String(dp['timeUnixNano'] ?? ''),
              });
            }
          }
        }
      }
    }
  }
  return points;
}
