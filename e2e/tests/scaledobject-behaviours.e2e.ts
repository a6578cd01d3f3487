import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { apply, deploymentManifest, k8s, kubeConfig, kubectl, readClusterInfo, readObject, useTestNamespace, waitFor } from '../src/testing';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';

/**
 * The ScaledObject behaviours of issue 3 against the real control plane: pause annotations, fallback
 * (500s and a hanging source), scalingModifiers, idleReplicaCount, initialCooldownPeriod,
 * minReplicaCount > 0, a custom resource with a scale subresource, and unusable targets. One
 * controller for the file; one Deployment (or other target) per case. Without a metrics adapter the
 * HPA cannot read metrics, so every assertion is about what the controller itself does.
 */
const ns = useTestNamespace('sob');
const kc = kubeConfig();
const appsApi = kc.makeApiClient(k8s.AppsV1Api);
const eventsApi = kc.makeApiClient(k8s.EventsV1Api);

/** Per-path behaviour of the metrics endpoint the triggers read: a value, an HTTP status, or a hang. */
type Source = { value: number } | { status: number } | { hang: true };
const sources = new Map<string, Source>();
const metricsServer = http.createServer((req, res) => {
  const source = sources.get(req.url ?? '') ?? { status: 404 };
  if ('hang' in source) return; // never answers: the controller must bound the read
  if ('status' in source) {
    res.writeHead(source.status, { 'content-type': 'text/plain' });
    res.end('boom');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: source.value }));
});
let metricsPort = 0;
let controller: RunningApp[] = [];
/** --http-default-timeout given to the controller: bounds reads of triggers without `timeout`. */
const HTTP_DEFAULT_TIMEOUT_MS = 700;

beforeAll(async () => {
  await new Promise<void>((r) => metricsServer.listen(0, '127.0.0.1', r));
  metricsPort = (metricsServer.address() as AddressInfo).port;
  controller = await startApps(readClusterInfo().kubeconfig, [
    {
      name: 'controller',
      args: [
        `--watch-namespace=${ns.name}`,
        `--metrics-service-bind-address=127.0.0.1:${await freePort()}`,
        `--http-default-timeout=${HTTP_DEFAULT_TIMEOUT_MS}`,
        '--log-level=debug',
      ],
    },
  ]);
});

afterAll(async () => {
  await stopApps(controller);
  metricsServer.closeAllConnections();
  metricsServer.close();
});

// ---- helpers ----------------------------------------------------------------------------------

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
type SO = k8s.KubernetesObject & { status?: Record<string, unknown> & { conditions?: Condition[] } };

const soRef = (name: string) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name, namespace: ns.name });
const hpaRef = (name: string) => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: `keda-hpa-${name}`, namespace: ns.name });
async function readSo(name: string): Promise<SO> {
  const so = await readObject<SO>(kc, soRef(name));
  if (!so) throw new Error(`ScaledObject ${name} not found`);
  return so;
}
const readHpa = (name: string) => readObject<k8s.V2HorizontalPodAutoscaler>(kc, hpaRef(name));
const condition = (so: SO | undefined, type: string) => so?.status?.conditions?.find((c) => c.type === type);
const replicasOf = async (name: string) => (await appsApi.readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const url = (path: string) => `http://127.0.0.1:${metricsPort}${path}`;

/** A metrics-api trigger reading `/<path>` (activation above 5, target 5 unless given). */
function trigger(path: string, extra: Record<string, string> = {}, name?: string) {
  return {
    type: 'metrics-api',
    ...(name ? { name } : {}),
    metadata: { url: url(path), valueLocation: 'value', targetValue: '5', activationTargetValue: '5', ...extra },
  };
}

async function scaledObject(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Promise<void> {
  await apply(
    kc,
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name, ...(annotations ? { annotations } : {}) },
      spec: { scaleTargetRef: { name }, pollingInterval: 1, cooldownPeriod: 1, minReplicaCount: 0, maxReplicaCount: 5, ...spec },
    } as k8s.KubernetesObject,
    ns.name,
  );
}

async function annotate(name: string, ...pairs: string[]): Promise<void> {
  await kubectl(['-n', ns.name, 'annotate', '--overwrite', 'scaledobject', name, ...pairs]);
}

