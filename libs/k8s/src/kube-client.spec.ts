import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, WriteRefusedError } from './kube-client';

describe('KubeClient write fence and User-Agent', () => {
  const seen: { method?: string; url?: string; agent?: string }[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, agent: req.headers['user-agent'] });
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"kind":"Status"}');
  });
  let kc: KubeConfig;

  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen.length = 0));

  it('sends reads always and refuses writes, unsent, while refuseWrite names a reason', async () => {
    let reason: string | undefined = 'not the leader';
    const client = new KubeClient(kc, { refuseWrite: () => reason, userAgent: 'keda-ts-controller/pod-a' });
    await client.get('/api/v1/namespaces');
    for (const write of [() => client.patch('/x', {}), () => client.replace('/x', {}), () => client.create('/x', {}), () => client.delete('/x')]) {
      await expect(write()).rejects.toThrow(WriteRefusedError);
    }
    await expect(client.patch('/apis/apps/v1/namespaces/n/deployments/d/scale', {})).rejects.toThrow(
      'PATCH /apis/apps/v1/namespaces/n/deployments/d/scale not sent: not the leader',
    );
    expect(seen).toEqual([{ method: 'GET', url: '/api/v1/namespaces', agent: 'keda-ts-controller/pod-a' }]);
    reason = undefined;
    await client.patch('/x', {});
    expect(seen.map((s) => s.method)).toEqual(['GET', 'PATCH']);
    client.close();
  });
});
