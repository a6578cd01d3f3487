/**
 * The prometheus scaler against a real Prometheus (Debian package) that scrapes a /metrics
 * endpoint served by this test every second.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { scalers, sharedAgentPool, type ScalerContext } from '@keda-ts/scalers';
import { createServingCertificate, issueCert } from '../../src/pki';
import {
  PROMETHEUS_BASIC_AUTH,
  prometheusServer,
  prometheusUrl,
  startGaugeExporter,
  startTestServer,
  type GaugeExporter,
  type RunningTestServer,
} from '../../src/servers';
import { waitFor } from '../../src/testing';

const QUERY = 'keda_e2e_queue_depth{queue="jobs"}';
const ctx = (httpTimeoutMs = 3000): ScalerContext => ({
  httpTimeoutMs,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
});

function build(metadata: Record<string, string>, authParams: Record<string, string> = {}, httpTimeoutMs = 3000): Scaler {
  return scalers.build(
    {
      triggerIndex: 0,
      triggerType: 'prometheus',
      metadata,
      authParams,
      resolvedEnv: {},
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'so' },
    },
    ctx(httpTimeoutMs),
  );
}

/** Prometheus' own count of accepted HTTP connections. */
function acceptedConnections(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const m = /^net_conntrack_listener_conn_accepted_total\{listener_name="http"\} (\d+)/m.exec(body);
        if (m) resolve(Number(m[1]));
        else reject(new Error('no net_conntrack_listener_conn_accepted_total in /metrics'));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('prometheus scaler against a real Prometheus', () => {
  let exporter: GaugeExporter;
  let prom: RunningTestServer<'http'>;
  let address: string;
  const open: Scaler[] = [];
  const scaler = (...args: Parameters<typeof build>) => {
    const s = build(...args);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    exporter = await startGaugeExporter();
    prom = await startTestServer(prometheusServer({ scrapeTargets: [exporter.target] }));
    address = prometheusUrl(prom.ports.http);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await prom?.stop();
    await exporter?.close();
  });

  it('goes inactive -> active -> value N as the scraped series changes', async () => {
    const s = scaler({ serverAddress: address, query: QUERY, threshold: '5', activationThreshold: '2' });
    // No series yet: an empty result is 0 (ignoreNullValues defaults to true).
    expect(await s.getMetricsAndActivity('s0-prometheus')).toMatchObject({ metrics: [{ metricName: 's0-prometheus', value: 0 }], isActive: false });

    const observe = (want: number) =>
      waitFor(
        async () => {
          const r = await s.getMetricsAndActivity('s0-prometheus');
          return r.metrics[0].value === want ? r : undefined;
        },
        { description: `prometheus to report ${want}`, timeoutMs: 30_000, intervalMs: 250 },
      );

    exporter.set('keda_e2e_queue_depth', 2, { queue: 'jobs' });
    expect((await observe(2)).isActive).toBe(false); // 2 is not > activationThreshold 2
    exporter.set('keda_e2e_queue_depth', 3, { queue: 'jobs' });
    expect((await observe(3)).isActive).toBe(true);
    exporter.set('keda_e2e_queue_depth', 42.5, { queue: 'jobs' });
    expect((await observe(42.5)).isActive).toBe(true);
    expect(s.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-prometheus' }, target: { type: 'AverageValue', averageValue: '5' } } },
    ]);
  });

  it('rejects a query returning several elements, and an empty one without ignoreNullValues', async () => {
    exporter.set('keda_e2e_multi', 1, { queue: 'a' });
    exporter.set('keda_e2e_multi', 2, { queue: 'b' });
    const multi = scaler({ serverAddress: address, query: 'keda_e2e_multi', threshold: '1' });
    await waitFor(() => multi.getMetricsAndActivity('s0-prometheus').then(() => undefined, (e: Error) => /returned 2 elements/.test(e.message)), {
      description: 'the two-element error',
      timeoutMs: 30_000,
    });
    expect((await scaler({ serverAddress: address, query: 'sum(keda_e2e_multi)', threshold: '1' }).getMetricsAndActivity('m')).metrics[0].value).toBe(3);
    await expect(
      scaler({ serverAddress: address, query: 'keda_e2e_absent', threshold: '1', ignoreNullValues: 'false' }).getMetricsAndActivity('m'),
    ).rejects.toThrow('the query returned no elements');
    await expect(scaler({ serverAddress: address, query: 'sum(', threshold: '1' }).getMetricsAndActivity('m')).rejects.toThrow(
      // The body's error text is the server's: only Prometheus' errorType is shown (issue 17).
      /prometheus returned 400 \(errorType bad_data\)/,
    );
  });

  it('shares one connection between scalers pointing at the same server', async () => {
    const a = scaler({ serverAddress: address, query: 'vector(1)', threshold: '1' });
    const b = scaler({ serverAddress: `${address}/`, query: 'vector(2)', threshold: '1' });
    await a.getMetricsAndActivity('m'); // the shared agent may hold a socket from earlier tests; start from a warm one
    const before = await acceptedConnections(prom.ports.http);
    for (let i = 0; i < 10; i++) {
      expect((await a.getMetricsAndActivity('m')).metrics[0].value).toBe(1);
      expect((await b.getMetricsAndActivity('m')).metrics[0].value).toBe(2);
    }
    const after = await acceptedConnections(prom.ports.http);
    // `after` counts its own probe connection; the 20 polls reused the warm socket.
    expect(after - before).toBe(1);
  });

  it('fails within the timeout, without hanging, while the server is down, and recovers', async () => {
    const s = scaler({ serverAddress: address, query: 'vector(7)', threshold: '1' }, {}, 2000);
    expect((await s.getMetricsAndActivity('m')).metrics[0].value).toBe(7);
    await prom.pause();
    try {
      const started = Date.now();
      await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/error executing prometheus query: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: (ECONNREFUSED|ECONNRESET|socket hang up)/);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await prom.resume();
    }
    await waitFor(() => s.getMetricsAndActivity('m').then((r) => r.metrics[0].value === 7), { description: 'recovery', timeoutMs: 30_000 });
  });
});

