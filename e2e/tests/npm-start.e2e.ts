import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readClusterInfo, waitFor } from '../src/testing';
import { runKubectl } from '../src/control-plane';
import { KEDA_CRD_NAMES } from '../src/crds';
import { probeOnce } from '../src/processes';

const repoRoot = path.resolve(__dirname, '..', '..');

/** Command lines of live processes that mention `needle`. */
function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) found.push(`${pid}: ${cmd}`);
    } catch {
      /* exited */
    }
  }
  return found;
}

describe('npm start', () => {
  it('starts its own control plane and the three apps, prints KUBECONFIG, and Ctrl-C stops everything', async () => {
    const env = { ...process.env };
    delete env['KUBECONFIG'];
    // Its own process group, so that we can send Ctrl-C the way a terminal does.
    const child = spawn('npm', ['start'], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<string>((r) => child.on('exit', (code, signal) => r(signal ?? `exit ${code}`)));
    const output = () => `stdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-3000)}`;
    try {
      const kubeconfig = await Promise.race([
        waitFor(() => stdout.match(/^export KUBECONFIG=(\S+)$/m)?.[1], {
          description: () => `npm start to print export KUBECONFIG=...; ${output()}`,
          timeoutMs: 240_000,
          intervalMs: 250,
        }),
        // A start-up that failed has said why: no point waiting out the timeout.
        exited.then((how) => Promise.reject(new Error(`npm start ended (${how}) before printing KUBECONFIG; ${output()}`))),
      ]);
      expect(kubeconfig).not.toBe(readClusterInfo().kubeconfig);
      const crds = await runKubectl(readClusterInfo().kubectl, kubeconfig, ['get', 'crd', '-o', 'name']);
      for (const name of KEDA_CRD_NAMES) expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${name}`);
      // The metrics adapter is registered behind the aggregation layer.
      const discovery = JSON.parse(
        await runKubectl(readClusterInfo().kubectl, kubeconfig, ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1']),
      ) as { groupVersion: string };
      expect(discovery.groupVersion).toBe('external.metrics.k8s.io/v1beta1');

      const probePorts = [...stderr.matchAll(/^(controller|metrics-adapter|webhook): probes on http:\/\/127\.0\.0\.1:(\d+)/gm)];
      expect(probePorts.map((m) => m[1]).sort()).toEqual(['controller', 'metrics-adapter', 'webhook']);
      for (const m of probePorts) expect(await probeOnce({ url: `http://127.0.0.1:${m[2]}/readyz` })).toBe(200);

      const stateDir = path.dirname(kubeconfig);
      expect(processesMentioning(stateDir).length).toBeGreaterThanOrEqual(5);
      process.kill(-child.pid!, 'SIGINT');
      // npm re-raises the Ctrl-C it received once its script has stopped, as in a terminal.
      expect(['exit 0', 'SIGINT']).toContain(await exited);
      expect(processesMentioning(stateDir)).toEqual([]);
      expect(existsSync(stateDir)).toBe(false);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* the group is already gone */
      }
    }
  }, 300_000);
});
