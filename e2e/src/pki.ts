import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** File paths of the control plane's freshly generated PKI. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  adminCert: string;
  adminKey: string;
  frontProxyCaCert: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-days', '3650', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    dir,
  );
}

/** Issues a leaf certificate signed by `ca`; `sans` makes it a serving certificate. */
export async function issueCert(
  dir: string,
  ca: string,
  name: string,
  subject: string,
  usage: 'server' | 'client' | 'both',
  sans: string[] = [],
): Promise<void> {
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${usage === 'server' ? 'serverAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth'}`,
    ...(sans.length ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n');
  await fs.writeFile(path.join(dir, `${name}.ext`), ext + '\n');
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  await openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '3650', '-extfile', `${name}.ext`],
    dir,
  );
}

/**
 * A cluster CA (API server serving cert, admin client cert), a separate front-proxy CA for the
 * aggregation layer (reusing the client CA there is unsafe), and the service-account signing key.
 */
export async function generatePki(dir: string): Promise<Pki> {
  await fs.mkdir(dir, { recursive: true });
  await makeCa(dir, 'ca', 'keda-ts-local-ca');
  await makeCa(dir, 'front-proxy-ca', 'keda-ts-local-front-proxy-ca');
  await issueCert(dir, 'ca', 'apiserver', '/CN=kube-apiserver', 'server', [
    'IP:127.0.0.1', 'IP:10.0.0.1', 'DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local',
  ]);
  await issueCert(dir, 'ca', 'admin', '/O=system:masters/CN=admin', 'client');
  await issueCert(dir, 'front-proxy-ca', 'front-proxy-client', '/CN=front-proxy-client', 'client');
  await openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    apiserverCert: p('apiserver.crt'),
    apiserverKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    frontProxyCaCert: p('front-proxy-ca.crt'),
    frontProxyClientCert: p('front-proxy-client.crt'),
    frontProxyClientKey: p('front-proxy-client.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
}

/** PEMs of a throwaway CA and a serving certificate it signed. */
export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/**
 * A fresh CA and a serving certificate for `hosts` (IP addresses and DNS names), for test servers
 * that the API server calls (webhooks, aggregated APIs).
 */
export async function createServingCertificate(dir: string, hosts: string[]): Promise<ServingCertificate> {
  await fs.mkdir(dir, { recursive: true });
  await makeCa(dir, 'serving-ca', 'keda-ts-test-serving-ca');
  const sans = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
  await issueCert(dir, 'serving-ca', 'serving', `/CN=${hosts[0]}`, 'server', sans);
  const read = (f: string) => fs.readFile(path.join(dir, f), 'utf8');
  return { caPem: await read('serving-ca.crt'), certPem: await read('serving.crt'), keyPem: await read('serving.key') };
}
