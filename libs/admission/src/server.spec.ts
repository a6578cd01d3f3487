import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@keda-ts/runtime';
import { HpaIndex, LimitRangeIndex, ScaledObjectIndex } from './indexes';
import { WebhookMetrics } from './metrics';
import { ScaledJobValidator } from './scaledjob';
import { ScaledObjectValidator } from './scaledobject';
import { WEBHOOK_PATHS, createAdmissionApp } from './server';
import { TriggerAuthenticationValidator } from './trigger-auth';
import { CloudEventSourceValidator } from './cloudeventsource';

const logger = createLogger({ component: 'test', version: '0', level: 'error' });
let server: Server;
let base: string;
const metrics = new WebhookMetrics();

beforeAll(async () => {
  const so = new ScaledObjectValidator(
    { scaledObjects: new ScaledObjectIndex(), hpas: new HpaIndex(), limitRanges: new LimitRangeIndex(), workloads: { containers: async () => [{ name: 'c' }] } },
    metrics,
  );
  const app = createAdmissionApp({
    logger,
    metrics,
    bodyLimitBytes: 1024 * 1024,
    validators: {
      scaledobject: (r) => so.validate(r),
      scaledjob: (r) => new ScaledJobValidator(metrics).validate(r),
      triggerauthentication: (r) => new TriggerAuthenticationValidator('TriggerAuthentication').validate(r),
      clustertriggerauthentication: (r) => new TriggerAuthenticationValidator('ClusterTriggerAuthentication').validate(r),
      cloudeventsource: (r) => new CloudEventSourceValidator('CloudEventSource').validate(r),
      clustercloudeventsource: (r) => new CloudEventSourceValidator('ClusterCloudEventSource').validate(r),
    },
  });
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const post = (path: string, body: string, signal?: AbortSignal) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal });

const valid = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'abc',
    operation: 'CREATE',
    namespace: 'ns',
    kind: { group: 'keda.sh', version: 'v1alpha1', kind: 'ScaledObject' },
    object: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'so', namespace: 'ns' },
      spec: { scaleTargetRef: { name: 'app' }, triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: '1' } }] },
    },
  },
};

