/**
 * Generates docs/scalers (at the workspace root) from the parameter declarations (the single
 * source of truth):
 *   docs/scalers/README.md           index of every scaler
 *   docs/scalers/<type>.md           parameters, authentication and an example per scaler
 *   docs/scalers/<type>.schema.json  JSON Schema of the trigger metadata per scaler
 *   docs/security-endpoints.md       every parameter naming an endpoint, connection string or file, and its vetting
 * Run with `npx nx run scaler-sdk:generate`. Deterministic: no timestamps; stale files are removed.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SCALER_DESCRIPTORS } from '../src/all';
import { SCALER_DOCS_DIR, SECURITY_ENDPOINTS_DOC, scalerDocs, scalersIndex, securityEndpointsDoc } from '../src/docs';
import { scalerJsonSchema } from '../src/schema';

export const LIB_ROOT = resolve(__dirname, '..');
export const WORKSPACE_ROOT = resolve(LIB_ROOT, '../..');
export const DOCS_DIR = join(WORKSPACE_ROOT, SCALER_DOCS_DIR);
export const SECURITY_DOC = join(WORKSPACE_ROOT, SECURITY_ENDPOINTS_DOC);

/** File name -> content of everything generated. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('README.md', scalersIndex(SCALER_DESCRIPTORS));
  for (const d of SCALER_DESCRIPTORS) {
    files.set(`${d.type}.md`, scalerDocs(d));
    files.set(`${d.type}.schema.json`, `${JSON.stringify(scalerJsonSchema(d), null, 2)}\n`);
  }
  return files;
}

export function generate(): string[] {
  mkdirSync(DOCS_DIR, { recursive: true });
  const files = generatedFiles();
  for (const existing of readdirSync(DOCS_DIR)) {
    if (!files.has(existing)) rmSync(join(DOCS_DIR, existing));
  }
  for (const [name, content] of files) writeFileSync(join(DOCS_DIR, name), content);
  writeFileSync(SECURITY_DOC, securityEndpointsDoc(SCALER_DESCRIPTORS));
  return [...files.keys(), SECURITY_ENDPOINTS_DOC];
}

if (require.main === module) {
  const written = generate();
  console.log(`scaler-sdk:generate: wrote ${written.length} files to ${DOCS_DIR}`);
}
