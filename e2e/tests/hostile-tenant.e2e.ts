/**
 * The hostile tenant (issue 17), against the real control plane: someone who may create
 * ScaledObjects, ScaledJobs and TriggerAuthentications in one namespace tries to make the
 * controller read files, present credentials, reach a denied address, echo a source's bytes into
 * Events, stall the event loop, reach another namespace's Secrets or take over another target.
 *
 * Each case is either refused at admission with a message naming the field, or fails only its own
 * ScaledObject with a clear message. Throughout the run a healthy ScaledObject keeps scaling
 * through the adapter and the real HPA, and the controllers' /healthz answers in under 1 s.
 *
 * Namespaces:
 * - `adm`: the validating webhook is registered for it (failurePolicy Fail): admission cases.
 * - `ns`: no webhook (as if it were down, the chart's default failurePolicy being Ignore): the same
 *   hostile manifests reach controller A, which must refuse them itself. The healthy ScaledObject.
 * - `other`: holds a Secret the tenant must not reach.
 * - `ctlA`: controller A's own namespace (ClusterTriggerAuthentication Secrets).
 * - `r` and `ctlB`: controller B runs with KEDA_RESTRICT_SECRET_ACCESS; `ctlB` holds its
 *   certificate Secret, a Helm release Secret and a Secret labelled not for triggers.
 *
 * Egress: both controllers deny 127.0.0.2/32; a canary listener there counts connections and must
 * see none. Nothing here sends traffic beyond 127.0.0.0/8 (the default deny list of link-local and
 * metadata addresses is unit-tested without sockets).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { createServingCertificate } from '../src/pki';
import { freePort, probeOnce } from '../src/processes';
import {
  acquireClusterLock,
  apply,
  createTestNamespace,
  deleteTestNamespace,
  deploymentManifest,
  EXTERNAL_METRICS_API_LOCK,
  k8s,
  kubeConfig,
  kubectl,
  readClusterInfo,
  readObject,
  registerApiServiceToLocalhost,
  registerValidatingWebhookByUrl,
  unregisterApiService,
  unregisterValidatingWebhook,
  waitFor,
} from '../src/testing';

jest.setTimeout(600_000);

const kc = kubeConfig();
/** Appears only in what hostile sources send; must never come back in Events, status or logs we read. */
const MARKER = 'ECHO-MARKER-7f3a91';
const DENIED_IP = '127.0.0.2';
const SERVICE = 'keda-metrics-apiserver';
const EGRESS = "refused by the controller's egress policy: 127.0.0.2 is in the deny list";

type Obj = Record<string, unknown>;
const names = { ns: '', adm: '', other: '', ctlA: '', r: '', ctlB: '' };
let dir = '';
let apps: RunningApp[] = [];
let controllerB: RunningApp[] = [];
let webhook: RunningApp[] = [];
let releaseLock: (() => void) | undefined;
let apiServiceRegistered = false;
let webhookRegistered = '';

// ---------------------------------------------------------------------------------------------
// Sources

/** Connections the canary on the denied address saw (must stay 0). */
let canaryConnections = 0;
let canaryPort = 0;
const canary = net.createServer((socket) => {
  canaryConnections += 1;
  socket.destroy();
});

/** Hostile HTTP sources on 127.0.0.1 (allowed), one behaviour per path. */
const slowLorisTimers = new Set<NodeJS.Timeout>();
const hostile = http.createServer((req, res) => {
  const url = req.url ?? '';
  const json = (status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  if (url === '/healthy') return json(200, JSON.stringify({ value: 30 }));
  if (url === '/echo-string') return json(200, JSON.stringify({ value: `${MARKER} <- a string where a number belongs` }));
  if (url === '/echo-invalid-json') return json(200, `{"value": ${MARKER}`);
  if (url === '/echo-500') return json(500, JSON.stringify({ error: MARKER }));
  if (url.startsWith('/prom-echo/')) return json(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: MARKER }));
  if (url === '/glob-bomb') return json(200, JSON.stringify({ ['a'.repeat(60)]: 1 }));
  if (url === '/deep') return json(200, '['.repeat(200_000) + ']'.repeat(200_000));
  if (url === '/redirect-denied') return void res.writeHead(302, { location: `http://${DENIED_IP}:${canaryPort}/` }).end();
  if (url === '/huge') {
    // 32 MiB of a JSON string: past the body cap.
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(1 << 20, 0x61);
    res.write('{"value":"');
    for (let i = 0; i < 32; i++) res.write(chunk);
    return void res.end('"}');
  }
  if (url === '/slow-loris') {
    // Headers at once, then one byte every 500 ms, forever.
    res.writeHead(200, { 'content-type': 'application/json' });
    const t = setInterval(() => res.write(' '), 500);
    slowLorisTimers.add(t);
    res.on('close', () => {
      clearInterval(t);
      slowLorisTimers.delete(t);
    });
    return;
  }
  json(404, '{}');
});
const hostileUrl = (p: string) => `http://127.0.0.1:${(hostile.address() as net.AddressInfo).port}${p}`;
const deniedUrl = (p = '/') => `http://${DENIED_IP}:${canaryPort}${p}`;
const deniedHostPort = () => `${DENIED_IP}:${canaryPort}`;

