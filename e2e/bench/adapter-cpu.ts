/**
 * CPU cost per metric request of the adapter's HTTPS server alone (no control plane): the
 * adapter's server, gRPC client, authentication, SAR cache (with a fake SubjectAccessReview that
 * allows) and Prometheus metrics run in a child process (profile it with --cpu-prof via
 * ADAPTER_NODE_ARGS); this process is the fake controller (gRPC, answers 42) and the load generator,
 * calling as the aggregator does (front-proxy certificate, X-Remote-User of the HPA controller).
 *
 * The load is open loop (e2e/bench/open-loop.ts): requests due at --rps, each one's latency from its
 * scheduled time, errors and timeouts (10 s) in the `all` percentiles and counted beside them.
 * Reports those, and the adapter process's CPU (ms per request, cores) and RSS. A child that cannot
 * start fails the run.
 *
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/adapter-cpu.ts [--rps 500] [--seconds 15]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMetricsClient, createMetricsServer } from '@keda-ts/metrics-service';
import { AdapterMetrics, ExternalMetricsServer, SarAuthorizer, parseAuthenticationConfigMap } from '@keda-ts/external-metrics';
import { createLogger } from '@keda-ts/runtime';
import { writeCertDir } from '../src/certs';
import { openLoop, type Outcome } from './open-loop';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

async function serve(certDir: string, grpcPort: number): Promise<void> {
  const ca = readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
  const config = parseAuthenticationConfigMap({
    'requestheader-client-ca-file': ca,
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  });
  const logger = createLogger({ component: 'metrics-adapter', version: '0', level: 'info' });
  const client = createMetricsClient({ address: `127.0.0.1:${grpcPort}`, tls: { certDir }, authority: 'keda-operator.keda.svc', logger });
  // The HPA controller's user is not in system:masters: every request goes through the SAR cache.
  const authorizer = new SarAuthorizer({ review: async (r) => ({ ...r, status: { allowed: true } }), allResourcesFirst: true });
  const server = new ExternalMetricsServer({
    metrics: client,
    controllerAddress: `127.0.0.1:${grpcPort}`,
    authentication: () => ({ config, generation: 1 }),
    authorize: (u, a) => authorizer.authorize(u, a),
    readiness: {},
    tls: { certFile: path.join(certDir, 'tls.crt'), keyFile: path.join(certDir, 'tls.key') },
    bindAddress: '127.0.0.1',
    port: 0,
    logger,
    prom: new AdapterMetrics(),
  });
  const port = await server.listen();
  process.stdout.write(`PORT ${port}\n`);
  process.on('SIGTERM', () => void server.close().then(() => client.close()).then(() => process.exit(0)));
}

const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serve(arg('serve', ''), Number(arg('grpc', '0')));
  const rps = Number(arg('rps', '500'));
  const seconds = Number(arg('seconds', '15'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'adapter-cpu-'));
  // One pair with client and server usage (KEDA's layout when certificates are brought): the in-process
  // adapter below serves HTTPS and calls gRPC with it, and this script is its front-proxy client.
  const certs = await writeCertDir(dir, [], { layout: 'shared' });
  const controller = createMetricsServer({
    provider: { getMetrics: async (ref) => [{ metricName: ref.metricName, timestamp: new Date(), value: 42 }] },
    tls: { certDir: certs.dir },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  const grpcPort = await controller.start();
  const nodeArgs = process.env['ADAPTER_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  let agent: https.Agent | undefined;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', '--conditions=@keda-ts/source', __filename, '--serve', certs.dir, '--grpc', String(grpcPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error('the adapter child printed no port within 60 s')), 60_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the adapter child exited with ${code} before it served`));
      });
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /PORT (\d+)/.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        } else if (buf.includes('\n')) {
          process.stderr.write(buf);
          buf = '';
        }
      });
    });
    agent = new https.Agent({ ca: certs.caPem, cert: readFileSync(certs.tlsCert), key: readFileSync(certs.tlsKey), keepAlive: true, maxSockets: 64, servername: 'localhost' });
    const get = (i: number) =>
      new Promise<Outcome>((resolve) => {
        https
          .get(
            {
              host: '127.0.0.1',
              port,
              agent,
              timeout: 10_000,
              path: `/apis/external.metrics.k8s.io/v1beta1/namespaces/bench/s0-metric-${i % 10000}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=so-${i % 10000}`)}`,
              headers: { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': 'system:authenticated' },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : 'error'));
              res.on('error', () => resolve('error'));
            },
          )
          .on('timeout', function (this: { destroy(): void }) {
            resolve('timeout');
            this.destroy();
          })
          .on('error', () => resolve('error'));
      });
    for (let i = 0; i < 500; i++) if ((await get(i)) !== 'ok') throw new Error(`warm-up request ${i} to the adapter failed`);
    const pid = child.pid!;
    const cpu0 = cpuSeconds(pid);
    const started = performance.now();
    const result = await openLoop({ rate: rps, seconds, send: get });
    const wall = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    process.stdout.write(
      JSON.stringify(
        {
          rps,
          seconds,
          ...result,
          adapterCpuMsPerRequest: +((cpu * 1000) / result.requests).toFixed(3),
          adapterCpuCores: +(cpu / wall).toFixed(3),
          adapterRssMiB: +(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024).toFixed(1),
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    agent?.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await controller.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
