import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  apply,
  createTestNamespace,
  deploymentManifest,
  deleteObject,
  deleteTestNamespace,
  k8s,
  kubeConfig,
  readClusterInfo,
  readObject,
  useTestNamespace,
  waitFor,
  waitForCondition,
} from '../src/testing';
import { startApps, stopApps, type RunningApp } from '../src/local-system';

/**
 * TriggerAuthentication and ClusterTriggerAuthentication against the real control plane: a
 * metrics-api trigger whose credentials come from a Secret, a ConfigMap and the Deployment's env
 * (envFrom), and from Secrets/ConfigMaps of the cluster object namespace; a Secret change reaches
 * the scaler without a restart; no credential appears in logs, events or status.
 */
const ns = useTestNamespace('auth');
const kc = kubeConfig();
let clusterNs = '';

const PW1 = 'pw-one-5c1f0a';
const PW2 = 'pw-two-9be2d4';
const API_KEY = 'api-key-3e7a11';
const BAD_MODE = 'bad-mode-secret-77d0';
const KEY3 = 'restricted-key-a81c';
const WRONG_KEY = 'namespace-key-f00d';

/** The metrics API: 200 {"value": 5} only for the expected credential, 401 otherwise; counts both. */
const expected = { basicPassword: PW1, apiKey: API_KEY };
const counts = { basicOk: 0, basicRejected: 0, keyOk: 0, keyRejected: 0, restrictedOk: 0, restrictedRejected: 0 };
const server = http.createServer((req, res) => {
  let ok = false;
  if (req.url?.startsWith('/basic')) {
    ok = req.headers.authorization === `Basic ${Buffer.from(`alice:${expected.basicPassword}`).toString('base64')}`;
    if (ok) counts.basicOk++;
    else counts.basicRejected++;
  } else if (req.url?.startsWith('/apikey')) {
    ok = req.headers['x-team-key'] === expected.apiKey;
    if (ok) counts.keyOk++;
    else counts.keyRejected++;
  } else if (req.url?.startsWith('/restricted')) {
    ok = req.headers['x-api-key'] === KEY3;
    if (ok) counts.restrictedOk++;
    else counts.restrictedRejected++;
  }
  res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
  res.end(ok ? JSON.stringify({ value: 5 }) : '{}');
});
let port = 0;
let controller: RunningApp[] = [];

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  clusterNs = await createTestNamespace('auth-keda');
  controller = await startApps(readClusterInfo().kubeconfig, [
    { name: 'controller', args: [`--watch-namespace=${ns.name}`, `--cluster-object-namespace=${clusterNs}`, '--log-level=debug'] },
  ]);
});

afterAll(async () => {
  await stopApps(controller);
  server.close();
  if (clusterNs) await deleteTestNamespace(clusterNs);
});

const secret = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data });
const configMap = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

function scaledObject(name: string, path: string, authenticationRef: { name: string; kind?: string }, metadata: Record<string, string> = {}, target = 'web') {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name },
    spec: {
      scaleTargetRef: { name: target },
      pollingInterval: 1,
      minReplicaCount: 1,
      maxReplicaCount: 3,
      triggers: [
        {
          type: 'metrics-api',
          metadata: { url: `http://127.0.0.1:${port}${path}`, valueLocation: 'value', targetValue: '10', activationTargetValue: '1', ...metadata },
          authenticationRef,
        },
      ],
    },
  };
}

