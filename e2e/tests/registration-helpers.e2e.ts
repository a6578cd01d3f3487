import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createServingCertificate } from '../src/pki';
import {
  apply,
  k8s,
  kubeConfig,
  kubectl,
  registerApiServiceToLocalhost,
  registerValidatingWebhookByUrl,
  unregisterApiService,
  unregisterValidatingWebhook,
  useTestNamespace,
} from '../src/testing';

const ns = useTestNamespace('reg');
const kc = kubeConfig();

type Handler = (req: { url: string; body: unknown; peerCn?: string; headers: Record<string, unknown> }) => { status: number; body: unknown };

/** An HTTPS server on 127.0.0.1 that records who called it. */
async function startHttps(hosts: string[], handler: Handler) {
  const cert = await createServingCertificate(mkdtempSync(path.join(os.tmpdir(), 'keda-ts-serving-')), hosts);
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      // A subject attribute that occurs more than once comes as an array (as @types/node 24 types it).
      const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
      const out = handler({ url: req.url ?? '', body: raw ? JSON.parse(raw) : undefined, peerCn: Array.isArray(cn) ? cn[0] : cn, headers: req.headers });
      res.writeHead(out.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, caPem: cert.caPem };
}

describe('registration helpers against the real API server', () => {
  it('registers a validating webhook by https://127.0.0.1 URL, and the API server calls it', async () => {
    const configurationName = `${ns.name}-deny-labelled`;
    const { server, port, caPem } = await startHttps(['127.0.0.1', 'localhost'], ({ body }) => {
      const review = body as { request: { uid: string; object: { metadata: { labels?: Record<string, string> } } } };
      const deny = review.request.object.metadata.labels?.['deny'] === 'true';
      return {
        status: 200,
        body: {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: { uid: review.request.uid, allowed: !deny, ...(deny ? { status: { code: 422, message: 'label deny=true is not allowed' } } : {}) },
        },
      };
    });
    try {
      await registerValidatingWebhookByUrl(kc, {
        configurationName,
        port,
        caPem,
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns.name } },
        webhooks: [{ name: 'deny.e2e.keda-ts.dev', path: '/validate', rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }] }],
      });
      const core = kc.makeApiClient(k8s.CoreV1Api);
      // The configuration takes a moment to reach the API server's admission chain.
      let message = '';
      for (let i = 0; i < 40 && !message; i++) {
        try {
          await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: `denied-${i}`, labels: { deny: 'true' } } } });
          await new Promise((r) => setTimeout(r, 250));
        } catch (err) {
          message = (JSON.parse((err as { body: string }).body) as { message: string }).message;
        }
      }
      expect(message).toContain('label deny=true is not allowed');
      await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'allowed' } } });
    } finally {
      await unregisterValidatingWebhook(kc, configurationName);
      server.close();
    }
  });

  it('registers an APIService through an ExternalName Service to localhost, reached with the front-proxy client cert', async () => {
    const group = `${ns.name}.e2e.keda-ts.dev`;
    const serviceName = 'aggregated';
    const callers = new Set<string>();
    const { server, port, caPem } = await startHttps(['localhost', `${serviceName}.${ns.name}.svc`], ({ url, peerCn, headers }) => {
      callers.add(`${peerCn}:${String(headers['x-remote-user'])}`);
      if (url.startsWith(`/apis/${group}/v1`)) {
        return {
          status: 200,
          body: {
            kind: 'APIResourceList',
            apiVersion: 'v1',
            groupVersion: `${group}/v1`,
            resources: [{ name: 'widgets', singularName: 'widget', namespaced: true, kind: 'Widget', verbs: ['get'] }],
          },
        };
      }
      return { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 } };
    });
    const registration = { group, version: 'v1', namespace: ns.name, serviceName, port };
    try {
      await registerApiServiceToLocalhost(kc, { ...registration, caPem });
      const discovery = JSON.parse(await kubectl(['get', '--raw', `/apis/${group}/v1`])) as { resources: { name: string }[] };
      expect(discovery.resources.map((r) => r.name)).toEqual(['widgets']);
      // The aggregator authenticates with its front-proxy client certificate and names the user in headers.
      expect([...callers].some((c) => c.startsWith('front-proxy-client:'))).toBe(true);
      const svc = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedService({ name: serviceName, namespace: ns.name });
      expect(svc.spec?.type).toBe('ExternalName');
      expect(svc.spec?.externalName).toBe('localhost');
    } finally {
      await unregisterApiService(kc, registration);
      server.close();
    }
  });

  it('publishes the front-proxy CA for aggregated API servers in kube-system/extension-apiserver-authentication', async () => {
    const cm = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
    expect(cm.data?.['requestheader-client-ca-file']).toContain('BEGIN CERTIFICATE');
    expect(JSON.parse(cm.data?.['requestheader-allowed-names'] ?? '[]')).toEqual(['front-proxy-client']);
    expect(JSON.parse(cm.data?.['requestheader-username-headers'] ?? '[]')).toEqual(['X-Remote-User']);
  });

  it('applies multi-document YAML, filling in the namespace', async () => {
    const objects = await apply(
      kc,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: one }\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: two }\ndata: { a: b }\n',
      ns.name,
    );
    expect(objects.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([`${ns.name}/one`, `${ns.name}/two`]);
  });
});
