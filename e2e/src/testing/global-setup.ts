import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalControlPlane, runKubectl, ClusterInfo } from '../control-plane';
import { ensureToolchain } from '../toolchain';
import { CLUSTER_FILE_ENV } from './state';
import { installCrds } from '../crds';
import { appIdentities } from '../identities';

/**
 * One cluster per test run. With KEDA_E2E_KUBECONFIG set, the tests use that cluster instead
 * (it must be one this harness can reach with that kubeconfig; kubectl comes from the toolchain).
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  let info: ClusterInfo;
  const existing = process.env['KEDA_E2E_KUBECONFIG'];
  if (existing) {
    const tools = await ensureToolchain('control-plane');
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-e2e-'));
    const kc = readFileSync(existing, 'utf8');
    info = {
      stateDir,
      kubeconfig: existing,
      server: kc.match(/server:\s*(\S+)/)?.[1] ?? '',
      kubernetesVersion: tools.kubernetesVersion,
      kubectl: tools.kubectl,
      pki: undefined as never,
      ports: {},
    };
  } else {
    const cp = new LocalControlPlane({ auditLog: true });
    (globalThis as Record<string, unknown>)['__kedaControlPlane'] = cp;
    info = await cp.start();
  }
  await installCrds((args, input) => runKubectl(info.kubectl, info.kubeconfig, args, input));
  // The chart's ServiceAccounts and RBAC, and the apps' tokens, once for all test files (startApps reuses them).
  await appIdentities(info.kubeconfig);
  const file = path.join(info.stateDir, 'cluster.json');
  if (!existsSync(file) || existing) writeFileSync(file, JSON.stringify(info, null, 2));
  process.env[CLUSTER_FILE_ENV] = file;
  process.stderr.write(`\n[e2e] cluster ready in ${((Date.now() - started) / 1000).toFixed(1)} s (KUBECONFIG=${info.kubeconfig})\n`);
}