type Status = { status?: { scaledobjects?: string; conditions?: { type: string; status: string; message?: string }[] } };
const soRef = (name: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name, namespace: ns.name });
const taRef = (name: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', name, namespace: ns.name });
const ctaRef = (name: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ClusterTriggerAuthentication', name });

describe('TriggerAuthentication / ClusterTriggerAuthentication', () => {
  it('authenticates metrics-api from a TA (secret + configmap + container env), and a Secret change applies without a restart', async () => {
    // The Deployment's container gets AUTH_MODE through envFrom of a ConfigMap.
    await apply(kc, configMap('app-env', { AUTH_MODE: 'basic' }), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'main', image: 'registry.invalid/x:1', envFrom: [{ configMapRef: { name: 'app-env' } }] }] },
          },
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(kc, secret('creds', { password: PW1 }), ns.name);
    await apply(kc, configMap('auth-cfg', { username: 'alice' }), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'ta-basic' },
        spec: {
          podIdentity: { provider: 'none' },
          env: [{ parameter: 'authModes', name: 'AUTH_MODE' }],
          configMapTargetRef: [{ parameter: 'username', name: 'auth-cfg', key: 'username' }],
          secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(kc, scaledObject('so-basic', '/basic', { name: 'ta-basic' }) as k8s.KubernetesObject, ns.name);

    await waitForCondition(kc, soRef('so-basic'), 'Ready');
    await waitFor(async () => counts.basicOk >= 2, { description: 'authenticated basic requests', timeoutMs: 60_000 });
    await waitForCondition(kc, soRef('so-basic'), 'Active', 'True');

    // The TA controller: finalizer, Added event, referrers in status.
    const ta = await waitFor(
      async () => {
        const obj = await readObject<k8s.KubernetesObject & Status>(kc, taRef('ta-basic'));
        return obj?.status?.scaledobjects === 'so-basic' && obj.metadata?.finalizers?.includes('finalizer.keda.sh') ? obj : undefined;
      },
      { description: 'ta-basic finalizer and status.scaledobjects', timeoutMs: 60_000 },
    );
    expect(ta.status?.scaledobjects).toBe('so-basic');

    // The server now wants PW2: polls with PW1 are refused until the Secret says PW2.
    expected.basicPassword = PW2;
    const rejectedBefore = counts.basicRejected;
    await waitFor(async () => counts.basicRejected > rejectedBefore + 1, { description: 'old password refused', timeoutMs: 60_000 });
    await apply(kc, secret('creds', { password: PW2 }), ns.name);
    const okAfterUpdate = counts.basicOk;
    await waitFor(async () => counts.basicOk > okAfterUpdate + 1, { description: 'new password used without a restart', timeoutMs: 60_000 });
    // And it keeps being used (the scalers were rebuilt, not just retried once).
    const rejectedAfter = counts.basicRejected;
    const okNow = counts.basicOk;
    await waitFor(async () => counts.basicOk > okNow + 2, { description: 'more authenticated polls', timeoutMs: 60_000 });
    expect(counts.basicRejected - rejectedAfter).toBeLessThanOrEqual(1);
  });

  it('authenticates from a ClusterTriggerAuthentication reading the cluster object namespace', async () => {
    await apply(kc, secret('team-key', { key: API_KEY }), clusterNs);
    await apply(kc, configMap('team-key-cfg', { header: 'X-Team-Key' }), clusterNs);
    await apply(kc, {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ClusterTriggerAuthentication',
      metadata: { name: `cta-${ns.name}` },
      spec: {
        secretTargetRef: [{ parameter: 'apiKey', name: 'team-key', key: 'key' }],
        configMapTargetRef: [{ parameter: 'keyParamName', name: 'team-key-cfg', key: 'header' }],
      },
    } as k8s.KubernetesObject);
    // Each ScaledObject scales a workload of its own: a second one on `web` would be refused (ownership guard).
    await apply(kc, deploymentManifest('web-key', 1), ns.name);
    await apply(kc, scaledObject('so-key', '/apikey', { name: `cta-${ns.name}`, kind: 'ClusterTriggerAuthentication' }, { authModes: 'apiKey' }, 'web-key') as k8s.KubernetesObject, ns.name);
    await waitForCondition(kc, soRef('so-key'), 'Ready');
    await waitFor(async () => counts.keyOk >= 2, { description: 'authenticated apiKey requests', timeoutMs: 60_000 });
    await waitFor(
      async () => (await readObject<k8s.KubernetesObject & Status>(kc, ctaRef(`cta-${ns.name}`)))?.status?.scaledobjects === 'so-key',
      { description: 'CTA status.scaledobjects', timeoutMs: 60_000 },
    );
  });

  it('a wrong parameter from a Secret fails the ScaledObject naming the parameter, never the value', async () => {
    await apply(kc, secret('bad', { mode: BAD_MODE }), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'ta-bad' },
        spec: { secretTargetRef: [{ parameter: 'authModes', name: 'bad', key: 'mode' }] },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(kc, deploymentManifest('web-bad', 1), ns.name);
    await apply(kc, scaledObject('so-bad', '/basic', { name: 'ta-bad' }, {}, 'web-bad') as k8s.KubernetesObject, ns.name);
    const so = await waitForCondition<k8s.KubernetesObject & Status>(kc, soRef('so-bad'), 'Ready', 'False');
    const message = so.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
    expect(message).toContain('authModes');
    expect(message).not.toContain(BAD_MODE);
  });

  it('deleting a TA removes its finalizer; no credential appears in events, status or logs', async () => {
    await deleteObject(kc, soRef('so-bad'));
    await deleteObject(kc, taRef('ta-bad'));
    await waitFor(async () => (await readObject(kc, taRef('ta-bad'))) === undefined, { description: 'ta-bad deleted', timeoutMs: 60_000 });

    // The Event is written after the finalizer goes (the recorder sends asynchronously): wait for it.
    const wanted = ['TriggerAuthenticationAdded', 'TriggerAuthenticationDeleted', 'KEDAScalerFailed'];
    const events = await waitFor(
      async () => {
        const list = await kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: ns.name });
        return wanted.every((r) => list.items.some((e) => e.reason === r)) ? list : undefined;
      },
      { description: `Events ${wanted.join(', ')}`, timeoutMs: 30_000 },
    );
    const reasons = events.items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(wanted));

    const secrets = [PW1, PW2, API_KEY, BAD_MODE];
    const everything = [
      JSON.stringify(events.items),
      JSON.stringify(await readObject(kc, soRef('so-basic'))),
      JSON.stringify(await readObject(kc, soRef('so-key'))),
      JSON.stringify(await readObject(kc, taRef('ta-basic'))),
      readFileSync(controller[0].process.logFile, 'utf8'),
    ].join('\n');
    for (const s of secrets) expect(everything.includes(s) ? `${s} leaked` : 'clean').toBe('clean');

    // Clean up while the controller runs, so the finalizers come off.
    for (const name of ['so-basic', 'so-key']) await deleteObject(kc, soRef(name));
    await deleteObject(kc, taRef('ta-basic'));
    await deleteObject(kc, ctaRef(`cta-${ns.name}`));
    await waitFor(async () => (await readObject(kc, ctaRef(`cta-${ns.name}`))) === undefined, { description: 'CTA deleted', timeoutMs: 60_000 });
    await waitFor(async () => (await readObject(kc, taRef('ta-basic'))) === undefined, { description: 'TA deleted', timeoutMs: 60_000 });
  });
});

