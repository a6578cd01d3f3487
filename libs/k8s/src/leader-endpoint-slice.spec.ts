import { createLogger } from '@keda-ts/runtime';
import { KubeApiError, type KubeClient } from './kube-client';
import {
  HOLDER_ANNOTATION,
  LeaderEndpointSlice,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  checkLeaderEndpointSpec,
  desiredLeaderEndpointSlice,
  endpointSliceDrift,
  mergeOver,
  stepDownEdit,
  type EndpointSlice,
  type LeaderEndpointSpec,
  type LeaderEndpointState,
} from './leader-endpoint-slice';

const spec: LeaderEndpointSpec = {
  namespace: 'keda',
  serviceName: 'keda-operator',
  podIP: '10.0.0.7',
  podName: 'keda-operator-abc',
  identity: 'keda-operator-abc_1234',
  ports: [{ name: 'metricsservice', port: 9666, appProtocol: 'grpc' }],
};

describe('desiredLeaderEndpointSlice', () => {
  it.each<[LeaderEndpointState, { ready: boolean; serving: boolean; terminating: boolean }]>([
    ['serving', { ready: true, serving: true, terminating: false }],
    ['not-ready', { ready: false, serving: false, terminating: false }],
    ['terminating', { ready: false, serving: false, terminating: true }],
  ])('%s: the endpoint conditions are %o', (state, conditions) => {
    const slice = desiredLeaderEndpointSlice(spec, state);
    expect(slice.endpoints).toEqual([
      { addresses: ['10.0.0.7'], conditions, targetRef: { kind: 'Pod', name: 'keda-operator-abc', namespace: 'keda' } },
    ]);
  });

  it('names the Service, the manager and the holder; carries the named ports', () => {
    const slice = desiredLeaderEndpointSlice(spec, 'serving', { uid: 'svc-uid' });
    expect(slice.metadata).toEqual({
      name: 'keda-operator-leader',
      namespace: 'keda',
      labels: { [SERVICE_NAME_LABEL]: 'keda-operator', [MANAGED_BY_LABEL]: 'keda-ts-controller' },
      annotations: { [HOLDER_ANNOTATION]: 'keda-operator-abc_1234' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'keda-operator', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
    });
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'metricsservice', port: 9666, protocol: 'TCP', appProtocol: 'grpc' }]);
  });

  it.each([
    ['10.0.0.7', 'IPv4'],
    ['fd00::7', 'IPv6'],
  ])('address type of %s is %s', (podIP, addressType) => {
    expect(desiredLeaderEndpointSlice({ ...spec, podIP }, 'serving').addressType).toBe(addressType);
  });

  it('has no targetRef without a pod name, no owner without the Service, and a custom slice name and manager', () => {
    const slice = desiredLeaderEndpointSlice({ ...spec, podName: undefined, sliceName: 'x', managedBy: 'me' }, 'serving');
    expect(slice.endpoints?.[0].targetRef).toBeUndefined();
    expect(slice.metadata.ownerReferences).toBeUndefined();
    expect(slice.metadata.name).toBe('x');
    expect(slice.metadata.labels?.[MANAGED_BY_LABEL]).toBe('me');
  });
});

describe('checkLeaderEndpointSpec', () => {
  it.each<[string, Partial<LeaderEndpointSpec>, string | undefined]>([
    ['valid', {}, undefined],
    ['no IP', { podIP: '' }, 'the pod IP "" is not an IP address'],
    ['a name for an IP', { podIP: 'keda-operator' }, 'is not an IP address'],
    ['no Service', { serviceName: '' }, 'the Service name is empty'],
    ['no ports', { ports: [] }, 'no port to publish'],
    ['port 0', { ports: [{ name: 'metricsservice', port: 0 }] }, 'port metricsservice: 0 is not a port number'],
    ['unnamed port', { ports: [{ port: 9666 }] }, 'a port without a name'],
  ])('%s', (_name, change, problem) => {
    const problems = checkLeaderEndpointSpec({ ...spec, ...change });
    if (problem === undefined) expect(problems).toEqual([]);
    else expect(problems.join('; ')).toContain(problem);
  });
});

/** The slice as the API server returns it: defaults filled, metadata added. */
function stored(slice: EndpointSlice, resourceVersion = '5'): EndpointSlice {
  const copy = structuredClone(slice);
  copy.metadata.resourceVersion = resourceVersion;
  copy.metadata.uid = 'slice-uid';
  copy.metadata.labels = { ...copy.metadata.labels, 'other/label': 'kept' };
  return copy;
}