async function waitCondition(name: string, type: string, want: Partial<Condition>, timeoutMs = 30_000): Promise<SO> {
  let last: SO | undefined;
  return waitFor(
    async () => {
      last = await readSo(name);
      const c = condition(last, type);
      return c && Object.entries(want).every(([k, v]) => c[k as keyof Condition] === v) ? last : undefined;
    },
    { description: () => `${name} ${type} ${JSON.stringify(want)}; conditions ${JSON.stringify(last?.status?.conditions)}`, timeoutMs },
  );
}

async function waitReplicas(name: string, want: number, timeoutMs = 30_000): Promise<void> {
  let last: number | undefined;
  await waitFor(async () => (last = await replicasOf(name)) === want, { description: () => `${name} at ${want} replicas (now ${last})`, timeoutMs });
}

/** The replica count stays `want` for `ms`. */
async function holdsReplicas(name: string, want: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(await replicasOf(name)).toBe(want);
    await sleep(400);
  }
}

async function eventsOf(name: string): Promise<k8s.EventsV1Event[]> {
  const list = await eventsApi.listNamespacedEvent({ namespace: ns.name });
  return list.items.filter((e) => e.regarding?.name === name && e.regarding?.kind === 'ScaledObject');
}

async function waitEvent(name: string, reason: string, timeoutMs = 30_000): Promise<k8s.EventsV1Event> {
  let seen: string[] = [];
  return waitFor(
    async () => {
      const events = await eventsOf(name);
      seen = events.map((e) => e.reason ?? '');
      return events.find((e) => e.reason === reason);
    },
    { description: () => `event ${reason} of ${name}; seen ${JSON.stringify(seen)}`, timeoutMs },
  );
}

const PAUSED = 'autoscaling.keda.sh/paused';
const PAUSED_REPLICAS = 'autoscaling.keda.sh/paused-replicas';
const PAUSED_SCALE_IN = 'autoscaling.keda.sh/paused-scale-in';
const PAUSED_SCALE_OUT = 'autoscaling.keda.sh/paused-scale-out';
const FORCE_ACTIVATION = 'autoscaling.keda.sh/force-activation';

jest.setTimeout(120_000);

// ---- pause annotations (C-85..C-92) ------------------------------------------------------------

