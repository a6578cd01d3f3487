import { trimHpaForIndex, trimScaledObjectForIndex } from './cluster';
import { HpaIndex, LimitRangeIndex, ScaledObjectIndex } from './indexes';
import { parseAdmissionReview, type AdmissionRequest } from './review';
import { COOLDOWN_PERIOD_WARNING, POLLING_INTERVAL_WARNING, ScaledObjectValidator, type AdmissionEventSink, type ContainerLike } from './scaledobject';
import type { ScaledJob } from '@keda-ts/api';
import type { JobTemplateVerdict } from './job-template';
import { ScaledJobValidator } from './scaledjob';
import { TriggerAuthenticationValidator } from './trigger-auth';
import { WebhookMetrics } from './metrics';

const NS = 'ns';
type Obj = Record<string, unknown>;

function review(object: Obj, extra: Partial<{ operation: string; oldObject: Obj; dryRun: boolean }> = {}): AdmissionRequest {
  return parseAdmissionReview({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', operation: extra.operation ?? 'CREATE', namespace: NS, name: (object['metadata'] as Obj)?.['name'], object, oldObject: extra.oldObject, dryRun: extra.dryRun ?? false },
  });
}

const cron = { type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } };
function so(spec: Obj = {}, meta: Obj = {}): Obj {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'so', namespace: NS, ...meta },
    spec: { scaleTargetRef: { name: 'app' }, triggers: [cron], ...spec },
  };
}

function setup(containers: ContainerLike[] | Error = [{ name: 'c', resources: { requests: { cpu: '100m', memory: '64Mi' } } }]) {
  const scaledObjects = new ScaledObjectIndex();
  const hpas = new HpaIndex();
  const limitRanges = new LimitRangeIndex();
  const metrics = new WebhookMetrics();
  const events: Parameters<AdmissionEventSink['emit']>[] = [];
  const v = new ScaledObjectValidator(
    {
      scaledObjects,
      hpas,
      limitRanges,
      workloads: { containers: async () => { if (containers instanceof Error) throw containers; return containers; } },
    },
    metrics,
    { emit: (regarding, event) => void events.push([regarding, event]) },
  );
  return { v, scaledObjects, hpas, limitRanges, metrics, events };
}

const cpu = { type: 'cpu', metricType: 'Utilization', metadata: { value: '50' } };

