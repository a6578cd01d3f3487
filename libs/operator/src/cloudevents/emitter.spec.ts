import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from '@keda-ts/k8s';
import { createLogger } from '@keda-ts/runtime';
import { CloudEventEmitter } from './emitter';

const logger = createLogger({ component: 'test', version: '0', level: 'error' });

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

type Upsert = (kind: string, obj: unknown, old: unknown) => void;

describe('CloudEventEmitter routing', () => {
  const patches: { path: string; body: unknown }[] = [];
  const client = { patch: async (path: string, body: unknown) => void patches.push({ path, body }) } as unknown as KubeClient;
  const emitted: string[] = [];
  const metrics = {
    cloudEventEmitted: (ns: string, name: string, sink: string, state: string) => emitted.push(`${ns}/${name}/${sink}/${state}`),
    cloudEventQueued: () => undefined,
  };

  it('sends namespaced sources only their namespace, cluster sources everything; filters and egress apply', async () => {
    const emitter = new CloudEventEmitter({ kubeConfig: kubeConfig(), client, logger, metrics });
    const upsert = (emitter as unknown as { upsert: Upsert }).upsert.bind(emitter);
    // Sinks on a closed loopback port: enqueued, then failing (nothing listens), which is fine here.
    const dest = (path: string) => ({ destination: { http: { uri: `http://127.0.0.1:9${path}` } } });
    upsert('CloudEventSource', { metadata: { name: 'a', namespace: 'ns1' }, spec: dest('/a') }, undefined);
    upsert('CloudEventSource', { metadata: { name: 'f', namespace: 'ns1' }, spec: { ...dest('/f'), eventSubscription: { includedEventTypes: ['keda.scaledobject.failed.v1'] } } }, undefined);
    upsert('ClusterCloudEventSource', { metadata: { name: 'c' }, spec: dest('/c') }, undefined);
    upsert('CloudEventSource', { metadata: { name: 'bad', namespace: 'ns1' }, spec: { destination: { http: { uri: 'http://169.254.169.254/' } } } }, undefined);
    await new Promise((r) => setImmediate(r));
    const statusOf = (name: string) =>
      patches.filter((p) => p.path.endsWith(`/${name}/status`)).map((p) => (p.body as { status: { conditions: { status: string; reason: string }[] } }).status.conditions[0]);
    expect(statusOf('a')).toEqual([expect.objectContaining({ status: 'True', reason: 'CloudEventSourceActive' })]);
    expect(statusOf('bad')).toEqual([expect.objectContaining({ status: 'False', reason: 'CloudEventSourceFailed' })]);
    expect(patches.find((p) => p.path.endsWith('/c/status'))?.path).toBe('/apis/eventing.keda.sh/v1alpha1/clustercloudeventsources/c/status');

    const sinks = (emitter as unknown as { entries: Map<string, { sink?: { queued: number } }> }).entries;
    const queued = () => Object.fromEntries([...sinks].map(([k, e]) => [k, e.sink?.queued ?? -1]));
    const so = (ns: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'so', namespace: ns } });
    emitter.observe(so('ns1'), { type: 'Normal', reason: 'ScaledObjectReady', note: 'ready' });
    emitter.observe(so('ns2'), { type: 'Warning', reason: 'ScaledObjectCheckFailed', note: 'x' });
    emitter.observe(so('ns1'), { type: 'Warning', reason: 'KEDAScalerFailed', note: 'not a CloudEvent' });
    const q = queued();
    expect(q['CloudEventSource/ns1/a']).toBe(1);
    expect(q['CloudEventSource/ns1/f']).toBe(0);
    expect(q['ClusterCloudEventSource//c']).toBe(2);
    // The refused source never queues: each event is a failure at once.
    expect(q['CloudEventSource/ns1/bad']).toBe(0);
    expect(emitted).toEqual(['ns1/bad/http/failed']);
    await emitter.stop();
  });

  it('bounds the events queued in all sinks together', async () => {
    const failed: string[] = [];
    const emitter = new CloudEventEmitter({
      kubeConfig: kubeConfig(),
      client,
      logger,
      maxTotalQueued: 2,
      metrics: { cloudEventEmitted: (_ns, name, _sink, state) => void (state === 'failed' && failed.push(name)), cloudEventQueued: () => undefined },
    });
    const upsert = (emitter as unknown as { upsert: Upsert }).upsert.bind(emitter);
    for (const name of ['x', 'y', 'z']) upsert('CloudEventSource', { metadata: { name, namespace: 'ns1' }, spec: { destination: { http: { uri: 'http://127.0.0.1:9/' } } } }, undefined);
    emitter.observe({ kind: 'ScaledObject', metadata: { name: 'so', namespace: 'ns1' } }, { type: 'Normal', reason: 'ScaledObjectReady', note: 'r' });
    expect(failed).toEqual(['z']);
    await emitter.stop();
  });
});
