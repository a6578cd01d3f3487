import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressPolicy } from '@keda-ts/scalers';
import { cloudEventTypeOf, eventFilter, toCloudEvent, type KedaCloudEvent } from './event-types';
import { parseSinkUrl, postOnce, Sink, type AttemptResult, type SinkCallbacks } from './sink';
import { AgentPool } from '@keda-ts/scalers';

const event = (n: number): KedaCloudEvent =>
  toCloudEvent('c', { namespace: 'ns', objectType: 'scaledobject', objectName: `so${n}`, type: 'keda.scaledobject.ready.v1', reason: 'ScaledObjectReady', message: 'm', time: new Date(0) }, `id-${n}`);

function recorder() {
  const log: string[] = [];
  let queued = 0;
  const callbacks: SinkCallbacks = {
    emitted: () => log.push('emitted'),
    failed: () => log.push('failed'),
    queueChanged: (d) => (queued += d),
    healthy: () => log.push('healthy'),
    failing: (e) => log.push(`failing:${e}`),
  };
  return { log, callbacks, queued: () => queued };
}

const until = async (probe: () => boolean, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('event types', () => {
  it('maps the lifecycle reasons per kind, KEDA names', () => {
    expect(cloudEventTypeOf('ScaledObject', 'ScaledObjectReady')).toBe('keda.scaledobject.ready.v1');
    expect(cloudEventTypeOf('ScaledObject', 'ScaledObjectCheckFailed')).toBe('keda.scaledobject.failed.v1');
    expect(cloudEventTypeOf('ScaledObject', 'ScaledObjectDeleted')).toBe('keda.scaledobject.removed.v1');
    expect(cloudEventTypeOf('ScaledJob', 'ScaledJobRolloutCleanupCompleted')).toBe('keda.scaledjob.rolloutcleanup.completed.v1');
    // KEDA's reason for an updated TriggerAuthentication is ClusterTriggerAuthenticationUpdated.
    expect(cloudEventTypeOf('TriggerAuthentication', 'ClusterTriggerAuthenticationUpdated')).toBe('keda.authentication.triggerauthentication.updated.v1');
    expect(cloudEventTypeOf('ClusterTriggerAuthentication', 'ClusterTriggerAuthenticationUpdated')).toBe('keda.authentication.clustertriggerauthentication.updated.v1');
    expect(cloudEventTypeOf('ScaledObject', 'KEDAScalerFailed')).toBeUndefined();
    expect(cloudEventTypeOf(undefined, 'ScaledObjectReady')).toBeUndefined();
  });

  it('filters as KEDA: included wins, else excluded, else all', () => {
    expect(eventFilter({ includedEventTypes: ['keda.scaledobject.failed.v1'] })('keda.scaledobject.ready.v1')).toBe(false);
    expect(eventFilter({ excludedEventTypes: ['keda.scaledobject.ready.v1'] })('keda.scaledobject.ready.v1')).toBe(false);
    expect(eventFilter({ excludedEventTypes: ['keda.scaledobject.ready.v1'] })('keda.scaledobject.failed.v1')).toBe(true);
    expect(eventFilter(undefined)('anything')).toBe(true);
  });

  it('builds source and subject from the cluster name and the object', () => {
    expect(event(1)).toMatchObject({ specversion: '1.0', source: '/c/ns/keda', subject: '/c/ns/scaledobject/so1', datacontenttype: 'application/json', data: { reason: 'ScaledObjectReady', message: 'm' } });
  });
});

describe('parseSinkUrl', () => {
  it('takes absolute http(s) URLs without credentials only', () => {
    expect(parseSinkUrl('http://h:1/p')).toBeInstanceOf(URL);
    expect(parseSinkUrl('ftp://h/')).toMatch(/scheme/);
    expect(parseSinkUrl('http://u:p@h/')).toMatch(/credentials/);
    expect(parseSinkUrl('/relative')).toMatch(/absolute/);
  });
});

describe('Sink', () => {
  it('delivers in order, never blocks enqueue, and bounds the queue', async () => {
    const r = recorder();
    const sent: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const sink = new Sink(
      {
        kind: 'http',
        url: new URL('http://127.0.0.1:1/'),
        options: { queueBound: 3 },
        post: async (body) => {
          await gate;
          sent.push((JSON.parse(body) as KedaCloudEvent).id);
          return { ok: true };
        },
      },
      r.callbacks,
    );
    for (let i = 0; i < 5; i++) sink.enqueue(event(i));
    // The first is in flight (still queued), two wait, two were dropped as failed.
    expect(sink.queued).toBe(3);
    expect(r.log.filter((l) => l === 'failed')).toHaveLength(2);
    release();
    await until(() => sent.length === 3);
    expect(sent).toEqual(['id-0', 'id-1', 'id-2']);
    expect(r.queued()).toBe(0);
    sink.close();
  });

  it('retries with backoff, reports failing after the threshold and healthy when it recovers', async () => {
    const r = recorder();
    let attempts = 0;
    const sink = new Sink(
      {
        kind: 'http',
        url: new URL('http://127.0.0.1:1/'),
        options: { initialBackoffMs: 1, maxBackoffMs: 5, failureThreshold: 3 },
        post: async (): Promise<AttemptResult> => (++attempts <= 4 ? { ok: false, error: 'HTTP 503', permanent: false } : { ok: true }),
      },
      r.callbacks,
    );
    sink.enqueue(event(1));
    await until(() => r.log.includes('emitted'));
    expect(r.log).toEqual(['failing:HTTP 503', 'emitted', 'healthy']);
    expect(attempts).toBe(5);
    sink.close();
  });

  it('drops an event older than maxEventAgeMs as failed', async () => {
    const r = recorder();
    let now = 0;
    const sink = new Sink(
      { kind: 'http', url: new URL('http://127.0.0.1:1/'), now: () => now, options: { initialBackoffMs: 1, maxBackoffMs: 1, maxEventAgeMs: 100 }, post: async () => ({ ok: false, error: 'x', permanent: false }) },
      r.callbacks,
    );
    sink.enqueue(event(1));
    now = 1000;
    await until(() => r.log.includes('failed'));
    expect(sink.queued).toBe(0);
    sink.close();
  });

  it('refuses metadata, link-local and denied destinations before any connection', () => {
    const policy = new EgressPolicy({ denyCidrs: ['127.0.0.2/32'] });
    for (const u of ['http://169.254.169.254/latest', 'http://[fe80::1]:80/', 'http://169.254.3.4/', 'http://metadata.google.internal/', 'http://127.0.0.2:9/']) {
      const r = recorder();
      const sink = new Sink({ kind: 'http', url: new URL(u), egress: policy }, r.callbacks);
      expect({ u, refused: typeof sink.refused }).toEqual({ u, refused: 'string' });
      sink.enqueue(event(1));
      expect(r.log).toEqual(['failed']);
      expect(sink.queued).toBe(0);
      sink.close();
    }
  });
});

describe('postOnce', () => {
  let server: http.Server;
  let base = '';
  const pool = new AgentPool(2);
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      if (req.url === '/redirect') return void res.writeHead(302, { location: 'http://169.254.169.254/' }).end('BODY');
      if (req.url === '/fail') return void res.writeHead(500).end('SECRET-BODY');
      res.writeHead(202).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const post = (path: string) => {
    const url = new URL(`${base}${path}`);
    const lease = pool.acquire(url);
    return postOnce(url, lease, { 'content-type': 'application/cloudevents+json; charset=utf-8' }, '{}', 2_000).finally(() => lease.release());
  };

  it('treats 2xx as delivered, never follows a redirect and never reports the body', async () => {
    expect(await post('/ok')).toEqual({ ok: true });
    expect(await post('/redirect')).toEqual({ ok: false, error: 'HTTP 302: redirects are not followed', permanent: false });
    expect(await post('/fail')).toEqual({ ok: false, error: 'HTTP 500', permanent: false });
  });
});
