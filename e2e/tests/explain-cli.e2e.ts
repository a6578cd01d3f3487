/**
 * Issue 10: `keda-ts explain` and `keda-ts check` (the built CLI bundle, run as a user runs it)
 * against the real control plane, a real controller with its gRPC port, and metrics-api sources
 * served by the test; grpcurl lists and calls the debug service through reflection.
 */
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { writeCertDir, type CertDir } from '../src/certs';
import { rabbitMqServer, rabbitMqUrls, startTestServer, type RabbitMqPorts, type RunningTestServer } from '../src/servers';
import { REPO_ROOT, startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import { apply, deploymentManifest, kubeConfig, readClusterInfo, readObject, useTestNamespace, waitFor } from '../src/testing';
import { ensureToolchain } from '../src/toolchain';

const ns = useTestNamespace('explain');
const kc = kubeConfig();
const CLI = path.join(REPO_ROOT, 'apps', 'cli', 'dist', 'main.js');

/** Per-path value of the metrics endpoint, or an HTTP status to fail with. */
const sources = new Map<string, { value: number } | { status: number }>();
const metricsServer = http.createServer((req, res) => {
  const source = sources.get(req.url ?? '') ?? { status: 404 };
  if ('status' in source) {
    res.writeHead(source.status, { 'content-type': 'text/plain' });
    res.end('source unavailable');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: source.value }));
});
let metricsPort = 0;
let grpcPort = 0;
let certs: CertDir;
let tmp: string;
let apps: RunningApp[] = [];

beforeAll(async () => {
  await new Promise<void>((r) => metricsServer.listen(0, '127.0.0.1', r));
  metricsPort = (metricsServer.address() as AddressInfo).port;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-explain-'));
  certs = await writeCertDir(path.join(tmp, 'certs'));
  grpcPort = await freePort();
  apps = await startApps(readClusterInfo().kubeconfig, [
    {
      name: 'controller',
      args: [`--watch-namespace=${ns.name}`, `--metrics-service-bind-address=127.0.0.1:${grpcPort}`, `--cert-dir=${certs.appDirs.controller}`],
    },
  ]);
}, 120_000);

afterAll(async () => {
  await stopApps(apps);
  metricsServer.closeAllConnections();
  metricsServer.close();
  rmSync(tmp, { recursive: true, force: true });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, KUBECONFIG: readClusterInfo().kubeconfig, KEDA_TS_CONTROLLER_ADDRESS: `127.0.0.1:${grpcPort}`, KEDA_TS_CERT_DIR: certs.operatorDir } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function scaledObject(
  name: string,
  opts: { activation?: number; annotations?: Record<string, string>; fallback?: boolean; cooldown?: number; pollingInterval?: number } = {},
) {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      scaleTargetRef: { name },
      pollingInterval: opts.pollingInterval ?? 1,
      cooldownPeriod: opts.cooldown ?? 300,
      ...(opts.fallback ? { fallback: { failureThreshold: 1, replicas: 2 } } : {}),
      triggers: [
        {
          type: 'metrics-api',
          metadata: {
            url: `http://127.0.0.1:${metricsPort}/${name}`,
            valueLocation: 'value',
            targetValue: '10',
            ...(opts.activation !== undefined ? { activationTargetValue: String(opts.activation) } : {}),
          },
        },
      ],
    },
  };
}

const decisionOf = async (name: string) => {
  const so = await readObject<{ status?: { conditions?: { type: string; reason?: string; message?: string }[] } } & { kind: string }>(kc, {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    name,
    namespace: ns.name,
  });
  return so?.status?.conditions?.find((c) => c.type === 'Decision');
};

async function explainUntil(name: string, pattern: RegExp, timeoutMs = 60_000): Promise<CliResult> {
  return waitFor(
    async () => {
      const r = await cli('explain', `so/${name}`, '-n', ns.name);
      return r.code === 0 && pattern.test(r.stdout) ? r : undefined;
    },
    { timeoutMs, intervalMs: 1000, description: `keda-ts explain so/${name} to match ${pattern}` },
  );
}