// ---------------------------------------------------------------------------------------------
// Manifests

const so = (name: string, triggers: Obj[], extra: Obj = {}): Obj => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name },
  spec: { scaleTargetRef: { name }, pollingInterval: 1, cooldownPeriod: 1, minReplicaCount: 0, maxReplicaCount: 5, triggers, ...extra },
});
const trigger = (type: string, metadata: Obj, authName?: string, authKind = 'TriggerAuthentication'): Obj => ({
  type,
  metadata,
  ...(authName ? { authenticationRef: { name: authName, kind: authKind } } : {}),
});
const metricsApi = (url: string, extra: Obj = {}) => trigger('metrics-api', { url, valueLocation: 'value', targetValue: '10', ...extra });
const secret = (name: string, data: Record<string, string>, extra: Obj = {}): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, ...((extra['metadata'] as Obj) ?? {}) },
  type: (extra['type'] as string) ?? 'Opaque',
  stringData: data,
});
const triggerAuth = (name: string, secretName: string, params: Record<string, string>): Obj => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'TriggerAuthentication',
  metadata: { name },
  spec: { secretTargetRef: Object.entries(params).map(([parameter, key]) => ({ parameter, name: secretName, key })) },
});

const kubectlApply = (obj: Obj, namespace: string) => kubectl(['apply', '-n', namespace, '-f', '-'], JSON.stringify(obj));

// ---------------------------------------------------------------------------------------------
// The hostile triggers. Each is applied in `adm` (refused by the webhook, `admission` message) and
// in `ns` (no webhook: refused by controller A when it builds the scaler, `controller` message).

interface HostileTrigger {
  title: string;
  trigger: () => Obj;
  /** Part of the webhook's refusal; it names the field. */
  admission: string;
  /** Part of controller A's message when the webhook is not there (defaults to `admission`). */
  controller?: string;
}

const mongo = (uri: string) => trigger('mongodb', { connectionString: uri, dbName: 'db', collection: 'c', query: '{"state":"waiting"}', queryValue: '1' });
/** postgresql's `connection` comes only from a TriggerAuthentication (or env), never from metadata. */
const pgFromAuth = (name: string, conn: string): Pick<RuntimeCase, 'setup' | 'triggers'> => ({
  setup: () => [secret(name, { conn }), triggerAuth(name, name, { connection: 'conn' })],
  triggers: () => [trigger('postgresql', { query: 'select 1', targetQueryValue: '1' }, name)],
});

const HOSTILE_TRIGGERS: HostileTrigger[] = [
  {
    title: 'mongodb MONGODB-OIDC with the k8s environment (would send the controller token)',
    trigger: () => mongo('mongodb://127.0.0.1:1/db?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s'),
    admission: 'authMechanism',
  },
  { title: 'mongodb MONGODB-AWS', trigger: () => mongo('mongodb://127.0.0.1:1/db?authMechanism=MONGODB-AWS'), admission: 'authMechanism' },
  { title: 'mongodb GSSAPI', trigger: () => mongo('mongodb://u@127.0.0.1:1/db?authMechanism=GSSAPI'), admission: 'authMechanism' },
  { title: 'mongodb PLAIN (LDAP proxy)', trigger: () => mongo('mongodb://u:p@127.0.0.1:1/db?authMechanism=PLAIN'), admission: 'authMechanism' },
  {
    title: 'mongodb authMechanismProperties',
    trigger: () => mongo('mongodb://u:p@127.0.0.1:1/db?authMechanismProperties=ENVIRONMENT:azure'),
    admission: 'authMechanismProperties',
  },
  { title: 'mongodb tlsCAFile', trigger: () => mongo('mongodb://127.0.0.1:1/db?tls=true&tlsCAFile=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt'), admission: 'tlsCAFile' },
  { title: 'mongodb tlsCertificateKeyFile', trigger: () => mongo('mongodb://127.0.0.1:1/db?tls=true&tlsCertificateKeyFile=/certs/tls.key'), admission: 'tlsCertificateKeyFile' },
  { title: 'mongodb proxyHost', trigger: () => mongo(`mongodb://127.0.0.1:1/db?proxyHost=${DENIED_IP}&proxyPort=1080`), admission: 'proxyHost' },
  { title: 'mongodb unknown option', trigger: () => mongo('mongodb://127.0.0.1:1/db?someFutureOption=1'), admission: 'someFutureOption' },
  {
    title: 'metrics-api apiKey header named Metadata-Flavor',
    trigger: () => metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey', method: 'header', keyParamName: 'Metadata-Flavor' }),
    admission: 'keyParamName',
  },
  {
    title: 'metrics-api apiKey header named X-aws-ec2-metadata-token',
    trigger: () => metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey', method: 'header', keyParamName: 'X-aws-ec2-metadata-token' }),
    admission: 'keyParamName',
  },
  {
    title: 'metrics-api header name with CR/LF (header injection)',
    trigger: () => metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey', method: 'header', keyParamName: 'X-Key\r\nHost: evil' }),
    admission: 'keyParamName',
  },
  {
    title: "aws-sqs-queue: the operator's AWS identity sent to a tenant's endpoint",
    trigger: () => trigger('aws-sqs-queue', { queueURL: 'https://sqs.eu-west-1.amazonaws.com/1/q', awsRegion: 'eu-west-1', identityOwner: 'operator', awsEndpoint: hostileUrl('/') }),
    admission: 'awsEndpoint cannot be used with identityOwner: operator',
  },
  {
    title: 'metrics-api valueLocation wildcard longer than allowed',
    trigger: () => metricsApi(hostileUrl('/glob-bomb'), { valueLocation: '*a'.repeat(200) }),
    admission: 'valueLocation',
  },
];