describe('KEDA_RESTRICT_SECRET_ACCESS', () => {
  beforeAll(async () => {
    await stopApps(controller);
    controller = await startApps(readClusterInfo().kubeconfig, [
      {
        name: 'controller',
        args: [`--watch-namespace=${ns.name}`, `--cluster-object-namespace=${clusterNs}`, '--restrict-secret-access', '--log-level=debug'],
      },
    ]);
  });

  it('reads TA secrets from the cluster object namespace and skips Secret env of a workload outside it', async () => {
    // Same Secret name in both namespaces: only the cluster object namespace's one opens the door.
    await apply(kc, secret('r-creds', { key: KEY3 }), clusterNs);
    await apply(kc, secret('r-creds', { key: WRONG_KEY }), ns.name);
    // The header name would come from a Secret of the workload namespace: skipped, so the default X-API-KEY stays.
    await apply(kc, secret('hdr', { name: 'X-Leaked-Header' }), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web-r' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web-r' } },
          template: {
            metadata: { labels: { app: 'web-r' } },
            spec: {
              containers: [
                { name: 'main', image: 'registry.invalid/x:1', env: [{ name: 'KEY_HEADER', valueFrom: { secretKeyRef: { name: 'hdr', key: 'name' } } }] },
              ],
            },
          },
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'ta-r' },
        spec: {
          env: [{ parameter: 'keyParamName', name: 'KEY_HEADER' }],
          secretTargetRef: [{ parameter: 'apiKey', name: 'r-creds', key: 'key' }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(kc, scaledObject('so-r', '/restricted', { name: 'ta-r' }, { authModes: 'apiKey' }, 'web-r') as k8s.KubernetesObject, ns.name);
    await waitForCondition(kc, soRef('so-r'), 'Ready');
    await waitFor(async () => counts.restrictedOk >= 2, { description: 'requests with the cluster-namespace key in X-API-KEY', timeoutMs: 60_000 });
    expect(counts.restrictedRejected).toBe(0);

    const log = readFileSync(controller[0].process.logFile, 'utf8');
    for (const s of [KEY3, WRONG_KEY]) expect(log.includes(s) ? `${s} leaked` : 'clean').toBe('clean');
    await deleteObject(kc, soRef('so-r'));
    await deleteObject(kc, taRef('ta-r'));
    await waitFor(async () => (await readObject(kc, taRef('ta-r'))) === undefined, { description: 'ta-r deleted', timeoutMs: 60_000 });
  });
});
