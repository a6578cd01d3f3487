import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  CHART_DIR,
  K8sObject,
  KUBERNETES_VERSION,
  RELEASE_NAMESPACE,
  WORKSPACE_ROOT,
  allows,
  find,
  has,
  helm,
  render,
  renderError,
  rulesOf,
} from './helm';

const ns = RELEASE_NAMESPACE;
const CONTROLLER = 'keda-operator';
const ADAPTER = 'keda-operator-metrics-apiserver';
const WEBHOOK = 'keda-admission-webhooks';
const DEPLOYMENTS = [CONTROLLER, ADAPTER, WEBHOOK];
const APP_OF: Record<string, string> = { [CONTROLLER]: 'controller', [ADAPTER]: 'metrics-adapter', [WEBHOOK]: 'webhook' };
const SA_OF: Record<string, string> = { [CONTROLLER]: 'keda-operator', [ADAPTER]: 'keda-metrics-server', [WEBHOOK]: 'keda-webhook' };
const CRD_NAMES = [
  'scaledobjects.keda.sh',
  'scaledjobs.keda.sh',
  'triggerauthentications.keda.sh',
  'clustertriggerauthentications.keda.sh',
  'cloudeventsources.eventing.keda.sh',
  'clustercloudeventsources.eventing.keda.sh',
];

const container = (objects: K8sObject[], deployment: string) => find(objects, 'Deployment', deployment).spec.template.spec.containers[0];
const env = (c: { env?: { name: string; value?: string }[] }, name: string) => c.env?.find((e) => e.name === name)?.value;
const flag = (c: { args: string[] }, name: string) =>
  c.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kindsAndNames = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

