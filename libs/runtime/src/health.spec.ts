import { Writable } from 'node:stream';
import { HealthServer } from './health';
import { createLogger } from './logger';

const logger = createLogger({
  component: 'test',
  version: '0.0.0',
  level: 'error',
  destination: new Writable({ write: (_chunk, _enc, done) => done() }),
});

describe('HealthServer', () => {
  let server: HealthServer;
  let base: string;

  beforeEach(async () => {
    server = new HealthServer({ address: { host: '127.0.0.1', port: 0 }, logger, checkTimeoutMs: 100 });
    const { host, port } = await server.listen();
    expect(port).toBeGreaterThan(0);
    base = `http://${host}:${port}`;
  });

  afterEach(() => server.close());

  it('answers /healthz while the process is up', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('is ready with no checks', async () => {
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: [] });
  });

  it('reports each check and returns 503 when any fails', async () => {
    let apiReachable = false;
    server.addReadinessCheck('always', () => ({ ok: true }));
    server.addReadinessCheck('api-server', async () =>
      apiReachable ? { ok: true } : { ok: false, message: 'connection refused' },
    );

    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'failed',
      checks: [
        { name: 'always', ok: true },
        { name: 'api-server', ok: false, message: 'connection refused' },
      ],
    });

    apiReachable = true;
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ok');
  });

  it('fails checks that throw or hang', async () => {
    server.addReadinessCheck('throws', () => {
      throw new Error('boom');
    });
    server.addReadinessCheck('hangs', () => new Promise(() => undefined));
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: unknown }).checks).toEqual([
      { name: 'throws', ok: false, message: 'check threw: boom' },
      { name: 'hangs', ok: false, message: 'check timed out after 100ms' },
    ]);
  });

  it('rejects duplicate check names', () => {
    server.addReadinessCheck('x', () => ({ ok: true }));
    expect(() => server.addReadinessCheck('x', () => ({ ok: true }))).toThrow(
      'readiness check "x" is already registered',
    );
  });

  it('closes even with keep-alive clients connected', async () => {
    await fetch(`${base}/healthz`, { keepalive: true });
    await server.close();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('reports a busy port with context', async () => {
    const other = new HealthServer({ address: { host: '127.0.0.1', port: server.address().port }, logger });
    await expect(other.listen()).rejects.toThrow(
      /health probe server cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });
});