describe('ScaledObject admission', () => {
  const rejects: [string, Obj, string, string][] = [
    // min > max and negative fallback values are caught by the CRD schema (CEL rule, minimum) first.
    ['min > max', so({ minReplicaCount: 5, maxReplicaCount: 3 }), 'minReplicaCount must be less than or equal to maxReplicaCount', 'invalid-schema'],
    ['idle >= min', so({ minReplicaCount: 2, idleReplicaCount: 2 }), 'IdleReplicaCount=2 must be less than MinReplicaCount=2', 'incorrect-replicas'],
    ['idle 0 with min unset', so({ idleReplicaCount: 0 }), 'IdleReplicaCount=0 must be less than MinReplicaCount=0', 'incorrect-replicas'],
    ['duplicate trigger names', so({ triggers: [{ ...cron, name: 'a' }, { ...cron, name: 'a' }] }), 'triggerName "a" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique', 'incorrect-triggers'],
    ['useCachedMetrics on cron', so({ triggers: [{ ...cron, useCachedMetrics: true }] }), 'property "useCachedMetrics" is not supported for "cron" scaler', 'incorrect-triggers'],
    ['fallback negative', so({ triggers: [cron], fallback: { failureThreshold: -1, replicas: 1 } }), 'spec.fallback.failureThreshold', 'invalid-schema'],
    ['fallback only cpu', so({ minReplicaCount: 1, triggers: [cpu], fallback: { failureThreshold: 1, replicas: 1 } }), 'at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled', 'incorrect-fallback'],
    ['fallback behavior without formula', so({ fallback: { failureThreshold: 1, replicas: 1, behavior: 'scalingModifiers' } }), 'scalingModifiers fallback behavior requires scalingModifiers.formula to be defined', 'scaling-modifiers-fallback'],
    ['formula mandatory', so({ advanced: { scalingModifiers: { target: '2' } } }), 'error ScalingModifiers.Formula is mandatory', 'scaling-modifiers'],
    ['formula without target', so({ advanced: { scalingModifiers: { formula: 'a' } }, triggers: [{ ...cron, name: 'a' }] }), 'formula is given but target is empty', 'scaling-modifiers'],
    ['formula unknown name', so({ advanced: { scalingModifiers: { formula: 'a + b', target: '2' } }, triggers: [{ ...cron, name: 'a' }] }), 'error validating formula in ScalingModifiers', 'scaling-modifiers'],
    ['target not > 0', so({ advanced: { scalingModifiers: { formula: 'a', target: '-1' } }, triggers: [{ ...cron, name: 'a' }] }), 'ScalingModifiers.Target must be a float greater than 0', 'scaling-modifiers'],
    ['name too long', so({}, { name: 'x'.repeat(64) }), 'ScaledObject name is 64 characters long', 'name-too-long'],
    ['hpa name too long', so({ advanced: { horizontalPodAutoscalerConfig: { name: 'h'.repeat(64) } } }), 'HPA name', 'hpa-name-too-long'],
    ['unknown type', so({ triggers: [{ type: 'kafkaa', metadata: {} }] }), 'no scaler found for type: kafkaa', 'unknown-trigger-type'],
    ['cron missing timezone', so({ triggers: [{ type: 'cron', metadata: { start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: '1' } }] }), 'missing required parameter "timezone"', 'invalid-trigger-metadata'],
    ['metrics-api missing url', so({ triggers: [{ type: 'metrics-api', metadata: { targetValue: '1', valueLocation: 'a' } }] }), 'missing required parameter "url"', 'invalid-trigger-metadata'],
    ['missing requests', so({ minReplicaCount: 1, triggers: [cpu] }), "the scaledobject has a cpu trigger but the container c doesn't have the cpu request defined", 'missing-requests'],
  ];
  it.each(rejects)('rejects %s', async (title, object, message, reason) => {
    const { v, metrics } = setup(title === 'missing requests' ? [{ name: 'c' }] : undefined);
    const verdict = await v.validate(review(object));
    expect(verdict).toMatchObject({ allowed: false, reason });
    expect(verdict.message).toContain(message);
    expect(await metrics.registry.getSingleMetricAsString('keda_webhook_scaled_object_validation_errors_total')).toContain(`reason="${reason}"`);
  });

  it('accepts a valid object, counts it, and warns as KEDA does (C-106)', async () => {
    const { v, metrics } = setup();
    expect(await v.validate(review(so()))).toEqual({ allowed: true });
    const warned = await v.validate(review(so({ minReplicaCount: 1, pollingInterval: 10, cooldownPeriod: 10 })));
    expect(warned).toEqual({ allowed: true, warnings: [POLLING_INTERVAL_WARNING, COOLDOWN_PERIOD_WARNING] });
    expect(await metrics.registry.getSingleMetricAsString('keda_webhook_scaled_object_validations_total')).toContain('namespace="ns",action="create"} 2');
  });

  it('C-106 records each warning as a Normal KEDAScalerInfo event about the ScaledObject, except on dry run', async () => {
    const { v, events } = setup();
    await v.validate(review(so()));
    expect(events).toEqual([]);
    await v.validate(review(so({ minReplicaCount: 1, pollingInterval: 10, cooldownPeriod: 10 })));
    const regarding = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'so', namespace: NS, uid: undefined } };
    expect(events).toEqual([
      [regarding, { type: 'Normal', reason: 'KEDAScalerInfo', note: POLLING_INTERVAL_WARNING }],
      [regarding, { type: 'Normal', reason: 'KEDAScalerInfo', note: COOLDOWN_PERIOD_WARNING }],
    ]);
    events.length = 0;
    const dry = await v.validate(review(so({ minReplicaCount: 1, cooldownPeriod: 10 }), { dryRun: true }));
    expect(dry.warnings).toEqual([COOLDOWN_PERIOD_WARNING]);
    expect(events).toEqual([]);
    // Metadata-key warnings are ours, not KEDA's C-106: answered as warnings only.
    await v.validate(review(so({ triggers: [{ ...cron, metadata: { ...cron.metadata, typo: 'x' } }] })));
    expect(events).toEqual([]);
  });

  it('names metadata a scaler does not read in a warning', async () => {
    const { v } = setup();
    const t = { ...cron, metadata: { ...cron.metadata, typo: 'x' } };
    expect((await v.validate(review(so({ triggers: [t] })))).warnings).toEqual(['spec.triggers[0] (cron): metadata key "typo" is not used by the cron scaler']);
  });

  it('C-100 rejects a second ScaledObject on the same target, naming the first; other kinds pass', async () => {
    const { v, scaledObjects } = setup();
    scaledObjects.apply('add', so({}, { name: 'first' }) as never);
    expect((await v.validate(review(so()))).message).toBe("the workload 'app' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'first'");
    expect((await v.validate(review(so({ scaleTargetRef: { name: 'app', kind: 'StatefulSet' } })))).allowed).toBe(true);
    // the object itself (update) does not conflict
    expect((await v.validate(review(so({}, { name: 'first' }), { operation: 'UPDATE', oldObject: so({}, { name: 'first' }) }))).allowed).toBe(true);
    scaledObjects.apply('delete', so({}, { name: 'first' }) as never);
    expect((await v.validate(review(so()))).allowed).toBe(true);
  });

  it('C-101 rejects a duplicate HPA name', async () => {
    const { v, scaledObjects } = setup();
    scaledObjects.apply('add', so({ scaleTargetRef: { name: 'other' }, advanced: { horizontalPodAutoscalerConfig: { name: 'h' } } }, { name: 'first' }) as never);
    const verdict = await v.validate(review(so({ advanced: { horizontalPodAutoscalerConfig: { name: 'h' } } })));
    expect(verdict).toMatchObject({ allowed: false, reason: 'other-scaled-object-hpa', message: "the HPA 'h' is already managed by the ScaledObject 'first'" });
  });

  it('C-102 foreign HPA, ownership transfer and the opt-out annotation', async () => {
    const { v, hpas } = setup();
    const hpa = (meta: Obj = {}) => ({ metadata: { name: 'plain', namespace: NS, ...meta }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } } });
    hpas.apply('add', hpa());
    expect(await v.validate(review(so()))).toMatchObject({ reason: 'other-hpa', message: "the workload 'app' of type 'apps/v1.Deployment' is already managed by the hpa 'plain'" });
    const transfer = { annotations: { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' } };
    expect(await v.validate(review(so({}, transfer)))).toMatchObject({
      reason: 'transfer-ownership-missing-hpa-name',
      message: "the existing hpa 'plain' for workload 'app' of type 'apps/v1.Deployment' must be specified by name in advanced settings to enable ownership transfer",
    });
    expect((await v.validate(review(so({ advanced: { horizontalPodAutoscalerConfig: { name: 'plain' } } }, transfer)))).allowed).toBe(true);
    hpas.apply('update', hpa({ ownerReferences: [{ kind: 'ScaledObject', name: 'so' }] }));
    expect((await v.validate(review(so()))).allowed).toBe(true);
    hpas.apply('update', hpa({ annotations: { 'validations.keda.sh/hpa-ownership': 'false' } }));
    expect((await v.validate(review(so()))).allowed).toBe(true);
    hpas.apply('delete', hpa());
    expect(hpas.size).toBe(0);
  });

  it('C-103 requests: limits, LimitRange defaults, containerName, dry-run, scale to zero, lookup errors', async () => {
    let s = setup([{ name: 'c', resources: { limits: { cpu: '1' } } }]);
    expect((await s.v.validate(review(so({ minReplicaCount: 1, triggers: [cpu] })))).allowed).toBe(true);
    s = setup([{ name: 'c' }]);
    s.limitRanges.apply('add', { metadata: { name: 'lr', namespace: NS }, spec: { limits: [{ type: 'Container', defaultRequest: { cpu: '100m' } }] } });
    expect((await s.v.validate(review(so({ minReplicaCount: 1, triggers: [cpu] })))).allowed).toBe(true);
    s = setup([{ name: 'c' }, { name: 'd', resources: { requests: { memory: '1Gi' } } }]);
    const mem = { type: 'memory', metricType: 'Utilization', metadata: { value: '50', containerName: 'd' } };
    expect((await s.v.validate(review(so({ minReplicaCount: 1, triggers: [mem] })))).allowed).toBe(true);
    expect((await s.v.validate(review(so({ minReplicaCount: 1, triggers: [cpu] }), { dryRun: true }))).allowed).toBe(true);
    s = setup();
    expect(await s.v.validate(review(so({ triggers: [cpu] })))).toMatchObject({
      reason: 'scale-to-zero-requirements-not-met',
      message: "scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn't work in this case)",
    });
    s = setup(new Error('deployments.apps "app" not found'));
    expect(await s.v.validate(review(so({ minReplicaCount: 1, triggers: [cpu] })))).toMatchObject({ allowed: false, message: 'deployments.apps "app" not found' });
  });

  it('does not validate an update that only removes finalizers, nor deletes', async () => {
    const { v } = setup();
    const bad = so({ minReplicaCount: 5, maxReplicaCount: 3 });
    const old = { ...bad, metadata: { name: 'so', namespace: NS, finalizers: ['finalizer.keda.sh'] } };
    expect((await v.validate(review(bad, { operation: 'UPDATE', oldObject: old }))).allowed).toBe(true);
    expect((await v.validate(review(bad, { operation: 'DELETE' }))).allowed).toBe(true);
    expect((await v.validate(review(bad, { operation: 'UPDATE', oldObject: bad }))).allowed).toBe(false);
  });

  it('answers 400-style for objects of the wrong kind or shape', async () => {
    const { v } = setup();
    expect(await v.validate(review({ kind: 'Pod', metadata: { name: 'x' } }))).toMatchObject({ allowed: false, code: 400 });
    expect(await v.validate(review({ ...so(), spec: 'nope' }))).toMatchObject({ allowed: false, reason: 'invalid-schema' });
  });
});