// ---------------------------------------------------------------------------------------------
// Runtime cases: admitted (or no webhook), fail only their own ScaledObject.

interface RuntimeCase {
  title: string;
  name: string;
  /** Objects the case needs besides its ScaledObject and Deployment (applied in `ns`). */
  setup?: () => Obj[];
  triggers: () => Obj[];
  /** Part of the message its ScaledObject's Events or conditions must carry. */
  expect: string | RegExp;
  /** Controller B (restricted secret access) and namespace `r` instead of A and `ns`. */
  restricted?: boolean;
}

const RUNTIME: RuntimeCase[] = [
  { title: 'egress: metrics-api url on the denied address', name: 'egress-http', triggers: () => [metricsApi(deniedUrl('/x'))], expect: EGRESS },
  {
    title: 'egress: a redirect to the denied address is not followed there',
    name: 'egress-redirect',
    triggers: () => [metricsApi(hostileUrl('/redirect-denied'))],
    expect: /302|redirect/,
  },
  {
    title: 'egress: prometheus serverAddress on the denied address',
    name: 'egress-prometheus',
    triggers: () => [trigger('prometheus', { serverAddress: deniedUrl(''), query: 'up', threshold: '1' })],
    expect: EGRESS,
  },
  { title: 'egress: redis address on the denied address', name: 'egress-redis', triggers: () => [trigger('redis', { address: deniedHostPort(), listName: 'q', listLength: '5' })], expect: EGRESS },
  {
    title: 'egress: postgresql host on the denied address',
    name: 'egress-postgresql',
    triggers: () => [trigger('postgresql', { host: DENIED_IP, port: String(canaryPort), userName: 'u', dbName: 'd', sslmode: 'disable', query: 'select 1', targetQueryValue: '1' })],
    expect: EGRESS,
  },
  {
    title: 'egress: mysql host on the denied address',
    name: 'egress-mysql',
    triggers: () => [trigger('mysql', { host: DENIED_IP, port: String(canaryPort), username: 'u', dbName: 'd', query: 'select 1', queryValue: '1' })],
    expect: EGRESS,
  },
  {
    title: 'egress: rabbitmq amqp host on the denied address',
    name: 'egress-rabbitmq',
    triggers: () => [trigger('rabbitmq', { host: `amqp://u:p@${deniedHostPort()}/`, queueName: 'q', mode: 'QueueLength', value: '5' })],
    expect: EGRESS,
  },
  {
    title: 'egress: kafka bootstrap servers on the denied address',
    name: 'egress-kafka',
    triggers: () => [trigger('kafka', { bootstrapServers: deniedHostPort(), consumerGroup: 'g', topic: 't', lagThreshold: '5' })],
    expect: EGRESS,
  },
  { title: 'egress: mongodb host on the denied address', name: 'egress-mongodb', triggers: () => [mongo(`mongodb://${deniedHostPort()}/db`)], expect: EGRESS },
  {
    title: 'egress: external scaler address on the denied address',
    name: 'egress-external',
    triggers: () => [trigger('external', { scalerAddress: deniedHostPort() })],
    expect: EGRESS,
  },
  { title: 'no echo: a string where the number belongs', name: 'echo-string', triggers: () => [metricsApi(hostileUrl('/echo-string'))], expect: 'String' },
  { title: 'no echo: a body that is not JSON', name: 'echo-json', triggers: () => [metricsApi(hostileUrl('/echo-invalid-json'))], expect: /JSON/i },
  { title: 'no echo: an error status with a body', name: 'echo-500', triggers: () => [metricsApi(hostileUrl('/echo-500'))], expect: '500' },
  {
    title: "no echo: prometheus' error field",
    name: 'echo-prometheus',
    triggers: () => [trigger('prometheus', { serverAddress: hostileUrl('/prom-echo'), query: 'up', threshold: '1' })],
    expect: '400',
  },
  {
    title: 'glob bomb: *a*a*a*a*a*a*a*a*b against a 60-character key',
    name: 'glob-bomb',
    triggers: () => [metricsApi(hostileUrl('/glob-bomb'), { valueLocation: '*a*a*a*a*a*a*a*a*b' })],
    expect: /not found|valueLocation/,
  },
  { title: 'a body past the size cap', name: 'huge-body', triggers: () => [metricsApi(hostileUrl('/huge'))], expect: /exceeds|too large/ },
  { title: 'JSON nested 200,000 deep', name: 'deep-json', triggers: () => [metricsApi(hostileUrl('/deep'))], expect: /JSON|valueLocation|nest/i },
  { title: 'a slow-loris source', name: 'slow-loris', triggers: () => [metricsApi(hostileUrl('/slow-loris'))], expect: /timed out|timeout/ },
  {
    title: 'mongodb MONGODB-OIDC from a TriggerAuthentication (not in the manifest)',
    name: 'ta-mongodb-oidc',
    setup: () => [
      secret('ta-mongodb-oidc', { uri: 'mongodb://127.0.0.1:1/db?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s' }),
      triggerAuth('ta-mongodb-oidc', 'ta-mongodb-oidc', { connectionString: 'uri' }),
    ],
    triggers: () => [trigger('mongodb', { dbName: 'db', collection: 'c', query: '{"state":"waiting"}', queryValue: '1' }, 'ta-mongodb-oidc')],
    expect: 'authMechanism',
  },
  {
    title: 'postgresql sslkey=/dev/zero from a TriggerAuthentication (would stall the event loop)',
    name: 'pg-sslkey-zero',
    ...pgFromAuth('pg-sslkey-zero', 'host=127.0.0.1 port=1 user=u dbname=d sslmode=require sslkey=/dev/zero'),
    expect: 'option "sslkey" names a file on the controller',
  },
  {
    title: "postgresql sslcert: the controller's own certificate",
    name: 'pg-sslcert-own',
    ...pgFromAuth('pg-sslcert-own', 'host=127.0.0.1 port=1 user=u dbname=d sslmode=require sslcert=/certs/tls.crt sslkey=/certs/tls.key'),
    expect: 'names a file on the controller',
  },
  {
    title: 'postgresql sslrootcert in a URI (file-existence oracle)',
    name: 'pg-sslrootcert-uri',
    ...pgFromAuth('pg-sslrootcert-uri', 'postgresql://u@127.0.0.1:1/d?sslmode=verify-full&sslrootcert=/etc/passwd'),
    expect: 'option "sslrootcert" names a file on the controller',
  },
  {
    title: 'a TriggerAuthentication naming a Secret that exists only in another namespace',
    name: 'other-ns-secret',
    setup: () => [triggerAuth('other-ns-secret', 'only-in-other', { apiKey: 'key' })],
    triggers: () => [{ ...metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' }), authenticationRef: { name: 'other-ns-secret' } }],
    // As in KEDA a Secret that is not there resolves to nothing: the key never reaches the scaler.
    expect: 'apiKey is required when apiKey auth is enabled',
  },
  {
    title: 'a ClusterTriggerAuthentication limited to other namespaces',
    name: 'cta-not-allowed',
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: `cta-limited-${names.ns}`, kind: 'ClusterTriggerAuthentication' } })),
    expect: 'keda-ts.dev/allowed-namespaces',
  },
  {
    title: 'restricted mode: the controller certificate Secret',
    name: 'restricted-cert-secret',
    restricted: true,
    setup: () => [triggerAuth('restricted-cert-secret', 'kedaorg-certs', { apiKey: 'ca.key' })],
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: 'restricted-cert-secret' } })),
    expect: "it is the controller's certificate Secret",
  },
  {
    title: 'restricted mode: a Helm release Secret',
    name: 'restricted-helm-secret',
    restricted: true,
    setup: () => [triggerAuth('restricted-helm-secret', 'sh.helm.release.v1.keda.v1', { apiKey: 'release' })],
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: 'restricted-helm-secret' } })),
    expect: 'it is a Helm release Secret',
  },
  {
    title: 'restricted mode: a Secret labelled not for triggers',
    name: 'restricted-labelled',
    restricted: true,
    setup: () => [triggerAuth('restricted-labelled', 'operator-only', { apiKey: 'key' })],
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: 'restricted-labelled' } })),
    expect: 'it is labelled keda-ts.dev/not-for-triggers=true',
  },
  {
    title: 'restricted mode: a service account token Secret',
    name: 'restricted-sa-token',
    restricted: true,
    setup: () => [triggerAuth('restricted-sa-token', 'controller-token', { apiKey: 'token' })],
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: 'restricted-sa-token' } })),
    expect: 'it is a service account token Secret',
  },
  {
    title: 'restricted mode: a Secret that exists only in another namespace',
    name: 'restricted-other-ns',
    restricted: true,
    setup: () => [triggerAuth('restricted-other-ns', 'only-in-other', { apiKey: 'key' })],
    triggers: () => [metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' })].map((t) => ({ ...t, authenticationRef: { name: 'restricted-other-ns' } })),
    expect: 'apiKey is required when apiKey auth is enabled',
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type ScaledObjectObj = k8s.KubernetesObject & { status?: { conditions?: Condition[] } & Obj };

const readSo = (name: string, namespace: string) =>
  readObject<ScaledObjectObj>(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name, namespace });

async function eventsOf(name: string, namespace: string): Promise<{ reason?: string; note?: string; series?: { count?: number } }[]> {
  const out = await kubectl(['get', 'events.events.k8s.io', '-n', namespace, '--field-selector', `regarding.name=${name}`, '-o', 'json']);
  return (JSON.parse(out) as { items: { reason?: string; note?: string; series?: { count?: number } }[] }).items;
}

/** Everything about an object a tenant can read: its conditions, its whole status, and its Events. */
async function visibleText(name: string, namespace: string): Promise<string> {
  const [obj, events] = await Promise.all([readSo(name, namespace), eventsOf(name, namespace)]);
  return [
    ...(obj?.status?.conditions ?? []).map((c) => `condition ${c.type}=${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`),
    ...events.map((e) => `event ${e.reason ?? ''}: ${e.note ?? ''}`),
    `status ${JSON.stringify(obj?.status ?? {})}`,
  ].join('\n');
}

const matches = (text: string, expected: string | RegExp) => (typeof expected === 'string' ? text.includes(expected) : expected.test(text));

/** Waits until the object's Events or conditions carry `expected`; resolves with that text. */
async function waitForOwnFailure(name: string, namespace: string, expected: string | RegExp, timeoutMs = 90_000): Promise<string> {
  let last = '';
  return waitFor(
    async () => {
      last = await visibleText(name, namespace);
      return matches(last, expected) ? last : undefined;
    },
    { timeoutMs, intervalMs: 1000, description: () => `${namespace}/${name} to report ${String(expected)}; it shows ${last.slice(0, 1500)}` },
  );
}

async function replicasOf(name: string, namespace: string): Promise<number | undefined> {
  return (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace })).spec?.replicas;
}

