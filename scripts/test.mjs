#!/usr/bin/env node
// `npm test`: lint, typecheck, unit tests, generated-file drift, builds, then the end-to-end tests
// against a real local control plane. Stops at the first failing step and names it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_DAEMON: process.env.CI ? 'false' : process.env.NX_DAEMON };
const nx = ['npx', 'nx'];
const common = ['--parallel=2', '--output-style=static'];

const steps = [
  ['workspace in sync (tsconfig references)', [...nx, 'sync:check']],
  ['lint', [...nx, 'run-many', '-t', 'lint', ...common]],
  ['typecheck', [...nx, 'run-many', '-t', 'typecheck', ...common]],
  ['unit tests', [...nx, 'run-many', '-t', 'test', ...common]],
  ['generated files up to date', [...nx, 'run-many', '-t', 'verify-generated', ...common]],
  ['build', [...nx, 'run-many', '-t', 'build', ...common]],
  ['end-to-end tests (real local control plane)', [...nx, 'run', 'e2e:e2e', '--output-style=static']],
];

const only = process.argv[2];
const results = [];
for (const [name, [cmd, ...args]] of steps) {
  if (only && !name.startsWith(only)) continue;
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  results.push({ name, ok: r.status === 0, seconds });
  if (r.status !== 0) break;
}
console.log('\n=== summary');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds} s)`);
const failed = results.filter((r) => !r.ok).length;
console.log(`npm test: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
