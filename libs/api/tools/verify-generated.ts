/**
 * Regenerates everything into the working tree and fails when git sees a difference (modified,
 * deleted or untracked generated files), i.e. when the committed output is stale.
 * Run with `npx nx run api:verify-generated`.
 */
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { EVENTING_KINDS, KEDA_KINDS } from '../src/constants';
import { crdFileName } from '../src/crd';
import { CRD_DIR, GENERATED_DIR, WORKSPACE_ROOT, generate } from './generate';

const git = (...args: string[]) =>
  execFileSync('git', args, { cwd: WORKSPACE_ROOT, encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

async function main(): Promise<void> {
  await generate();
  const pathspecs = [
    relative(WORKSPACE_ROOT, GENERATED_DIR),
    ...[...KEDA_KINDS, ...EVENTING_KINDS].map((kind) => relative(WORKSPACE_ROOT, `${CRD_DIR}/${crdFileName(kind)}`)),
  ];
  const changed = git('diff', '--name-only', '--', ...pathspecs).map(
    (f) => `${f} (differs from the committed version)`,
  );
  const untracked = git('ls-files', '--others', '--exclude-standard', '--', ...pathspecs).map(
    (f) => `${f} (not committed)`,
  );
  const drifted = [...changed, ...untracked];
  if (drifted.length > 0) {
    console.error(
      [
        'api:verify-generated FAILED: the generated files do not match libs/api/schema.',
        ...drifted.map((f) => `  - ${f}`),
        'Run `npx nx run api:generate` and commit the result (the files above now hold the regenerated output).',
      ].join('\n'),
    );
    process.exit(1);
  }
  console.log('api:verify-generated: generated files are up to date.');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