describe('pause annotations', () => {
  it('paused: "true" deletes the HPA, freezes the replicas, and unpausing brings the HPA and the loop back', async () => {
    sources.set('/paused', { value: 20 });
    await apply(kc, deploymentManifest('paused', 2), ns.name);
    await scaledObject('paused', { triggers: [trigger('/paused')] });
    await waitCondition('paused', 'Active', { status: 'True' });
    await waitFor(() => readHpa('paused'), { description: 'HPA keda-hpa-paused' });

    await annotate('paused', `${PAUSED}=true`);
    const so = await waitCondition('paused', 'Paused', { status: 'True', reason: 'ScaledObjectPaused', message: 'ScaledObject is paused' });
    // Paused=True is persisted first (C-85.1); Ready=True `ScaledObject is paused` at the end of that reconcile.
    await waitCondition('paused', 'Ready', { status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is paused' });
    await waitFor(async () => (await readHpa('paused')) === undefined, { description: 'HPA deleted while paused' });
    expect(so.status?.pausedReplicaCount).toBeUndefined();
    expect((await waitEvent('paused', 'ScaledObjectPaused')).note).toBe('ScaledObject is paused');
    expect((await waitEvent('paused', 'KEDAScalersStopped')).note).toBe('Stopped scalers watch');

    // Inactive now, cooldown 1 s: unpaused it would go to 0; paused nothing moves.
    sources.set('/paused', { value: 0 });
    await holdsReplicas('paused', 2, 4000);

    await kubectl(['-n', ns.name, 'annotate', 'scaledobject', 'paused', `${PAUSED}-`]);
    const unpaused = await waitCondition('paused', 'Paused', { status: 'False', reason: 'ScaledObjectUnpaused', message: 'pause annotation removed for ScaledObject' });
    expect(condition(unpaused, 'Ready')).toMatchObject({ status: 'True', message: 'ScaledObject is defined correctly and is ready for scaling' });
    expect((await waitEvent('paused', 'ScaledObjectUnpaused')).note).toBe('pause annotation removed for ScaledObject');
    await waitFor(() => readHpa('paused'), { description: 'HPA recreated after unpause' });
    await waitReplicas('paused', 0);
  });

  it('paused-replicas: "2" sets the target to 2 and holds it; a new value moves it; removal unpauses', async () => {
    sources.set('/pr', { value: 0 });
    await apply(kc, deploymentManifest('pr', 1), ns.name);
    await scaledObject('pr', { triggers: [trigger('/pr')] }, { [PAUSED_REPLICAS]: '2' });
    const so = await waitCondition('pr', 'Paused', { status: 'True', reason: 'ScaledObjectPaused' });
    await waitReplicas('pr', 2);
    await waitFor(async () => (await readSo('pr')).status?.pausedReplicaCount === 2, { description: 'status.pausedReplicaCount 2' });
    expect(so.metadata?.annotations?.[PAUSED_REPLICAS]).toBe('2');
    // The Paused condition is persisted first (C-85.1); Ready follows at the end of the reconcile.
    await waitCondition('pr', 'Ready', { status: 'True', reason: 'ScaledObjectReady', message: 'ScaledObject is paused' });
    expect(await readHpa('pr')).toBeUndefined();
    await holdsReplicas('pr', 2, 3000);

    await annotate('pr', `${PAUSED_REPLICAS}=3`);
    await waitReplicas('pr', 3);
    await waitFor(async () => (await readSo('pr')).status?.pausedReplicaCount === 3, { description: 'status.pausedReplicaCount 3' });

    await kubectl(['-n', ns.name, 'annotate', 'scaledobject', 'pr', `${PAUSED_REPLICAS}-`]);
    await waitCondition('pr', 'Paused', { status: 'False', reason: 'ScaledObjectUnpaused' });
    await waitFor(async () => (await readSo('pr')).status?.pausedReplicaCount === undefined, { description: 'pausedReplicaCount cleared' });
    await waitFor(() => readHpa('pr'), { description: 'HPA created after unpause' });
    await waitReplicas('pr', 0);
  });

  it('paused-scale-in keeps the HPA with scaleDown Disabled and blocks the scale to zero', async () => {
    sources.set('/psi', { value: 0 });
    await apply(kc, deploymentManifest('psi', 2), ns.name);
    await scaledObject('psi', { triggers: [trigger('/psi')] }, { [PAUSED_SCALE_IN]: 'true' });
    await waitCondition('psi', 'Paused', { status: 'True', reason: 'ScaledObjectPaused', message: 'ScaledObject is paused' });
    const hpa = await waitFor(() => readHpa('psi'), { description: 'HPA keda-hpa-psi' });
    expect(hpa.spec?.behavior?.scaleDown?.selectPolicy).toBe('Disabled');
    expect(hpa.spec?.behavior?.scaleUp?.selectPolicy).not.toBe('Disabled');
    await waitCondition('psi', 'Active', { status: 'False' });
    expect(condition(await readSo('psi'), 'Ready')).toMatchObject({ status: 'True', message: 'ScaledObject is defined correctly and is ready for scaling' });
    await holdsReplicas('psi', 2, 4000);

    await kubectl(['-n', ns.name, 'annotate', 'scaledobject', 'psi', `${PAUSED_SCALE_IN}-`]);
    await waitCondition('psi', 'Paused', { status: 'False', reason: 'ScaledObjectUnpaused' });
    await waitFor(async () => (await readHpa('psi'))?.spec?.behavior?.scaleDown?.selectPolicy !== 'Disabled', { description: 'scaleDown restored' });
    await waitReplicas('psi', 0);
  });

  it('paused-scale-out keeps the HPA with scaleUp Disabled and blocks the activation from zero', async () => {
    sources.set('/pso', { value: 20 });
    await apply(kc, deploymentManifest('pso', 0), ns.name);
    await scaledObject('pso', { triggers: [trigger('/pso')] }, { [PAUSED_SCALE_OUT]: 'true' });
    await waitCondition('pso', 'Paused', { status: 'True', reason: 'ScaledObjectPaused' });
    const hpa = await waitFor(() => readHpa('pso'), { description: 'HPA keda-hpa-pso' });
    expect(hpa.spec?.behavior?.scaleUp?.selectPolicy).toBe('Disabled');
    await waitCondition('pso', 'Active', { status: 'True', reason: 'ScalerActive' });
    await holdsReplicas('pso', 0, 4000);

    await kubectl(['-n', ns.name, 'annotate', 'scaledobject', 'pso', `${PAUSED_SCALE_OUT}-`]);
    await waitCondition('pso', 'Paused', { status: 'False', reason: 'ScaledObjectUnpaused' });
    await waitReplicas('pso', 1);
  });

  it('force-activation scales an inactive object from idle to min, and its removal lets it go back', async () => {
    sources.set('/fa', { value: 0 });
    await apply(kc, deploymentManifest('fa', 0), ns.name);
    await scaledObject('fa', { idleReplicaCount: 0, minReplicaCount: 2, triggers: [trigger('/fa')] }, { [FORCE_ACTIVATION]: 'true' });
    await waitReplicas('fa', 2);
    const so = await waitCondition('fa', 'Active', { status: 'True', reason: 'ScalerActive' });
    expect(condition(so, 'Active')?.message).toBe('Scaling is performed because activation is being forced by annotation');
    const activated = await waitEvent('fa', 'KEDAScaleTargetActivated');
    expect(activated.note).toBe(`Scaled apps/v1.Deployment ${ns.name}/fa from 0 to 2, caused by forced activation annotation`);

    await kubectl(['-n', ns.name, 'annotate', 'scaledobject', 'fa', `${FORCE_ACTIVATION}-`]);
    await waitReplicas('fa', 0);
    await waitCondition('fa', 'Active', { status: 'False', reason: 'ScalerNotActive' });
  });
});

// ---- fallback (C-74..C-83) ---------------------------------------------------------------------

describe('fallback', () => {
  it('a source answering 500: health counts failures, Fallback=True after the threshold, activation from 0, recovery', async () => {
    sources.set('/fb', { status: 500 });
    await apply(kc, deploymentManifest('fb', 0), ns.name);
    await scaledObject('fb', { fallback: { failureThreshold: 2, replicas: 3 }, triggers: [trigger('/fb')] });
    const metric = 's0-metric-api-value';

    // Counted, at or below the threshold the error is passed on (no activation yet is not asserted: 1 s polls are fast).
    await waitFor(async () => ((await readSo('fb')).status?.health as Record<string, { numberOfFailures: number; status: string }> | undefined)?.[metric]?.status === 'Failing', {
      description: 'health Failing',
    });
    const so = await waitCondition('fb', 'Fallback', { status: 'True', reason: 'FallbackExists', message: 'At least one trigger is falling back on this scaled object' });
    const health = so.status?.health as Record<string, { numberOfFailures: number; status: string }>;
    expect(health[metric].numberOfFailures).toBeGreaterThan(2);
    expect((await waitEvent('fb', 'ScaledObjectFallbackActivated')).note).toBe('ScaledObject fallback is active');
    // C-79: the fallback stands in as an active trigger, so the controller activates 0 -> 1 (the HPA would take it to 3).
    await waitReplicas('fb', 1);
    await waitCondition('fb', 'Active', { status: 'True', reason: 'ScalerActive' });
    expect((await waitEvent('fb', 'KEDAScalerFailed')).note).toContain('500');

    // The source recovers, below activation: health resets, Fallback off, and the usual scale to 0.
    sources.set('/fb', { value: 0 });
    const recovered = await waitCondition('fb', 'Fallback', { status: 'False', reason: 'NoFallbackFound', message: 'No fallbacks are active on this scaled object' });
    expect((recovered.status?.health as Record<string, unknown>)[metric]).toEqual({ numberOfFailures: 0, status: 'Happy' });
    expect((await waitEvent('fb', 'ScaledObjectFallbackDeactivated')).note).toBe('ScaledObject fallback is no longer active');
    await waitReplicas('fb', 0);
  });

  it('a hanging source is bounded (--http-default-timeout, or the trigger timeout) and never scaled to 0 while failing', async () => {
    sources.set('/hang', { hang: true });
    // currentReplicasIfHigher with the flag's timeout; currentReplicas with the trigger's own timeout.
    await apply(kc, deploymentManifest('hang', 2), ns.name);
    await apply(kc, deploymentManifest('hang2', 2), ns.name);
    await scaledObject('hang', { fallback: { failureThreshold: 1, replicas: 1, behavior: 'currentReplicasIfHigher' }, triggers: [trigger('/hang')] });
    await scaledObject('hang2', { fallback: { failureThreshold: 3, replicas: 1, behavior: 'currentReplicas' }, triggers: [trigger('/hang', { timeout: '250' })] });

    for (const name of ['hang', 'hang2']) {
      const so = await waitCondition(name, 'Fallback', { status: 'True', reason: 'FallbackExists' });
      expect((so.status?.health as Record<string, { status: string }>)['s0-metric-api-value'].status).toBe('Failing');
      await waitEvent(name, 'ScaledObjectFallbackActivated');
    }
    expect((await waitEvent('hang', 'KEDAScalerFailed')).note).toContain(`timed out after ${HTTP_DEFAULT_TIMEOUT_MS}ms`);
    expect((await waitEvent('hang2', 'KEDAScalerFailed')).note).toContain('timed out after 250ms');

    // The loop keeps polling at its interval (reads are bounded): failures keep counting. Past the
    // fallback threshold the count is written to status at most every 30 s (HEALTH_COUNT_WRITE_INTERVAL_MS).
    const failuresOf = async () => ((await readSo('hang')).status?.health as Record<string, { numberOfFailures: number }>)['s0-metric-api-value'].numberOfFailures;
    const before = await failuresOf();
    await waitFor(async () => (await failuresOf()) >= before + 2, { description: 'the failure count to grow', timeoutMs: 45_000, intervalMs: 1000 });
    // C-61a / C-79: failing with fallback.replicas != 0 never scales to 0 (cooldown 1 s has long passed).
    expect(await replicasOf('hang')).toBe(2);
    expect(await replicasOf('hang2')).toBe(2);
    expect(condition(await readSo('hang'), 'Active')).toMatchObject({ status: 'True', reason: 'ScalerActive' });

    sources.set('/hang', { value: 0 });
    await waitCondition('hang', 'Fallback', { status: 'False', reason: 'NoFallbackFound' });
    await waitEvent('hang', 'ScaledObjectFallbackDeactivated');
    await waitReplicas('hang', 0);
  });

  it('currentReplicasIfLower with a source answering 500: counted, Fallback=True, never scaled to 0 while failing, recovery', async () => {
    sources.set('/fblow', { status: 500 });
    await apply(kc, deploymentManifest('fblow', 2), ns.name);
    await scaledObject('fblow', { fallback: { failureThreshold: 2, replicas: 1, behavior: 'currentReplicasIfLower' }, triggers: [trigger('/fblow')] });
    const metric = 's0-metric-api-value';
    type Health = Record<string, { numberOfFailures: number; status: string }>;

    await waitFor(async () => ((await readSo('fblow')).status?.health as Health | undefined)?.[metric]?.status === 'Failing', { description: 'health Failing' });
    const so = await waitCondition('fblow', 'Fallback', { status: 'True', reason: 'FallbackExists', message: 'At least one trigger is falling back on this scaled object' });
    // C-76: strictly greater than the threshold.
    expect((so.status?.health as Health)[metric].numberOfFailures).toBeGreaterThan(2);
    expect((await waitEvent('fblow', 'ScaledObjectFallbackActivated')).note).toBe('ScaledObject fallback is active');
    expect((await waitEvent('fblow', 'KEDAScalerFailed')).note).toContain('500');

    // C-61a / C-79: failing (erroring, then falling back to min(2, 1) as an active trigger) never scales to 0,
    // although the cooldown (1 s) has long passed; the failures keep counting.
    const failuresOf = async () => ((await readSo('fblow')).status?.health as Health)[metric].numberOfFailures;
    const before = await failuresOf();
    await holdsReplicas('fblow', 2, 4000);
    // Past the threshold the count is written at most every 30 s.
    await waitFor(async () => (await failuresOf()) >= before + 2, { description: 'the failure count to grow', timeoutMs: 45_000, intervalMs: 1000 });
    expect(condition(await readSo('fblow'), 'Active')).toMatchObject({ status: 'True', reason: 'ScalerActive' });
    expect(condition(await readSo('fblow'), 'Fallback')).toMatchObject({ status: 'True', reason: 'FallbackExists' });

    // The source recovers, below activation: health resets, Fallback off (with its event), and the usual scale to 0.
    sources.set('/fblow', { value: 0 });
    const recovered = await waitCondition('fblow', 'Fallback', { status: 'False', reason: 'NoFallbackFound', message: 'No fallbacks are active on this scaled object' });
    expect((recovered.status?.health as Health)[metric]).toEqual({ numberOfFailures: 0, status: 'Happy' });
    expect((await waitEvent('fblow', 'ScaledObjectFallbackDeactivated')).note).toBe('ScaledObject fallback is no longer active');
    await waitReplicas('fblow', 0);
    await waitCondition('fblow', 'Active', { status: 'False', reason: 'ScalerNotActive' });
  });

  it('behavior scalingModifiers: a failing trigger is nil in `a ?? b`, b drives the composite, and the fallback is not active (C-81)', async () => {
    sources.set('/fsma', { status: 500 });
    sources.set('/fsmb', { value: 0 });
    await apply(kc, deploymentManifest('fsm', 0), ns.name);
    await scaledObject('fsm', {
      fallback: { failureThreshold: 1, replicas: 3, behavior: 'scalingModifiers' },
      advanced: { scalingModifiers: { formula: 'a ?? b', target: '10', activationTarget: '1' } },
      triggers: [trigger('/fsma', {}, 'a'), trigger('/fsmb', {}, 'b')],
    });
    const metricA = 's0-metric-api-value';
    type Health = Record<string, { numberOfFailures: number; status: string }>;
    const healthOf = async () => (await readSo('fsm')).status?.health as Health | undefined;

    // a is counted (the fallback is valid: target "10" is an integer > 0) and goes past the threshold.
    await waitFor(async () => ((await healthOf())?.[metricA]?.numberOfFailures ?? 0) > 2, { description: 'health of a past the threshold' });
    expect((await healthOf())?.[metricA]?.status).toBe('Failing');
    await waitCondition('fsm', 'Ready', { status: 'True', reason: 'ScaledObjectReady' });

    // a is nil, so `a ?? b` = b = 0, not above activationTarget 1: inactive, stays at 0. The fallback is not
    // considered active: no Fallback=True, no ScaledObjectFallbackActivated.
    await waitCondition('fsm', 'Active', { status: 'False', reason: 'ScalerNotActive' });
    const holdUntil = Date.now() + 3000;
    while (Date.now() < holdUntil) {
      const so = await readSo('fsm');
      expect(condition(so, 'Fallback')?.status).not.toBe('True');
      expect(await replicasOf('fsm')).toBe(0);
      await sleep(400);
    }
    expect(condition(await readSo('fsm'), 'Fallback')).toMatchObject({ status: 'False', reason: 'NoFallbackFound' });

    // b = 5 > activationTarget 1: the composite (a ?? b = 5) activates the target from 0, while a keeps failing.
    sources.set('/fsmb', { value: 5 });
    await waitReplicas('fsm', 1);
    const active = await waitCondition('fsm', 'Active', { status: 'True', reason: 'ScalerActive' });
    expect(condition(active, 'Ready')).toMatchObject({ status: 'True' });
    expect(condition(active, 'Fallback')).toMatchObject({ status: 'False', reason: 'NoFallbackFound' });
    expect((active.status?.health as Health)[metricA].status).toBe('Failing');
    expect(active.status?.compositeScalerName).toBe('composite-metric');
    await waitEvent('fsm', 'KEDAScaleTargetActivated');

    // b back to 0: inactive again and scaled to 0 after the cooldown, a still nil.
    sources.set('/fsmb', { value: 0 });
    await waitReplicas('fsm', 0);
    await waitCondition('fsm', 'Active', { status: 'False', reason: 'ScalerNotActive' });
    expect(condition(await readSo('fsm'), 'Fallback')?.status).not.toBe('True');
    const reasons = (await eventsOf('fsm')).map((e) => e.reason);
    expect(reasons).not.toContain('ScaledObjectFallbackActivated');
    expect(reasons).not.toContain('ScaledObjectFallbackDeactivated');
  });
});

// ---- scalingModifiers (M-15..M-18, C-52) -------------------------------------------------------

describe('scalingModifiers', () => {
  it('one composite-metric on the HPA; activation follows a + b against activationTarget', async () => {
    sources.set('/ma', { value: 1 });
    sources.set('/mb', { value: 2 });
    await apply(kc, deploymentManifest('mod', 0), ns.name);
    await scaledObject('mod', {
      advanced: { scalingModifiers: { formula: 'a + b', target: '10', activationTarget: '5' } },
      triggers: [trigger('/ma', {}, 'a'), trigger('/mb', {}, 'b')],
    });
    const hpa = await waitFor(() => readHpa('mod'), { description: 'HPA keda-hpa-mod' });
    expect(hpa.spec?.metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: 'composite-metric', selector: { matchLabels: { 'scaledobject.keda.sh/name': 'mod' } } },
          target: { type: 'AverageValue', averageValue: '10' },
        },
      },
    ]);
    const so = await waitCondition('mod', 'Active', { status: 'False', reason: 'ScalerNotActive' });
    expect(so.status?.compositeScalerName).toBe('composite-metric');
    // 1 + 2 = 3 is not above 5 (each trigger's own activation, 5, is irrelevant here).
    await holdsReplicas('mod', 0, 3000);

    // 1 + 5 = 6 > 5: active although neither trigger is above its own activation threshold alone.
    sources.set('/mb', { value: 5 });
    await waitReplicas('mod', 1);
    await waitCondition('mod', 'Active', { status: 'True', reason: 'ScalerActive' });
    await waitEvent('mod', 'KEDAScaleTargetActivated');
  });
});

