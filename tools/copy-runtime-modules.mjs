#!/usr/bin/env node
// Copies npm packages that an app bundle leaves `external` (they read files next to their own
// modules at runtime, which a single-file bundle cannot carry) into <outDir>/node_modules, with
// their runtime dependency closure: `dependencies`, `peerDependencies` and the installed
// `optionalDependencies`, resolved from each package's own directory as Node does (nested
// node_modules first, then upwards). Type declaration packages (`@types/*`, which protobufjs lists
// as a dependency) are never loaded at runtime and are left out. Each package keeps its path relative to the workspace's
// node_modules, so Node resolves them inside the bundle's folder exactly as in the workspace.
//
//   node tools/copy-runtime-modules.mjs apps/controller/dist @grpc/reflection grpc-health-check
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [outDirArg, ...packages] = process.argv.slice(2);
if (!outDirArg || packages.length === 0) {
  console.error('usage: copy-runtime-modules.mjs <outDir> <package>...');
  process.exit(2);
}
const outDir = resolve(root, outDirArg);

/** The installed directory of `name` as required from `fromDir`, or undefined. */
function locate(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

const found = new Map(); // package dir -> its manifest
const pending = packages.map((name) => ({ name, from: root, optional: false, by: '(command line)' }));
while (pending.length > 0) {
  const { name, from, optional, by } = pending.pop();
  if (name.startsWith('@types/')) continue;
  const dir = locate(name, from);
  if (!dir) {
    if (optional) continue;
    throw new Error(`${name} (needed by ${by}) is not installed; run npm ci`);
  }
  if (found.has(dir)) continue;
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  found.set(dir, manifest);
  const optionalPeers = manifest.peerDependenciesMeta ?? {};
  for (const dep of Object.keys(manifest.dependencies ?? {}))
    pending.push({ name: dep, from: dir, optional: false, by: manifest.name });
  for (const dep of Object.keys(manifest.peerDependencies ?? {}))
    pending.push({ name: dep, from: dir, optional: Boolean(optionalPeers[dep]?.optional), by: manifest.name });
  for (const dep of Object.keys(manifest.optionalDependencies ?? {}))
    pending.push({ name: dep, from: dir, optional: true, by: manifest.name });
}

const target = join(outDir, 'node_modules');
rmSync(target, { recursive: true, force: true });
for (const [dir, manifest] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
  const rel = relative(root, dir);
  if (!rel.startsWith(`node_modules${sep}`)) throw new Error(`${manifest.name} is not under node_modules: ${dir}`);
  // A package's own nested node_modules holds its dependencies; those in the closure are copied on their own.
  const nested = join(dir, 'node_modules');
  cpSync(dir, join(outDir, rel), {
    recursive: true,
    dereference: true,
    filter: (src) => src !== nested && !src.startsWith(nested + sep),
  });
}
console.log(
  `${relative(root, target)}: ${[...found.values()].map((m) => `${m.name}@${m.version}`).sort().join(', ')}`,
);
