import { apply, deleteObject, k8s, waitFor } from './kube';

export interface WebhookByUrl {
  /** ValidatingWebhookConfiguration name, e.g. keda-admission. */
  configurationName: string;
  /** Port of the webhook server on 127.0.0.1. */
  port: number;
  /** PEM of the CA that signed the webhook's serving certificate (its SANs must include 127.0.0.1). */
  caPem: string;
  webhooks: {
    name: string;
    path: string;
    rules: { apiGroups: string[]; apiVersions: string[]; resources: string[]; operations?: string[] }[];
  }[];
  failurePolicy?: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
  /** Limits the webhooks to namespaces with these labels (for example one test namespace). */
  namespaceSelector?: { matchLabels: Record<string, string> };
}

/**
 * Registers validating webhooks by URL on 127.0.0.1 (never through a Service: the API server
 * would dial a ClusterIP that no one serves here).
 */
export async function registerValidatingWebhookByUrl(kc: k8s.KubeConfig, w: WebhookByUrl): Promise<void> {
  await apply(kc, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: w.configurationName },
    webhooks: w.webhooks.map((h) => ({
      name: h.name,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: w.failurePolicy ?? 'Fail',
      matchPolicy: 'Equivalent',
      timeoutSeconds: w.timeoutSeconds ?? 10,
      clientConfig: {
        url: `https://127.0.0.1:${w.port}${h.path}`,
        caBundle: Buffer.from(w.caPem).toString('base64'),
      },
      rules: h.rules.map((r) => ({ operations: r.operations ?? ['CREATE', 'UPDATE'], scope: '*', ...r })),
      ...(w.namespaceSelector ? { namespaceSelector: w.namespaceSelector } : {}),
    })),
  } as k8s.KubernetesObject);
}

export async function unregisterValidatingWebhook(kc: k8s.KubeConfig, configurationName: string): Promise<void> {
  await deleteObject(kc, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    name: configurationName,
  });
}

export interface ApiServiceToLocalhost {
  group: string;
  version: string;
  /** Namespace of the ExternalName Service (created when missing). */
  namespace: string;
  serviceName: string;
  /** Port of the aggregated API server on localhost. */
  port: number;
  /**
   * CA of the serving certificate; its SANs must include `<serviceName>.<namespace>.svc`, which is
   * the TLS server name the aggregator verifies. Without it, TLS verification is skipped.
   */
  caPem?: string;
  groupPriorityMinimum?: number;
  versionPriority?: number;
  /** Wait until the APIService is Available (default true); false when its caBundle is patched later. */
  waitAvailable?: boolean;
}

function apiServiceName(a: { group: string; version: string }): string {
  return `${a.version}.${a.group}`;
}

/**
 * Registers an APIService backed by a Service of type ExternalName -> localhost, so the
 * aggregator dials https://localhost:<port>. Waits until it is Available.
 */
export async function registerApiServiceToLocalhost(kc: k8s.KubeConfig, a: ApiServiceToLocalhost, timeoutMs = 60_000): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.createNamespace({ body: { metadata: { name: a.namespace } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await apply(kc, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: a.serviceName, namespace: a.namespace },
    spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: a.port, protocol: 'TCP' }] },
  } as k8s.KubernetesObject);
  await apply(kc, {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: apiServiceName(a) },
    spec: {
      group: a.group,
      version: a.version,
      groupPriorityMinimum: a.groupPriorityMinimum ?? 100,
      versionPriority: a.versionPriority ?? 100,
      service: { name: a.serviceName, namespace: a.namespace, port: a.port },
      ...(a.caPem ? { caBundle: Buffer.from(a.caPem).toString('base64') } : { insecureSkipTLSVerify: true }),
    },
  } as k8s.KubernetesObject);
  if (a.waitAvailable === false) return;
  const api = kc.makeApiClient(k8s.ApiregistrationV1Api);
  await waitFor(
    async () => {
      const svc = await api.readAPIService({ name: apiServiceName(a) });
      return svc.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? svc : undefined;
    },
    { timeoutMs, description: `APIService ${apiServiceName(a)} Available` },
  );
}

/** Deletes the APIService first (while it is unavailable, namespace deletion blocks), then its Service. */
export async function unregisterApiService(kc: k8s.KubeConfig, a: { group: string; version: string; namespace: string; serviceName: string }): Promise<void> {
  await deleteObject(kc, { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: apiServiceName(a) });
  await deleteObject(kc, { apiVersion: 'v1', kind: 'Service', name: a.serviceName, namespace: a.namespace });
}