// ---------------------------------------------------------------------------------------------
// The health watch: every 250 ms each controller's /healthz, with a 1 s limit.

const healthLatencies: number[] = [];
let healthFailures = 0;
let healthTimer: NodeJS.Timeout | undefined;
function watchHealth(ports: number[]): void {
  healthTimer = setInterval(() => {
    for (const port of ports) {
      const started = performance.now();
      void probeOnce({ url: `http://127.0.0.1:${port}/healthz` }, 1000).then((status) => {
        healthLatencies.push(performance.now() - started);
        if (status !== 200) healthFailures += 1;
      });
    }
  }, 250);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  for (const k of Object.keys(names) as (keyof typeof names)[]) names[k] = await createTestNamespace(`hostile-${k.toLowerCase()}`);
  canaryPort = await freePort();
  await new Promise<void>((r) => canary.listen(canaryPort, DENIED_IP, r));
  await new Promise<void>((r) => hostile.listen(0, '127.0.0.1', r));

  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-hostile-'));
  for (const logs of ['logs-a', 'logs-b', 'logs-webhook']) mkdirSync(path.join(dir, logs));
  const certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${names.ns}.svc`]);
  // The root of ClusterTriggerAuthentication filePath: a file inside, and a secret beside it the
  // tenant tries to reach with `..`.
  const fileRoot = path.join(dir, 'filepath-root');
  mkdirSync(fileRoot);
  writeFileSync(path.join(dir, 'outside.json'), JSON.stringify({ apiKey: MARKER }));

  // Objects the tenant must not reach.
  await kubectlApply(secret('only-in-other', { key: MARKER }), names.other);
  await kubectlApply(secret('kedaorg-certs', { 'ca.key': MARKER, 'ca.crt': 'x' }), names.ctlB);
  await kubectlApply(secret('sh.helm.release.v1.keda.v1', { release: MARKER }, { type: 'helm.sh/release.v1', metadata: { labels: { owner: 'helm', name: 'keda' } } }), names.ctlB);
  await kubectlApply(
    secret('controller-token', {}, { type: 'kubernetes.io/service-account-token', metadata: { annotations: { 'kubernetes.io/service-account.name': 'default' } } }),
    names.ctlB,
  );
  await kubectlApply(secret('operator-only', { key: MARKER }, { metadata: { labels: { 'keda-ts.dev/not-for-triggers': 'true' } } }), names.ctlB);
  // A ClusterTriggerAuthentication that its owner limited to `other`.
  await kubectlApply(secret('cta-limited', { key: 'k' }), names.ctlA);
  await apply(kc, {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ClusterTriggerAuthentication',
    metadata: { name: `cta-limited-${names.ns}`, annotations: { 'keda-ts.dev/allowed-namespaces': names.other } },
    spec: { secretTargetRef: [{ parameter: 'apiKey', name: 'cta-limited', key: 'key' }] },
  } as k8s.KubernetesObject);

  const grpcPort = await freePort();
  const securePort = await freePort();
  const common = [`--cert-dir=${certs.dir}`, `--scaler-egress-deny-cidrs=${DENIED_IP}/32`, '--http-default-timeout=2000'];
  apps = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          ...common,
          `--watch-namespace=${names.ns}`,
          `--pod-namespace=${names.ctlA}`,
          `--cluster-object-namespace=${names.ctlA}`,
          `--filepath-auth-root-path=${fileRoot}`,
          `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
        ],
      },
      adapterSpec({ securePort, certDir: certs.dir, grpcPort, authority: 'keda-operator.keda.svc' }),
    ],
    path.join(dir, 'logs-a'),
  );
  controllerB = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          ...common,
          `--watch-namespace=${names.r}`,
          `--pod-namespace=${names.ctlB}`,
          `--cluster-object-namespace=${names.ctlB}`,
          '--restrict-secret-access',
          `--metrics-service-bind-address=127.0.0.1:${await freePort()}`,
        ],
      },
    ],
    path.join(dir, 'logs-b'),
  );
  watchHealth([apps[0].healthPort, controllerB[0].healthPort]);
  await registerApiServiceToLocalhost(kc, { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: names.ns, serviceName: SERVICE, port: securePort, caPem: certs.caPem });
  apiServiceRegistered = true;

  // The webhook, for `adm` only.
  const cert = await createServingCertificate(path.join(dir, 'webhook-pki'), ['127.0.0.1', 'localhost']);
  const whCerts = path.join(dir, 'webhook-certs');
  mkdirSync(whCerts);
  writeFileSync(path.join(whCerts, 'tls.crt'), cert.certPem);
  writeFileSync(path.join(whCerts, 'tls.key'), cert.keyPem);
  const whPort = await freePort();
  webhook = await startApps(readClusterInfo().kubeconfig, [{ name: 'webhook', args: [`--port=${whPort}`, `--cert-dir=${whCerts}`, '--metrics-bind-address=127.0.0.1:0'] }], path.join(dir, 'logs-webhook'));
  webhookRegistered = `keda-admission-${names.adm}`;
  const rule = (resource: string) => ({ apiGroups: ['keda.sh'], apiVersions: ['v1alpha1'], resources: [resource] });
  await registerValidatingWebhookByUrl(kc, {
    configurationName: webhookRegistered,
    port: whPort,
    caPem: cert.caPem,
    failurePolicy: 'Fail',
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': names.adm } },
    webhooks: [
      { name: 'vscaledobject.kb.io', path: '/validate-keda-sh-v1alpha1-scaledobject', rules: [rule('scaledobjects')] },
      { name: 'vstriggerauthentication.kb.io', path: '/validate-keda-sh-v1alpha1-triggerauthentication', rules: [rule('triggerauthentications')] },
    ],
  });
  await waitFor(
    async () => {
      try {
        await kubectlApply(so('probe', [trigger('kafkaa', {})]), names.adm);
        await kubectl(['delete', 'scaledobject', 'probe', '-n', names.adm, '--ignore-not-found']);
        return false;
      } catch (err) {
        return String(err).includes('no scaler found');
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'webhook registration to take effect' },
  );

  // The healthy ScaledObject: 30 against a target of 10 -> the real HPA takes it to 3 replicas.
  await apply(kc, deploymentManifest('healthy', 1), names.ns);
  await apply(kc, so('healthy', [metricsApi(hostileUrl('/healthy'))], { minReplicaCount: 1 }) as k8s.KubernetesObject, names.ns);
}, 300_000);