describe('keda chart', () => {
  let defaults: K8sObject[];
  beforeAll(() => {
    defaults = render();
  });

  describe('lint', () => {
    it.each(readdirSync(path.join(CHART_DIR, 'ci')).filter((f) => f.endsWith('.yaml')))(
      'helm lint --strict passes with ci/%s',
      (file) => {
        const r = helm(['lint', CHART_DIR, '--strict', `--kube-version=${KUBERNETES_VERSION}`, '-f', path.join(CHART_DIR, 'ci', file)]);
        expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
        expect(r.status).toBe(0);
      },
    );
  });

  describe('with the defaults', () => {
    it('renders the three components, their wiring and the CRDs, and nothing else', () => {
      expect(kindsAndNames(defaults)).toEqual(
        [
          'APIService/v1beta1.external.metrics.k8s.io',
          'ClusterRole/keda-operator',
          'ClusterRole/keda-operator-external-metrics-reader',
          'ClusterRole/keda-operator-minimal-cluster-role',
          'ClusterRole/keda-operator-webhook',
          'ClusterRoleBinding/keda-operator',
          'ClusterRoleBinding/keda-operator-hpa-controller-external-metrics',
          'ClusterRoleBinding/keda-operator-minimal',
          'ClusterRoleBinding/keda-operator-system-auth-delegator',
          'ClusterRoleBinding/keda-operator-webhook',
          ...CRD_NAMES.map((n) => `CustomResourceDefinition/${n}`),
          ...DEPLOYMENTS.map((d) => `Deployment/${d}`),
          'Role/keda-operator',
          'RoleBinding/keda-operator-auth-reader',
          'RoleBinding/keda-operator-release-namespace',
          ...DEPLOYMENTS.map((d) => `Service/${d}`),
          ...Object.values(SA_OF).map((s) => `ServiceAccount/${s}`),
          'ValidatingWebhookConfiguration/keda-admission',
        ].sort(),
      );
      for (const o of defaults) {
        expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('keda');
        expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
      }
      for (const o of defaults.filter((o) => !['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'APIService', 'ValidatingWebhookConfiguration'].includes(o.kind))) {
        expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(
          `${o.kind}/${o.metadata.name} in ${o.metadata.name === 'keda-operator-auth-reader' ? 'kube-system' : ns}`,
        );
      }
    });

    it('renders the CRDs from the files libs/api generates, unchanged but for labels', () => {
      const dir = path.join(CHART_DIR, 'crds');
      const generated = readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS() as K8sObject | null))
        .filter((o): o is K8sObject => o !== null);
      expect(generated.map((c) => c.metadata.name).sort()).toEqual([...CRD_NAMES].sort());
      for (const crd of generated) {
        const rendered = find(defaults, 'CustomResourceDefinition', crd.metadata.name);
        expect(rendered.spec).toEqual(crd.spec);
        expect(rendered.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
      }
      expect(find(render({ 'kedaTs.crds.keep': true }), 'CustomResourceDefinition', 'scaledobjects.keda.sh').metadata.annotations).toEqual({
        'helm.sh/resource-policy': 'keep',
      });
    });

    it('runs every container non-root, read-only, unprivileged, without capabilities, under seccomp RuntimeDefault', () => {
      for (const name of DEPLOYMENTS) {
        const pod = find(defaults, 'Deployment', name).spec.template.spec;
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
        expect(pod.containers).toHaveLength(1);
        expect(pod.containers[0].securityContext).toEqual({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(pod.hostNetwork).toBeUndefined();
        expect(pod.serviceAccountName).toBe(SA_OF[name]);
        // The root filesystem is read-only: /tmp is an emptyDir.
        expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
        expect(pod.containers[0].resources).toEqual({ limits: { cpu: '1', memory: '1000Mi' }, requests: { cpu: '100m', memory: '100Mi' } });
      }
    });

    it('probes /healthz and /readyz on the port the app binds its probe server to', () => {
      for (const name of DEPLOYMENTS) {
        const c = container(defaults, name);
        const probes = c.ports.find((p: { name: string }) => p.name === 'probes');
        expect(flag(c, 'health-probe-bind-address')).toBe(`:${probes.containerPort}`);
        expect(probes.containerPort).toBe(8081);
        expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'probes' });
        expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'probes' });
      }
      expect(container(defaults, CONTROLLER).livenessProbe).toMatchObject({ initialDelaySeconds: 25, periodSeconds: 10, failureThreshold: 3 });
      expect(container(defaults, CONTROLLER).readinessProbe).toMatchObject({ initialDelaySeconds: 20, periodSeconds: 3 });
      expect(container(defaults, ADAPTER).livenessProbe).toMatchObject({ initialDelaySeconds: 5 });
    });

    it('points every Service at its own Deployment, port by port (the controller gRPC Service through its leader)', () => {
      for (const name of DEPLOYMENTS.filter((d) => d !== CONTROLLER)) {
        const svc = find(defaults, 'Service', name, ns);
        const deploy = find(defaults, 'Deployment', name, ns);
        const podLabels = deploy.spec.template.metadata.labels;
        expect(deploy.spec.selector.matchLabels).toEqual(svc.spec.selector);
        for (const [k, v] of Object.entries(svc.spec.selector)) expect(podLabels[k]).toBe(v);
        // The selector must not match the other components' Pods.
        for (const other of DEPLOYMENTS.filter((d) => d !== name)) {
          const otherLabels = find(defaults, 'Deployment', other).spec.template.metadata.labels;
          expect(Object.entries(svc.spec.selector).every(([k, v]) => otherLabels[k] === v)).toBe(false);
        }
        const containerPorts = container(defaults, name).ports.map((p: { name: string }) => p.name);
        for (const port of svc.spec.ports) expect(containerPorts).toContain(port.targetPort);
      }
    });

    it('gives the adapter the controller gRPC Service address', () => {
      const address = flag(container(defaults, ADAPTER), 'metrics-service-address');
      expect(address).toBe(`keda-operator.${ns}.svc.cluster.local:9666`);
      const svc = find(defaults, 'Service', CONTROLLER, ns);
      expect(svc.spec.ports).toEqual([{ name: 'metricsservice', port: 9666, targetPort: 9666, protocol: 'TCP', appProtocol: 'grpc' }]);
      expect(container(defaults, CONTROLLER).ports).toContainEqual({ name: 'metricsservice', containerPort: 9666, protocol: 'TCP' });
      expect(env(container(defaults, CONTROLLER), 'METRICS_SERVICE_BIND_ADDRESS')).toBe(':9666');
    });

    it('leaves the gRPC Service without a selector: the leader publishes itself as its endpoint (POD_IP)', () => {
      const svc = find(defaults, 'Service', CONTROLLER, ns);
      // With a selector, every Ready replica would be behind it, and standbys do not serve gRPC.
      expect(svc.spec.selector).toBeUndefined();
      const c = container(defaults, CONTROLLER);
      expect(env(c, 'METRICS_SERVICE_ENDPOINT_SLICE')).toBe(CONTROLLER);
      expect(c.env.find((e: { name: string }) => e.name === 'POD_IP')).toEqual({ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
      // No second Service without Prometheus metrics.
      expect(has(defaults, 'Service', `${CONTROLLER}-metrics`)).toBe(false);
      // Same with several replicas: nothing in the layout depends on the count.
      const two = render({ 'operator.replicaCount': 2 });
      expect(find(two, 'Service', CONTROLLER, ns).spec).toEqual(svc.spec);
    });

    it('registers the APIService against the adapter Service, 443 to the secure port 6443', () => {
      const api = find(defaults, 'APIService', 'v1beta1.external.metrics.k8s.io');
      expect(api.spec).toEqual({
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        groupPriorityMinimum: 100,
        versionPriority: 100,
        service: { name: ADAPTER, namespace: ns, port: 443 },
      });
      const svcPort = find(defaults, 'Service', ADAPTER).spec.ports.find((p: { port: number }) => p.port === 443);
      expect(svcPort.targetPort).toBe('https');
      const c = container(defaults, ADAPTER);
      expect(c.ports).toContainEqual({ name: 'https', containerPort: 6443, protocol: 'TCP' });
      expect(flag(c, 'secure-port')).toBe('6443');
      // The controller writes the CA bundle (self-managed certificates): nothing is injected.
      expect(api.metadata.annotations).toBeUndefined();
    });

    it('registers keda-admission: six validating webhooks, Ignore, 10 s, no side effects, on the webhook Service', () => {
      const vwc = find(defaults, 'ValidatingWebhookConfiguration', 'keda-admission');
      const resources = ['scaledobjects', 'scaledjobs', 'triggerauthentications', 'clustertriggerauthentications', 'cloudeventsources', 'clustercloudeventsources'];
      expect(vwc.webhooks.map((w: { name: string }) => w.name)).toEqual([
        'vscaledobject.kb.io',
        'vscaledjob.kb.io',
        'vstriggerauthentication.kb.io',
        'vsclustertriggerauthentication.kb.io',
        'vcloudeventsource.kb.io',
        'vclustercloudeventsource.kb.io',
      ]);
      vwc.webhooks.forEach((w: Record<string, unknown>, i: number) => {
        const singular = resources[i].replace(/s$/, '');
        const group = resources[i].includes('cloudevent') ? 'eventing.keda.sh' : 'keda.sh';
        expect(w).toEqual({
          name: expect.any(String),
          admissionReviewVersions: ['v1'],
          clientConfig: { service: { name: WEBHOOK, namespace: ns, port: 443, path: `/validate-${group.replace(/\./g, '-')}-v1alpha1-${singular}` } },
          failurePolicy: 'Ignore',
          matchPolicy: 'Equivalent',
          sideEffects: 'None',
          timeoutSeconds: 10,
          namespaceSelector: {},
          objectSelector: {},
          rules: [{ apiGroups: [group], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], resources: [resources[i]] }],
        });
      });
      const svcPort = find(defaults, 'Service', WEBHOOK).spec.ports.find((p: { port: number }) => p.port === 443);
      expect(svcPort.targetPort).toBe('https');
      const c = container(defaults, WEBHOOK);
      expect(c.ports).toContainEqual({ name: 'https', containerPort: 9443, protocol: 'TCP' });
      expect(flag(c, 'port')).toBe('9443');
    });

    it('mounts the certificate Secret at /certs everywhere; only the controller, which writes it, starts without it', () => {
      for (const name of DEPLOYMENTS) {
        const pod = find(defaults, 'Deployment', name).spec.template.spec;
        expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'certificates', mountPath: '/certs', readOnly: true });
        const volume = pod.volumes.find((v: { name: string }) => v.name === 'certificates');
        expect(volume.secret.secretName).toBe('kedaorg-certs');
        expect(volume.secret.optional ?? false).toBe(name === CONTROLLER);
      }
      // Each Pod gets ca.crt and only its own leaf; ca.key only in the controller's Pod.
      const items = (name: string) =>
        find(defaults, 'Deployment', name)
          .spec.template.spec.volumes.find((v: { name: string }) => v.name === 'certificates')
          .secret.items.map((i: { key: string; path: string }) => (i.key === i.path ? i.key : `${i.key}->${i.path}`));
      expect(items(CONTROLLER)).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
      expect(items(ADAPTER)).toEqual(['ca.crt', 'metrics-adapter-client.crt', 'metrics-adapter-client.key', 'metrics-adapter.crt', 'metrics-adapter.key']);
      expect(items(WEBHOOK)).toEqual(['ca.crt', 'webhook.crt', 'webhook.key']);
      const c = container(defaults, CONTROLLER);
      expect(env(c, 'ENABLE_CERT_ROTATION')).toBe('true');
      expect(env(c, 'CERT_SECRET_NAME')).toBe('kedaorg-certs');
      expect(env(c, 'CERT_DIR')).toBe('/certs');
    });

    it('configures leader election on the Lease operator.keda.sh, watching all namespaces, metrics off', () => {
      const c = container(defaults, CONTROLLER);
      expect(env(c, 'LEADER_ELECT')).toBe('true');
      expect(env(c, 'LEADER_ELECTION_ID')).toBe('operator.keda.sh');
      expect(env(c, 'KEDA_OPERATOR_LEADER_ELECTION_LEASE_DURATION')).toBe('15s');
      expect(env(c, 'WATCH_NAMESPACE')).toBe('');
      expect(env(container(defaults, ADAPTER), 'WATCH_NAMESPACE')).toBe('');
      expect(c.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
      expect(flag(c, 'metrics-bind-address')).toBeUndefined();
      expect(env(c, 'KEDA_RESTRICT_SECRET_ACCESS')).toBeUndefined();
      for (const name of DEPLOYMENTS) expect(flag(container(defaults, name), 'log-level')).toBe('info');
    });

    it('references the images by registry, repository and tag (appVersion by default)', () => {
      expect(container(defaults, CONTROLLER).image).toBe('ghcr.io/keda-ts/keda-ts-controller:0.1.0');
      expect(container(defaults, ADAPTER).image).toBe('ghcr.io/keda-ts/keda-ts-metrics-adapter:0.1.0');
      expect(container(defaults, WEBHOOK).image).toBe('ghcr.io/keda-ts/keda-ts-webhook:0.1.0');
      const custom = render({ 'global.image.registry': 'registry.local:5000', 'image.keda.tag': 'dev', 'image.webhooks.tag': 'pr-7', 'image.metricsApiServer.registry': '' });
      expect(container(custom, CONTROLLER).image).toBe('registry.local:5000/keda-ts/keda-ts-controller:dev');
      expect(container(custom, WEBHOOK).image).toBe('registry.local:5000/keda-ts/keda-ts-webhook:pr-7');
    });
  });

  describe('RBAC', () => {
    it('lets the controller do its job cluster-wide and nothing more', () => {
      const { cluster, byNamespace } = rulesOf(defaults, 'keda-operator');
      // Its job.
      expect(allows(cluster, 'watch', 'keda.sh', 'scaledobjects')).toBe(true);
      expect(allows(cluster, 'update', 'keda.sh', 'scaledobjects/status')).toBe(true);
      expect(allows(cluster, 'update', 'keda.sh', 'scaledjobs/finalizers')).toBe(true);
      expect(allows(cluster, 'list', 'keda.sh', 'clustertriggerauthentications')).toBe(true);
      expect(allows(cluster, 'create', 'autoscaling', 'horizontalpodautoscalers')).toBe(true);
      expect(allows(cluster, 'delete', 'batch', 'jobs')).toBe(true);
      expect(allows(cluster, 'patch', 'apps', 'deployments/scale')).toBe(true);
      expect(allows(cluster, 'update', 'argoproj.io', 'rollouts/scale')).toBe(true);
      expect(allows(cluster, 'list', '', 'secrets')).toBe(true);
      expect(allows(cluster, 'create', 'events.k8s.io', 'events')).toBe(true);
      // Not its job.
      for (const [verb, group, resource] of [
        ['create', 'keda.sh', 'scaledobjects'],
        ['delete', 'keda.sh', 'scaledobjects'],
        ['update', 'apps', 'deployments'],
        ['delete', 'apps', 'deployments'],
        ['create', '', 'pods'],
        ['create', '', 'secrets'],
        ['update', '', 'configmaps'],
        ['create', 'apiextensions.k8s.io', 'customresourcedefinitions'],
        ['escalate', 'rbac.authorization.k8s.io', 'clusterroles'],
        ['create', '', 'serviceaccounts/token'],
        ['impersonate', '', 'users'],
      ]) {
        expect(`${verb} ${group}/${resource}: ${allows(cluster, verb, group, resource)}`).toBe(`${verb} ${group}/${resource}: false`);
      }
      // Patching the CA bundles: only the two named objects.
      expect(allows(cluster, 'patch', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'keda-admission')).toBe(true);
      expect(allows(cluster, 'patch', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'other')).toBe(false);
      expect(allows(cluster, 'patch', 'apiregistration.k8s.io', 'apiservices', 'v1beta1.external.metrics.k8s.io')).toBe(true);
      expect(allows(cluster, 'patch', 'apiregistration.k8s.io', 'apiservices', 'v1beta1.metrics.k8s.io')).toBe(false);
      // No wildcard verbs anywhere in the chart, and wildcard resources only for /scale and external metrics.
      for (const role of defaults.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
        for (const rule of role['rules']) {
          expect(rule.verbs).not.toContain('*');
          for (const r of rule.resources) if (r.includes('*')) expect(['*/scale', '*']).toContain(r);
          if (rule.resources.includes('*')) expect(`${role.metadata.name}: ${rule.apiGroups}`).toBe('keda-operator-external-metrics-reader: external.metrics.k8s.io');
        }
      }
      // Leader election and the certificate Secret: in the release namespace, by name.
      const local = byNamespace[ns];
      expect(Object.keys(byNamespace)).toEqual([ns]);
      expect(allows(local, 'update', 'coordination.k8s.io', 'leases', 'operator.keda.sh')).toBe(true);
      expect(allows(local, 'update', 'coordination.k8s.io', 'leases', 'kube-controller-manager')).toBe(false);
      expect(allows(local, 'create', 'coordination.k8s.io', 'leases')).toBe(true);
      expect(allows(local, 'update', '', 'secrets', 'kedaorg-certs')).toBe(true);
      expect(allows(local, 'update', '', 'secrets', 'another-secret')).toBe(false);
      expect(allows(cluster, 'update', 'coordination.k8s.io', 'leases', 'operator.keda.sh')).toBe(false);
      // The leader's EndpointSlice of the gRPC Service: created, then kept by name; the Service read for its uid.
      expect(allows(local, 'create', 'discovery.k8s.io', 'endpointslices')).toBe(true);
      for (const verb of ['get', 'list', 'watch', 'update', 'patch', 'delete']) {
        expect(allows(local, verb, 'discovery.k8s.io', 'endpointslices', 'keda-operator-leader')).toBe(true);
        expect(allows(local, verb, 'discovery.k8s.io', 'endpointslices', 'kubernetes')).toBe(false);
      }
      expect(allows(local, 'get', '', 'services', 'keda-operator')).toBe(true);
      expect(allows(local, 'update', '', 'services', 'keda-operator')).toBe(false);
      expect(allows(cluster, 'create', 'discovery.k8s.io', 'endpointslices')).toBe(false);
    });

    it('passes the scaler egress policy (keda-ts) only when set', () => {
      const c = container(defaults, CONTROLLER);
      expect(env(c, 'KEDA_TS_SCALER_EGRESS_DENY_CIDRS')).toBeUndefined();
      expect(env(c, 'KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS')).toBeUndefined();
      expect(env(c, 'KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL')).toBeUndefined();
      const set = container(
        render({
          'kedaTs.operator.scalerEgress.denyCidrs[0]': '10.0.0.0/8',
          'kedaTs.operator.scalerEgress.denyCidrs[1]': 'fd00::/8',
          'kedaTs.operator.scalerEgress.allowCidrs[0]': '10.1.0.0/16',
          'kedaTs.operator.scalerEgress.allowLinkLocal': true,
        }),
        CONTROLLER,
      );
      expect(env(set, 'KEDA_TS_SCALER_EGRESS_DENY_CIDRS')).toBe('10.0.0.0/8,fd00::/8');
      expect(env(set, 'KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS')).toBe('10.1.0.0/16');
      expect(env(set, 'KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL')).toBe('true');
    });

    it('passes the scaler read cap and the bound token settings (keda-ts) only when set', () => {
      const c = container(defaults, CONTROLLER);
      for (const name of ['KEDA_TS_MAX_CONCURRENT_SCALER_READS', 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_SHORT_LIVED', 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_AUDIENCE']) {
        expect(env(c, name)).toBeUndefined();
      }
      const set = container(
        render({
          'kedaTs.operator.maxConcurrentScalerReads': 500,
          'kedaTs.operator.boundServiceAccountToken.shortLived': true,
          'kedaTs.operator.boundServiceAccountToken.audiences[0]': 'vault',
          'kedaTs.operator.boundServiceAccountToken.audiences[1]': 'sts.example',
        }),
        CONTROLLER,
      );
      expect(env(set, 'KEDA_TS_MAX_CONCURRENT_SCALER_READS')).toBe('500');
      expect(env(set, 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_SHORT_LIVED')).toBe('true');
      expect(env(set, 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_AUDIENCE')).toBe('vault,sts.example');
    });

    it('with permissions.restrict.secret, reads Secrets in the release namespace only (and the allow-listed names)', () => {
      const restricted = render({}, ['ci/restricted-secrets-values.yaml']);
      const { cluster, byNamespace } = rulesOf(restricted, 'keda-operator');
      for (const verb of ['get', 'list', 'watch']) expect(allows(cluster, verb, '', 'secrets')).toBe(false);
      expect(allows(cluster, 'get', '', 'secrets', 'shared-credentials')).toBe(true);
      expect(allows(cluster, 'list', '', 'secrets', 'shared-credentials')).toBe(false);
      expect(allows(cluster, 'get', '', 'secrets', 'someone-elses')).toBe(false);
      expect(allows(byNamespace[ns], 'list', '', 'secrets')).toBe(true);
      expect(allows(byNamespace[ns], 'get', '', 'secrets', 'anything')).toBe(true);
      expect(env(container(restricted, CONTROLLER), 'KEDA_RESTRICT_SECRET_ACCESS')).toBe('true');
      expect(env(container(restricted, CONTROLLER), 'KEDA_CLUSTER_OBJECT_NAMESPACE')).toBe(ns);
      // Everything else is as with the defaults.
      expect(allows(cluster, 'patch', 'apps', 'deployments/scale')).toBe(true);
    });

    it('lets the controller read what trigger authentication reads and keep TA/CTA status and finalizers', () => {
      const { cluster } = rulesOf(defaults, 'keda-operator');
      for (const verb of ['get', 'list', 'watch']) {
        expect(allows(cluster, verb, '', 'secrets')).toBe(true);
        expect(allows(cluster, verb, '', 'configmaps')).toBe(true);
        expect(allows(cluster, verb, 'keda.sh', 'triggerauthentications')).toBe(true);
        expect(allows(cluster, verb, 'keda.sh', 'clustertriggerauthentications')).toBe(true);
      }
      expect(allows(cluster, 'get', '', 'serviceaccounts')).toBe(true);
      for (const resource of ['triggerauthentications', 'triggerauthentications/status', 'clustertriggerauthentications', 'clustertriggerauthentications/status'])
        expect(allows(cluster, 'patch', 'keda.sh', resource)).toBe(true);
    });

    it('grants service account tokens (boundServiceAccountToken) only when asked', () => {
      const all = rulesOf(render({ 'permissions.operator.restrict.allowAllServiceAccountTokenCreation': true }), 'keda-operator');
      expect(allows(all.cluster, 'create', '', 'serviceaccounts/token')).toBe(true);
      const objects = render({
        'permissions.operator.restrict.serviceAccountTokenCreationRoles[0].name': 'metrics-reader',
        'permissions.operator.restrict.serviceAccountTokenCreationRoles[0].namespace': 'team-a',
      });
      const named = rulesOf(objects, 'keda-operator');
      expect(allows(named.cluster, 'create', '', 'serviceaccounts/token')).toBe(false);
      expect(allows(named.byNamespace['team-a'], 'create', '', 'serviceaccounts/token', 'metrics-reader')).toBe(true);
      expect(allows(named.byNamespace['team-a'], 'create', '', 'serviceaccounts/token', 'other')).toBe(false);
    });

    it('with watchNamespace, binds the controller role in those namespaces and its own only', () => {
      const objects = render({}, ['ci/watch-namespaces-values.yaml']);
      const { cluster, byNamespace } = rulesOf(objects, 'keda-operator');
      expect(has(objects, 'ClusterRoleBinding', 'keda-operator')).toBe(false);
      expect(Object.keys(byNamespace).sort()).toEqual(['keda', 'team-a', 'team-b']);
      expect(allows(byNamespace['team-a'], 'patch', 'apps', 'deployments/scale')).toBe(true);
      expect(allows(cluster, 'patch', 'apps', 'deployments/scale')).toBe(false);
      expect(allows(cluster, 'list', 'keda.sh', 'clustertriggerauthentications')).toBe(true);
      expect(env(container(objects, CONTROLLER), 'WATCH_NAMESPACE')).toBe('team-a,team-b');
      expect(env(container(objects, ADAPTER), 'WATCH_NAMESPACE')).toBe('team-a,team-b');
    });

    it('lets the adapter delegate auth and the HPA controller read external metrics', () => {
      const { cluster, byNamespace } = rulesOf(defaults, 'keda-metrics-server');
      const delegator = find(defaults, 'ClusterRoleBinding', 'keda-operator-system-auth-delegator');
      expect(delegator.roleRef.name).toBe('system:auth-delegator');
      expect(find(defaults, 'RoleBinding', 'keda-operator-auth-reader', 'kube-system').roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      });
      expect(cluster).toEqual([]); // system:auth-delegator is not in the chart; nothing else is bound
      expect(Object.keys(byNamespace)).toEqual(['kube-system']);
      const hpa = find(defaults, 'ClusterRoleBinding', 'keda-operator-hpa-controller-external-metrics');
      expect(hpa.subjects).toEqual([{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }]);
      expect(find(defaults, 'ClusterRole', 'keda-operator-external-metrics-reader').rules).toEqual([
        { apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['get', 'list'] },
      ]);
    });

    it('gives the webhook read access for its lookups, and events', () => {
      const { cluster } = rulesOf(defaults, 'keda-webhook');
      expect(allows(cluster, 'list', 'keda.sh', 'scaledobjects')).toBe(true);
      expect(allows(cluster, 'list', 'autoscaling', 'horizontalpodautoscalers')).toBe(true);
      expect(allows(cluster, 'get', 'apps', 'deployments')).toBe(true);
      // Its informers list and watch what they cache (LimitRanges too: KEDA lists them per admission).
      expect(allows(cluster, 'watch', '', 'limitranges')).toBe(true);
      expect(allows(cluster, 'create', 'events.k8s.io', 'events')).toBe(true);
      // The dry-run create of a ScaledJob's Job: create only, nothing else on jobs.
      expect(allows(cluster, 'create', 'batch', 'jobs')).toBe(true);
      for (const verb of ['get', 'list', 'watch', 'update', 'patch', 'delete']) expect(allows(cluster, verb, 'batch', 'jobs')).toBe(false);
      for (const rule of cluster) {
        if (rule.resources?.includes('events')) continue;
        if (rule.resources?.includes('jobs')) expect(rule.verbs).toEqual(['create']);
        else expect(rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
      }
      expect(allows(cluster, 'get', '', 'secrets')).toBe(false);
    });

    it('binds only ServiceAccounts the chart creates (or the control plane has) to roles that exist', () => {
      const roles = new Set(defaults.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').map((o) => `${o.kind}/${o.metadata.name}`));
      const builtIn = new Set(['ClusterRole/system:auth-delegator', 'Role/extension-apiserver-authentication-reader']);
      for (const b of defaults.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
        const ref = `${b['roleRef'].kind}/${b['roleRef'].name}`;
        expect(roles.has(ref) || builtIn.has(ref)).toBe(true);
        for (const s of b['subjects']) {
          const known = has(defaults, 'ServiceAccount', s.name) || (s.name === 'horizontal-pod-autoscaler' && s.namespace === 'kube-system');
          expect(`${b.metadata.name} → ${s.name}: ${known}`).toBe(`${b.metadata.name} → ${s.name}: true`);
        }
      }
      expect(has(render({ 'rbac.create': false }), 'ClusterRole', 'keda-operator')).toBe(false);
    });
  });

  describe('components can be switched off', () => {
    it.each([
      ['kedaTs.operator.enabled', CONTROLLER, ['ClusterRole/keda-operator', 'Role/keda-operator', 'ServiceAccount/keda-operator']],
      ['metricsServer.enabled', ADAPTER, ['APIService/v1beta1.external.metrics.k8s.io', 'ServiceAccount/keda-metrics-server']],
      ['webhooks.enabled', WEBHOOK, ['ValidatingWebhookConfiguration/keda-admission', 'ClusterRole/keda-operator-webhook']],
    ])('%s=false drops %s and its objects, keeps the rest', (key, deployment, gone) => {
      const objects = render({ [key]: false });
      const names = kindsAndNames(objects);
      expect(names).not.toContain(`Deployment/${deployment}`);
      expect(names).not.toContain(`Service/${deployment}`);
      for (const g of gone) expect(names).not.toContain(g);
      for (const other of DEPLOYMENTS.filter((d) => d !== deployment)) expect(names).toContain(`Deployment/${other}`);
      expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(CRD_NAMES.length);
      // Whatever is left is exactly what the defaults render for it.
      for (const o of objects) expect(o).toEqual(find(defaults, o.kind, o.metadata.name, o.metadata.namespace));
    });

    it('crds.install=false leaves the CRDs to someone else', () => {
      const objects = render({ 'crds.install': false });
      expect(objects.filter((o) => o.kind === 'CustomResourceDefinition')).toEqual([]);
      expect(objects).toHaveLength(defaults.length - CRD_NAMES.length);
    });

    it('renders nothing with everything off', () => {
      expect(render({ 'crds.install': false, 'kedaTs.operator.enabled': false, 'metricsServer.enabled': false, 'webhooks.enabled': false })).toEqual([]);
    });

    it('can leave out the APIService and the webhook registration while running the servers', () => {
      const objects = render({}, ['ci/install-test-values.yaml']);
      expect(kindsAndNames(objects)).toEqual(
        kindsAndNames(defaults).filter((n) => n !== 'APIService/v1beta1.external.metrics.k8s.io' && n !== 'ValidatingWebhookConfiguration/keda-admission'),
      );
    });
  });

  describe('with cert-manager', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = render({}, ['ci/cert-manager-values.yaml']);
    });

    it('issues one serving certificate for the three Services from a generated CA', () => {
      expect(find(objects, 'Issuer', 'keda-operator-selfsigned-issuer', ns).spec).toEqual({ selfSigned: {} });
      const ca = find(objects, 'Certificate', 'keda-operator-ca', ns);
      expect(ca.spec).toMatchObject({ isCA: true, secretName: 'kedaorg-ca', issuerRef: { name: 'keda-operator-selfsigned-issuer', kind: 'Issuer' } });
      expect(find(objects, 'Issuer', 'keda-operator-issuer', ns).spec).toEqual({ ca: { secretName: 'kedaorg-ca' } });
      const cert = find(objects, 'Certificate', 'keda-operator-tls-certificates', ns);
      expect(cert.spec.secretName).toBe('kedaorg-certs');
      expect(cert.spec.issuerRef).toEqual({ name: 'keda-operator-issuer', kind: 'Issuer', group: 'cert-manager.io' });
      expect(cert.spec.usages).toEqual(['server auth', 'client auth']);
      for (const svc of DEPLOYMENTS) {
        expect(cert.spec.dnsNames).toEqual(expect.arrayContaining([`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`]));
      }
      expect(cert.spec).toMatchObject({ duration: '8760h0m0s', renewBefore: '5840h0m0s' });
    });

    it('lets cert-manager inject the CA bundle, and the controller neither rotates nor patches', () => {
      const inject = { 'cert-manager.io/inject-ca-from': `${ns}/keda-operator-tls-certificates` };
      expect(find(objects, 'APIService', 'v1beta1.external.metrics.k8s.io').metadata.annotations).toEqual(inject);
      expect(find(objects, 'ValidatingWebhookConfiguration', 'keda-admission').metadata.annotations).toEqual(inject);
      const c = container(objects, CONTROLLER);
      expect(env(c, 'ENABLE_CERT_ROTATION')).toBe('false');
      const { cluster, byNamespace } = rulesOf(objects, 'keda-operator');
      expect(allows(cluster, 'patch', 'admissionregistration.k8s.io', 'validatingwebhookconfigurations', 'keda-admission')).toBe(false);
      expect(allows(cluster, 'patch', 'apiregistration.k8s.io', 'apiservices', 'v1beta1.external.metrics.k8s.io')).toBe(false);
      expect(allows(byNamespace[ns], 'create', '', 'secrets')).toBe(false);
      expect(allows(byNamespace[ns], 'update', '', 'secrets', 'kedaorg-certs')).toBe(false);
      expect(allows(byNamespace[ns], 'get', '', 'secrets', 'kedaorg-certs')).toBe(true);
      const volume = find(objects, 'Deployment', CONTROLLER).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'certificates');
      expect(volume.secret.optional).toBeUndefined();
      // cert-manager writes KEDA's one shared pair: every Pod mounts ca.crt, tls.crt and tls.key, no ca.key.
      for (const name of DEPLOYMENTS) {
        const v = find(objects, 'Deployment', name).spec.template.spec.volumes.find((x: { name: string }) => x.name === 'certificates');
        expect(v.secret.items).toEqual(['ca.crt', 'tls.crt', 'tls.key'].map((k) => ({ key: k, path: k })));
      }
    });

    it('mounts the shared pair in every Pod when the user brings the certificates (autoGenerated=false)', () => {
      const objects = render({ 'certificates.autoGenerated': false });
      expect(env(container(objects, CONTROLLER), 'ENABLE_CERT_ROTATION')).toBe('false');
      for (const name of DEPLOYMENTS) {
        const v = find(objects, 'Deployment', name).spec.template.spec.volumes.find((x: { name: string }) => x.name === 'certificates');
        expect(v.secret.items).toEqual(['ca.crt', 'tls.crt', 'tls.key'].map((k) => ({ key: k, path: k })));
        expect(v.secret.optional).toBeUndefined();
      }
    });

    it('uses an existing issuer when told to', () => {
      const own = render({
        'certificates.certManager.enabled': true,
        'certificates.certManager.generateCA': false,
        'certificates.certManager.issuer.generate': false,
        'certificates.certManager.issuer.name': 'corp-ca',
      });
      expect(own.filter((o) => o.kind === 'Issuer')).toEqual([]);
      expect(find(own, 'Certificate', 'keda-operator-tls-certificates').spec.issuerRef).toEqual({ name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
      const fromSecret = render({ 'certificates.certManager.enabled': true, 'certificates.certManager.generateCA': false });
      expect(find(fromSecret, 'APIService', 'v1beta1.external.metrics.k8s.io').metadata.annotations).toEqual({
        'cert-manager.io/inject-ca-from-secret': `${ns}/kedaorg-ca`,
      });
    });
  });

  describe('optional features', () => {
    let objects: K8sObject[];
    beforeAll(() => {
      objects = render({}, ['ci/everything-values.yaml']);
    });

    it('serves Prometheus metrics with a ServiceMonitor, or scrape annotations without one', () => {
      const c = container(objects, CONTROLLER);
      expect(flag(c, 'metrics-bind-address')).toBe(':8080');
      expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 8080, protocol: 'TCP' });
      // KEDA's keda-operator:8080 stays (the leader publishes the port), and every replica is behind keda-operator-metrics.
      expect(find(objects, 'Service', CONTROLLER).spec.ports).toContainEqual({ name: 'metrics', port: 8080, targetPort: 8080, protocol: 'TCP' });
      const metricsSvc = find(objects, 'Service', `${CONTROLLER}-metrics`, ns);
      expect(metricsSvc.spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
      expect(metricsSvc.spec.selector).toEqual(find(objects, 'Deployment', CONTROLLER).spec.selector.matchLabels);
      const sm = find(objects, 'ServiceMonitor', CONTROLLER, ns);
      expect(sm.metadata.labels?.['release']).toBe('prometheus');
      expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
      // The ServiceMonitor selects the metrics Service by its labels, not the gRPC one.
      const selects = (svc: K8sObject) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels?.[k] === v);
      expect(selects(metricsSvc)).toBe(true);
      expect(selects(find(objects, 'Service', CONTROLLER))).toBe(false);
      expect(find(objects, 'Service', ADAPTER).metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' });
      expect(env(container(objects, ADAPTER), 'METRICS_BIND_ADDRESS')).toBe(':8080');
      expect(find(objects, 'Service', CONTROLLER).metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
      expect(metricsSvc.metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
      // Without a ServiceMonitor the scrape annotations are on the metrics Service, whose Endpoints exist.
      const annotated = render({ 'prometheus.operator.enabled': true });
      expect(find(annotated, 'Service', `${CONTROLLER}-metrics`).metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' });
      expect(find(annotated, 'Service', CONTROLLER).metadata.annotations?.['prometheus.io/scrape']).toBeUndefined();
    });

    it("maps KEDA's opentelemetry.* to the controller's OTLP push settings", () => {
      const off = container(defaults, CONTROLLER);
      expect(env(off, 'ENABLE_OPENTELEMETRY_METRICS')).toBeUndefined();
      expect(env(off, 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBeUndefined();
      const on = render({ 'opentelemetry.operator.enabled': true, 'opentelemetry.collector.uri': 'http://otel-collector.monitoring:4318' });
      const c = container(on, CONTROLLER);
      expect(env(c, 'ENABLE_OPENTELEMETRY_METRICS')).toBe('true');
      expect(env(c, 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBe('http://otel-collector.monitoring:4318');
      // Only the controller pushes.
      for (const d of [ADAPTER, WEBHOOK]) expect(env(container(on, d), 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBeUndefined();
      // Other OTEL_* variables through env, next to the chart's.
      const grpc = container(render({ 'opentelemetry.operator.enabled': true, 'env[0].name': 'OTEL_EXPORTER_OTLP_PROTOCOL', 'env[0].value': 'grpc' }), CONTROLLER);
      expect(env(grpc, 'OTEL_EXPORTER_OTLP_PROTOCOL')).toBe('grpc');
      expect(env(grpc, 'ENABLE_OPENTELEMETRY_METRICS')).toBe('true');
      expect(env(grpc, 'OTEL_EXPORTER_OTLP_ENDPOINT')).toBeUndefined();
    });

    it('renders PDBs, priority class, scheduling, pull secrets, labels, extra args and env', () => {
      expect(find(objects, 'PodDisruptionBudget', CONTROLLER).spec).toEqual({
        minAvailable: 1,
        selector: { matchLabels: find(objects, 'Deployment', CONTROLLER).spec.selector.matchLabels },
      });
      expect(find(objects, 'PodDisruptionBudget', ADAPTER).spec.maxUnavailable).toBe(1);
      expect(has(objects, 'PodDisruptionBudget', WEBHOOK)).toBe(false);
      const pod = find(objects, 'Deployment', CONTROLLER).spec.template.spec;
      expect(pod.priorityClassName).toBe('system-cluster-critical');
      expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
      expect(pod.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'keda', effect: 'NoSchedule' }]);
      expect(pod.imagePullSecrets).toEqual([{ name: 'pull-secret' }]);
      expect(find(objects, 'Deployment', WEBHOOK).spec.template.spec.priorityClassName).toBe('system-cluster-critical');
      expect(find(objects, 'Deployment', CONTROLLER).spec.replicas).toBe(2);
      const c = container(objects, CONTROLLER);
      expect(c.image).toBe('registry.example.com/keda-ts/keda-ts-controller:1.2.3');
      expect(flag(c, 'shutdown-timeout')).toBe('20s');
      expect(flag(c, 'log-level')).toBe('debug');
      expect(flag(container(objects, ADAPTER), 'log-level')).toBe('info');
      expect(env(c, 'EXTRA')).toBe('1');
      for (const o of objects.filter((o) => o.kind !== 'ConfigMap')) expect(o.metadata.labels?.['team']).toBe('platform');
      expect(find(objects, 'ConfigMap', 'keda-extra', ns).data).toEqual({ hello: 'world' });
      expect(find(objects, 'ValidatingWebhookConfiguration', 'keda-admission').webhooks[0]).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 5 });
      expect(has(objects, 'ClusterRole', 'keda:edit') && has(objects, 'ClusterRole', 'keda:view')).toBe(true);
      const { cluster } = rulesOf(objects, 'keda-operator');
      expect(allows(cluster, 'patch', 'argoproj.io', 'rollouts/scale')).toBe(true);
      expect(allows(cluster, 'get', 'argoproj.io', 'rollouts')).toBe(true);
      expect(allows(cluster, 'patch', 'example.com', 'widgets/scale')).toBe(false);
    });
  });

  describe('Grafana dashboard', () => {
    it('is off by default; when on, a ConfigMap for the Grafana sidecar holds dashboards/keda.json', () => {
      expect(defaults.some((o) => o.metadata.name === 'keda-grafana-dashboard')).toBe(false);
      const objects = render({ 'kedaTs.grafanaDashboard.enabled': true });
      const cm = find(objects, 'ConfigMap', 'keda-grafana-dashboard', ns);
      expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/part-of': 'keda' });
      const dashboard = JSON.parse(cm.data['keda.json']) as { title: string; panels: { targets?: { expr: string }[] }[] };
      expect(dashboard).toEqual(JSON.parse(readFileSync(path.join(CHART_DIR, 'dashboards', 'keda.json'), 'utf8')));
      const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
      for (const name of [
        'keda_scaler_metrics_value',
        'keda_scaler_metrics_latency_seconds',
        'keda_scaler_active',
        'keda_scaler_detail_errors_total',
        'keda_scaled_object_errors_total',
        'keda_scaled_job_errors_total',
        'keda_internal_scale_loop_latency_seconds',
        'keda_build_info',
        'keda_scaler_http_requests_total',
        'keda_scaler_http_request_duration_seconds_bucket',
        'keda_scaler_empty_upstream_responses_total',
        'keda_internal_metricsservice_grpc_server_handled_total',
        'keda_internal_metricsservice_grpc_server_handling_seconds_bucket',
      ])
        expect(exprs).toContain(name);
    });
  });

  describe("a KEDA v2.20 user's values.yaml", () => {
    const KEDA_VALUES = 'ci/keda-v2.20-values.yaml';
    let keda: K8sObject[];
    let typical: K8sObject[];
    beforeAll(() => {
      keda = render({}, [KEDA_VALUES]);
      // As a user would: KEDA's defaults file, then their own overrides on top.
      typical = render({}, [KEDA_VALUES, 'ci/typical-override-values.yaml']);
    });

    it("renders KEDA's own default values.yaml unchanged, into the same objects under KEDA's names", () => {
      expect(kindsAndNames(keda)).toEqual(kindsAndNames(defaults));
      for (const name of DEPLOYMENTS) {
        expect(find(keda, 'Service', name, ns).spec.selector).toEqual(find(defaults, 'Service', name, ns).spec.selector);
        expect(find(keda, 'Deployment', name, ns).spec.template.spec.serviceAccountName).toBe(SA_OF[name]);
      }
      // KEDA's images (kedacore/keda...) would run KEDA, not keda-ts: they are replaced by keda-ts's.
      expect(container(keda, CONTROLLER).image).toBe('ghcr.io/keda-ts/keda-ts-controller:0.1.0');
      expect(container(keda, ADAPTER).image).toBe('ghcr.io/keda-ts/keda-ts-metrics-adapter:0.1.0');
      expect(container(keda, WEBHOOK).image).toBe('ghcr.io/keda-ts/keda-ts-webhook:0.1.0');
      // KEDA's values take effect where they differ from keda-ts's defaults.
      expect(container(keda, CONTROLLER).imagePullPolicy).toBe('Always');
      expect(env(container(keda, CONTROLLER), 'LOG_FORMAT')).toBe('console');
      expect(flag(container(keda, ADAPTER), 'log-level')).toBe('info');
      expect(container(keda, CONTROLLER).resources).toEqual({ limits: { cpu: 1, memory: '1000Mi' }, requests: { cpu: '100m', memory: '100Mi' } });
      // keda-ts's hardening stays (KEDA's security contexts are a subset of it).
      expect(find(keda, 'Deployment', CONTROLLER).spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
      expect(container(keda, CONTROLLER).securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    });

    it('a typical override: operator.replicaCount, resources.operator, watchNamespace, a ServiceMonitor, Azure workload identity, env', () => {
      expect(find(typical, 'Deployment', CONTROLLER).spec.replicas).toBe(2);
      expect(find(typical, 'Deployment', ADAPTER).spec.replicas).toBe(1);
      expect(container(typical, CONTROLLER).resources).toEqual({ limits: { cpu: '2', memory: '2Gi' }, requests: { cpu: '200m', memory: '256Mi' } });
      expect(container(typical, ADAPTER).resources).toEqual(container(keda, ADAPTER).resources);

      expect(env(container(typical, CONTROLLER), 'WATCH_NAMESPACE')).toBe('team-a,team-b');
      const { cluster, byNamespace } = rulesOf(typical, 'keda-operator');
      expect(Object.keys(byNamespace).sort()).toEqual(['keda', 'team-a', 'team-b']);
      expect(allows(cluster, 'patch', 'apps', 'deployments/scale')).toBe(false);
      expect(allows(byNamespace['team-b'], 'patch', 'apps', 'deployments/scale')).toBe(true);

      const sm = find(typical, 'ServiceMonitor', CONTROLLER, ns);
      expect(sm.metadata.labels?.['release']).toBe('kube-prometheus-stack');
      expect(sm.spec.selector.matchLabels).toEqual(find(typical, 'Service', `${CONTROLLER}-metrics`).spec.selector);
      expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http' }]);
      expect(flag(container(typical, CONTROLLER), 'metrics-bind-address')).toBe(':8080');
      expect(find(typical, 'Service', CONTROLLER).spec.ports).toContainEqual({ name: 'metrics', port: 8080, targetPort: 8080, protocol: 'TCP' });

      const sa = find(typical, 'ServiceAccount', 'keda-operator', ns);
      expect(sa.metadata.labels?.['azure.workload.identity/use']).toBe('true');
      expect(sa.metadata.annotations).toEqual({
        'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000001',
        'azure.workload.identity/tenant-id': '00000000-0000-0000-0000-000000000002',
        'azure.workload.identity/service-account-token-expiration': '3600',
      });
      expect(find(typical, 'Deployment', CONTROLLER).spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
      expect(find(typical, 'ServiceAccount', 'keda-metrics-server', ns).metadata.labels?.['azure.workload.identity/use']).toBeUndefined();

      for (const name of DEPLOYMENTS) expect(env(container(typical, name), 'HTTP_PROXY')).toBe('http://proxy.example.com:3128');
      // The object names stay KEDA's.
      for (const name of DEPLOYMENTS) {
        expect(has(typical, 'Deployment', name)).toBe(true);
        expect(has(typical, 'Service', name)).toBe(true);
      }
    });

    it('maps the other identity providers onto the controller ServiceAccount', () => {
      const objects = render({
        'podIdentity.aws.irsa.enabled': true,
        'podIdentity.aws.irsa.roleArn': 'arn:aws:iam::111122223333:role/keda',
        'podIdentity.gcp.enabled': true,
        'podIdentity.gcp.gcpIAMServiceAccount': 'keda@project.iam.gserviceaccount.com',
      });
      expect(find(objects, 'ServiceAccount', 'keda-operator', ns).metadata.annotations).toEqual({
        'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/keda',
        'eks.amazonaws.com/audience': 'sts.amazonaws.com',
        'eks.amazonaws.com/sts-regional-endpoints': 'true',
        'eks.amazonaws.com/token-expiration': '86400',
        'iam.gke.io/gcp-service-account': 'keda@project.iam.gserviceaccount.com',
      });
    });

    it('passes the per-topic KEDA blocks to the right component', () => {
      const objects = render({
        'podAnnotations.metricsAdapter.a': 'b',
        'podLabels.webhooks.team': 'x',
        'upgradeStrategy.webhooks.type': 'Recreate',
        'extraArgs.metricsAdapter.shutdown-timeout': '20s',
        'volumes.metricsApiServer.extraVolumes[0].name': 'extra',
        'volumes.metricsApiServer.extraVolumes[0].emptyDir.medium': 'Memory',
        'topologySpreadConstraints.operator[0].maxSkew': 1,
        'topologySpreadConstraints.operator[0].topologyKey': 'kubernetes.io/hostname',
        'topologySpreadConstraints.operator[0].whenUnsatisfiable': 'DoNotSchedule',
        'hostAliases[0].ip': '10.1.2.3',
        'hostAliases[0].hostnames[0]': 'broker.local',
        'grpcTLSCertsSecret': 'external-scaler-tls',
        'operator.useHostNetwork': true,
        'operator.dnsPolicy': 'ClusterFirstWithHostNet',
      });
      expect(find(objects, 'Deployment', ADAPTER).spec.template.metadata.annotations).toEqual({ a: 'b' });
      expect(find(objects, 'Deployment', WEBHOOK).spec.template.metadata.labels['team']).toBe('x');
      expect(find(objects, 'Deployment', WEBHOOK).spec.strategy).toEqual({ type: 'Recreate' });
      expect(flag(container(objects, ADAPTER), 'shutdown-timeout')).toBe('20s');
      expect(find(objects, 'Deployment', ADAPTER).spec.template.spec.volumes).toContainEqual({ name: 'extra', emptyDir: { medium: 'Memory' } });
      const pod = find(objects, 'Deployment', CONTROLLER).spec.template.spec;
      expect(pod.topologySpreadConstraints).toEqual([{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule' }]);
      expect(pod.hostAliases).toEqual([{ ip: '10.1.2.3', hostnames: ['broker.local'] }]);
      expect(pod.hostNetwork).toBe(true);
      expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
      expect(pod.volumes).toContainEqual({ name: 'grpc-certs', secret: { secretName: 'external-scaler-tls' } });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'grpc-certs', mountPath: '/grpccerts', readOnly: true });
      expect(find(objects, 'Deployment', ADAPTER).spec.template.spec.hostNetwork).toBeUndefined();
    });
  });

  describe('NetworkPolicy', () => {
    it('is off by default, as in KEDA', () => {
      expect(defaults.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    });

    it('admits only the adapter to the gRPC port and only the API server to the adapter and the webhook', () => {
      const objects = render({}, ['ci/network-policy-values.yaml']);
      const podLabels = (name: string) => find(objects, 'Deployment', name).spec.template.metadata.labels as Record<string, string>;
      const selects = (policy: K8sObject, labels: Record<string, string>) =>
        Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v);
      expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort()).toEqual([...DEPLOYMENTS].sort());
      for (const name of DEPLOYMENTS) {
        const policy = find(objects, 'NetworkPolicy', name, ns);
        expect(policy.spec.policyTypes).toEqual(['Ingress']);
        for (const other of DEPLOYMENTS) expect(`${name} selects ${other}: ${selects(policy, podLabels(other))}`).toBe(`${name} selects ${other}: ${name === other}`);
      }
      const adapterPeer = { podSelector: { matchLabels: find(objects, 'Deployment', ADAPTER).spec.selector.matchLabels } };
      expect(find(objects, 'NetworkPolicy', CONTROLLER, ns).spec.ingress).toEqual([
        { from: [adapterPeer], ports: [{ port: 9666, protocol: 'TCP' }] },
        { ports: [{ port: 8080, protocol: 'TCP' }] }, // prometheus.operator.enabled: the metrics port
      ]);
      const apiServer = [{ ipBlock: { cidr: '10.0.0.1/32' } }, { ipBlock: { cidr: '192.168.1.10/32' } }];
      expect(find(objects, 'NetworkPolicy', ADAPTER, ns).spec.ingress).toEqual([{ from: apiServer, ports: [{ port: 6443, protocol: 'TCP' }] }]);
      expect(find(objects, 'NetworkPolicy', WEBHOOK, ns).spec.ingress).toEqual([{ from: apiServer, ports: [{ port: 9443, protocol: 'TCP' }] }]);
      // Without the API server's addresses: those two ports only, from anywhere.
      const open = render({ 'networkPolicy.enabled': true });
      expect(find(open, 'NetworkPolicy', ADAPTER, ns).spec.ingress).toEqual([{ ports: [{ port: 6443, protocol: 'TCP' }] }]);
      expect(find(open, 'NetworkPolicy', CONTROLLER, ns).spec.ingress).toEqual([{ from: [adapterPeer], ports: [{ port: 9666, protocol: 'TCP' }] }]);
    });

    it("limits egress to KEDA's networkPolicy.kubernetes.<component>.extraEgressRules when given", () => {
      const objects = render({
        'networkPolicy.enabled': true,
        'networkPolicy.kubernetes.operator.extraEgressRules[0].ports[0].port': 443,
      });
      const policy = find(objects, 'NetworkPolicy', CONTROLLER, ns);
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.spec.egress).toEqual([{ ports: [{ port: 443 }] }]);
      expect(find(objects, 'NetworkPolicy', ADAPTER, ns).spec.egress).toBeUndefined();
    });
  });

  describe('values.schema.json', () => {
    it.each<[Record<string, string | number | boolean>, RegExp]>([
      [{ 'operator.replicaCount': 'two' }, /at '\/operator\/replicaCount': got string, want integer/],
      [{ 'operator.replicaCount': -1 }, /at '\/operator\/replicaCount': minimum: got -1, want 0/],
      [{ 'webhooks.failurePolicy': 'Never' }, /at '\/webhooks\/failurePolicy': value must be one of 'Ignore', 'Fail'/],
      [{ 'webhooks.timeoutSeconds': 31 }, /at '\/webhooks\/timeoutSeconds': maximum: got 31, want 30/],
      [{ 'logging.operator.level': 'verbose' }, /at '\/logging\/operator\/level'/],
      [{ watchNamespace: 'Team_A' }, /at '\/watchNamespace': '.*' does not match pattern/],
      [{ 'kedaTs.operator.leaderElection.leaseDuration': 'fifteen' }, /at '\/kedaTs\/operator\/leaderElection\/leaseDuration': '.*' does not match pattern/],
      [{ 'image.pullPolicy': 'Sometimes' }, /at '\/image\/pullPolicy': value must be one of/],
      [{ 'service.portHttpsTarget': 70000 }, /at '\/service\/portHttpsTarget': maximum: got 70,000, want 65,535/],
      [{ 'certificates.certManager.issuer.kind': 'Vault' }, /at '\/certificates\/certManager\/issuer\/kind': value must be one of 'Issuer', 'ClusterIssuer'/],
      [{ 'controller.replicaCount': 2 }, /additional properties 'controller' not allowed/],
      [{ 'operator.replicas': 2 }, /at '\/operator': additional properties 'replicas' not allowed/],
      [{ 'metricsAdapter.enabled': false }, /additional properties 'metricsAdapter' not allowed/],
      [{ 'kedaTs.operator.scalerEgress.denyCidrs[0]': 'example.com/8' }, /at '\/kedaTs\/operator\/scalerEgress\/denyCidrs\/0': '.*' does not match pattern/],
    ])('refuses %j naming the field', (set, message) => {
      const err = renderError(set);
      expect(err).toContain("values don't meet the specifications of the schema");
      expect(err).toMatch(message);
    });
  });

  describe('the apps accept what the chart passes', () => {
    // Each app's --help lists its flags; run from source, so this needs no build.
    const help: Record<string, string> = {};
    beforeAll(async () => {
      const run = promisify(execFile);
      await Promise.all(
        Object.values(APP_OF).map(async (app) => {
          const { stdout } = await run(
            process.execPath,
            ['--import', 'tsx', '--conditions=@keda-ts/source', path.join(WORKSPACE_ROOT, 'apps', app, 'src', 'main.ts'), '--help'],
            { cwd: WORKSPACE_ROOT, timeout: 50_000 },
          );
          help[app] = stdout;
        }),
      );
    }, 60_000);

    it('the controller reads the certificate and metrics settings the chart sets in its environment', () => {
      const c = container(defaults, CONTROLLER);
      for (const name of ['CERT_DIR', 'CERT_SECRET_NAME', 'ENABLE_CERT_ROTATION', 'OPERATOR_SERVICE_NAME', 'METRICS_SERVER_SERVICE_NAME', 'WEBHOOKS_SERVICE_NAME', 'VALIDATING_WEBHOOK_NAME', 'K8S_CLUSTER_DOMAIN', 'POD_NAMESPACE', 'ENABLE_PROMETHEUS_METRICS']) {
        expect(c.env.some((e: { name: string }) => e.name === name)).toBe(true);
        expect(`${name}: ${help['controller'].includes(`[env: ${name}]`)}`).toBe(`${name}: true`);
      }
      // opentelemetry.operator.enabled sets ENABLE_OPENTELEMETRY_METRICS.
      const otel = container(render({ 'opentelemetry.operator.enabled': true }), CONTROLLER);
      expect(env(otel, 'ENABLE_OPENTELEMETRY_METRICS')).toBe('true');
      expect(help['controller']).toContain('[env: ENABLE_OPENTELEMETRY_METRICS]');
      expect(env(c, 'ENABLE_CERT_ROTATION')).toBe('true');
      for (const app of ['metrics-adapter', 'webhook']) expect(`${app}: ${help[app].includes('[env: CERT_DIR]')}`).toBe(`${app}: true`);
    });

    it.each(DEPLOYMENTS)('every flag given to %s exists', (deployment) => {
      const text = help[APP_OF[deployment]];
      for (const objects of [defaults, render({}, ['ci/everything-values.yaml']), render({}, ['ci/cert-manager-values.yaml']), render({}, ['ci/keda-v2.20-values.yaml', 'ci/typical-override-values.yaml'])]) {
        const c = container(objects, deployment);
        expect(c.command).toBeUndefined(); // the image's entrypoint runs the app
        for (const arg of c.args as string[]) {
          const name = /^(--[a-z0-9-]+)=/.exec(arg)?.[1];
          expect(`${arg} → ${name}`).toMatch(/^--[a-z0-9-]+=.* → --[a-z0-9-]+$/);
          expect(`${deployment}: ${name} ${text.includes(`${name} `)}`).toBe(`${deployment}: ${name} true`);
        }
      }
    });
  });
});
