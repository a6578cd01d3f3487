#!/usr/bin/env node
// Runs the pinned helm (e2e/toolchain/build.sh builds it once into ~/.cache/keda-ts/tools; HELM_BIN overrides)
// with the given arguments. `template` and `lint` get --kube-version of the local control plane, because a
// helm built from source reports an old default Kubernetes version that the chart's kubeVersion refuses.
// Usage: node charts/keda/tools/helm.mjs <helm args...>
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const versions = readFileSync(join(root, 'e2e/toolchain/versions.env'), 'utf8');
const kubeVersion = versions.match(/^KUBERNETES_VERSION=(\S+)/m)?.[1];

let helm = process.env.HELM_BIN;
if (!helm) {
  const out = execFileSync('bash', [join(root, 'e2e/toolchain/build.sh'), 'extras'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  helm = out.match(/^HELM_BIN=(.+)$/m)?.[1];
  if (!helm) throw new Error('e2e/toolchain/build.sh extras printed no HELM_BIN');
}
const args = process.argv.slice(2);
if (kubeVersion && ['template', 'lint'].includes(args[0]) && !args.some((a) => a.startsWith('--kube-version'))) {
  args.push(`--kube-version=${kubeVersion}`);
}
const result = spawnSync(helm, args, { cwd: root, stdio: ['inherit', 'inherit', 'pipe'], encoding: 'utf8' });
// generated-crds is a symlink to the generated CRDs; helm notes every symlink it follows.
process.stderr.write((result.stderr ?? '').split('\n').filter((l) => !l.includes('found symbolic link in path')).join('\n'));
process.exit(result.status ?? 1);