afterAll(async () => {
  if (healthTimer) clearInterval(healthTimer);
  for (const t of slowLorisTimers) clearInterval(t);
  if (webhookRegistered) await unregisterValidatingWebhook(kc, webhookRegistered).catch(() => undefined);
  if (apiServiceRegistered) await unregisterApiService(kc, { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: names.ns, serviceName: SERVICE });
  await kubectl(['delete', 'clustertriggerauthentication', `cta-limited-${names.ns}`, `cta-filepath-${names.ns}`, '--ignore-not-found']).catch(() => undefined);
  await stopApps([...apps, ...controllerB, ...webhook]);
  hostile.closeAllConnections();
  await new Promise((r) => hostile.close(r));
  await new Promise((r) => canary.close(r));
  for (const n of Object.values(names)) if (n) await deleteTestNamespace(n);
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 120_000);

describe('refused at admission, naming the field', () => {
  it.each(HOSTILE_TRIGGERS.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const name = `adm-${HOSTILE_TRIGGERS.indexOf(c)}`;
    let error = '';
    try {
      await kubectlApply(so(name, [c.trigger()]), names.adm);
    } catch (err) {
      error = String(err);
    }
    expect(error).toContain('denied the request');
    expect(error).toContain(c.admission);
    expect(error).not.toContain(MARKER);
    const stored = await kubectl(['get', 'scaledobject', name, '-n', names.adm, '--ignore-not-found', '-o', 'name']);
    expect(stored.trim()).toBe('');
  });
});