describe('ScaledJob admission', () => {
  const sj = (triggers: unknown[]) => ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name: 'sj', namespace: NS },
    spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } }, triggers },
  });
  it.each([
    ['duplicate names', [{ ...cron, name: 'a' }, { ...cron, name: 'a' }], 'triggerName "a" is defined multiple times'],
    ['useCachedMetrics on cron', [{ ...cron, useCachedMetrics: true }], 'property "useCachedMetrics" is not supported for "cron" scaler'],
    ['unknown type', [{ type: 'nope', metadata: {} }], 'no scaler found for type: nope'],
  ])('rejects %s', async (_t, triggers, message) => {
    const metrics = new WebhookMetrics();
    const verdict = await new ScaledJobValidator(metrics).validate(review(sj(triggers)));
    expect(verdict.allowed).toBe(false);
    expect(verdict.message).toContain(message);
  });
  it('accepts a valid ScaledJob', async () => {
    expect(await new ScaledJobValidator().validate(review(sj([cron])))).toEqual({ allowed: true });
  });

  describe('the Job template, checked by the API server', () => {
    const checker = (verdict: JobTemplateVerdict) => {
      const seen: ScaledJob[] = [];
      return { seen, jobs: { check: async (s: ScaledJob) => (seen.push(s), verdict) } };
    };
    const invalid: JobTemplateVerdict = { outcome: 'invalid', message: 'spec.jobTargetRef would not make a valid Job: spec.jobTargetRef.template.spec.containers[0].name: Invalid value' };
    it.each<[string, JobTemplateVerdict, Partial<{ operation: string; oldObject: Obj }>, Obj, boolean]>([
      // [case, the API server's answer, request, expected verdict, whether the API server was asked]
      ['a valid template is admitted', { outcome: 'valid' }, {}, { allowed: true }, true],
      ['an invalid template is refused with the mapped message', invalid, {}, { allowed: false, message: invalid.outcome === 'invalid' ? invalid.message : '', reason: 'invalid-job-template' }, true],
      [
        'an unchecked template is admitted with a warning (fail-open)',
        { outcome: 'unchecked', reason: 'the dry-run create of its Job took longer than 3000 ms' },
        {},
        { allowed: true, warnings: ['spec.jobTargetRef was not checked by the API server: the dry-run create of its Job took longer than 3000 ms'] },
        true,
      ],
      ['an update that leaves the template alone is not checked again', invalid, { operation: 'UPDATE', oldObject: sj([cron]) }, { allowed: true }, false],
      [
        'an update of the template is checked',
        invalid,
        { operation: 'UPDATE', oldObject: { ...sj([cron]), spec: { jobTargetRef: { template: { spec: { containers: [{ name: 'old', image: 'i' }] } } }, triggers: [cron] } } },
        { allowed: false, reason: 'invalid-job-template' },
        true,
      ],
    ])('%s', async (_name, answer, extra, expected, asked) => {
      const { seen, jobs } = checker(answer);
      const metrics = new WebhookMetrics();
      expect(await new ScaledJobValidator(metrics, jobs).validate(review(sj([cron]), extra))).toMatchObject(expected);
      expect(seen.length).toBe(asked ? 1 : 0);
      if (asked) expect(seen[0].metadata?.namespace).toBe(NS);
    });
    it('does not ask the API server about a ScaledJob the static checks refuse', async () => {
      const { seen, jobs } = checker({ outcome: 'valid' });
      const verdict = await new ScaledJobValidator(undefined, jobs).validate(review(sj([{ type: 'nope', metadata: {} }])));
      expect(verdict.allowed).toBe(false);
      expect(seen).toEqual([]);
    });
  });
});