describe('prometheus scaler against a Prometheus with TLS, client certificates and basic auth', () => {
  let prom: RunningTestServer<'http'>;
  let dir: string;
  let pem: { ca: string; cert: string; key: string };
  const open: Scaler[] = [];
  const scaler = (...args: Parameters<typeof build>) => {
    const s = build(...args);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keda-ts-prom-tls-'));
    const serving = await createServingCertificate(dir, ['127.0.0.1']);
    await issueCert(dir, 'serving-ca', 'client', '/CN=keda-operator', 'client');
    pem = { ca: serving.caPem, cert: readFileSync(path.join(dir, 'client.crt'), 'utf8'), key: readFileSync(path.join(dir, 'client.key'), 'utf8') };
    prom = await startTestServer(
      prometheusServer({
        tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: serving.caPem },
        basicAuth: true,
        probeClient: { certPem: pem.cert, keyPem: pem.key },
      }),
    );
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsAuth = () => ({ ca: pem.ca, cert: pem.cert, key: pem.key, username: PROMETHEUS_BASIC_AUTH.username });

  it('queries over TLS with a client certificate and basic auth', async () => {
    const s = scaler(
      { serverAddress: prometheusUrl(prom.ports.http, true), query: 'vector(11)', threshold: '3', authModes: 'tls,basic' },
      { ...tlsAuth(), password: PROMETHEUS_BASIC_AUTH.password },
    );
    expect(await s.getMetricsAndActivity('s0-prometheus')).toMatchObject({ metrics: [{ value: 11 }], isActive: true });
  });

  it('reports a wrong password as 401 without the password', async () => {
    const s = scaler(
      { serverAddress: prometheusUrl(prom.ports.http, true), query: 'vector(1)', threshold: '1', authModes: 'tls,basic' },
      { ...tlsAuth(), password: 'wrong-pass-xyz' },
    );
    const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/prometheus returned 401/);
    expect(err?.message).not.toContain('wrong-pass-xyz');
  });

  it('fails without a client certificate, and on an unknown CA unless unsafeSsl', async () => {
    const noCert = scaler(
      { serverAddress: prometheusUrl(prom.ports.http, true), query: 'vector(1)', threshold: '1', authModes: 'basic', unsafeSsl: 'true' },
      { username: PROMETHEUS_BASIC_AUTH.username, password: PROMETHEUS_BASIC_AUTH.password },
    );
    await expect(noCert.getMetricsAndActivity('m')).rejects.toThrow(/error executing prometheus query: GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: /);
    const unknownCa = scaler(
      { serverAddress: prometheusUrl(prom.ports.http, true), query: 'vector(1)', threshold: '1', authModes: 'basic' },
      { username: PROMETHEUS_BASIC_AUTH.username, password: PROMETHEUS_BASIC_AUTH.password },
    );
    await expect(unknownCa.getMetricsAndActivity('m')).rejects.toThrow(/self-signed certificate|unable to verify|SELF_SIGNED|UNABLE_TO_VERIFY/i);
    expect(sharedAgentPool.size).toBeGreaterThan(0);
  });
});
