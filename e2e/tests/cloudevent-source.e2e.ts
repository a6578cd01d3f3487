import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import {
  apply,
  createTestNamespace,
  deleteObject,
  deleteTestNamespace,
  deploymentManifest,
  k8s,
  kubeConfig,
  kubectl,
  readClusterInfo,
  readObject,
  useTestNamespace,
  waitFor,
  waitForCondition,
} from '../src/testing';

/**
 * CloudEventSource and ClusterCloudEventSource (eventing.keda.sh/v1alpha1) against the real control
 * plane and the controller running with the chart's RBAC: an HTTP sink on loopback receives KEDA's
 * CloudEvents (structured JSON mode) for ScaledObject and TriggerAuthentication lifecycles; the
 * include/exclude filters hold; a sink that is down for 20 s gets the queued events once it is back,
 * while scaling goes on; a ClusterCloudEventSource gets the events of every watched namespace.
 */
jest.setTimeout(300_000);

const ns = useTestNamespace('ces');
const kc = kubeConfig();
let ns2 = '';
let controller: RunningApp[] = [];
let metricsPort = 0;

interface Received {
  path: string;
  contentType: string;
  sasKey?: string;
  event: {
    specversion: string;
    id: string;
    source: string;
    subject: string;
    type: string;
    time: string;
    datacontenttype: string;
    data: { reason: string; message: string };
  };
}
const received: Received[] = [];
const EVENT_GRID_KEY = 'aeg-key-3f9c1d7e';
const sink = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      const sasKey = req.headers['aeg-sas-key'] as string | undefined;
      // Event Grid's publish API: 401 without the topic's access key.
      if (req.url === '/api/events' && sasKey !== EVENT_GRID_KEY) return void res.writeHead(401).end();
      received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), sasKey, event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['event'] });
    } catch {
      // not JSON: not counted
    }
    // A body the controller must never echo anywhere.
    res.writeHead(200, { 'content-type': 'text/plain' }).end('SINK-BODY-MARKER-55aa');
  });
});
let sinkPort = 0;
const startSink = (port: number) => new Promise<void>((r) => sink.listen(port, '127.0.0.1', r));
const stopSink = () =>
  new Promise<void>((r) => {
    sink.close(() => r());
    sink.closeAllConnections();
  });

/** A metrics API for the ScaledObject that must keep scaling while the sink is down. */
const metricsApi = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: 5 })));
let metricsApiPort = 0;

beforeAll(async () => {
  await startSink(0);
  sinkPort = (sink.address() as AddressInfo).port;
  await new Promise<void>((r) => metricsApi.listen(0, '127.0.0.1', r));
  metricsApiPort = (metricsApi.address() as AddressInfo).port;
  ns2 = await createTestNamespace('ces2');
  metricsPort = await freePort();
  controller = await startApps(readClusterInfo().kubeconfig, [
    { name: 'controller', args: [`--watch-namespace=${ns.name},${ns2}`, `--metrics-bind-address=127.0.0.1:${metricsPort}`, '--enable-prometheus-metrics=true'] },
  ]);
});

afterAll(async () => {
  await kubectl(['delete', 'clustercloudeventsource', `cces-${ns.name}`, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  await kubectl(['delete', 'clustertriggerauthentication', `cta-${ns.name}`, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  await stopApps(controller);
  if (sink.listening) await stopSink();
  metricsApi.close();
  if (ns2) await deleteTestNamespace(ns2);
});

const uri = (path: string) => `http://127.0.0.1:${sinkPort}${path}`;
const cloudEventSource = (name: string, path: string, eventSubscription?: Record<string, string[]>) => ({
  apiVersion: 'eventing.keda.sh/v1alpha1',
  kind: 'CloudEventSource',
  metadata: { name },
  spec: { destination: { http: { uri: uri(path) } }, ...(eventSubscription ? { eventSubscription } : {}) },
});
const cesRef = (name: string) => ({ apiVersion: 'eventing.keda.sh/v1alpha1', kind: 'CloudEventSource', name, namespace: ns.name });
const soRef = (name: string, namespace = ns.name) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name, namespace });

function scaledObject(name: string, target: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name },
    spec: {
      scaleTargetRef: { name: target },
      pollingInterval: 1,
      minReplicaCount: 0,
      maxReplicaCount: 3,
      triggers: [
        { type: 'metrics-api', metadata: { url: `http://127.0.0.1:${metricsApiPort}/value`, valueLocation: 'value', targetValue: '10', activationTargetValue: '1' } },
      ],
      ...extra,
    },
  } as k8s.KubernetesObject;
}

