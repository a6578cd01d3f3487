import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { readClusterInfo, waitFor } from '../src/testing';
import { LocalControlPlane, runKubectl } from '../src/control-plane';
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

/**
 * Runs the lines `npm start` printed under "Try it:" the way a user pastes them into bash, with
 * the toolchain's kubectl on PATH; resolves with everything they wrote (a refused apply included).
 */
function runTryIt(printed: string, kubectlBin: string): Promise<string> {
  const block = /\nTry it:\n([\s\S]*?)\n\(kubectl for this Kubernetes version/.exec(printed)?.[1];
  if (!block) return Promise.reject(new Error(`npm start printed no "Try it" block:\n${printed}`));
  return new Promise((resolve, reject) => {
    const sh = spawn('bash', ['-c', block], {
      cwd: repoRoot,
      env: { ...process.env, PATH: `${path.dirname(kubectlBin)}:${process.env['PATH'] ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    sh.stdout.on('data', (c: Buffer) => (out += c.toString()));
    sh.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      sh.kill('SIGKILL');
      reject(new Error(`the "Try it" lines did not finish within 120 s:\n${out}`));
    }, 120_000);
    sh.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** What the webhook answers to a second ScaledObject for the Deployment `name` that `owner` scales. */
const duplicateTargetRefusal = (name: string, owner: string) =>
  new RegExp(
    `admission webhook "vscaledobject\\.kb\\.io" denied the request: .*the workload '${name}' of type 'apps/v1\\.Deployment' is already managed by the ScaledObject '${owner}'`,
  );

/**
 * `npm start` in its own process group (so that a test can send Ctrl-C the way a terminal does),
 * with what it printed so far, and the KUBECONFIG it prints once the system is up.
 */
function startNpmStart(env: NodeJS.ProcessEnv) {
  // The test command built the bundles; other test files are running them (a rebuild would replace them under them).
  const child = spawn('npm', ['start'], { cwd: repoRoot, env: { ...env, KEDA_TS_START_SKIP_BUILD: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = { child, stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (run.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (run.stderr += c.toString()));
  const exited = new Promise<string>((r) => child.on('exit', (code, signal) => r(signal ?? `exit ${code}`)));
  const output = () => `stdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-3000)}`;
  const kubeconfig = () =>
    Promise.race([
      waitFor(() => run.stdout.match(/^export KUBECONFIG=(\S+)$/m)?.[1], {
        description: () => `npm start to print export KUBECONFIG=...; ${output()}`,
        timeoutMs: 240_000,
        intervalMs: 250,
      }),
      // A start-up that failed has said why: no point waiting out the timeout.
      exited.then((how) => Promise.reject(new Error(`npm start ended (${how}) before printing KUBECONFIG; ${output()}`))),
    ]);
  return { run, exited, output, kubeconfig };
}

describe('npm start', () => {
  it('starts its own control plane and the three apps, prints KUBECONFIG and a "Try it" that works (the webhook refuses a duplicate target), and Ctrl-C stops everything', async () => {
    const env = { ...process.env };
    delete env['KUBECONFIG'];
    const { run, exited, output, kubeconfig: printedKubeconfig } = startNpmStart(env);
    const child = run.child;
    try {
      const kubeconfig = await printedKubeconfig();
      expect(kubeconfig).not.toBe(readClusterInfo().kubeconfig);
      const crds = await runKubectl(readClusterInfo().kubectl, kubeconfig, ['get', 'crd', '-o', 'name']);
      for (const name of KEDA_CRD_NAMES) expect(crds).toContain(`customresourcedefinition.apiextensions.k8s.io/${name}`);
      // The metrics adapter is registered behind the aggregation layer.
      const discovery = JSON.parse(
        await runKubectl(readClusterInfo().kubectl, kubeconfig, ['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1']),
      ) as { groupVersion: string };
      expect(discovery.groupVersion).toBe('external.metrics.k8s.io/v1beta1');

      const probePorts = [...run.stderr.matchAll(/^(controller|metrics-adapter|webhook): probes on http:\/\/127\.0\.0\.1:(\d+)/gm)];
      expect(probePorts.map((m) => m[1]).sort()).toEqual(['controller', 'metrics-adapter', 'webhook']);
      for (const m of probePorts) expect(await probeOnce({ url: `http://127.0.0.1:${m[2]}/readyz` })).toBe(200);

      // The printed "Try it" works as printed: the demo's Deployment and a ScaledObject that becomes
      // Ready, then a second ScaledObject for the same Deployment that the registered webhook refuses.
      await waitFor(() => run.stderr.includes('Ctrl-C stops everything.'), { description: () => `the "Try it" lines; ${output()}`, timeoutMs: 10_000, intervalMs: 100 });
      const demo = await runTryIt(run.stderr, readClusterInfo().kubectl);
      expect(demo).toContain('deployment.apps/demo created');
      expect(demo).toContain('scaledobject.keda.sh/demo created');
      expect(demo).toContain('scaledobject.keda.sh/demo condition met');
      expect(demo).toMatch(duplicateTargetRefusal('demo', 'demo'));
      expect(await runKubectl(readClusterInfo().kubectl, kubeconfig, ['get', 'scaledobjects', '-o', 'name'])).toBe('scaledobject.keda.sh/demo\n');

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

  it('on the cluster KUBECONFIG names: registers the webhook by URL, and on exit removes it and the APIService, leaving the cluster up', async () => {
    const cp = new LocalControlPlane({ nodes: 1, log: (l) => process.stderr.write(`[npm-start cp] ${l}\n`) });
    const info = await cp.start();
    const kubectl = (args: string[], input?: string) => runKubectl(info.kubectl, info.kubeconfig, args, input);
    const { run, exited, kubeconfig: printedKubeconfig } = startNpmStart({ ...process.env, KUBECONFIG: info.kubeconfig });
    const child = run.child;
    const scaledObject = (name: string) =>
      JSON.stringify({
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name, namespace: 'default' },
        spec: { scaleTargetRef: { name: 'web' }, triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } }] },
      });
    try {
      const printed = await printedKubeconfig();
      expect(printed).toBe(info.kubeconfig);
      expect(run.stderr).toContain(`using the cluster of KUBECONFIG=${info.kubeconfig}`);

      // keda-admission: the chart's six webhooks, each called by URL on 127.0.0.1.
      const registration = JSON.parse(await kubectl(['get', 'validatingwebhookconfiguration', 'keda-admission', '-o', 'json'])) as {
        webhooks: { name: string; clientConfig: { url?: string; caBundle?: string }; rules: { resources: string[] }[] }[];
      };
      expect(registration.webhooks.map((w) => w.name).sort()).toEqual([
        'vcloudeventsource.kb.io',
        'vclustercloudeventsource.kb.io',
        'vscaledjob.kb.io',
        'vscaledobject.kb.io',
        'vsclustertriggerauthentication.kb.io',
        'vstriggerauthentication.kb.io',
      ]);
      expect(registration.webhooks.flatMap((w) => w.rules.flatMap((r) => r.resources)).sort()).toEqual([
        'cloudeventsources',
        'clustercloudeventsources',
        'clustertriggerauthentications',
        'scaledjobs',
        'scaledobjects',
        'triggerauthentications',
      ]);
      for (const w of registration.webhooks) {
        expect(w.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/validate-(eventing-)?keda-sh-v1alpha1-[a-z]+$/);
        expect(w.clientConfig.caBundle).toBeTruthy();
      }

      await kubectl(['create', 'deployment', 'web', '--image=registry.k8s.io/pause:3.10', '-n', 'default']);
      await kubectl(['apply', '-f', '-'], scaledObject('first'));
      // The webhook learns of `first` from its informer: retried until it names it, in case the
      // second apply came before the watch event (an admitted `second` is deleted and tried again).
      await waitFor(
        async () => {
          try {
            await kubectl(['apply', '-f', '-'], scaledObject('second'));
            await kubectl(['delete', 'scaledobject', 'second', '-n', 'default', '--wait=false']);
            return false;
          } catch (err) {
            if (duplicateTargetRefusal('web', 'first').test(String(err))) return true;
            throw err;
          }
        },
        { description: 'the webhook to refuse a second ScaledObject for web', timeoutMs: 20_000 },
      );

      process.kill(-child.pid!, 'SIGINT');
      expect(['exit 0', 'SIGINT']).toContain(await exited);
      // The cluster is not npm start's: it stays up, without the registrations npm start made.
      expect(await kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name'])).not.toContain('keda-admission');
      expect(await kubectl(['get', 'apiservices', '-o', 'name'])).not.toContain('v1beta1.external.metrics.k8s.io');
      expect(await kubectl(['get', 'service', 'keda-metrics-apiserver', '-n', 'keda', '--ignore-not-found', '-o', 'name'])).toBe('');
      // With the registration gone nothing refuses the duplicate any more.
      await kubectl(['apply', '-f', '-'], scaledObject('third'));
      // The three apps are gone (the control plane's own processes use the same kubeconfig).
      expect(processesMentioning(`--kubeconfig=${info.kubeconfig}`).filter((p) => p.includes('/dist/main.js'))).toEqual([]);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* the group is already gone */
      }
      await cp.stop();
    }
  }, 420_000);
});