const endpointOf = (s: EndpointSlice) => (s.endpoints ?? [])[0];

describe('endpointSliceDrift', () => {
  const desired = desiredLeaderEndpointSlice(spec, 'serving', { uid: 'svc-uid' });
  const base = stored(desired);
  it.each<[string, (s: EndpointSlice) => void, string[]]>([
    ['in sync (server defaults and foreign labels do not count)', () => undefined, []],
    ['conditions left null mean ready', (s) => (s.endpoints = [{ ...endpointOf(s), conditions: {} }]), []],
    ['another address', (s) => (s.endpoints = [{ ...endpointOf(s), addresses: ['10.0.0.9'] }]), ['endpoints']],
    ['not ready', (s) => (s.endpoints = [{ ...endpointOf(s), conditions: { ready: false, serving: false, terminating: false } }]), ['endpoints']],
    ['no endpoints', (s) => (s.endpoints = null), ['endpoints']],
    ['wrong port', (s) => (s.ports = [{ name: 'metricsservice', port: 1, protocol: 'TCP', appProtocol: 'grpc' }]), ['ports']],
    ['port renamed', (s) => (s.ports = [{ name: 'grpc', port: 9666, protocol: 'TCP', appProtocol: 'grpc' }]), ['ports']],
    ['service label changed', (s) => (s.metadata.labels = { ...s.metadata.labels, [SERVICE_NAME_LABEL]: 'other' }), [`label ${SERVICE_NAME_LABEL}`]],
    ['managed-by removed', (s) => delete s.metadata.labels?.[MANAGED_BY_LABEL], [`label ${MANAGED_BY_LABEL}`]],
    ['another holder', (s) => (s.metadata.annotations = { ...s.metadata.annotations, [HOLDER_ANNOTATION]: 'b' }), [`annotation ${HOLDER_ANNOTATION}`]],
    ['no owner', (s) => delete s.metadata.ownerReferences, ['ownerReferences']],
  ])('%s', (_name, change, drift) => {
    const current = structuredClone(base);
    change(current);
    expect(endpointSliceDrift(current, desired)).toEqual(drift);
  });

  it('a successor writing its own slice over a dead leader fixes address, holder and target', () => {
    const dead = stored(desiredLeaderEndpointSlice({ ...spec, podIP: '10.0.0.8', podName: 'old', identity: 'old_1' }, 'serving', { uid: 'svc-uid' }));
    expect(endpointSliceDrift(dead, desired)).toEqual([`annotation ${HOLDER_ANNOTATION}`, 'endpoints']);
    const merged = mergeOver(dead, desired);
    expect(merged.metadata.resourceVersion).toBe('5');
    expect(merged.metadata.labels?.['other/label']).toBe('kept');
    expect(endpointSliceDrift(merged, desired)).toEqual([]);
  });
});

describe('stepDownEdit', () => {
  const mine = stored(desiredLeaderEndpointSlice(spec, 'serving', { uid: 'svc-uid' }));
  it.each<[string, EndpointSlice | undefined, 'not-ready' | 'terminating', { ready: boolean; terminating: boolean } | undefined]>([
    ['still mine, lost leadership: not ready', mine, 'not-ready', { ready: false, terminating: false }],
    ['still mine, shutting down: terminating', mine, 'terminating', { ready: false, terminating: true }],
    ['gone: nothing', undefined, 'not-ready', undefined],
    [
      "a successor's: untouched",
      stored(desiredLeaderEndpointSlice({ ...spec, podIP: '10.0.0.8', podName: 'new', identity: 'new_1' }, 'serving')),
      'terminating',
      undefined,
    ],
    ['my identity but another address (someone edited it): untouched', { ...mine, endpoints: [{ addresses: ['10.0.0.9'] }] }, 'not-ready', undefined],
    ['already not ready: no write', stored(desiredLeaderEndpointSlice(spec, 'not-ready')), 'not-ready', undefined],
  ])('%s', (_name, current, state, expected) => {
    const edit = stepDownEdit(current, spec, state);
    if (!expected) {
      expect(edit).toBeUndefined();
      return;
    }
    expect(edit?.metadata.resourceVersion).toBe('5');
    expect(edit?.metadata.ownerReferences).toEqual(mine.metadata.ownerReferences);
    expect(edit?.endpoints).toEqual([expect.objectContaining({ addresses: ['10.0.0.7'], conditions: { ready: false, serving: false, terminating: expected.terminating } })]);
  });
});