describe('TriggerAuthentication admission', () => {
  const ta = (spec: Obj, kind = 'TriggerAuthentication') => ({ apiVersion: 'keda.sh/v1alpha1', kind, metadata: { name: 't', namespace: NS }, spec });
  it.each([
    [{ podIdentity: { provider: 'azure-workload', identityId: '' } }, 'identityId of PodIdentity should not be empty'],
    [{ podIdentity: { provider: 'azure-workload', identityAuthorityHost: 'h' } }, 'identityTenantID of PodIdentity should not be nil or empty when identityAuthorityHost of PodIdentity is set'],
    [{ podIdentity: { provider: 'azure-workload', identityTenantId: '' } }, 'identityTenantId of PodIdentity should not be empty'],
    [{ podIdentity: { provider: 'aws', roleArn: 'r', identityOwner: 'workload' } }, "roleArn of PodIdentity can't be set if KEDA isn't identityOwner"],
    [{ podIdentity: { provider: 'aws', externalID: 'e' } }, 'externalID of PodIdentity requires roleArn to be set'],
    [{ oauth2: { type: 'clientCredentials', tokenUrl: 'https://x' } }, 'oauth2.clientId is required when oauth2 is configured'],
    [{ oauth2: { type: 'clientCredentials', clientId: 'c' } }, 'oauth2.tokenUrl is required when oauth2 is configured'],
    [{ oauth2: { type: 'clientCredentials', clientId: 'c', tokenUrl: 'ftp://x' } }, 'oauth2.tokenUrl must be a valid http or https URL'],
  ])('rejects %j', (spec, message) => {
    for (const kind of ['TriggerAuthentication', 'ClusterTriggerAuthentication'] as const) {
      const verdict = new TriggerAuthenticationValidator(kind).validate(review(ta(spec, kind)));
      expect(verdict.allowed).toBe(false);
      expect(verdict.message).toContain(message);
    }
  });
  it('accepts gcp with a bad oauth2 (KEDA quirk) and a valid oauth2', () => {
    const v = new TriggerAuthenticationValidator('TriggerAuthentication');
    expect(v.validate(review(ta({ podIdentity: { provider: 'gcp' }, oauth2: { type: 'clientCredentials' } }))).allowed).toBe(true);
    expect(v.validate(review(ta({ oauth2: { type: 'clientCredentials', clientId: 'c', tokenUrl: 'https://t/x' } }))).allowed).toBe(true);
  });
});

