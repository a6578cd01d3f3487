import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { authorize, DEFAULT_AUTHORIZATION_POLICY, identityOfPeer, sharedPairIdentity, type MethodClass, type PeerIdentity } from './authz';
import { DecisionDebugClient } from '@keda-ts/proto/debug';
import { MetricsServiceClient } from '@keda-ts/proto/metrics';
import { createMetricsServer, type MetricsServer } from './server';
import { capturingLogger } from '../test/logger';
import { createCa, createLeaf, writeCertDir, type Pem } from '../test/pki';

const id = (commonName: string, ...organizations: string[]): PeerIdentity => ({ commonName, organizations });
const ADAPTER = id('keda-metrics-adapter', 'KEDAORG');
const WEBHOOK = id('keda-admission-webhooks', 'KEDAORG');
const OPERATOR = id('alice', 'keda-operators');
const SHARED = id('keda-operator', 'KEDAORG');

type Row = [name: string, method: MethodClass, peer: PeerIdentity | undefined, server: PeerIdentity | undefined, allowed: boolean];
const rows: Row[] = [
  ['the adapter calls GetMetrics', 'metrics', ADAPTER, undefined, true],
  ['the webhook may not call GetMetrics', 'metrics', WEBHOOK, undefined, false],
  ['an operator may not call GetMetrics', 'metrics', OPERATOR, undefined, false],
  ['no certificate identity: refused', 'metrics', undefined, undefined, false],
  ['an empty subject: refused', 'debug', id(''), undefined, false],
  ['an operator uses the debug service', 'debug', OPERATOR, undefined, true],
  ['an operator in several groups', 'debug', id('bob', 'team-a', 'keda-operators'), undefined, true],
  ['the adapter may not use the debug service', 'debug', ADAPTER, undefined, false],
  ['the webhook may not use the debug service', 'debug', WEBHOOK, undefined, false],
  ['a user-brought shared pair: the same subject as the server may call GetMetrics', 'metrics', SHARED, SHARED, true],
  ['a shared pair is not an operator', 'debug', SHARED, SHARED, false],
  ['a serving-only server certificate (self-managed): its subject is nobody', 'metrics', SHARED, undefined, false],
  ['same CN, other organization: not the shared pair', 'metrics', id('keda-operator', 'evil'), SHARED, false],
  ['an operator subscribes to raw metrics', 'raw-metrics', OPERATOR, undefined, true],
  ['the adapter may not subscribe to raw metrics', 'raw-metrics', ADAPTER, undefined, false],
  ['a shared pair may not subscribe to raw metrics', 'raw-metrics', SHARED, SHARED, false],
  ['health and reflection: anyone past mutual TLS', 'public', undefined, undefined, true],
];

describe('authorize', () => {
  it.each(rows)('%s', (_name, method, peer, server, expected) => {
    const d = authorize(method, peer, DEFAULT_AUTHORIZATION_POLICY, server);
    expect(d.allowed).toBe(expected);
    expect(d.reason === '').toBe(expected);
  });

  it('names the refused identity and what is allowed', () => {
    expect(authorize('metrics', WEBHOOK, DEFAULT_AUTHORIZATION_POLICY).reason).toBe(
      'CN="keda-admission-webhooks", O="KEDAORG" may not call GetMetrics (allowed: CN keda-metrics-adapter)',
    );
    expect(authorize('debug', ADAPTER, DEFAULT_AUTHORIZATION_POLICY).reason).toBe(
      'CN="keda-metrics-adapter", O="KEDAORG" may not use the debug service (allowed: O keda-operators)',
    );
  });

  it('follows a configured policy', () => {
    const policy = { metricsClients: ['custom-adapter'], debugGroups: ['sre'], allowSharedPair: false };
    expect(authorize('metrics', id('custom-adapter'), policy).allowed).toBe(true);
    expect(authorize('metrics', ADAPTER, policy).allowed).toBe(false);
    expect(authorize('metrics', SHARED, policy, SHARED).allowed).toBe(false);
    expect(authorize('debug', id('x', 'sre'), policy).allowed).toBe(true);
    // Without rawMetricsGroups, the debug groups decide; with it, it does.
    expect(authorize('raw-metrics', id('x', 'sre'), policy).allowed).toBe(true);
    expect(authorize('raw-metrics', id('x', 'sre'), { ...policy, rawMetricsGroups: ['metrics-readers'] }).allowed).toBe(false);
    expect(authorize('raw-metrics', id('y', 'metrics-readers'), { ...policy, rawMetricsGroups: ['metrics-readers'] }).allowed).toBe(true);
  });
});