/** The API server's side of one EndpointSlice and one Service: compare-and-swap on resourceVersion. */
class FakeApi {
  slice?: EndpointSlice;
  version = 0;
  writes: string[] = [];
  readonly client = {
    get: async <T>(path: string): Promise<T> => {
      if (path.includes('/services/')) return { metadata: { uid: 'svc-uid' } } as T;
      if (!this.slice) throw new KubeApiError('GET', path, 404, 'NotFound', 'not found');
      return structuredClone(this.slice) as T;
    },
    create: async <T>(path: string, body: EndpointSlice): Promise<T> => {
      if (this.slice) throw new KubeApiError('POST', path, 409, 'AlreadyExists', 'exists');
      this.slice = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      this.writes.push('create');
      return structuredClone(this.slice) as T;
    },
    replace: async <T>(path: string, body: EndpointSlice): Promise<T> => {
      if (!this.slice) throw new KubeApiError('PUT', path, 404, 'NotFound', 'gone');
      if (body.metadata.resourceVersion !== this.slice.metadata.resourceVersion) throw new KubeApiError('PUT', path, 409, 'Conflict', 'modified');
      this.slice = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
      this.writes.push('update');
      return structuredClone(this.slice) as T;
    },
  };
}

function publisher(api: FakeApi, identity = spec.identity, podIP = spec.podIP) {
  return new LeaderEndpointSlice({
    client: api.client as unknown as KubeClient,
    kubeConfig: {} as never,
    logger: createLogger({ component: 'test', version: '0.0.0', destination: { write: () => undefined } }),
    spec: { ...spec, identity, podIP },
    watch: false,
    resyncMs: 20,
  });
}

const conditions = (api: FakeApi) => api.slice?.endpoints?.map((e) => `${e.addresses.join()} ${e.conditions?.ready ? 'ready' : 'not-ready'}${e.conditions?.terminating ? ' terminating' : ''}`);

describe('LeaderEndpointSlice', () => {
  it('publishes the leader, puts a changed or deleted slice right, and marks itself not ready when it stops leading', async () => {
    const api = new FakeApi();
    const p = publisher(api);
    await p.set(true);
    expect(conditions(api)).toEqual(['10.0.0.7 ready']);
    expect(api.slice?.metadata.ownerReferences?.[0].uid).toBe('svc-uid');
    // Someone changes it: the next resync puts it right.
    api.slice = { ...(api.slice as EndpointSlice), endpoints: [{ addresses: ['10.0.0.9'] }], metadata: { ...(api.slice as EndpointSlice).metadata, resourceVersion: String(++api.version) } };
    await new Promise((r) => setTimeout(r, 60));
    expect(conditions(api)).toEqual(['10.0.0.7 ready']);
    // Deleted: re-created.
    api.slice = undefined;
    await new Promise((r) => setTimeout(r, 60));
    expect(conditions(api)).toEqual(['10.0.0.7 ready']);
    await p.set(false);
    expect(conditions(api)).toEqual(['10.0.0.7 not-ready']);
    const writes = api.writes.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(api.writes.length).toBe(writes);
    await p.stop();
    expect(conditions(api)).toEqual(['10.0.0.7 not-ready terminating']);
  });

  it("never touches a successor's slice, and a standby never writes", async () => {
    const api = new FakeApi();
    const old = publisher(api);
    const next = publisher(api, 'successor_1', '10.0.0.8');
    const standby = publisher(api, 'standby_1', '10.0.0.9');
    await standby.set(false);
    await standby.stop();
    expect(api.writes).toEqual([]);
    await old.set(true);
    await next.set(true);
    expect(conditions(api)).toEqual(['10.0.0.8 ready']);
    await old.set(false);
    await old.stop();
    expect(conditions(api)).toEqual(['10.0.0.8 ready']);
    await next.stop();
    expect(conditions(api)).toEqual(['10.0.0.8 not-ready terminating']);
  });

  it('refuses a spec it cannot publish', () => {
    expect(() => publisher(new FakeApi(), spec.identity, 'not-an-ip')).toThrow("cannot publish the leader's EndpointSlice: the pod IP \"not-an-ip\" is not an IP address");
  });
});
