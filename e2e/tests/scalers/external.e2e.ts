/**
 * `external` and `external-push` against a real gRPC server implementing KEDA's
 * externalscaler.proto (e2e/src/servers/external-scaler.ts): plaintext, TLS and mutual TLS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPushScaler, type Scaler } from '@keda-ts/scaler-sdk';
import { externalChannelPoolSize, scalers, type ScalerContext } from '@keda-ts/scalers';
import { writeCertDir, type CertDir } from '../../src/certs';
import { startExternalScalerServer, type RunningExternalScaler } from '../../src/servers';

const TIMEOUT_MS = 2000;
const ctx: ScalerContext = {
  httpTimeoutMs: TIMEOUT_MS,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

const opened: Scaler[] = [];
async function build(
  triggerType: 'external' | 'external-push',
  metadata: Record<string, string>,
  extra: { authParams?: Record<string, string>; resolvedEnv?: Record<string, string>; metricType?: 'Value'; triggerIndex?: number } = {},
): Promise<Scaler> {
  const scaler = scalers.build(
    {
      triggerIndex: extra.triggerIndex ?? 0,
      triggerType,
      metadata,
      resolvedEnv: extra.resolvedEnv ?? {},
      authParams: extra.authParams ?? {},
      metricType: extra.metricType,
      scalableObject: { kind: 'ScaledObject', namespace: 'shop', name: 'orders' },
    },
    ctx,
  );
  opened.push(scaler);
  await scaler.prepare?.();
  return scaler;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function read(scaler: Scaler): Promise<{ value: number; isActive: boolean }> {
  const name = scaler.getMetricSpecForScaling()[0].external?.metric.name ?? '';
  const r = await scaler.getMetricsAndActivity(name);
  return { value: r.metrics[0].value, isActive: r.isActive };
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('external (plaintext)', () => {
  let server: RunningExternalScaler;
  beforeAll(async () => {
    server = await startExternalScalerServer();
  });
  afterAll(async () => server?.stop());

  it('metric spec from GetMetricSpec, values and activity from GetMetrics + IsActive, metadata forwarded', async () => {
    Object.assign(server.state, { metricName: 'pending-orders', targetSize: 7, metricValue: 0, active: false });
    const scaler = await build(
      'external',
      { scalerAddress: server.address, queue: 'orders', tokenFromEnv: 'TOKEN', missingFromEnv: 'NOPE' },
      { resolvedEnv: { TOKEN: 'from-env' }, triggerIndex: 2 },
    );
    expect(scaler.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's2-pending-orders' }, target: { type: 'AverageValue', averageValue: '7' } } },
    ]);
    expect(await read(scaler)).toEqual({ value: 0, isActive: false });
    Object.assign(server.state, { metricValue: 3, active: true });
    expect(await read(scaler)).toEqual({ value: 3, isActive: true });
    // metricValueFloat wins when > 0.
    server.state.metricValueFloat = 12.5;
    expect(await read(scaler)).toEqual({ value: 12.5, isActive: true });

    const getMetrics = server.calls.filter((c) => c.rpc === 'GetMetrics');
    expect(getMetrics.at(-1)?.metricName).toBe('pending-orders');
    expect(getMetrics.at(-1)?.ref).toEqual({
      name: 'orders',
      namespace: 'shop',
      scalerMetadata: { scalerAddress: server.address, queue: 'orders', tokenFromEnv: 'from-env' },
    });
    // GetMetrics comes before IsActive in every poll.
    const order = server.calls.filter((c) => c.rpc !== 'GetMetricSpec').map((c) => c.rpc);
    expect(order.slice(0, 2)).toEqual(['GetMetrics', 'IsActive']);
    await expect(scaler.getMetricsAndActivity('s0-pending-orders')).rejects.toThrow(
      'metric name "s0-pending-orders" does not start with the trigger prefix "s2-"',
    );
  });

  it('targetSizeFloat gives a milli target; metricType Value', async () => {
    Object.assign(server.state, { metricName: 'rate', targetSizeFloat: 2.5, metricValueFloat: 0 });
    const scaler = await build('external', { scalerAddress: server.address }, { metricType: 'Value' });
    expect(scaler.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'Value', value: '2500m' });
    server.state.targetSizeFloat = 0;
  });

  it('no metric specs is a clear prepare error', async () => {
    server.state.noSpecs = true;
    try {
      await expect(build('external', { scalerAddress: server.address })).rejects.toThrow(`external scaler ${server.address}: got empty metric spec`);
    } finally {
      server.state.noSpecs = false;
    }
  });

  it('shares one channel (one connection) between scalers of the same address', async () => {
    const before = externalChannelPoolSize();
    const a = await build('external', { scalerAddress: server.address, queue: 'a' });
    const b = await build('external-push', { scalerAddress: server.address, queue: 'b' });
    await Promise.all([read(a), read(b), read(a), read(b)]);
    expect(externalChannelPoolSize()).toBe(before + 1);
    const peers = new Set(server.calls.filter((c) => ['a', 'b'].includes(c.ref?.scalerMetadata['queue'] ?? '')).map((c) => c.peer));
    expect(peers.size).toBe(1);
    await a.close();
    await b.close();
    expect(externalChannelPoolSize()).toBe(before);
  });

  it('fails within the timeout when nothing listens', async () => {
    const down = await startExternalScalerServer();
    const address = down.address;
    await down.stop();
    const started = Date.now();
    const scaler = scalers.build(
      { triggerIndex: 0, triggerType: 'external', metadata: { scalerAddress: address }, resolvedEnv: {}, authParams: {}, scalableObject: { kind: 'ScaledObject', namespace: 'n', name: 's' } },
      ctx,
    );
    opened.push(scaler);
    await expect(scaler.prepare?.()).rejects.toThrow(new RegExp(`external scaler ${address}: GetMetricSpec failed: (gRPC status 14 UNAVAILABLE|no answer within)`));
    await expect(scaler.getMetricsAndActivity('s0-x')).rejects.toThrow(new RegExp(`external scaler ${address}: GetMetrics failed`));
    expect(Date.now() - started).toBeLessThan(2 * TIMEOUT_MS + 1000);
  });
});

describe('external-push: StreamIsActive', () => {
  let server: RunningExternalScaler;
  beforeAll(async () => {
    server = await startExternalScalerServer();
  });
  afterAll(async () => server?.stop());

  it('reports every pushed value and reconnects after the server ends the stream', async () => {
    const scaler = await build('external-push', { scalerAddress: server.address });
    expect(isPushScaler(scaler)).toBe(true);
    const seen: boolean[] = [];
    if (!isPushScaler(scaler)) return;
    scaler.run((active) => seen.push(active));
    await until(() => server.openStreams === 1, 'the stream to open');
    server.push(true);
    server.push(false);
    await until(() => seen.length === 2, 'two pushed values');
    expect(seen).toEqual([true, false]);

    server.endStreams();
    const ended = Date.now();
    await until(() => server.openStreams === 1, 'the reconnect', 10_000);
    // KEDA's backoff: the first reconnect comes after 2 s.
    expect(Date.now() - ended).toBeGreaterThanOrEqual(1900);
    server.push(true);
    await until(() => seen.length === 3, 'a value on the new stream');
    expect(seen[2]).toBe(true);

    await scaler.close();
    await until(() => server.openStreams === 0, 'the stream to close on close()');
  });

  it('the plain external scaler does not stream', async () => {
    const scaler = await build('external', { scalerAddress: server.address });
    expect(isPushScaler(scaler)).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(server.openStreams).toBe(0);
  });
});

describe('external over TLS and mutual TLS', () => {
  let certs: CertDir;
  let dir: string;
  let tlsServer: RunningExternalScaler;
  let mtlsServer: RunningExternalScaler;
  let certPem: string;
  let keyPem: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'external-tls-'));
    certs = await writeCertDir(dir);
    certPem = readFileSync(certs.tlsCert, 'utf8');
    keyPem = readFileSync(certs.tlsKey, 'utf8');
    tlsServer = await startExternalScalerServer({ tls: { certPem, keyPem } });
    mtlsServer = await startExternalScalerServer({ tls: { certPem, keyPem, caPem: certs.caPem, requireClientCert: true } });
    tlsServer.state.metricValue = 4;
    mtlsServer.state.metricValue = 6;
  });
  afterAll(async () => {
    await tlsServer?.stop();
    await mtlsServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('TLS with caCert (enableTLS implied), or with unsafeSsl and no CA', async () => {
    expect((await read(await build('external', { scalerAddress: tlsServer.address }, { authParams: { caCert: certs.caPem } }))).value).toBe(4);
    expect((await read(await build('external', { scalerAddress: tlsServer.address, enableTLS: 'true', unsafeSsl: 'true' }))).value).toBe(4);
  });

  it('an untrusted server certificate fails', async () => {
    await expect(build('external', { scalerAddress: tlsServer.address, enableTLS: 'true' })).rejects.toThrow(
      new RegExp(`external scaler ${tlsServer.address}: GetMetricSpec failed`),
    );
  });

  it('mutual TLS needs the client certificate', async () => {
    // A client certificate (clientAuth) from the same CA; tls.crt is serving-only.
    const clientCert = readFileSync(certs.clientCert, 'utf8');
    const clientKey = readFileSync(certs.clientKey, 'utf8');
    const ok = await build('external', { scalerAddress: mtlsServer.address }, { authParams: { caCert: certs.caPem, tlsClientCert: clientCert, tlsClientKey: clientKey } });
    expect((await read(ok)).value).toBe(6);
    const err = await build('external', { scalerAddress: mtlsServer.address }, { authParams: { caCert: certs.caPem } }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`external scaler ${mtlsServer.address}: GetMetricSpec failed`));
    expect(err?.message).not.toContain('PRIVATE KEY');
  });
});
