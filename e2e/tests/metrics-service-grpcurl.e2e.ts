/**
 * The controller's metrics gRPC service as KEDA's own tooling sees it: the real `grpcurl` binary
 * (built by e2e/toolchain) lists, describes and calls it through server reflection over mutual TLS.
 * Runs a metrics server with a fake provider on 127.0.0.1; needs no cluster objects.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  createMetricsServer,
  metricEncounteredError,
  scaledObjectNotFoundError,
  type MetricsServer,
  type MetricsServiceLogger,
} from '@keda-ts/metrics-service';
import { createServingCertificate, issueCert } from '../src/pki';
import { ensureToolchain } from '../src/toolchain';

const run = promisify(execFile);
const silent: MetricsServiceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const TIMESTAMP = new Date('2026-05-06T07:08:09.500Z');

let dir: string;
let grpcurlBin: string;
let server: MetricsServer;

beforeAll(async () => {
  grpcurlBin = (await ensureToolchain('extras')).grpcurl;
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-grpcurl-'));
  const serving = await createServingCertificate(dir, ['127.0.0.1', 'localhost']);
  // The adapter's client identity (the server authorizes GetMetrics by it) and others it refuses:
  // the webhook's serving-only certificate, the webhook's name on a client certificate, an operator's.
  await issueCert(dir, 'serving-ca', 'client', '/O=KEDAORG/CN=keda-metrics-adapter', 'client');
  await issueCert(dir, 'serving-ca', 'webhook', '/O=KEDAORG/CN=keda-admission-webhooks', 'server', ['IP:127.0.0.1', 'DNS:localhost']);
  await issueCert(dir, 'serving-ca', 'webhook-client', '/O=KEDAORG/CN=keda-admission-webhooks', 'client');
  await issueCert(dir, 'serving-ca', 'operator', '/O=keda-operators/CN=alice', 'client');
  const certDir = path.join(dir, 'certs');
  mkdirSync(certDir);
  writeFileSync(path.join(certDir, 'ca.crt'), serving.caPem);
  writeFileSync(path.join(certDir, 'tls.crt'), serving.certPem);
  writeFileSync(path.join(certDir, 'tls.key'), serving.keyPem);
  server = createMetricsServer({
    provider: {
      async getMetrics(ref) {
        if (ref.name !== 'so') throw scaledObjectNotFoundError(ref.name);
        if (ref.metricName !== 's0-x') throw metricEncounteredError(ref.metricName);
        return [{ metricName: ref.metricName, timestamp: TIMESTAMP, value: 1.5 }];
      },
    },
    tls: { certDir },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  await server.start();
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `grpcurl [tls flags] [flags] 127.0.0.1:PORT [command...]`. */
async function grpcurl(
  flags: string[],
  command: string[],
  clientCert: string | false = 'client',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const tls = ['-cacert', path.join(dir, 'serving-ca.crt')];
  if (clientCert) tls.push('-cert', path.join(dir, `${clientCert}.crt`), '-key', path.join(dir, `${clientCert}.key`));
  try {
    const { stdout, stderr } = await run(
      grpcurlBin,
      [...tls, '-max-time', '10', ...flags, server.address, ...command],
      { timeout: 30_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

it('lists the services through server reflection', async () => {
  const { code, stdout, stderr } = await grpcurl([], ['list']);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout.split('\n').filter(Boolean)).toEqual(
    expect.arrayContaining(['api.MetricsService', 'grpc.health.v1.Health']),
  );
});

it('describes api.MetricsService', async () => {
  const { code, stdout } = await grpcurl([], ['describe', 'api.MetricsService']);
  expect(code).toBe(0);
  expect(stdout).toContain('service MetricsService {');
  expect(stdout).toMatch(
    /rpc GetMetrics \( \.api\.ScaledObjectRef \) returns \( \.api\.ExternalMetricValueList \)/,
  );
  const msg = await grpcurl([], ['describe', 'api.ExternalMetricValue']);
  expect(msg.stdout).toMatch(/map<string, string> metricLabels = 2;/);
  expect(msg.stdout).toMatch(/\.api\.Quantity value = 5;/);
});

it('calls api.MetricsService/GetMetrics and gets KEDA wire values', async () => {
  const { code, stdout, stderr } = await grpcurl(
    ['-d', '{"name":"so","namespace":"ns","metricName":"s0-x"}'],
    ['api.MetricsService/GetMetrics'],
  );
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(JSON.parse(stdout)).toEqual({
    items: [
      {
        metricName: 's0-x',
        timestamp: { seconds: String(Math.floor(TIMESTAMP.getTime() / 1000)) },
        value: { string: '1500m' },
      },
    ],
  });
});

it('returns KEDA’s errors as gRPC status', async () => {
  const missing = await grpcurl(
    ['-d', '{"name":"nope","namespace":"ns","metricName":"s0-x"}'],
    ['api.MetricsService/GetMetrics'],
  );
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('Code: NotFound');
  expect(missing.stderr).toContain('scaledobjects.keda.sh "nope" not found');
  const failing = await grpcurl(
    ['-d', '{"name":"so","namespace":"ns","metricName":"s0-y"}'],
    ['api.MetricsService/GetMetrics'],
  );
  expect(failing.stderr).toContain('Code: Unknown');
  expect(failing.stderr).toContain('metric:s0-y encountered error');
});

it('reports SERVING on grpc.health.v1.Health/Check', async () => {
  const { code, stdout } = await grpcurl([], ['grpc.health.v1.Health/Check']);
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual({ status: 'SERVING' });
});

it('refuses grpcurl without a client certificate', async () => {
  const { code } = await grpcurl(['-connect-timeout', '3'], ['list'], false);
  expect(code).not.toBe(0);
});

describe('authorization by client identity', () => {
  const getMetrics = (cert: string) => grpcurl(['-connect-timeout', '3', '-d', '{"name":"so","namespace":"ns","metricName":"s0-x"}'], ['api.MetricsService/GetMetrics'], cert);

  it("refuses the webhook's serving certificate at the TLS handshake", async () => {
    const r = await getMetrics('webhook');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('Code: PermissionDenied');
  });

  it("answers GetMetrics with PermissionDenied for a client certificate that is not the adapter's", async () => {
    for (const cert of ['webhook-client', 'operator']) {
      const r = await getMetrics(cert);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('Code: PermissionDenied');
      expect(r.stderr).toContain('may not call GetMetrics (allowed: CN keda-metrics-adapter)');
    }
    expect((await getMetrics('client')).code).toBe(0);
  });

  it('lets any client past mutual TLS use health and reflection', async () => {
    expect((await grpcurl([], ['grpc.health.v1.Health/Check'], 'operator')).code).toBe(0);
    expect((await grpcurl([], ['list'], 'webhook-client')).code).toBe(0);
  });
});
