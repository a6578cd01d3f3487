import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTsApp, spawnTsApp } from '@keda-ts/runtime/testing';

export interface AppContract {
  /** Absolute path of the app's main.ts. */
  main: string;
  /** Command name, as in `Usage: <command>`. */
  command: string;
  /** The `component` field of its log lines. */
  component: string;
  /** Its declared options; every flag and env var must appear in --help. */
  options: Record<string, { flag: string; env?: string }>;
}

/**
 * What every one of our processes promises, checked on the real entry point: usage with flags
 * and env vars, exit 2 on a bad flag, JSON startup line, live-but-not-ready while the API server
 * is unreachable, and exit 0 on SIGTERM.
 */
export function describeAppContract(app: AppContract): void {
  // Nothing listens on port 1, so the API server is unreachable.
  const kubeconfig = join(mkdtempSync(join(tmpdir(), `${app.component}-`)), 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    [
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
      'users: [{ name: u, user: { token: t } }]',
      'contexts: [{ name: x, context: { cluster: c, user: u } }]',
      'current-context: x',
    ].join('\n'),
  );

  describe(`${app.component} main`, () => {
    it('prints usage listing every flag and env var, exiting 0', async () => {
      const { code, stdout } = await runTsApp(app.main, ['--help']);
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: ${app.command}`);
      for (const spec of Object.values(app.options)) {
        expect(stdout).toContain(`--${spec.flag}`);
        if (spec.env) expect(stdout).toContain(`[env: ${spec.env}]`);
      }
    });

    it('exits 2 naming the bad flag', async () => {
      const { code, stderr } = await runTsApp(app.main, ['--log-level', 'chatty']);
      expect(code).toBe(2);
      expect(stderr).toContain(
        'invalid value "chatty" for flag --log-level: expected one of debug, info, warn, error',
      );
    });

    it('is live but not ready while the API server is unreachable, and exits 0 on SIGTERM', async () => {
      const proc = spawnTsApp(app.main, ['--health-probe-bind-address', '127.0.0.1:0'], {
        env: { KUBECONFIG: kubeconfig, LOG_LEVEL: 'debug' },
      });
      try {
        const startup = await proc.waitForLog((line) => line.msg === `starting ${app.command}`);
        expect(startup).toMatchObject({
          level: 'info',
          component: app.component,
          config: expect.objectContaining({ kubeconfig, logLevel: 'debug' }),
        });
        const { port } = await proc.waitForLog((line) => line.msg === 'health probe server listening');
        await proc.waitForLog((line) => line.msg === 'API server unreachable');

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
        expect(await proc.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      }
      expect(proc.logs).toContainEqual(expect.objectContaining({ msg: 'shutdown complete' }));
    });
  });
}