describe('keda-ts explain', () => {
  it('names the trigger, its value and the activation threshold for a ScaledObject held at 0', async () => {
    sources.set('/held', { value: 3 });
    await apply(kc, [deploymentManifest('held', 0), scaledObject('held', { activation: 5 })], ns.name);
    const r = await explainUntil('held', /value 3 is not above activationTargetValue 5/);
    expect(r.stdout).toContain('Decision: held at 0 replicas: no trigger is active');
    expect(r.stdout).toContain('s0-metric-api-value activates when its value exceeds activationTargetValue 5 (now 3)');
    // The same decision as one condition in `kubectl describe so`.
    const condition = await waitFor(() => decisionOf('held'), { description: 'the Decision condition of held' });
    expect(condition).toMatchObject({ reason: 'HeldByActivation' });
    expect(condition.message).toMatch(/value 3 is not above activationTargetValue 5/);

    const json = JSON.parse((await cli('explain', 'scaledobject/held', '-n', ns.name, '-o', 'json')).stdout);
    expect(json.polls[0].triggers[0]).toMatchObject({ metricName: 's0-metric-api-value', value: 3, activationParameter: 'activationTargetValue', activationThreshold: 5, active: false });
    expect(json.polls[0].decision).toMatchObject({ outcome: 'held-inactive', reason: 'HeldByActivation' });
  });

  it('has a first decision within seconds of creation, not one pollingInterval (30 s) later', async () => {
    sources.set('/first', { value: 3 });
    const created = Date.now();
    await apply(kc, [deploymentManifest('first', 0), scaledObject('first', { activation: 5, pollingInterval: 30 })], ns.name);
    // The loop polls at once (issue 22 part 4); the old loop waited out the first interval.
    const r = await explainUntil('first', /Decision: held at 0 replicas/, 15_000);
    expect(Date.now() - created).toBeLessThan(15_000);
    expect(r.stdout).toContain('value 3 is not above activationTargetValue 5');
  });

  it('shows the time left for a ScaledObject in cooldown', async () => {
    sources.set('/cool', { value: 20 });
    await apply(kc, [deploymentManifest('cool', 0), scaledObject('cool', { cooldown: 600 })], ns.name);
    await explainUntil('cool', /active at 1 replicas/);
    sources.set('/cool', { value: 0 });
    const r = await explainUntil('cool', /cooling down: no trigger is active; scale-in to 0 in (9m|10m)\d+s/);
    expect(r.stdout).toContain('any trigger becoming active again cancels the scale-in');
  });

  it('names the annotation of a paused ScaledObject', async () => {
    sources.set('/paused', { value: 1 });
    await apply(kc, [deploymentManifest('paused', 0), scaledObject('paused', { annotations: { 'autoscaling.keda.sh/paused': 'true' } })], ns.name);
    const r = await explainUntil('paused', /paused by annotation autoscaling.keda.sh\/paused="true"/);
    expect(r.stdout).toContain('remove the annotation autoscaling.keda.sh/paused to resume scaling');
  });

  it('shows the failing trigger and its error for a ScaledObject in fallback', async () => {
    sources.set('/failing', { status: 503 });
    await apply(kc, [deploymentManifest('failing', 1), scaledObject('failing', { fallback: true })], ns.name);
    const r = await explainUntil('failing', /fallback in effect \(fallback.replicas 2\): trigger 0 \(metrics-api\) failed/);
    expect(r.stdout).toMatch(/503/);
  });

  it('exits 4 for an object that does not exist, and 2 for a bad reference', async () => {
    const missing = await cli('explain', 'so/nope', '-n', ns.name);
    expect(missing).toMatchObject({ code: 4 });
    expect(missing.stderr).toContain(`ScaledObject ${ns.name}/nope not found`);
    expect((await cli('explain', 'deployment/x')).code).toBe(2);
  });
});

