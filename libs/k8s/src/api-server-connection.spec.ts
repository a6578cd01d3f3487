import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, HealthServer, Lifecycle } from '@keda-ts/runtime';
import { ApiServerConnection, connectToApiServer } from './api-server-connection';

const fixtures = join(__dirname, '..', 'test', 'fixtures');
const cert = readFileSync(join(fixtures, 'server-cert.pem'), 'utf8');
const key = readFileSync(join(fixtures, 'server-key.pem'), 'utf8');
const TOKEN = 'test-token';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return {
    lines,
    logger: createLogger({ component: 'test', version: '0.0.0', level: 'debug', destination }),
  };
}

/** A fake API server: answers with whatever `respond` says, and 401 without the bearer token. */
class FakeApiServer {
  readonly requests: string[] = [];
  respond: (path: string) => { status: number; body?: string } = () => ({ status: 200, body: 'ok' });
  private server?: http.Server;

  async start(tls: boolean): Promise<string> {
    const handler: http.RequestListener = (req, res) => {
      this.requests.push(req.url ?? '');
      const { status, body } =
        req.headers.authorization === `Bearer ${TOKEN}`
          ? this.respond(req.url ?? '')
          : { status: 401, body: 'Unauthorized' };
      res.writeHead(status).end(body);
    };
    this.server = tls ? https.createServer({ cert, key }, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function kubeConfigFor(
  server: string,
  cluster: { caData?: string; skipTLSVerify?: boolean } = {},
  token = TOKEN,
): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [
      { name: 'test', server, skipTLSVerify: cluster.skipTLSVerify ?? false, caData: cluster.caData },
    ],
    users: [{ name: 'test', token }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kubeConfig;
}

const until = async (condition: () => boolean, timeoutMs = 2000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('ApiServerConnection', () => {
  let api: FakeApiServer;
  let connection: ApiServerConnection | undefined;
  beforeEach(() => {
    api = new FakeApiServer();
  });
  afterEach(async () => {
    connection?.close();
    connection = undefined;
    await api.stop();
  });

  it('is ready against an HTTPS server trusted through the kubeconfig CA, sending the token', async () => {
    const url = await api.start(true);
    const { logger, lines } = capturingLogger();
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url, { caData: Buffer.from(cert).toString('base64') }),
      logger,
    });
    expect(connection.readiness()).toEqual({ ok: false, message: `API server ${url} not checked yet` });
    expect(await connection.check()).toBe(true);
    expect(connection.isReady()).toBe(true);
    expect(connection.lastError()).toBeUndefined();
    expect(connection.readiness()).toEqual({ ok: true });
    expect(api.requests).toEqual(['/readyz']);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'info', msg: 'API server reachable', server: url }),
    );
  });

  it('rejects an HTTPS server whose certificate is not trusted', async () => {
    const url = await api.start(true);
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url),
      logger: capturingLogger().logger,
    });
    expect(await connection.check()).toBe(false);
    expect(connection.lastError()?.message).toMatch(/self[- ]signed certificate/);
  });

  it('reports HTTP errors with status and body, e.g. bad credentials', async () => {
    const url = await api.start(false);
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url, { skipTLSVerify: true }, 'wrong-token'),
      logger: capturingLogger().logger,
    });
    expect(await connection.check()).toBe(false);
    expect(connection.readiness()).toEqual({
      ok: false,
      message: `API server ${url} unreachable: GET /readyz returned HTTP 401: Unauthorized`,
    });
  });

  it('falls back to /version when /readyz does not exist', async () => {
    const url = await api.start(false);
    api.respond = (path) =>
      path === '/readyz' ? { status: 404 } : { status: 200, body: '{"gitVersion":"v1.30.0"}' };
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url, { skipTLSVerify: true }),
      logger: capturingLogger().logger,
    });
    expect(await connection.check()).toBe(true);
    expect(api.requests).toEqual(['/readyz', '/version']);
  });

  it('keeps the path prefix of the server URL', async () => {
    const url = await api.start(false);
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(`${url}/k8s/clusters/c-1/`, { skipTLSVerify: true }),
      logger: capturingLogger().logger,
    });
    await connection.check();
    expect(api.requests).toEqual(['/k8s/clusters/c-1/readyz']);
  });

  it('times out slow servers', async () => {
    const server = new http.Server();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)); // accepts, never answers
    const silentUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(silentUrl, { skipTLSVerify: true }),
      logger: capturingLogger().logger,
      requestTimeoutMs: 50,
    });
    expect(await connection.check()).toBe(false);
    expect(connection.lastError()?.message).toBe('GET /readyz timed out after 50ms');
    server.closeAllConnections();
    server.close();
  });

  it('backs off exponentially while failing and recovers, logging transitions', async () => {
    const url = await api.start(false);
    let healthy = false;
    api.respond = () => (healthy ? { status: 200 } : { status: 500, body: 'etcd not ready' });
    const { logger, lines } = capturingLogger();
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url, { skipTLSVerify: true }),
      logger,
      initialBackoffMs: 10,
      maxBackoffMs: 40,
      checkIntervalMs: 20,
    });
    connection.start();
    await until(() => api.requests.length >= 4);
    expect(connection.isReady()).toBe(false);
    expect(connection.lastError()?.message).toBe('GET /readyz returned HTTP 500: etcd not ready');
    expect(connection.nextDelayMs()).toBe(40);
    // Same error again: one warning, then debug lines.
    expect(lines.filter((line) => line.msg === 'API server unreachable')).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 'debug', msg: 'API server still unreachable' }),
    );

    healthy = true;
    await until(() => connection?.isReady() === true);
    expect(connection.nextDelayMs()).toBe(20);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', msg: 'API server reachable' }));

    healthy = false;
    await until(() => connection?.isReady() === false);
    expect(lines.filter((line) => line.msg === 'API server unreachable')).toHaveLength(2);
  });

  it('stops checking after close()', async () => {
    const url = await api.start(false);
    connection = new ApiServerConnection({
      kubeConfig: kubeConfigFor(url, { skipTLSVerify: true }),
      logger: capturingLogger().logger,
      checkIntervalMs: 10,
    });
    connection.start();
    await until(() => api.requests.length >= 2);
    connection.close();
    const seen = api.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(api.requests.length).toBeLessThanOrEqual(seen + 1);
  });

  it('reports an unreachable server', async () => {
    const { logger, lines } = capturingLogger();
    connection = new ApiServerConnection({ kubeConfig: kubeConfigFor('https://127.0.0.1:1'), logger });
    expect(await connection.check()).toBe(false);
    expect(connection.lastError()?.message).toContain('ECONNREFUSED');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'API server unreachable',
        server: 'https://127.0.0.1:1',
      }),
    );
  });
});

describe('connectToApiServer', () => {
  it('gates readiness on the API server and closes on shutdown', async () => {
    const api = new FakeApiServer();
    const url = await api.start(false);
    const { logger } = capturingLogger();
    const health = new HealthServer({ address: { host: '127.0.0.1', port: 0 }, logger });
    const lifecycle = new Lifecycle({ logger, shutdownTimeoutMs: 1000 });
    const kubeconfigPath = join(tmpdir(), `kubeconfig-${process.pid}.yaml`);
    writeFileSync(kubeconfigPath, kubeConfigFor(url, { skipTLSVerify: true }).exportConfig());
    const connection = connectToApiServer(
      { logger, health, onShutdown: (name, hook) => lifecycle.onShutdown(name, hook) },
      { kubeconfigPath, checkIntervalMs: 10 },
    );
    await until(() => connection.isReady());
    expect(await health.checkReadiness()).toEqual({
      status: 'ok',
      checks: [{ name: 'api-server', ok: true }],
    });
    expect(await lifecycle.shutdown('test')).toBe(0);
    await api.stop();
  });
});
