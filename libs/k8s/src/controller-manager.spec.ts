import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { createLogger } from '@keda-ts/runtime';
import { ControllerManager, type ManagedController } from './controller-manager';
import { collectionPath } from './informer-group';
import { KubeClient } from './kube-client';

const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
  users: [{ name: 'u', token: 't' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const logger = createLogger({ component: 'test', version: '0', destination: { write: () => undefined } });

function recording(name: string, log: string[], stop?: () => Promise<void>): ManagedController {
  return {
    name,
    start: () => void log.push(`${name}:start`),
    startLeading: () => void log.push(`${name}:lead`),
    stopLeading: () => void log.push(`${name}:follow`),
    stop: stop ?? (async () => void log.push(`${name}:stop`)),
  };
}

describe('collectionPath', () => {
  it.each([
    ['/apis/apps/v1', 'deployments', '', '/apis/apps/v1/deployments'],
    ['/apis/apps/v1', 'deployments', 'web', '/apis/apps/v1/namespaces/web/deployments'],
    ['/api/v1', 'secrets', 'keda', '/api/v1/namespaces/keda/secrets'],
  ])('%s %s in %j', (gv, resource, ns, want) => expect(collectionPath(gv, resource, ns)).toBe(want));
});

describe('InformerGroup', () => {
  const manager = () => new ControllerManager({ kubeConfig, client: new KubeClient(kubeConfig), logger });

  it('gives every controller the same informer for the same collection, and a new one for other selectors or transforms', () => {
    const { informers } = manager();
    const slim = (o: KubernetesObject) => o;
    const a = informers.watch({ path: '/api/v1/pods', labelSelector: 'x' });
    expect(informers.watch({ path: '/api/v1/pods', labelSelector: 'x' })).toBe(a);
    expect(informers.watch({ path: '/api/v1/pods', labelSelector: 'y' })).not.toBe(a);
    expect(informers.watch({ path: '/api/v1/pods', labelSelector: 'x', transform: slim })).not.toBe(a);
    expect(informers.watch({ path: '/api/v1/pods', labelSelector: 'x', transform: slim })).toBe(informers.watch({ path: '/api/v1/pods', labelSelector: 'x', transform: slim }));
    expect(informers.size).toBe(3);
  });

  it('watches one informer per namespace, and finds the one covering a namespace', () => {
    const { informers } = manager();
    const some = informers.namespaced(['a', 'b', 'a'], '/apis/apps/v1', 'deployments');
    expect(some.informers.map((i) => i.namespace)).toEqual(['a', 'b']);
    expect(some.covering('b')).toBe(some.informers[1].watched);
    expect(some.covering('c')).toBeUndefined();
    const all = informers.namespaced([''], '/apis/apps/v1', 'deployments');
    expect(all.covering('anything')).toBe(all.informers[0].watched);
    expect(all.get('x', 'y')).toBeUndefined();
    expect(all.hasSynced).toBe(false);
  });
});

describe('ControllerManager', () => {
  it('starts controllers, fans leadership out, and refuses writes while not leading', async () => {
    const log: string[] = [];
    const m = new ControllerManager({ kubeConfig, client: new KubeClient(kubeConfig), logger, standby: true });
    m.register(recording('a', log));
    m.register(recording('b', log));
    await m.start();
    expect(m.isLeading).toBe(false);
    expect(m.refuseWrite()).toBe('this replica is not the leader');
    m.startLeading();
    m.startLeading();
    expect(m.refuseWrite()).toBeUndefined();
    m.stopLeading();
    await m.stop();
    expect(log).toEqual(['a:start', 'b:start', 'a:lead', 'b:lead', 'a:follow', 'b:follow', 'a:stop', 'b:stop']);
    expect(m.isLeading).toBe(false);
    // After stop nothing leads again.
    m.startLeading();
    expect(m.isLeading).toBe(false);
  });

  it('drains the controllers together, and one that fails to stop does not keep the others running', async () => {
    const log: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const m = new ControllerManager({ kubeConfig, client: new KubeClient(kubeConfig), logger });
    m.register(recording('slow', log, () => slow.then(() => void log.push('slow:stop'))));
    m.register(recording('broken', log, async () => Promise.reject(new Error('boom'))));
    m.register(recording('fast', log));
    const stopped = m.stop();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['fast:stop']);
    release();
    await stopped;
    expect(log).toEqual(['fast:stop', 'slow:stop']);
  });
});
