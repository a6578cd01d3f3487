/**
 * Regenerates docs/scalers and docs/security-endpoints.md into the working tree and fails when git sees a difference
 * (modified, deleted or untracked files), i.e. when the committed output is stale.
 * Run with `npx nx run scaler-sdk:verify-generated`.
 */
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { DOCS_DIR, SECURITY_DOC, WORKSPACE_ROOT, generate } from './generate';

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: WORKSPACE_ROOT, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

generate();
const pathspec = relative(WORKSPACE_ROOT, DOCS_DIR);
const securityDoc = relative(WORKSPACE_ROOT, SECURITY_DOC);
const drifted = [
  ...git('diff', '--name-only', '--', pathspec, securityDoc).map((f) => `${f} (differs from the committed version)`),
  ...git('ls-files', '--others', '--exclude-standard', '--', pathspec, securityDoc).map((f) => `${f} (not committed)`),
];
if (drifted.length > 0) {
  console.error(
    [
      `scaler-sdk:verify-generated FAILED: ${pathspec} does not match the parameter declarations.`,
      ...drifted.map((f) => `  - ${f}`),
      'Run `npx nx run scaler-sdk:generate` and commit the result (the files above now hold the regenerated output).',
    ].join('\n'),
  );
  process.exit(1);
}
console.log('scaler-sdk:verify-generated: generated files are up to date.');