// ---- idleReplicaCount, initialCooldownPeriod, minReplicaCount (C-64..C-73) --------------------

describe('replica counts', () => {
  it('idleReplicaCount 0 with min 2: inactive -> 0 after the cooldown; active -> 2', async () => {
    sources.set('/idle', { value: 0 });
    await apply(kc, deploymentManifest('idle', 4), ns.name);
    await scaledObject('idle', { idleReplicaCount: 0, minReplicaCount: 2, triggers: [trigger('/idle')] });
    const hpa = await waitFor(() => readHpa('idle'), { description: 'HPA keda-hpa-idle' });
    expect(hpa.spec?.minReplicas).toBe(2);
    await waitReplicas('idle', 0);
    expect((await waitEvent('idle', 'KEDAScaleTargetDeactivated')).note).toBe(`Deactivated apps/v1.Deployment ${ns.name}/idle from 4 to 0`);

    sources.set('/idle', { value: 20 });
    await waitReplicas('idle', 2);
    expect((await waitEvent('idle', 'KEDAScaleTargetActivated')).note).toBe(`Scaled apps/v1.Deployment ${ns.name}/idle from 0 to 2, triggered by s0-metric-api-value`);
  });

  it('initialCooldownPeriod keeps a new object at its replicas until creation + initialCooldownPeriod', async () => {
    sources.set('/ic', { value: 0 });
    await apply(kc, deploymentManifest('ic', 3), ns.name);
    await scaledObject('ic', { initialCooldownPeriod: 8, triggers: [trigger('/ic')] });
    const created = new Date((await readSo('ic')).metadata?.creationTimestamp ?? 0).getTime();
    const cooling = await waitCondition('ic', 'Active', { status: 'False', reason: 'ScalerCooldown' });
    expect(condition(cooling, 'Active')?.message).toBe('Scaler cooling down because triggers are not active');
    expect(await replicasOf('ic')).toBe(3);
    await waitReplicas('ic', 0, 30_000);
    // creationTimestamp has a 1 s resolution.
    expect(Date.now()).toBeGreaterThanOrEqual(created + 8000 - 1000);
  });

  it('minReplicaCount 1 without idle: an inactive object at 0 goes to min at once', async () => {
    sources.set('/min', { value: 0 });
    await apply(kc, deploymentManifest('minone', 0), ns.name);
    await scaledObject('minone', { minReplicaCount: 1, cooldownPeriod: 300, triggers: [trigger('/min')] });
    await waitReplicas('minone', 1);
    expect((await readHpa('minone'))?.spec?.minReplicas).toBe(1);
    await waitCondition('minone', 'Active', { status: 'False', reason: 'ScalerNotActive' });
    await holdsReplicas('minone', 1, 2000);
  });
});

