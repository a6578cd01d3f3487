/**
 * Issue 22 part 4: KEDA's `api.RawMetricsService` on the real controller
 * (`--raw-metrics-grpc-protocol=enabled`, KEDA's RAW_METRICS_GRPC_PROTOCOL). A grpc-js client with
 * an operator certificate subscribes to a ScaledObject's trigger and reads the scaler's raw values
 * from the stream as the scale loop polls a metrics-api source served by the test; grpcurl finds
 * the service through reflection and is refused with the adapter's certificate.
 */
import { execFile } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { metricsProto } from '@keda-ts/proto';
import { writeCertDir, type CertDir } from '../src/certs';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import { apply, deploymentManifest, readClusterInfo, kubeConfig, useTestNamespace, waitFor } from '../src/testing';
import { ensureToolchain } from '../src/toolchain';

const ns = useTestNamespace('raw-metrics');
const kc = kubeConfig();

let value = 3;
const source = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value }));
});
let sourcePort = 0;
let grpcPort = 0;
let certs: CertDir;
let tmp: string;
let apps: RunningApp[] = [];
let client: metricsProto.RawMetricsServiceClient;

beforeAll(async () => {
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  sourcePort = (source.address() as AddressInfo).port;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-raw-metrics-'));
  certs = await writeCertDir(path.join(tmp, 'certs'));
  grpcPort = await freePort();
  apps = await startApps(readClusterInfo().kubeconfig, [
    {
      name: 'controller',
      args: [
        `--watch-namespace=${ns.name}`,
        `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
        `--cert-dir=${certs.appDirs.controller}`,
        '--raw-metrics-grpc-protocol=enabled',
      ],
    },
  ]);
  client = new metricsProto.RawMetricsServiceClient(
    `127.0.0.1:${grpcPort}`,
    credentials.createSsl(readFileSync(certs.caCert), readFileSync(certs.operatorKey), readFileSync(certs.operatorCert)),
  );
}, 120_000);

afterAll(async () => {
  client?.close();
  await stopApps(apps);
  source.closeAllConnections();
  source.close();
  rmSync(tmp, { recursive: true, force: true });
});

const subscription = (subscriber: string, triggerName: string): metricsProto.SubscriptionRequest => ({
  subscriber,
  metricMetadata: { name: 'orders', namespace: ns.name, metricName: triggerName },
});

function call(method: 'subscribeMetric' | 'unsubscribeMetric', req: metricsProto.SubscriptionRequest): Promise<metricsProto.SubscriptionAck> {
  return new Promise((resolve, reject) =>
    client[method](req, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res?: metricsProto.SubscriptionAck) =>
      err ? reject(err) : resolve(res!),
    ),
  );
}

/** Subscribes (retrying while the controller's gRPC server starts), then opens the stream. */
async function open(subscriber: string, triggerName: string) {
  const ack = await waitFor(() => call('subscribeMetric', subscription(subscriber, triggerName)).catch(() => undefined), {
    timeoutMs: 60_000,
    intervalMs: 500,
    description: 'SubscribeMetric to answer',
  });
  const stream: ClientReadableStream<metricsProto.RawMetricsResponse> = client.getRawMetricsStream({ subscriber });
  const messages: metricsProto.RawMetricsResponse[] = [];
  stream.on('data', (m: metricsProto.RawMetricsResponse) => messages.push(m));
  const ended = new Promise<number>((resolve) => {
    stream.on('error', (err: ServiceError) => resolve(err.code));
    stream.on('status', (s: { code: number }) => resolve(s.code));
  });
  return { ack, stream, messages, ended };
}

describe('api.RawMetricsService on the controller', () => {
  beforeAll(async () => {
    const scaledObject = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'orders' },
      spec: {
        scaleTargetRef: { name: 'orders' },
        pollingInterval: 1,
        minReplicaCount: 1,
        triggers: [
          {
            type: 'metrics-api',
            name: 'queue',
            metadata: { url: `http://127.0.0.1:${sourcePort}/`, valueLocation: 'value', targetValue: '10', activationTargetValue: '5' },
          },
        ],
      },
    };
    await apply(kc, [deploymentManifest('orders', 1), scaledObject], ns.name);
  });

  it("streams the trigger's raw value after each poll of the subscribed ScaledObject", async () => {
    const { ack, messages, ended } = await open('e2e-reader', 'queue');
    expect(ack).toEqual({ wasSubscribed: false });
    const first = await waitFor(() => messages.find((m) => m.metrics.some((r) => r.value === 3)), {
      timeoutMs: 60_000,
      description: 'a RawMetricsResponse with the value 3',
    });
    expect(first.metrics).toHaveLength(1);
    expect(first.metrics[0]).toMatchObject({ value: 3, isActive: false, metadata: { name: 'orders', namespace: ns.name, metricName: 'queue' } });
    expect(Math.abs(first.metrics[0].timestamp!.getTime() - Date.now())).toBeLessThan(60_000);

    value = 8;
    const next = await waitFor(() => messages.find((m) => m.metrics.some((r) => r.value === 8)), {
      timeoutMs: 30_000,
      description: 'a RawMetricsResponse with the value 8',
    });
    expect(next.metrics[0]).toMatchObject({ value: 8, isActive: true });

    // The last unsubscription ends the stream with OK.
    expect(await call('unsubscribeMetric', subscription('e2e-reader', 'queue'))).toEqual({ wasSubscribed: true });
    expect(await ended).toBe(status.OK);
  }, 120_000);

  it('is listed by reflection and refuses the adapter certificate', async () => {
    const bin = (await ensureToolchain('extras')).grpcurl;
    const grpcurl = (cert: string, key: string, ...args: string[]) =>
      new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
        execFile(bin, ['-cacert', certs.caCert, '-cert', cert, '-key', key, '-connect-timeout', '5', '-max-time', '10', ...args], (err, stdout, stderr) =>
          resolve({ ok: !err, stdout, stderr }),
        ),
      );
    // Waits for the controller's gRPC server when this test runs alone.
    const list = await waitFor(
      async () => {
        const r = await grpcurl(certs.operatorCert, certs.operatorKey, `127.0.0.1:${grpcPort}`, 'list');
        return r.ok ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, description: 'grpcurl list to answer' },
    );
    expect(list.stdout).toContain('api.RawMetricsService');
    const described = await grpcurl(certs.operatorCert, certs.operatorKey, `127.0.0.1:${grpcPort}`, 'describe', 'api.RawMetricsService');
    expect(described.stdout).toMatch(/rpc GetRawMetricsStream \( \.api\.RawMetricsRequest \) returns \( stream \.api\.RawMetricsResponse \)/);

    const body = JSON.stringify(subscription('grpcurl', 'queue'));
    const subscribed = await grpcurl(certs.operatorCert, certs.operatorKey, '-d', body, `127.0.0.1:${grpcPort}`, 'api.RawMetricsService/SubscribeMetric');
    expect(subscribed.stderr).toBe('');
    expect(JSON.parse(subscribed.stdout)).toEqual({}); // wasSubscribed false: proto3 JSON omits it
    const again = await grpcurl(certs.operatorCert, certs.operatorKey, '-d', body, `127.0.0.1:${grpcPort}`, 'api.RawMetricsService/SubscribeMetric');
    expect(JSON.parse(again.stdout)).toEqual({ wasSubscribed: true });

    const refused = await grpcurl(certs.clientCert, certs.clientKey, '-d', body, `127.0.0.1:${grpcPort}`, 'api.RawMetricsService/SubscribeMetric');
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toMatch(/PermissionDenied/);
  }, 60_000);
});