describe('without the webhook, the controller refuses the same triggers for their own ScaledObject only', () => {
  it.each(HOSTILE_TRIGGERS.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const name = `nowh-${HOSTILE_TRIGGERS.indexOf(c)}`;
    await apply(kc, deploymentManifest(name, 0), names.ns);
    await kubectlApply(so(name, [c.trigger()]), names.ns);
    const text = await waitForOwnFailure(name, names.ns, c.controller ?? c.admission);
    expect(text).not.toContain(MARKER);
  });
});

describe('admitted, but failing only its own ScaledObject', () => {
  it.each(RUNTIME.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
    const namespace = c.restricted ? names.r : names.ns;
    for (const obj of c.setup?.() ?? []) await kubectlApply(obj, namespace);
    await apply(kc, deploymentManifest(c.name, 0), namespace);
    await kubectlApply(so(c.name, c.triggers()), namespace);
    const text = await waitForOwnFailure(c.name, namespace, c.expect);
    expect(text).not.toContain(MARKER);
  });

  it('a ClusterTriggerAuthentication filePath that climbs out of the root is refused', async () => {
    await apply(kc, {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ClusterTriggerAuthentication',
      metadata: { name: `cta-filepath-${names.ns}` },
      spec: { filePath: '../outside.json' },
    } as k8s.KubernetesObject);
    await apply(kc, deploymentManifest('cta-filepath', 0), names.ns);
    await kubectlApply(
      so('cta-filepath', [{ ...metricsApi(hostileUrl('/healthy'), { authMode: 'apiKey' }), authenticationRef: { name: `cta-filepath-${names.ns}`, kind: 'ClusterTriggerAuthentication' } }]),
      names.ns,
    );
    const text = await waitForOwnFailure('cta-filepath', names.ns, 'filePath');
    expect(text).not.toContain(MARKER);
  });
});