// ---- scale targets (C-21..C-24) ----------------------------------------------------------------

describe('scale targets', () => {
  it('a custom resource with a scale subresource: HPA on it, and 0 <-> 1 through /scale', async () => {
    await apply(kc, {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.e2e.keda-ts.dev' },
      spec: {
        group: 'e2e.keda-ts.dev',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { replicas: { type: 'integer' } } },
                  status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' } } },
                },
              },
            },
            subresources: {
              status: {},
              scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
            },
          },
        ],
      },
    } as k8s.KubernetesObject);
    await waitFor(
      async () => {
        const crd = await readObject<k8s.V1CustomResourceDefinition>(kc, { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'widgets.e2e.keda-ts.dev' });
        return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      },
      { description: 'CRD widgets established' },
    );
    const widgetRef = { apiVersion: 'e2e.keda-ts.dev/v1', kind: 'Widget', name: 'widget', namespace: ns.name };
    await waitFor(async () => (await apply(kc, { apiVersion: widgetRef.apiVersion, kind: widgetRef.kind, metadata: { name: 'widget' }, spec: { replicas: 2 } } as k8s.KubernetesObject, ns.name)).length, {
      description: 'Widget created',
    });
    const widgetReplicas = async () => (await readObject<k8s.KubernetesObject & { spec: { replicas?: number } }>(kc, widgetRef))?.spec.replicas;

    sources.set('/widget', { value: 0 });
    await scaledObject('widget', { scaleTargetRef: { apiVersion: 'e2e.keda-ts.dev/v1', kind: 'Widget', name: 'widget' }, triggers: [trigger('/widget')] });
    const so = await waitCondition('widget', 'Ready', { status: 'True' });
    expect(so.status).toMatchObject({
      scaleTargetKind: 'e2e.keda-ts.dev/v1.Widget',
      scaleTargetGVKR: { group: 'e2e.keda-ts.dev', version: 'v1', kind: 'Widget', resource: 'widgets' },
      originalReplicaCount: 2,
    });
    const hpa = await waitFor(() => readHpa('widget'), { description: 'HPA keda-hpa-widget' });
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'e2e.keda-ts.dev/v1', kind: 'Widget', name: 'widget' });
    await waitFor(async () => (await widgetReplicas()) === 0, { description: 'widget scaled to 0', timeoutMs: 30_000 });

    sources.set('/widget', { value: 20 });
    await waitFor(async () => (await widgetReplicas()) === 1, { description: 'widget activated to 1', timeoutMs: 30_000 });
    expect((await waitEvent('widget', 'KEDAScaleTargetActivated')).note).toBe(`Scaled e2e.keda-ts.dev/v1.Widget ${ns.name}/widget from 0 to 1, triggered by s0-metric-api-value`);
  });

  it("a DaemonSet target is not scalable: Ready=False, Target resource doesn't expose /scale subresource, no HPA", async () => {
    await apply(
      kc,
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'ds' },
        spec: {
          selector: { matchLabels: { app: 'ds' } },
          template: { metadata: { labels: { app: 'ds' } }, spec: { containers: [{ name: 'main', image: 'registry.invalid/x:1' }] } },
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    sources.set('/ds', { value: 0 });
    await scaledObject('ds', { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds' }, triggers: [trigger('/ds')] });
    const so = await waitCondition('ds', 'Ready', { status: 'False', reason: 'ScaledObjectCheckFailed' });
    expect(condition(so, 'Ready')?.message).toBe("ScaledObject doesn't have correct scaleTargetRef specification: Target resource doesn't expose /scale subresource");
    expect(condition(so, 'Active')).toMatchObject({ status: 'Unknown', reason: 'UnknownState', message: 'ScaledObject check failed' });
    const events = await waitFor(async () => (await eventsOf('ds')).filter((e) => e.reason === 'ScaledObjectCheckFailed').map((e) => e.note), { description: 'check-failed events' });
    expect(events).toContain("Target resource doesn't expose /scale subresource");
    expect(await readHpa('ds')).toBeUndefined();
  });

  it("a missing target: Ready=False, Target resource doesn't exist", async () => {
    sources.set('/missing', { value: 0 });
    await scaledObject('missing', { scaleTargetRef: { name: 'not-there' }, triggers: [trigger('/missing')] });
    const so = await waitCondition('missing', 'Ready', { status: 'False', reason: 'ScaledObjectCheckFailed' });
    expect(condition(so, 'Ready')?.message).toBe("ScaledObject doesn't have correct scaleTargetRef specification: Target resource doesn't exist");
    const events = await waitFor(async () => (await eventsOf('missing')).filter((e) => e.reason === 'ScaledObjectCheckFailed').map((e) => e.note), { description: 'check-failed events' });
    expect(events).toContain("Target resource doesn't exist");
    expect(await readHpa('missing')).toBeUndefined();
  });
});