describe('admission HTTP server', () => {
  it('answers an AdmissionReview with the uid and the verdict', async () => {
    const res = await post(WEBHOOK_PATHS.scaledobject, JSON.stringify(valid));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'abc', allowed: true } });
    const bad = structuredClone(valid);
    bad.request.object.spec.triggers[0].type = 'nope';
    expect(await (await post(WEBHOOK_PATHS.scaledobject, JSON.stringify(bad))).json()).toMatchObject({
      response: { uid: 'abc', allowed: false, status: { code: 403, message: expect.stringContaining('no scaler found for type: nope') } },
    });
  });

  it.each([
    ['invalid JSON', '{'],
    ['wrong kind', JSON.stringify({ ...valid, kind: 'Pod' })],
    ['no request', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' })],
    ['too large', JSON.stringify({ ...valid, x: 'a'.repeat(2_000_000) })],
  ])('answers 400 for %s', async (_t, body) => {
    expect((await post(WEBHOOK_PATHS.scaledobject, body)).status).toBe(400);
  });

  it('answers 404 off its paths, 400 for a compressed body, and counts answers by code', async () => {
    expect((await fetch(`${base}${WEBHOOK_PATHS.scaledobject}`)).status).toBe(404);
    expect((await post('/validate-something-else', JSON.stringify(valid))).status).toBe(404);
    const gz = await fetch(`${base}${WEBHOOK_PATHS.scaledobject}`, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: 'x' });
    expect([gz.status, ((await gz.json()) as { error: string }).error]).toEqual([400, 'unsupported content encoding "gzip"']);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/controller_runtime_webhook_requests_total\{webhook="\/validate-keda-sh-v1alpha1-scaledobject",code="200"\} \d+/);
    expect(text).toMatch(/controller_runtime_webhook_requests_total\{webhook="\/validate-keda-sh-v1alpha1-scaledobject",code="400"\} \d+/);
    expect(text).toContain('controller_runtime_webhook_requests_in_flight{webhook="/validate-keda-sh-v1alpha1-scaledobject"} 0');
    expect(text).toMatch(/controller_runtime_webhook_latency_seconds_count\{webhook="\/validate-keda-sh-v1alpha1-scaledobject"\} \d+/);
  });

  it('fuzz: 10,000 generated and mutated AdmissionReviews get a well-formed answer or a 400', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const junk = (): unknown =>
      pick([null, 0, -1, 1e308, '', 'x'.repeat(Math.floor(rand() * 100_000)), true, [], {}, [1, 'a'], { a: { b: {} } }, '__DEEP__', NaN]);
    // Deep nesting is spliced in as text: JSON.stringify of such a value would overflow the stack here.
    const deep = (n: number) => (rand() < 0.5 ? '{"a":'.repeat(n) + '{}' + '}'.repeat(n) : '['.repeat(n) + ']'.repeat(n));
    const mutate = (obj: unknown, depth = 0): unknown => {
      if (obj === null || typeof obj !== 'object' || depth > 8) return rand() < 0.3 ? junk() : obj;
      const copy: Record<string, unknown> = Array.isArray(obj) ? ([...obj] as never) : { ...(obj as Record<string, unknown>) };
      const keys = Object.keys(copy);
      const k = keys.length > 0 ? pick(keys) : 'k';
      const r = rand();
      if (r < 0.25) delete copy[k];
      else if (r < 0.5) copy[k] = junk();
      else if (r < 0.6) copy[pick(['spec', 'kind', 'uid', 'triggers', 'metadata', 'operation', 'oldObject'])] = junk();
      else copy[k] = mutate(copy[k], depth + 1);
      return copy;
    };
    const paths = Object.values(WEBHOOK_PATHS);
    const kinds = ['ScaledObject', 'ScaledJob', 'TriggerAuthentication', 'ClusterTriggerAuthentication', 'CloudEventSource', 'ClusterCloudEventSource', 'Pod'];
    const bodies = function* () {
      for (let i = 0; i < 10_000; i++) {
        let body: string;
        const r = rand();
        if (r < 0.05) body = JSON.stringify(valid).slice(0, Math.floor(rand() * 400)); // truncated JSON
        else if (r < 0.08) body = pick(['', 'null', '[]', '"x"', '1', '{"kind":', '\u0000\u0001']);
        else {
          const base = structuredClone(valid) as { request: { object: Record<string, unknown>; operation: string } };
          base.request.object['kind'] = pick(kinds);
          base.request.operation = pick(['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'create']);
          let m: unknown = base;
          for (let j = 0, n = 1 + Math.floor(rand() * 4); j < n; j++) m = mutate(m);
          body = (JSON.stringify(m) ?? 'null').replace(/"__DEEP__"/g, () => deep(Math.floor(rand() * 5_000)));
        }
        yield { path: pick(paths), body };
      }
    };
    const counts = { answered: 0, badRequest: 0 };
    const it = bodies();
    const worker = async () => {
      for (let next = it.next(); !next.done; next = it.next()) {
        // A hang is a request that is not answered in time; the whole run may be slow on a busy machine.
        const res = await post(next.value.path, next.value.body, AbortSignal.timeout(20_000));
        const text = await res.text();
        if (res.status === 400) {
          counts.badRequest++;
          continue;
        }
        expect(res.status).toBe(200);
        const review = JSON.parse(text) as { apiVersion: string; kind: string; response: { uid: unknown; allowed: unknown; status?: { code: number; message: string } } };
        expect(review.apiVersion).toBe('admission.k8s.io/v1');
        expect(review.kind).toBe('AdmissionReview');
        expect(typeof review.response.uid).toBe('string');
        expect(typeof review.response.allowed).toBe('boolean');
        if (!review.response.allowed) expect(typeof review.response.status?.message).toBe('string');
        counts.answered++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(counts.answered + counts.badRequest).toBe(10_000);
    expect(counts.answered).toBeGreaterThan(500);
  }, 900_000);
});