describe('cache trimming for the indexes', () => {
  it('keeps what ScaledObjectIndex and HpaIndex read, and they answer the same', () => {
    const full = so({ advanced: { horizontalPodAutoscalerConfig: { name: 'custom' }, restoreToOriginalReplicaCount: true }, minReplicaCount: 2 }, {
      name: 'full', uid: 'u', resourceVersion: '9', labels: { a: 'b' }, managedFields: [{}], annotations: { big: 'x'.repeat(1000) },
    }) as Record<string, unknown>;
    const trimmed = trimScaledObjectForIndex(structuredClone(full));
    expect(trimmed).toEqual({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'full', namespace: NS, uid: 'u', resourceVersion: '9' },
      spec: { scaleTargetRef: { name: 'app' }, advanced: { horizontalPodAutoscalerConfig: { name: 'custom' } } },
    });
    const a = new ScaledObjectIndex();
    a.apply('add', trimmed as never);
    expect(a.otherForTarget(NS, 'apps/v1.Deployment', 'app', 'x')).toBe('full');
    expect(a.otherForHpaName(NS, 'custom', 'x')).toBe('full');

    const hpa = {
      metadata: { name: 'h', namespace: NS, resourceVersion: '3', labels: { x: 'y' }, managedFields: [{}], ownerReferences: [{ kind: 'ScaledObject', name: 'full' }], annotations: { 'validations.keda.sh/hpa-ownership': 'false', other: 'z' } },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, metrics: [{ type: 'External' }], minReplicas: 1 },
      status: { currentReplicas: 1 },
    };
    const trimmedHpa = trimHpaForIndex(hpa);
    expect(trimmedHpa).toEqual({
      metadata: { name: 'h', namespace: NS, resourceVersion: '3', ownerReferences: [{ kind: 'ScaledObject', name: 'full' }], annotations: { 'validations.keda.sh/hpa-ownership': 'false' } },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } },
    });
    const h = new HpaIndex();
    h.apply('add', trimmedHpa);
    expect(h.forTarget(NS, 'apps/v1.Deployment', 'app')).toEqual([{ name: 'h', owners: [{ kind: 'ScaledObject', name: 'full' }], ignored: true }]);
  });
});