describe('keda-ts check', () => {
  const file = (name: string, objects: object[]) => {
    const p = path.join(tmp, `${name}.yaml`);
    writeFileSync(p, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
    return p;
  };

  it('prints the live value and the resulting replica count of a valid manifest, creating nothing', async () => {
    sources.set('/candidate', { value: 25 });
    await apply(kc, deploymentManifest('candidate', 0), ns.name);
    const r = await cli('check', file('valid', [scaledObject('candidate')]), '-n', ns.name);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ScaledObject ${ns.name}/candidate: valid`);
    expect(r.stdout).toMatch(/s0-metric-api-value\s+25\s+activationTargetValue 0\s+AverageValue 10\s+yes/);
    expect(r.stdout).toContain('replicas: 3 (now 0): s0-metric-api-value: ceil(25 / 10) = 3');
    expect(await readObject(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: 'candidate', namespace: ns.name })).toBeUndefined();
  });

  it("prints the webhook's message and exits 1 for an invalid manifest", async () => {
    const bad = { ...scaledObject('candidate'), spec: { ...scaledObject('candidate').spec, minReplicaCount: 5, maxReplicaCount: 2 } };
    const r = await cli('check', file('invalid', [bad]), '-n', ns.name, '-o', 'json');
    expect(r.code).toBe(1);
    const [report] = JSON.parse(r.stdout);
    expect(report).toMatchObject({ valid: false, kind: 'ScaledObject', name: 'candidate' });
    expect(report.message).toMatch(/MinReplicaCount=5 must be less than MaxReplicaCount=2|minReplicaCount/i);
  });

  it("reports a source's error and exits 3 when a trigger cannot be queried", async () => {
    sources.set('/candidate', { status: 401 });
    const r = await cli('check', file('failing', [scaledObject('candidate')]), '-n', ns.name);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/401/);
  });
});

describe('the debug gRPC service', () => {
  const grpcurl = async (cert: string, key: string, ...args: string[]) => {
    const bin = (await ensureToolchain('extras')).grpcurl;
    return new Promise<{ ok: boolean; stdout: string; stderr: string }>((resolve) =>
      execFile(bin, ['-cacert', certs.caCert, '-cert', cert, '-key', key, '-connect-timeout', '5', '-max-time', '10', ...args], (err, stdout, stderr) =>
        resolve({ ok: !err, stdout, stderr }),
      ),
    );
  };
  const explainHeld = (cert: string, key: string) =>
    grpcurl(cert, key, '-d', JSON.stringify({ namespace: ns.name, name: 'held', limit: 1 }), `127.0.0.1:${grpcPort}`, 'kedats.debug.v1.DecisionDebug/Explain');
  const getMetrics = (cert: string, key: string) =>
    grpcurl(cert, key, '-d', JSON.stringify({ name: 'held', namespace: ns.name, metricName: 's0-metric-api-value' }), `127.0.0.1:${grpcPort}`, 'api.MetricsService/GetMetrics');

  it('is listed and called by grpcurl through reflection with an operator certificate', async () => {
    const list = await grpcurl(certs.operatorCert, certs.operatorKey, `127.0.0.1:${grpcPort}`, 'list');
    expect(list.stdout).toContain('kedats.debug.v1.DecisionDebug');
    const r = await explainHeld(certs.operatorCert, certs.operatorKey);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.polls).toHaveLength(1);
    expect(out.polls[0].decision.reason).toBe('HeldByActivation');
  });

  it("authorizes by client identity: the adapter's certificate may not use the debug service, the operator's may not call GetMetrics", async () => {
    const adapter = await explainHeld(certs.clientCert, certs.clientKey);
    expect(adapter.ok).toBe(false);
    expect(adapter.stderr).toMatch(/PermissionDenied/);
    expect(adapter.stderr).toContain('CN="keda-metrics-adapter", O="KEDAORG" may not use the debug service');
    const operator = await getMetrics(certs.operatorCert, certs.operatorKey);
    expect(operator.ok).toBe(false);
    expect(operator.stderr).toMatch(/PermissionDenied/);
    // The adapter's certificate is the one GetMetrics answers.
    const metrics = await getMetrics(certs.clientCert, certs.clientKey);
    expect(metrics.stderr).toBe('');
    expect(JSON.parse(metrics.stdout).items[0].metricName).toBe('s0-metric-api-value');
  });

  it("refuses the webhook's certificate (serving-only) at the TLS handshake, for either service", async () => {
    for (const r of [await getMetrics(certs.webhookCert, certs.webhookKey), await explainHeld(certs.webhookCert, certs.webhookKey)]) {
      expect(r.ok).toBe(false);
      expect(r.stdout).toBe('');
    }
  });

  it('keda-ts operator-certificate issues a certificate that explain uses', async () => {
    const out = path.join(tmp, 'alice');
    const issued = await cli('operator-certificate', '--name', 'alice', '--ca-dir', certs.dir, '--out', out, '--validity', '1h');
    expect(issued.stderr).toBe('');
    expect(issued.code).toBe(0);
    const r = await explainHeld(path.join(out, 'operator.crt'), path.join(out, 'operator.key'));
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).polls).toHaveLength(1);
  });
});

describe('with RabbitMQ and TriggerAuthentications', () => {
  let broker: RunningTestServer<RabbitMqPorts>;
  const WRONG_PASSWORD = 'not-the-password-123';

  beforeAll(async () => {
    broker = await startTestServer(rabbitMqServer());
    const urls = rabbitMqUrls(broker.ports);
    const wrong = rabbitMqUrls(broker.ports, { password: WRONG_PASSWORD });
    const conn = await amqp.connect(urls.amqp);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('orders');
    await ch.assertQueue('jobs-q');
    for (let i = 0; i < 12; i++) ch.sendToQueue('orders', Buffer.from(String(i)));
    await ch.waitForConfirms();
    await conn.close();
    const auth = (name: string, host: string) => [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { host } },
      { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name }, spec: { secretTargetRef: [{ parameter: 'host', name, key: 'host' }] } },
    ];
    await apply(kc, [...auth('rabbit-good', urls.amqp), ...auth('rabbit-wrong', wrong.amqp), deploymentManifest('rmq-target', 0)] as never, ns.name);
  }, 240_000);

  afterAll(async () => broker?.stop());

  const rabbitSo = (authRef: string) => ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'rmq-target' },
    spec: {
      scaleTargetRef: { name: 'rmq-target' },
      triggers: [{ type: 'rabbitmq', metadata: { protocol: 'amqp', queueName: 'orders', mode: 'QueueLength', value: '5' }, authenticationRef: { name: authRef } }],
    },
  });
  const manifest = (name: string, obj: object) => {
    const p = path.join(tmp, `${name}.yaml`);
    writeFileSync(p, JSON.stringify(obj));
    return p;
  };

  it('check prints the live queue length and the resulting replica count', async () => {
    const r = await cli('check', manifest('rmq-good', rabbitSo('rabbit-good')), '-n', ns.name);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/s0-rabbitmq-orders\s+12\s+activationValue 0\s+AverageValue 5\s+yes/);
    expect(r.stdout).toContain('replicas: 3 (now 0): s0-rabbitmq-orders: ceil(12 / 5) = 3');
  });

  it("check reports the broker's authentication error with a wrong password, never the password", async () => {
    const r = await cli('check', manifest('rmq-wrong', rabbitSo('rabbit-wrong')), '-n', ns.name);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/ACCESS_REFUSED|authentication|Login was refused/i);
    expect(r.stdout + r.stderr).not.toContain(WRONG_PASSWORD);
  });

  it('explain shows why a ScaledJob creates no Jobs', async () => {
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledJob',
        metadata: { name: 'idle-jobs' },
        spec: {
          pollingInterval: 1,
          jobTargetRef: { template: { spec: { containers: [{ name: 'w', image: 'busybox' }] } } },
          triggers: [{ type: 'rabbitmq', metadata: { protocol: 'amqp', queueName: 'jobs-q', mode: 'QueueLength', value: '1' }, authenticationRef: { name: 'rabbit-good' } }],
        },
      } as never,
      ns.name,
    );
    const r = await waitFor(
      async () => {
        const out = await cli('explain', 'sj/idle-jobs', '-n', ns.name);
        return out.code === 0 && /no Jobs: no trigger is active: trigger 0 \(rabbitmq\) value 0 is not above activationValue 0/.test(out.stdout) ? out : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, description: 'keda-ts explain sj/idle-jobs to say why no Jobs are created' },
    );
    expect(r.stdout).toContain('ScaledJob');
  });
});
