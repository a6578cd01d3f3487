#!/usr/bin/env node
// `npm start`: build the three apps, then start the local control plane (or use the cluster of
// KUBECONFIG), install the CRDs and run the apps against it. Ctrl-C stops everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_TUI: 'false' };

// KEDA_TS_START_SKIP_BUILD=1 uses the bundles as they are: the end-to-end tests run `npm start` while
// other test files run the same bundles, which a rebuild would delete and write anew under them.
if (process.env['KEDA_TS_START_SKIP_BUILD'] !== '1') {
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', 'controller', 'metrics-adapter', 'webhook', 'keda-ts', '--parallel=2', '--output-style=static'], {
    cwd: root,
    env,
    stdio: ['ignore', process.stderr, 'inherit'],
  });
  if (build.status !== 0) {
    console.error('npm start: building the apps failed (see above)');
    process.exit(build.status ?? 1);
  }
}

// node with tsx's loader directly (no npx/tsx wrapper processes in between), so signals arrive as sent.
const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@keda-ts/source', 'e2e/src/cli.ts', 'start', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
// The terminal's Ctrl-C reaches the child too; it stops what it started, and we wait for it.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