describe("another tenant's target, with no webhook", () => {
  it('a second ScaledObject on a target already scaled is not Ready and takes nothing over', async () => {
    await apply(kc, deploymentManifest('shared-target', 1), names.ns);
    const cron = trigger('cron', { timezone: 'UTC', start: '0 0 1 1 *', end: '1 0 1 1 *', desiredReplicas: '2' });
    await kubectlApply(so('first-owner', [cron], { minReplicaCount: 1, scaleTargetRef: { name: 'shared-target' } }), names.ns);
    await waitFor(async () => (await readSo('first-owner', names.ns))?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), {
      timeoutMs: 60_000,
      description: 'first-owner Ready',
    });
    await kubectlApply(so('second-owner', [metricsApi(hostileUrl('/healthy'))], { scaleTargetRef: { name: 'shared-target' } }), names.ns);
    const text = await waitForOwnFailure('second-owner', names.ns, 'first-owner');
    const second = await readSo('second-owner', names.ns);
    expect(second?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(text).toContain('first-owner');
    const hpaOfSecond = await readObject(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-second-owner', namespace: names.ns });
    expect(hpaOfSecond).toBeUndefined();
    const first = await readSo('first-owner', names.ns);
    expect(first?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('an HPA of the generated name that is not ours is neither replaced nor deleted', async () => {
    await apply(kc, deploymentManifest('foreign-hpa', 1), names.ns);
    const foreign = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'keda-hpa-foreign-hpa', labels: { owner: 'someone-else' } },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'foreign-hpa' }, minReplicas: 1, maxReplicas: 2, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
    };
    await kubectlApply(foreign, names.ns);
    await kubectlApply(so('foreign-hpa', [metricsApi(hostileUrl('/healthy'))], { minReplicaCount: 1 }), names.ns);
    await waitForOwnFailure('foreign-hpa', names.ns, /keda-hpa-foreign-hpa/);
    const so1 = await readSo('foreign-hpa', names.ns);
    expect(so1?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    const hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-foreign-hpa', namespace: names.ns });
    expect(hpa?.spec?.maxReplicas).toBe(2);
    expect(hpa?.metadata?.labels?.['owner']).toBe('someone-else');
    // Deleting the ScaledObject leaves the foreign HPA alone.
    await kubectl(['delete', 'scaledobject', 'foreign-hpa', '-n', names.ns, '--wait=true', '--timeout=60s']);
    const after = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-foreign-hpa', namespace: names.ns });
    expect(after?.spec?.maxReplicas).toBe(2);
  });
});

describe('a CloudEventSource whose sink is forbidden', () => {
  it('is marked failed and never contacted: a metadata address, link-local (v4 and v6), the deny list', async () => {
    const sinks: Record<string, string> = {
      'ces-metadata': 'http://169.254.169.254/latest/meta-data/',
      'ces-metadata-name': 'http://metadata.google.internal/computeMetadata/v1/',
      'ces-link-local': 'http://169.254.10.10:8080/events',
      'ces-link-local-v6': 'http://[fe80::1]:8080/events',
      'ces-denied': deniedUrl('/events'),
    };
    for (const [name, uri] of Object.entries(sinks)) {
      await kubectlApply({ apiVersion: 'eventing.keda.sh/v1alpha1', kind: 'CloudEventSource', metadata: { name }, spec: { destination: { http: { uri } } } }, names.ns);
    }
    type Ces = { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };
    const activeOf = async (name: string) =>
      (JSON.parse(await kubectl(['get', 'cloudeventsource', name, '-n', names.ns, '-o', 'json'])) as Ces).status?.conditions?.find((c) => c.type === 'Active');
    for (const name of Object.keys(sinks)) {
      await waitFor(async () => (await activeOf(name))?.status === 'False', { timeoutMs: 60_000, description: `${name} Active=False` });
    }
    // Events each of them would get: a TriggerAuthentication created, updated and deleted in the namespace.
    const ta = (v: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name: 'ces-probe', labels: { v } }, spec: { podIdentity: { provider: 'none' } } });
    await kubectlApply(ta('1'), names.ns);
    await kubectlApply(ta('2'), names.ns);
    await kubectl(['delete', 'triggerauthentication', 'ces-probe', '-n', names.ns, '--wait=true', '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 3_000));
    for (const name of Object.keys(sinks)) {
      const active = await activeOf(name);
      expect({ name, status: active?.status, reason: active?.reason }).toEqual({ name, status: 'False', reason: 'CloudEventSourceFailed' });
      expect(active?.message).toBe('Failed to send events to the configured destination');
    }
    expect(canaryConnections).toBe(0);
  });
});

describe('through all of it', () => {
  it('the canary on the denied address saw no connection', () => {
    expect(canaryConnections).toBe(0);
  });

  it('failing ScaledObjects hold a bounded number of Event objects', async () => {
    for (const c of RUNTIME.filter((r) => !r.restricted)) {
      const events = await eventsOf(c.name, names.ns);
      const failed = events.filter((e) => e.reason === 'KEDAScalerFailed' || e.reason === 'ScaledObjectCheckFailed');
      expect({ name: c.name, failedEvents: failed.length, all: events.length }).toEqual(expect.objectContaining({ name: c.name }));
      expect(events.length).toBeLessThanOrEqual(4);
      expect(failed.length).toBeLessThanOrEqual(2);
    }
  });

  it('the healthy ScaledObject is scaled by the real HPA and the controllers answered /healthz in under 1 s', async () => {
    await waitFor(async () => (await replicasOf('healthy', names.ns)) === 3, { timeoutMs: 120_000, description: 'healthy at 3 replicas' });
    const sorted = [...healthLatencies].sort((a, b) => a - b);
    process.stderr.write(
      `[hostile-tenant] /healthz probes: ${sorted.length}, failures ${healthFailures}, p99 ${Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0)} ms, max ${Math.round(sorted.at(-1) ?? 0)} ms\n`,
    );
    expect(sorted.length).toBeGreaterThan(100);
    expect(healthFailures).toBe(0);
    expect(sorted.at(-1)).toBeLessThan(1000);
  });
});