const triggerAuthentication = (name: string, envName: string) =>
  ({ apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name }, spec: { env: [{ parameter: 'p', name: envName }] } }) as k8s.KubernetesObject;

const at = (path: string) => received.filter((r) => r.path === path);
const typesFor = (path: string, subject: string) => at(path).filter((r) => r.event.subject === subject).map((r) => r.event.type);
const firstOccurrences = (types: string[]) => [...new Set(types)];
const subjectOf = (namespace: string, kind: string, name: string, cluster = 'kubernetes-default') => `/${cluster}/${namespace}/${kind}/${name}`;

async function annotate(name: string, annotation: string): Promise<void> {
  await kubectl(['annotate', 'scaledobject', name, '-n', ns.name, '--overwrite', annotation]);
}

async function metricsText(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
}

describe('CloudEventSource', () => {
  it('sends KEDA CloudEvents for a ScaledObject and a TriggerAuthentication lifecycle, with the include/exclude filters', async () => {
    await apply(kc, cloudEventSource('ces-all', '/all') as k8s.KubernetesObject, ns.name);
    await apply(kc, cloudEventSource('ces-inc', '/inc', { includedEventTypes: ['keda.scaledobject.failed.v1'] }) as k8s.KubernetesObject, ns.name);
    await apply(
      kc,
      cloudEventSource('ces-exc', '/exc', { excludedEventTypes: ['keda.scaledobject.ready.v1', 'keda.authentication.triggerauthentication.updated.v1'] }) as k8s.KubernetesObject,
      ns.name,
    );
    for (const name of ['ces-all', 'ces-inc', 'ces-exc']) await waitForCondition(kc, cesRef(name), 'Active', 'True');
    const ces = await readObject<k8s.KubernetesObject & { status?: { conditions?: { type: string; reason?: string; message?: string }[] } }>(kc, cesRef('ces-all'));
    expect(ces?.status?.conditions).toEqual([
      { type: 'Active', status: 'True', reason: 'CloudEventSourceActive', message: 'Is configured to send events to the configured destination' },
    ]);
    // KEDA's printer columns: Active only.
    expect(await kubectl(['get', 'cloudeventsource', 'ces-all', '-n', ns.name])).toMatch(/^NAME\s+ACTIVE\s*\nces-all\s+True\s*$/);

    // ScaledObject: created (ready), paused, unpaused, deleted (removed); another one failing.
    await apply(kc, deploymentManifest('web', 1), ns.name);
    await apply(kc, scaledObject('so1', 'web', { minReplicaCount: 1 }), ns.name);
    await waitForCondition(kc, soRef('so1'), 'Ready');
    const so1 = subjectOf(ns.name, 'scaledobject', 'so1');
    await waitFor(() => typesFor('/all', so1).includes('keda.scaledobject.ready.v1'), { timeoutMs: 30_000, description: 'ready.v1 at the sink' });
    await annotate('so1', 'autoscaling.keda.sh/paused=true');
    await waitFor(() => typesFor('/all', so1).includes('keda.scaledobject.paused.v1'), { timeoutMs: 30_000, description: 'paused.v1 at the sink' });
    await annotate('so1', 'autoscaling.keda.sh/paused-');
    await waitFor(() => typesFor('/all', so1).includes('keda.scaledobject.unpaused.v1'), { timeoutMs: 30_000, description: 'unpaused.v1 at the sink' });
    await apply(kc, scaledObject('so-bad', 'missing-target'), ns.name);
    const soBad = subjectOf(ns.name, 'scaledobject', 'so-bad');
    await waitFor(() => typesFor('/all', soBad).includes('keda.scaledobject.failed.v1'), { timeoutMs: 30_000, description: 'failed.v1 at the sink' });
    await deleteObject(kc, { ...soRef('so1') });
    await waitFor(() => typesFor('/all', so1).includes('keda.scaledobject.removed.v1'), { timeoutMs: 60_000, description: 'removed.v1 at the sink' });

    // TriggerAuthentication: created, updated, deleted.
    await apply(kc, triggerAuthentication('ta1', 'A'), ns.name);
    const ta1 = subjectOf(ns.name, 'triggerauthentication', 'ta1');
    await waitFor(() => typesFor('/all', ta1).includes('keda.authentication.triggerauthentication.created.v1'), { timeoutMs: 30_000, description: 'ta created.v1' });
    await apply(kc, triggerAuthentication('ta1', 'B'), ns.name);
    await waitFor(() => typesFor('/all', ta1).includes('keda.authentication.triggerauthentication.updated.v1'), { timeoutMs: 30_000, description: 'ta updated.v1' });
    await deleteObject(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', name: 'ta1', namespace: ns.name });
    await waitFor(() => typesFor('/all', ta1).includes('keda.authentication.triggerauthentication.removed.v1'), { timeoutMs: 60_000, description: 'ta removed.v1' });

    // Exactly KEDA's types, in order.
    expect(firstOccurrences(typesFor('/all', so1))).toEqual([
      'keda.scaledobject.ready.v1',
      'keda.scaledobject.paused.v1',
      'keda.scaledobject.unpaused.v1',
      'keda.scaledobject.removed.v1',
    ]);
    expect(firstOccurrences(typesFor('/all', soBad))).toEqual(['keda.scaledobject.failed.v1']);
    expect(firstOccurrences(typesFor('/all', ta1))).toEqual([
      'keda.authentication.triggerauthentication.created.v1',
      'keda.authentication.triggerauthentication.updated.v1',
      'keda.authentication.triggerauthentication.removed.v1',
    ]);

    // KEDA's attributes, structured mode.
    const ready = at('/all').find((r) => r.event.subject === so1 && r.event.type === 'keda.scaledobject.ready.v1');
    expect(ready?.contentType).toBe('application/cloudevents+json; charset=utf-8');
    expect(ready?.event).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      source: `/kubernetes-default/${ns.name}/keda`,
      subject: so1,
      type: 'keda.scaledobject.ready.v1',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      datacontenttype: 'application/json',
      data: { reason: 'ScaledObjectReady', message: 'ScaledObject is ready for scaling' },
    });
    const removed = at('/all').find((r) => r.event.subject === so1 && r.event.type === 'keda.scaledobject.removed.v1');
    expect(removed?.event.data).toEqual({ reason: 'ScaledObjectDeleted', message: 'ScaledObject was deleted' });
    const paused = at('/all').find((r) => r.event.subject === so1 && r.event.type === 'keda.scaledobject.paused.v1');
    expect(paused?.event.data).toEqual({ reason: 'ScaledObjectPaused', message: 'ScaledObject is paused' });
    expect(new Set(at('/all').map((r) => r.event.id)).size).toBe(at('/all').length);
    // Only lifecycle events: no scaler/scale-loop reasons.
    expect(at('/all').every((r) => r.event.type.startsWith('keda.'))).toBe(true);

    // Filters: only failed.v1 at /inc; everything but the excluded at /exc.
    await waitFor(() => at('/inc').length > 0 && at('/exc').some((r) => r.event.subject === ta1 && r.event.type.endsWith('removed.v1')), { timeoutMs: 30_000, description: 'filtered sinks' });
    expect(new Set(at('/inc').map((r) => r.event.type))).toEqual(new Set(['keda.scaledobject.failed.v1']));
    const excTypes = new Set(at('/exc').map((r) => r.event.type));
    expect(excTypes.has('keda.scaledobject.ready.v1')).toBe(false);
    expect(excTypes.has('keda.authentication.triggerauthentication.updated.v1')).toBe(false);
    for (const t of ['keda.scaledobject.paused.v1', 'keda.scaledobject.unpaused.v1', 'keda.scaledobject.removed.v1', 'keda.scaledobject.failed.v1', 'keda.authentication.triggerauthentication.created.v1']) {
      expect(excTypes.has(t)).toBe(true);
    }

    // The sink's response body is never echoed into the source's status or Events.
    const statusText = await kubectl(['get', 'cloudeventsources', '-n', ns.name, '-o', 'json']);
    expect(statusText).not.toContain('SINK-BODY-MARKER');
    expect(await kubectl(['get', 'events', '-n', ns.name, '-o', 'json'])).not.toContain('SINK-BODY-MARKER');
  });

  it('a sink down for 20 s gets the queued events when it is back, and scaling goes on meanwhile', async () => {
    await stopSink();
    const downAt = Date.now();
    await apply(kc, deploymentManifest('scale-me', 0), ns.name);
    await apply(kc, scaledObject('so-down', 'scale-me'), ns.name);
    const soDown = subjectOf(ns.name, 'scaledobject', 'so-down');
    // Scaling is unaffected: the target is activated from 0 while every sink is unreachable.
    await waitFor(
      async () => {
        const d = await readObject<k8s.V1Deployment>(kc, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scale-me', namespace: ns.name });
        return (d?.spec?.replicas ?? 0) >= 1;
      },
      { timeoutMs: 20_000, description: 'scale-me activated while the sink is down' },
    );
    await waitForCondition(kc, soRef('so-down'), 'Ready');
    // Failures show in the status: Active=False, KEDA's reason and message.
    const failed = await waitForCondition<k8s.KubernetesObject & { status?: { conditions?: { type: string; reason?: string; message?: string }[] } }>(
      kc,
      cesRef('ces-all'),
      'Active',
      'False',
      30_000,
    );
    expect(failed.status?.conditions?.find((c) => c.type === 'Active')).toMatchObject({ reason: 'CloudEventSourceFailed', message: 'Failed to send events to the configured destination' });
    expect(await metricsText()).toMatch(new RegExp(`keda_cloudeventsource_events_queued\\{namespace="${ns.name}"\\} [1-9]`));
    expect(typesFor('/all', soDown)).toEqual([]);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - downAt))));

    await startSink(sinkPort);
    await waitFor(() => typesFor('/all', soDown).includes('keda.scaledobject.ready.v1'), { timeoutMs: 30_000, description: 'the queued ready.v1 delivered after the sink is back' });
    await waitForCondition(kc, cesRef('ces-all'), 'Active', 'True', 30_000);
    // Each event delivered once (no id twice), and the queue drained.
    expect(new Set(at('/all').map((r) => r.event.id)).size).toBe(at('/all').length);
    await waitFor(async () => new RegExp(`keda_cloudeventsource_events_queued\\{namespace="${ns.name}"\\} 0`).test(await metricsText()), { timeoutMs: 30_000, description: 'queue drained' });
    const text = await metricsText();
    expect(text).toMatch(new RegExp(`keda_cloudeventsource_events_emitted_total\\{namespace="${ns.name}",cloudeventsource="ces-all",eventsink="http",state="emitted"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`keda_resource_registered_total\\{type="cloudevent_source",namespace="${ns.name}"\\} 3`));
  });
});

describe('azureEventGridTopic', () => {
  it("publishes to a loopback server implementing Event Grid's API with the access key from the TriggerAuthentication, which appears nowhere else", async () => {
    await apply(kc, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'event-grid' }, stringData: { key: EVENT_GRID_KEY } } as k8s.KubernetesObject, ns.name);
    await apply(
      kc,
      { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'event-grid-key' }, spec: { secretTargetRef: [{ parameter: 'accessKey', name: 'event-grid', key: 'key' }] } } as k8s.KubernetesObject,
      ns.name,
    );
    await apply(
      kc,
      {
        apiVersion: 'eventing.keda.sh/v1alpha1',
        kind: 'CloudEventSource',
        metadata: { name: 'ces-grid' },
        spec: {
          destination: { azureEventGridTopic: { endpoint: uri('/api/events') } },
          authenticationRef: { name: 'event-grid-key' },
          eventSubscription: { includedEventTypes: ['keda.authentication.triggerauthentication.created.v1'] },
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await waitForCondition(kc, cesRef('ces-grid'), 'Active', 'True');
    await apply(kc, triggerAuthentication('ta-grid', 'G'), ns.name);
    const subject = subjectOf(ns.name, 'triggerauthentication', 'ta-grid');
    await waitFor(() => at('/api/events').some((r) => r.event.subject === subject), { timeoutMs: 30_000, description: 'event at the Event Grid endpoint' });
    const got = at('/api/events').find((r) => r.event.subject === subject);
    expect(got).toMatchObject({ sasKey: EVENT_GRID_KEY, contentType: 'application/cloudevents+json; charset=utf-8', event: { type: 'keda.authentication.triggerauthentication.created.v1', specversion: '1.0' } });
    expect(await kubectl(['get', 'cloudeventsources', '-n', ns.name, '-o', 'json'])).not.toContain(EVENT_GRID_KEY);
    expect(await kubectl(['get', 'events', '-n', ns.name, '-o', 'json'])).not.toContain(EVENT_GRID_KEY);
    expect(readFileSync(controller[0].process.logFile, 'utf8')).not.toContain(EVENT_GRID_KEY);
  });
});

describe('ClusterCloudEventSource', () => {
  it('gets the events of every watched namespace and cluster-scoped objects, with its own clusterName', async () => {
    const name = `cces-${ns.name}`;
    await apply(kc, {
      apiVersion: 'eventing.keda.sh/v1alpha1',
      kind: 'ClusterCloudEventSource',
      metadata: { name },
      spec: {
        clusterName: 'e2e-cluster',
        destination: { http: { uri: uri('/cluster') } },
        eventSubscription: { includedEventTypes: ['keda.authentication.triggerauthentication.created.v1', 'keda.authentication.clustertriggerauthentication.created.v1'] },
      },
    } as k8s.KubernetesObject);
    await waitForCondition(kc, { apiVersion: 'eventing.keda.sh/v1alpha1', kind: 'ClusterCloudEventSource', name }, 'Active', 'True');

    await apply(kc, triggerAuthentication('ta-a', 'A'), ns.name);
    await apply(kc, triggerAuthentication('ta-b', 'B'), ns2);
    await apply(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'ClusterTriggerAuthentication', metadata: { name: `cta-${ns.name}` }, spec: { env: [{ parameter: 'p', name: 'C' }] } } as k8s.KubernetesObject);
    const mine = () => at('/cluster').filter((r) => [ns.name, ns2, ''].some((n) => r.event.source === `/e2e-cluster/${n}/keda`));
    const want = [
      { source: `/e2e-cluster/${ns.name}/keda`, subject: subjectOf(ns.name, 'triggerauthentication', 'ta-a', 'e2e-cluster'), type: 'keda.authentication.triggerauthentication.created.v1' },
      { source: `/e2e-cluster/${ns2}/keda`, subject: subjectOf(ns2, 'triggerauthentication', 'ta-b', 'e2e-cluster'), type: 'keda.authentication.triggerauthentication.created.v1' },
      { source: '/e2e-cluster//keda', subject: `/e2e-cluster//clustertriggerauthentication/cta-${ns.name}`, type: 'keda.authentication.clustertriggerauthentication.created.v1' },
    ];
    await waitFor(
      () => want.every((w) => mine().some((r) => r.event.subject === w.subject && r.event.type === w.type && r.event.source === w.source)),
      { timeoutMs: 30_000, description: 'created events of both namespaces and the cluster' },
    );
    // The include filter holds (nothing but created), and the namespaced sources never got ns2's events.
    expect(mine().filter((r) => r.event.subject.includes(ns.name) || r.event.subject.includes(ns2)).every((r) => r.event.type.endsWith('.created.v1'))).toBe(true);
    expect(received.filter((r) => r.path !== '/cluster').some((r) => r.event.subject.includes(`/${ns2}/`))).toBe(false);
    expect(received.filter((r) => r.path !== '/cluster').some((r) => r.event.type.includes('clustertriggerauthentication'))).toBe(false);

    // A ScaledObject in the second namespace is not a created event: filtered out.
    await apply(kc, deploymentManifest('web2', 1), ns2);
    await apply(kc, scaledObject('so2', 'web2', { minReplicaCount: 1 }), ns2);
    await waitForCondition(kc, soRef('so2', ns2), 'Ready');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(mine().some((r) => r.event.subject.includes('/scaledobject/'))).toBe(false);
  });
});
