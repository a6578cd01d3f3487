import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsApp, spawnTsApp } from '@keda-ts/runtime/testing';
import { metricsAdapterOptions } from './options';

const main = join(__dirname, 'main.ts');
// Nothing listens on port 1, so the API server is unreachable.
const kubeconfig = join(mkdtempSync(join(tmpdir(), 'metrics-adapter-')), 'kubeconfig.yaml');
writeFileSync(
  kubeconfig,
  [
    'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
    'users: [{ name: u, user: { token: t } }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]',
    'current-context: x',
  ].join('\n'),
);

describe('metrics-adapter main', () => {
  it('prints usage listing every flag and env var, exiting 0', async () => {
    const { code, stdout } = await runTsApp(main, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: keda-ts-metrics-adapter');
    for (const spec of Object.values(metricsAdapterOptions)) {
      expect(stdout).toContain(`--${spec.flag}`);
      if (spec.env) expect(stdout).toContain(`[env: ${spec.env}]`);
    }
  });

  it('exits 2 naming the bad flag', async () => {
    const { code, stderr } = await runTsApp(main, ['--log-level', 'chatty']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'invalid value "chatty" for flag --log-level: expected one of debug, info, warn, error',
    );
  });

  it('is live but not ready while the API server is unreachable, and exits 0 on SIGTERM', async () => {
    const app = spawnTsApp(main, ['--health-probe-bind-address', '127.0.0.1:0'], {
      env: { KUBECONFIG: kubeconfig, LOG_LEVEL: 'debug' },
    });
    try {
      const startup = await app.waitForLog((line) => line.msg === 'starting keda-ts-metrics-adapter');
      expect(startup).toMatchObject({
        level: 'info',
        component: 'metrics-adapter',
        config: expect.objectContaining({ kubeconfig, logLevel: 'debug' }),
      });
      const { port } = await app.waitForLog((line) => line.msg === 'health probe server listening');
      await app.waitForLog((line) => line.msg === 'API server unreachable');

      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'failed',
        checks: expect.arrayContaining([
          { name: 'api-server', ok: false, message: expect.stringContaining('ECONNREFUSED') },
        ]),
      });
    } finally {
      expect(await app.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
    expect(app.logs).toContainEqual(expect.objectContaining({ msg: 'shutdown complete' }));
  });
});