describe('identityOfPeer', () => {
  it('reads CN and one or several O from a TLS peer certificate subject', () => {
    expect(identityOfPeer({ subject: { CN: 'a', O: 'b' } } as never)).toEqual(id('a', 'b'));
    expect(identityOfPeer({ subject: { CN: 'a', O: ['b', 'c'] } } as never)).toEqual(id('a', 'b', 'c'));
    expect(identityOfPeer({ subject: { O: 'b' } } as never)).toEqual(id('', 'b'));
    expect(identityOfPeer(undefined)).toBeUndefined();
    expect(identityOfPeer({} as never)).toBeUndefined();
  });
});

/** The decision on a real server: grpc-js's call.getAuthContext() gives the verified peer certificate. */
describe('gRPC server authorization', () => {
  let dir: string;
  let ca: Pem;
  let server: MetricsServer;
  const logger = capturingLogger();

  const leaf = (cn: string, organization: string, usages: 'serverAuth' | 'clientAuth' | 'serverAuth,clientAuth') =>
    createLeaf(join(dir, 'pki'), ca, cn, ['127.0.0.1', 'localhost'], { organization, usages });

  const creds = (p: Pem) => credentials.createSsl(Buffer.from(ca.cert), Buffer.from(p.key), Buffer.from(p.cert));
  const options = { 'grpc.ssl_target_name_override': 'localhost' };

  const getMetrics = (p: Pem) =>
    new Promise<status>((resolve) => {
      const c = new MetricsServiceClient(server.address, creds(p), options);
      c.getMetrics({ name: 'so', namespace: 'ns', metricName: 'm' }, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null) => {
        c.close();
        resolve(err ? err.code : status.OK);
      });
    });
  const listTraced = (p: Pem) =>
    new Promise<status>((resolve) => {
      const c = new DecisionDebugClient(server.address, creds(p), options);
      c.listTraced({}, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null) => {
        c.close();
        resolve(err ? err.code : status.OK);
      });
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'authz-spec-'));
    ca = createCa(join(dir, 'pki'), 'KEDA');
    writeCertDir(join(dir, 'server'), ca, leaf('keda-operator', 'KEDAORG', 'serverAuth'));
    server = createMetricsServer({
      provider: { getMetrics: async () => [] },
      debug: { explain: () => undefined, listTraced: () => [] },
      tls: { certDir: join(dir, 'server'), pollIntervalMs: 0 },
      bindAddress: '127.0.0.1',
      port: 0,
      logger,
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GetMetrics only for the adapter, the debug service only for operators', async () => {
    const adapter = leaf('keda-metrics-adapter', 'KEDAORG', 'clientAuth');
    const operator = leaf('alice', 'keda-operators', 'clientAuth');
    // A webhook-like identity that could authenticate as a client (a serving-only one fails the handshake).
    const webhook = leaf('keda-admission-webhooks', 'KEDAORG', 'serverAuth,clientAuth');
    expect(await getMetrics(adapter)).toBe(status.OK);
    expect(await getMetrics(webhook)).toBe(status.PERMISSION_DENIED);
    expect(await getMetrics(operator)).toBe(status.PERMISSION_DENIED);
    expect(await listTraced(operator)).toBe(status.OK);
    expect(await listTraced(adapter)).toBe(status.PERMISSION_DENIED);
    expect(await listTraced(webhook)).toBe(status.PERMISSION_DENIED);
    expect(logger.lines.some((l) => l.msg === 'gRPC call refused')).toBe(true);
    // A serving-only certificate is not a client certificate: refused by TLS itself.
    expect(await getMetrics(leaf('keda-metrics-adapter', 'KEDAORG', 'serverAuth'))).toBe(status.UNAVAILABLE);
  });

  it('decides each call by the identity of its own connection, with several connections open at once', async () => {
    const adapter = new MetricsServiceClient(server.address, creds(leaf('keda-metrics-adapter', 'KEDAORG', 'clientAuth')), options);
    const operator = new MetricsServiceClient(server.address, creds(leaf('bob', 'keda-operators', 'clientAuth')), options);
    const call = (c: MetricsServiceClient) =>
      new Promise<status>((resolve) =>
        c.getMetrics({ name: 'so', namespace: 'ns', metricName: 'm' }, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null) =>
          resolve(err ? err.code : status.OK),
        ),
      );
    try {
      for (let i = 0; i < 3; i++) expect(await Promise.all([call(adapter), call(operator)])).toEqual([status.OK, status.PERMISSION_DENIED]);
    } finally {
      adapter.close();
      operator.close();
    }
  });

  it("with a shared pair (the server's own certificate can authenticate clients) the same subject may call GetMetrics", async () => {
    const shared = leaf('keda-operator', 'KEDAORG', 'serverAuth,clientAuth');
    expect(sharedPairIdentity(shared.cert)).toEqual(SHARED);
    // Still serving-only on the server: refused.
    expect(await getMetrics(shared)).toBe(status.PERMISSION_DENIED);
    writeCertDir(join(dir, 'server'), ca, shared);
    await server.reloadCertificates();
    expect(await getMetrics(shared)).toBe(status.OK);
    expect(await listTraced(shared)).toBe(status.PERMISSION_DENIED);
  });
});
