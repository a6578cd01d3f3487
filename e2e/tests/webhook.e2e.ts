/**
 * The admission webhook against the real control plane: registered by URL on 127.0.0.1 for this
 * file's namespace only, bad manifests rejected by `kubectl apply` with KEDA's messages and nothing
 * stored, good ones accepted, the duplicate-target and foreign-HPA rules, and failurePolicy Ignore
 * with the webhook stopped.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { createServingCertificate } from '../src/pki';
import { freePort } from '../src/processes';
import {
  deploymentManifest,
  k8s,
  kubeConfig,
  kubectl,
  readClusterInfo,
  registerValidatingWebhookByUrl,
  unregisterValidatingWebhook,
  useTestNamespace,
  waitFor,
  type WebhookByUrl,
} from '../src/testing';

jest.setTimeout(240_000);

const ns = useTestNamespace('webhook');
let webhook: RunningApp[] = [];
let registration: WebhookByUrl;

const keda = (kind: string) => ({ apiGroups: ['keda.sh'], apiVersions: ['v1alpha1'], resources: [kind] });

type Obj = Record<string, unknown>;
const applyObj = (obj: Obj) => kubectl(['apply', '-n', ns.name, '-f', '-'], JSON.stringify(obj));
const exists = async (kind: string, name: string) =>
  (await kubectl(['get', kind, name, '-n', ns.name, '--ignore-not-found', '-o', 'name'])).trim() !== '';

const cron = { type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } };
const cpu = { type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } };
const memory = { type: 'memory', metricType: 'Utilization', metadata: { value: '50' } };
const so = (name: string, spec: Obj = {}, meta: Obj = {}): Obj => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name, ...meta },
  spec: { scaleTargetRef: { name: 'app' }, triggers: [cron], ...spec },
});
const sj = (name: string, triggers: unknown[], podSpec: Obj = {}): Obj => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledJob',
  metadata: { name },
  spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }], restartPolicy: 'Never', ...podSpec } } }, triggers },
});
const ta = (name: string, spec: Obj, kind = 'TriggerAuthentication'): Obj => ({ apiVersion: 'keda.sh/v1alpha1', kind, metadata: { name }, spec });
const ces = (name: string, spec: Obj): Obj => ({
  apiVersion: 'eventing.keda.sh/v1alpha1',
  kind: 'CloudEventSource',
  metadata: { name },
  spec: { destination: { http: { uri: 'http://sink.example:8080/events' } }, ...spec },
});
const deployment = (name: string, resources?: k8s.V1ResourceRequirements): Obj => ({
  ...deploymentManifest(name, 1, { containerName: 'app', image: 'nginx', resources }),
});
const named = (n: string) => ({ ...cron, name: n });
const sm = (scalingModifiers: Obj, triggers: unknown[] = [named('a')]) => ({ advanced: { scalingModifiers }, triggers });
const trig = (type: string, metadata: Obj, extra: Obj = {}) => ({ type, metadata, ...extra });

/** [title, object, expected message part]: every one is rejected and not stored. */
const BAD: [string, Obj, string][] = [
  ['idle >= min', so('idle-ge-min', { minReplicaCount: 2, idleReplicaCount: 2 }), 'IdleReplicaCount=2 must be less than MinReplicaCount=2'],
  ['idle 0 with min unset', so('idle-zero', { idleReplicaCount: 0 }), 'IdleReplicaCount=0 must be less than MinReplicaCount=0'],
  ['min > max (CRD rule first)', so('min-max', { minReplicaCount: 5, maxReplicaCount: 3 }), 'minReplicaCount'],
  ['duplicate trigger names', so('dup-names', { triggers: [named('a'), named('a')] }), 'triggerName "a" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique'],
  ['useCachedMetrics on cron', so('cached-cron', { triggers: [{ ...cron, useCachedMetrics: true }] }), 'property "useCachedMetrics" is not supported for "cron" scaler'],
  ['useCachedMetrics on cpu', so('cached-cpu', { minReplicaCount: 1, triggers: [{ ...cpu, useCachedMetrics: true }] }), 'property "useCachedMetrics" is not supported for "cpu" scaler'],
  ['fallback with only cpu', so('fb-cpu', { minReplicaCount: 1, triggers: [cpu], fallback: { failureThreshold: 3, replicas: 2 } }), 'at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled'],
  ['fallback behavior scalingModifiers without formula', so('fb-sm', { fallback: { failureThreshold: 3, replicas: 2, behavior: 'scalingModifiers' } }), 'scalingModifiers fallback behavior requires scalingModifiers.formula to be defined'],
  ['formula mandatory', so('sm-noformula', sm({ target: '2' })), 'error ScalingModifiers.Formula is mandatory'],
  ['formula without target', so('sm-notarget', sm({ formula: 'a' })), 'formula is given but target is empty'],
  ['formula with an unknown name', so('sm-unknown', sm({ formula: 'a + b', target: '2' })), 'error validating formula in ScalingModifiers'],
  ['formula that does not compile', so('sm-syntax', sm({ formula: 'a +', target: '2' })), 'error validating formula in ScalingModifiers'],
  ['target not > 0', so('sm-target', sm({ formula: 'a', target: '0' })), 'ScalingModifiers.Target must be a float greater than 0'],
  ['modifiers metricType Utilization', so('sm-util', sm({ formula: 'a', target: '2', metricType: 'Utilization' })), "'Utilization' metric type is unsupported for scaling modifiers"],
  ['name too long', so('n'.repeat(64)), 'ScaledObject name is 64 characters long'],
  ['HPA name too long', so('hpa-long', { advanced: { horizontalPodAutoscalerConfig: { name: 'h'.repeat(64) } } }), 'is 64 characters long but must be at most 63'],
  ['paused-replicas not an int', so('paused-bad', {}, { annotations: { 'autoscaling.keda.sh/paused-replicas': 'abc' } }), 'paused-replicas'],
  ['unknown trigger type', so('unknown-type', { triggers: [trig('kafkaa', {})] }), 'no scaler found for type: kafkaa'],
  ['Utilization on cron', so('cron-util', { triggers: [{ ...cron, metricType: 'Utilization' }] }), "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  ['cpu without requests', so('cpu-noreq', { scaleTargetRef: { name: 'noreq' }, minReplicaCount: 1, triggers: [cpu] }), "the scaledobject has a cpu trigger but the container app doesn't have the cpu request defined"],
  ['memory without requests', so('mem-noreq', { scaleTargetRef: { name: 'noreq' }, minReplicaCount: 1, triggers: [memory] }), "the scaledobject has a memory trigger but the container app doesn't have the memory request defined"],
  ['only cpu/memory with min 0', so('cpu-zero', { triggers: [cpu, memory] }), "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)"],
  ['cpu on a missing Deployment', so('cpu-missing', { scaleTargetRef: { name: 'missing' }, minReplicaCount: 1, triggers: [cpu] }), 'deployments.apps "missing" not found'],
  ['cpu: value missing', so('cpu-novalue', { minReplicaCount: 1, triggers: [{ ...cpu, metadata: {} }] }), 'missing required parameter "value" in [triggerMetadata]'],
  ['cpu: value not an integer', so('cpu-abc', { minReplicaCount: 1, triggers: [{ ...cpu, metadata: { value: 'abc' } }] }), 'value "abc" must be an integer percentage'],
  ['memory: metricType Value', so('mem-value', { minReplicaCount: 1, triggers: [{ ...memory, metricType: 'Value' }] }), "unknown metric type: Value, allowed values are 'Utilization' or 'AverageValue'"],
  ['cron: timezone missing', so('cron-notz', { triggers: [trig('cron', { start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: '1' })] }), 'missing required parameter "timezone" in [triggerMetadata]'],
  ['cron: bad start', so('cron-start', { triggers: [trig('cron', { ...cron.metadata, start: 'bad' })] }), 'error parsing start schedule'],
  ['cron: bad timezone', so('cron-tz', { triggers: [trig('cron', { ...cron.metadata, timezone: 'Nowhere/Town' })] }), 'unable to load timezone: unknown time zone Nowhere/Town'],
  ['cron: desiredReplicas not an integer', so('cron-desired', { triggers: [trig('cron', { ...cron.metadata, desiredReplicas: 'x' })] }), 'unable to set param "desiredReplicas" value "x": must be an integer'],
  ['kubernetes-workload: podSelector missing', so('kw-nosel', { triggers: [trig('kubernetes-workload', { value: '1' })] }), 'missing required parameter "podSelector" in [triggerMetadata]'],
  ['kubernetes-workload: value not a number', so('kw-value', { triggers: [trig('kubernetes-workload', { podSelector: 'app=x', value: 'abc' })] }), 'unable to set param "value" value "abc": must be a number'],
  ['kubernetes-workload: bad selector', so('kw-sel', { triggers: [trig('kubernetes-workload', { podSelector: 'app in (', value: '1' })] }), 'error parsing pod selector'],
  ['metrics-api: url missing', so('ma-nourl', { triggers: [trig('metrics-api', { targetValue: '1', valueLocation: 'a' })] }), 'missing required parameter "url" in [triggerMetadata]'],
  ['metrics-api: valueLocation missing', so('ma-noloc', { triggers: [trig('metrics-api', { url: 'http://x', targetValue: '1' })] }), 'missing required parameter "valueLocation" in [triggerMetadata]'],
  ['metrics-api: targetValue not a number', so('ma-target', { triggers: [trig('metrics-api', { url: 'http://x', targetValue: 'abc', valueLocation: 'a' })] }), 'unable to set param "targetValue" value "abc": must be a number'],
  ['metrics-api: format xml', so('ma-xml', { triggers: [trig('metrics-api', { url: 'http://x', targetValue: '1', valueLocation: 'a', format: 'xml' })] }), 'parameter "format" value "xml" is not supported yet'],
  ['redis: listName missing', so('redis-nolist', { triggers: [trig('redis', { address: 'redis:6379' })] }), 'missing required parameter "listName" in [triggerMetadata]'],
  ['redis: no address', so('redis-noaddr', { triggers: [trig('redis', { listName: 'jobs' })] }), 'no address or host given'],
  ['redis-cluster: hosts and ports differ', so('redis-cl-ports', { triggers: [trig('redis-cluster', { hosts: 'a,b', ports: '1', listName: 'jobs' })] }), 'the number of hosts (2) must equal the number of ports (1)'],
  ['redis-sentinel: no sentinelMaster', so('redis-sen-master', { triggers: [trig('redis-sentinel', { addresses: 'a:26379', listName: 'jobs' })] }), 'missing required parameter "sentinelMaster"'],
  ['redis-streams: lagCount not an integer', so('redis-st-lag', { triggers: [trig('redis-streams', { address: 'r:6379', stream: 's', consumerGroup: 'g', lagCount: 'x' })] }), 'unable to set param "lagCount" value "x": must be an integer'],
  ['redis-cluster-streams: stream missing', so('redis-clst-nostream', { triggers: [trig('redis-cluster-streams', { addresses: 'a:1' })] }), 'missing required parameter "stream" in [triggerMetadata]'],
  ['redis-sentinel-streams: enableTLS not a bool', so('redis-sest-tls', { triggers: [trig('redis-sentinel-streams', { addresses: 'a:1', sentinelMaster: 'm', stream: 's', enableTLS: 'yes please' })] }), 'unable to set param "enableTLS" value "yes please": must be a boolean'],
  ['nats-jetstream: consumer missing', so('nats-noconsumer', { triggers: [trig('nats-jetstream', { account: '$G', stream: 's', natsServerMonitoringEndpoint: 'nats:8222' })] }), 'missing required parameter "consumer" in [triggerMetadata]'],
  ['nats-jetstream: endpoint with a scheme', so('nats-scheme', { triggers: [trig('nats-jetstream', { account: '$G', stream: 's', consumer: 'c', natsServerMonitoringEndpoint: 'http://nats:8222' })] }), 'must be host:port without a scheme or path'],
  ['external: scalerAddress missing', so('ext-noaddr', { triggers: [trig('external', { queue: 'q' })] }), 'missing required parameter "scalerAddress" in [triggerMetadata]'],
  ['external-push: scalerAddress without port', so('extp-port', { triggers: [trig('external-push', { scalerAddress: 'scaler.svc' })] }), 'must be host:port (or a gRPC target such as dns:///host:port)'],
  ['prometheus: threshold missing', so('prom-nothreshold', { triggers: [trig('prometheus', { serverAddress: 'http://prom:9090', query: 'up' })] }), 'missing required parameter "threshold" in [triggerMetadata]'],
  ['prometheus: serverAddress not http', so('prom-addr', { triggers: [trig('prometheus', { serverAddress: 'prom:9090', query: 'up', threshold: '1' })] }), 'parameter "serverAddress" must be an absolute http:// or https:// URL'],
  ['postgresql: no connection and no host', so('pg-nohost', { triggers: [trig('postgresql', { query: 'SELECT 1', targetQueryValue: '1', port: '5432', userName: 'u', dbName: 'd', sslmode: 'disable' })] }), 'no host given'],
  ['postgresql: bad sslmode', so('pg-ssl', { triggers: [trig('postgresql', { query: 'SELECT 1', targetQueryValue: '1', host: 'db', port: '5432', userName: 'u', dbName: 'd', sslmode: 'maybe' })] }), 'parameter "sslmode" value "maybe" must be one of'],
  ['mysql: queryValue missing', so('my-novalue', { triggers: [trig('mysql', { query: 'SELECT 1', host: 'db', port: '3306', username: 'u', dbName: 'd' })] }), 'missing required parameter "queryValue" in [triggerMetadata]'],
  ['mongodb: queryValue missing', so('mongo-novalue', { triggers: [trig('mongodb', { dbName: 'd', collection: 'c', query: '{"state":"waiting"}', host: 'db', port: '27017', username: 'u' })] }), 'missing required parameter "queryValue" in [triggerMetadata]'],
  ['mongodb: query not JSON', so('mongo-query', { triggers: [trig('mongodb', { dbName: 'd', collection: 'c', query: "{state: 'waiting'}", queryValue: '5', connectionString: 'mongodb://db:27017' })] }), 'parameter "query" must be a JSON filter document'],
  ['rabbitmq: rate mode over amqp', so('rmq-rate', { triggers: [trig('rabbitmq', { queueName: 'q', host: 'amqp://h:5672/', mode: 'MessageRate', value: '5' })] }), 'protocol amqp does not support mode MessageRate; use protocol http'],
  ['kafka: lagThreshold 0', so('kafka-lag', { triggers: [trig('kafka', { bootstrapServers: 'k:9092', consumerGroup: 'g', lagThreshold: '0' })] }), 'lagThreshold must be positive number'],
  ['aws-sqs-queue: no access key', so('sqs-nokey', { triggers: [trig('aws-sqs-queue', { queueURL: 'https://sqs.eu-west-1.amazonaws.com/1/q', awsRegion: 'eu-west-1' })] }), 'awsAccessKeyID not found'],
  ['azure-queue: no connection', so('azq-noconn', { triggers: [trig('azure-queue', { queueName: 'q' })] }), 'no connection setting given'],
  ['azure-blob: bad glob', so('azb-glob', { triggers: [trig('azure-blob', { blobContainerName: 'c', connection: 'AccountName=a', globPattern: 'a{b' })] }), 'invalid glob pattern'],
  ['ScaledJob: duplicate trigger names', sj('sj-dup', [named('a'), named('a')]), 'triggerName "a" is defined multiple times'],
  ['ScaledJob: unknown trigger type', sj('sj-unknown', [trig('nope', {})]), 'no scaler found for type: nope'],
  // keda-ts: the API server checks the Job template (a dry-run create of the Job); its paths are mapped onto the ScaledJob.
  [
    'ScaledJob: invalid container name (API server dry run)',
    sj('sj-badname', [cron], { containers: [{ name: 'Bad_Name', image: 'busybox' }] }),
    'spec.jobTargetRef would not make a valid Job: spec.jobTargetRef.template.spec.containers[0].name: Invalid value: "Bad_Name"',
  ],
  ['ScaledJob: restartPolicy Always (API server dry run)', sj('sj-always', [cron], { restartPolicy: 'Always' }), 'spec.jobTargetRef.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
  // As in KEDA 2.20: metricType is not in the ScaledJob CRD (only ScaledObjects have it); kubectl's strict field validation names it.
  ['ScaledJob: metricType is not a ScaledJob field', sj('sj-metrictype', [{ ...cron, metricType: 'Value' }]), 'unknown field "spec.triggers[0].metricType"'],
  ['ScaledJob: cron metadata', sj('sj-cron', [trig('cron', { start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: '1' })]), 'missing required parameter "timezone"'],
  ['TA: azure-workload empty identityId', ta('ta-azure', { podIdentity: { provider: 'azure-workload', identityId: '' } }), 'identityId of PodIdentity should not be empty'],
  ['TA: authority host without tenant', ta('ta-authority', { podIdentity: { provider: 'azure-workload', identityAuthorityHost: 'https://login' } }), 'identityTenantID of PodIdentity should not be nil or empty when identityAuthorityHost of PodIdentity is set'],
  ['TA: aws roleArn with workload owner', ta('ta-aws-owner', { podIdentity: { provider: 'aws', roleArn: 'arn:x', identityOwner: 'workload' } }), "roleArn of PodIdentity can't be set if KEDA isn't identityOwner"],
  ['TA: aws externalID without roleArn', ta('ta-aws-ext', { podIdentity: { provider: 'aws', externalID: 'e' } }), 'externalID of PodIdentity requires roleArn to be set'],
  ['TA: oauth2 without clientId', ta('ta-oauth-id', { oauth2: { type: 'clientCredentials', tokenUrl: 'https://t/x' } }), 'oauth2.clientId is required when oauth2 is configured'],
  ['CTA: oauth2 bad tokenUrl', ta('cta-oauth-url', { oauth2: { type: 'clientCredentials', clientId: 'c', tokenUrl: 'ftp://t' } }, 'ClusterTriggerAuthentication'), 'oauth2.tokenUrl must be a valid http or https URL'],
  ['CES: included and excluded', ces('ces-both', { eventSubscription: { includedEventTypes: ['keda.scaledobject.ready.v1'], excludedEventTypes: ['keda.scaledobject.failed.v1'] } }), 'setting included types and excluded types at the same time is not supported'],
  ['CES: unknown included type', ces('ces-unknown', { eventSubscription: { includedEventTypes: ['keda.scaledobject.bogus.v1'] } }), 'includedEventType: keda.scaledobject.bogus.v1 in cloudeventsource/clustercloudeventsource spec is not supported'],
  ['CES: unknown excluded type', ces('ces-unknown-ex', { eventSubscription: { excludedEventTypes: ['nope'] } }), 'excludedEventType: nope in cloudeventsource/clustercloudeventsource spec is not supported'],
  ['CES: two destinations', ces('ces-two', { destination: { http: { uri: 'http://sink:8080/' }, azureEventGridTopic: { endpoint: 'https://t.example/api/events' } } }), 'only one destination can be set'],
  ['CES: not an http URI', ces('ces-file', { destination: { http: { uri: 'file:///etc/passwd' } } }), 'destination.http.uri must be an absolute http or https URL'],
];

const GOOD: Obj[] = [
  so('good-cron'),
  so('good-cpu', { scaleTargetRef: { name: 'app-cpu' }, minReplicaCount: 1, triggers: [cpu, memory] }),
  so('good-sm', { scaleTargetRef: { name: 'app-sm' }, ...sm({ formula: 'a * 2', target: '2' }) }),
  so('good-kw', { scaleTargetRef: { name: 'app-kw' }, triggers: [trig('kubernetes-workload', { podSelector: 'app=x', value: '1' })] }),
  so('good-ma', { scaleTargetRef: { name: 'app-ma' }, triggers: [trig('metrics-api', { url: 'http://x', targetValue: '1', valueLocation: 'a' })] }),
  sj('good-sj', [cron]),
  ta('good-ta', { podIdentity: { provider: 'aws', roleArn: 'arn:x' } }),
  ces('good-ces', { eventSubscription: { excludedEventTypes: ['keda.scaledobject.ready.v1'] } }),
];

/** The cluster-scoped kinds (ClusterTriggerAuthentication) are not matched by a namespaceSelector. */
const clusterScoped = (o: Obj) => o['kind'] === 'ClusterTriggerAuthentication';

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-webhook-e2e-'));
  const cert = await createServingCertificate(path.join(dir, 'pki'), ['127.0.0.1', 'localhost']);
  const certDir = path.join(dir, 'certs');
  mkdirSync(certDir);
  writeFileSync(path.join(certDir, 'tls.crt'), cert.certPem);
  writeFileSync(path.join(certDir, 'tls.key'), cert.keyPem);
  const port = await freePort();
  webhook = await startApps(readClusterInfo().kubeconfig, [
    { name: 'webhook', args: [`--port=${port}`, `--cert-dir=${certDir}`, '--metrics-bind-address=127.0.0.1:0'] },
  ]);
  registration = {
    configurationName: `keda-admission-${ns.name}`,
    port,
    caPem: cert.caPem,
    failurePolicy: 'Fail',
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
    webhooks: [
      { name: 'vscaledobject.kb.io', path: '/validate-keda-sh-v1alpha1-scaledobject', rules: [keda('scaledobjects')] },
      { name: 'vscaledjob.kb.io', path: '/validate-keda-sh-v1alpha1-scaledjob', rules: [keda('scaledjobs')] },
      { name: 'vstriggerauthentication.kb.io', path: '/validate-keda-sh-v1alpha1-triggerauthentication', rules: [keda('triggerauthentications')] },
      // Cluster-scoped: namespaceSelector does not limit it; our CTA names are unique to this file.
      { name: 'vsclustertriggerauthentication.kb.io', path: '/validate-keda-sh-v1alpha1-clustertriggerauthentication', rules: [keda('clustertriggerauthentications')] },
      {
        name: 'vcloudeventsource.kb.io',
        path: '/validate-eventing-keda-sh-v1alpha1-cloudeventsource',
        rules: [{ apiGroups: ['eventing.keda.sh'], apiVersions: ['v1alpha1'], resources: ['cloudeventsources'] }],
      },
    ],
  };
  await registerValidatingWebhookByUrl(kcOf(), registration);
  for (const d of [
    deployment('app', { requests: { cpu: '100m', memory: '64Mi' } }),
    deployment('app-cpu', { requests: { cpu: '100m', memory: '64Mi' } }),
    deployment('noreq'),
  ]) await applyObj(d);
  // The configuration takes effect asynchronously: wait until a bad object is rejected.
  await waitFor(
    async () => {
      try {
        await applyObj(so('probe', { triggers: [trig('kafkaa', {})] }));
        await kubectl(['delete', 'scaledobject', 'probe', '-n', ns.name, '--ignore-not-found']);
        return false;
      } catch (err) {
        return String(err).includes('no scaler found');
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, description: 'webhook registration to take effect' },
  );
});

const kcOf = () => kubeConfig();

afterAll(async () => {
  if (registration) await unregisterValidatingWebhook(kcOf(), registration.configurationName).catch(() => undefined);
  await kubectl(['delete', 'clustertriggerauthentication', 'cta-oauth-url', `cta-good-${ns.name}`, '--ignore-not-found']).catch(() => undefined);
  await stopApps(webhook);
});

describe('webhook admission against the API server', () => {
  it(`rejects ${BAD.length} bad manifests with the expected message, storing nothing`, async () => {
    expect(BAD.length).toBeGreaterThanOrEqual(30);
    const failures: string[] = [];
    for (const [title, obj, message] of BAD) {
      const name = (obj['metadata'] as Obj)['name'] as string;
      const kind = obj['kind'] as string;
      try {
        await applyObj(obj);
        failures.push(`${title}: accepted`);
      } catch (err) {
        if (!String(err).includes(message)) failures.push(`${title}: ${String(err).slice(0, 400)}`);
      }
      if (await exists(kind.toLowerCase(), name)) failures.push(`${title}: stored`);
      if (clusterScoped(obj)) await kubectl(['delete', kind, name, '--ignore-not-found']);
    }
    expect(failures).toEqual([]);
  });

  it('accepts the matching good manifests', async () => {
    await applyObj(deployment('app-sm'));
    for (const obj of [...GOOD, ta(`cta-good-${ns.name}`, { oauth2: { type: 'clientCredentials', clientId: 'c', tokenUrl: 'https://t/x' } }, 'ClusterTriggerAuthentication')]) {
      await applyObj(obj);
      const kind = (obj['kind'] as string).toLowerCase();
      expect(await exists(kind, (obj['metadata'] as Obj)['name'] as string)).toBe(true);
    }
  });

  it('answers the C-106 warning and records it as a Normal KEDAScalerInfo event about the ScaledObject', async () => {
    const warned = so('warned', { scaleTargetRef: { name: 'warned-app' }, minReplicaCount: 1, cooldownPeriod: 30 });
    // --warnings-as-errors makes kubectl fail on the warning; the object is admitted all the same.
    await expect(kubectl(['apply', '--warnings-as-errors', '-n', ns.name, '-f', '-'], JSON.stringify(warned))).rejects.toThrow(
      'CooldownPeriod is configured but is not relevant',
    );
    expect(await exists('scaledobject', 'warned')).toBe(true);
    type Ev = { reason: string; type: string; note: string; reportingController: string; regarding: { kind: string; name: string; namespace: string } };
    const event = await waitFor(
      async () => {
        const list = JSON.parse(await kubectl(['get', 'events.events.k8s.io', '-n', ns.name, '-o', 'json'])) as { items: Ev[] };
        return list.items.find((e) => e.reason === 'KEDAScalerInfo' && e.regarding?.name === 'warned');
      },
      { timeoutMs: 30_000, description: 'a KEDAScalerInfo event about ScaledObject warned' },
    );
    expect(event).toMatchObject({
      type: 'Normal',
      reportingController: 'keda-admission',
      regarding: { kind: 'ScaledObject', name: 'warned', namespace: ns.name },
      note: expect.stringContaining('CooldownPeriod is configured but is not relevant'),
    });
    // A dry run gets the warning and leaves no event (sideEffects: None).
    await expect(
      kubectl(['apply', '--dry-run=server', '--warnings-as-errors', '-n', ns.name, '-f', '-'], JSON.stringify(so('warned-dry', { scaleTargetRef: { name: 'warned-dry-app' }, minReplicaCount: 1, cooldownPeriod: 30 }))),
    ).rejects.toThrow('CooldownPeriod is configured but is not relevant');
    const after = JSON.parse(await kubectl(['get', 'events.events.k8s.io', '-n', ns.name, '-o', 'json'])) as { items: Ev[] };
    expect(after.items.filter((e) => e.regarding?.name === 'warned-dry')).toEqual([]);
  });

  it('rejects a second ScaledObject on one Deployment, naming the first, and a duplicate HPA name', async () => {
    await applyObj(deployment('shared'));
    await applyObj(so('first', { scaleTargetRef: { name: 'shared' } }));
    await expect(applyObj(so('second', { scaleTargetRef: { name: 'shared' } }))).rejects.toThrow(
      "the workload 'shared' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'",
    );
    expect(await exists('scaledobject', 'second')).toBe(false);
    await expect(
      applyObj(so('third', { scaleTargetRef: { name: 'other-target' }, advanced: { horizontalPodAutoscalerConfig: { name: 'keda-hpa-first' } } })),
    ).rejects.toThrow("the HPA 'keda-hpa-first' is already managed by the ScaledObject 'first'");
  });

  it('rejects a ScaledObject on a Deployment with a plain HPA; accepts it with the transfer annotation and name', async () => {
    await applyObj(deployment('hpa-app'));
    await applyObj({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'plain-hpa' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hpa-app' }, minReplicas: 1, maxReplicas: 3, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }] },
    });
    // The HPA reaches the webhook's cache through its watch.
    await waitFor(
      async () => {
        try {
          await applyObj(so('on-hpa', { scaleTargetRef: { name: 'hpa-app' } }));
          await kubectl(['delete', 'scaledobject', 'on-hpa', '-n', ns.name]);
          return false;
        } catch (err) {
          return String(err).includes("the workload 'hpa-app' of type 'apps/v1.Deployment' is already managed by the hpa 'plain-hpa'");
        }
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the foreign HPA rejection' },
    );
    const transfer = { annotations: { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' } };
    await expect(applyObj(so('on-hpa', { scaleTargetRef: { name: 'hpa-app' } }, transfer))).rejects.toThrow(
      "the existing hpa 'plain-hpa' for workload 'hpa-app' of type 'apps/v1.Deployment' must be specified by name in advanced settings to enable ownership transfer",
    );
    await applyObj(so('on-hpa', { scaleTargetRef: { name: 'hpa-app' }, advanced: { horizontalPodAutoscalerConfig: { name: 'plain-hpa' } } }, transfer));
    expect(await exists('scaledobject', 'on-hpa')).toBe(true);
  });

  it('with failurePolicy Ignore and the webhook stopped, a valid object still applies within the timeout', async () => {
    await registerValidatingWebhookByUrl(kcOf(), { ...registration, failurePolicy: 'Ignore' });
    await stopApps(webhook);
    webhook = [];
    const started = Date.now();
    await waitFor(
      async () => {
        try {
          await applyObj(so('while-down', { scaleTargetRef: { name: 'down-target' } }));
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'apply with the webhook down' },
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await exists('scaledobject', 'while-down')).toBe(true);
  });
});
