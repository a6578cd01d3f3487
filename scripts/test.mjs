#!/usr/bin/env node
// `npm test`: lint, typecheck, unit tests, generated-file drift, builds, then the end-to-end tests
// against a real local control plane. Stops at the first failing step and names it.
import { spawn } from 'node:child_process';
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

/**
 * The last lines of a failing step's output that look like errors, repeated in the summary: CI
 * shows only the end of the log, and a step that dies early prints its reason far above it.
 */
const ERROR_LINES_KEPT = 12;
const ERROR_LINE = /error|fail|✕|●|ENOENT|EADDRINUSE|ECONNREFUSED|timed? ?out/i;
/** Nx's own closing banner ("Running target ... failed", "Failed tasks:") says nothing new. */
const NX_BANNER = /^(NX\s|Failed tasks:|- \S+:\S+$|Hint:)/;

/** Runs a step, echoing its output, and counts the Jest summaries ("Tests: 1 failed, 2 passed, 3 total") in it. */
function runStep(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const errorLines = [];
    let tail = '';
    const scan = (chunk) => {
      const text = tail + chunk.toString().replace(/\x1b\[[0-9;]*m/g, '');
      const lines = text.split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        if (ERROR_LINE.test(line) && !NX_BANNER.test(line.trim())) {
          errorLines.push(line.trim().slice(0, 300));
          if (errorLines.length > ERROR_LINES_KEPT) errorLines.shift();
        }
        const m = /^Tests:\s+(.*\d+ total)/.exec(line.trim());
        if (!m) continue;
        for (const [, n, what] of m[1].matchAll(/(\d+) (passed|failed|skipped)/g)) counts[what] += Number(n);
      }
    };
    child.stdout.on('data', (c) => {
      process.stdout.write(c);
      scan(c);
    });
    child.stderr.on('data', (c) => {
      process.stderr.write(c);
      scan(c);
    });
    child.on('close', (code) => resolve({ code, counts, errorLines }));
  });
}

const only = process.argv[2];
const results = [];
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const [name, [cmd, ...args]] of steps) {
  if (only && !name.startsWith(only)) continue;
  const started = Date.now();
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const { code, counts, errorLines } = await runStep(cmd, args);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  for (const k of Object.keys(totals)) totals[k] += counts[k];
  results.push({ name, ok: code === 0, seconds, counts, errorLines });
  if (code !== 0) break;
}
const failed = results.find((r) => !r.ok);
console.log('\n=== summary');
for (const r of results) {
  const tests = r.counts.passed + r.counts.failed ? `, tests ${r.counts.passed} passed / ${r.counts.failed} failed` : '';
  console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds} s${tests})`);
}
if (failed) {
  console.log(`failed step: ${failed.name}; its last error lines:`);
  for (const line of failed.errorLines) console.log(`  | ${line}`);
}
// The one closing line CI reads: Jest test counts over every step (nx replays cached test output too).
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
