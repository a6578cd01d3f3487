/**
 * Regenerates src/generated into a scratch directory and fails, listing the drifted files, when
 * it differs from the files in the working tree (changed, missing or extra).
 * Run with `npx nx run proto:verify-generated`.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GENERATED_DIR, WORKSPACE_ROOT, generate } from './generate';

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function main(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'proto-verify-'));
  try {
    const fresh = generate(scratch);
    const expected = listFiles(fresh);
    const actual = new Set(listFiles(GENERATED_DIR));
    const shown = (f: string) => relative(WORKSPACE_ROOT, join(GENERATED_DIR, f));
    const drifted: string[] = [];
    for (const f of expected) {
      if (!actual.has(f)) drifted.push(`${shown(f)} (missing)`);
      else if (!readFileSync(join(fresh, f)).equals(readFileSync(join(GENERATED_DIR, f))))
        drifted.push(`${shown(f)} (differs from the regenerated output)`);
      actual.delete(f);
    }
    for (const f of actual) drifted.push(`${shown(f)} (not produced by the generator)`);
    if (drifted.length > 0) {
      console.error(
        [
          'proto:verify-generated FAILED: src/generated does not match proto/ and buf.gen.yaml.',
          ...drifted.map((f) => `  - ${f}`),
          'Run `npx nx run proto:generate` and commit the result.',
        ].join('\n'),
      );
      process.exitCode = 1;
      return;
    }
    console.log('proto:verify-generated: generated files are up to date.');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main();
