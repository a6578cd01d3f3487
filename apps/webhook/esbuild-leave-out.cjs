// The esbuild plugin of apps/webhook/esbuild.config.cjs (see there why).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

/** Dependencies of @keda-ts/scalers that the descriptors need to load or to check metadata. */
const NEEDED_FOR_CHECKS = new Set(['cron-parser', 'yaml', '@grpc/grpc-js', 'bson', 'mongodb-connection-string-url']);

/** The packages left out: every other third-party dependency of @keda-ts/scalers. */
function eventSourceClients() {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'libs', 'scalers', 'package.json'), 'utf8'));
  return Object.keys(manifest.dependencies ?? {}).filter((name) => !name.startsWith('@keda-ts/') && !NEEDED_FOR_CHECKS.has(name));
}

/** Source of the stand-in module for `pkg`. */
function standIn(pkg) {
  const message = `${pkg} is not in the webhook bundle: the webhook checks trigger metadata and never connects to event sources`;
  return `'use strict';
const fail = () => { throw new Error(${JSON.stringify(message)}); };
const handler = {
  get(_target, key) {
    if (key === '__esModule') return false;
    if (key === 'then' || key === Symbol.toPrimitive || key === Symbol.iterator) return undefined;
    if (key === Symbol.hasInstance) return () => false;
    return standIn;
  },
  apply: fail,
  construct: fail,
  // esbuild's ESM interop reads named imports through the prototype of what require() returned.
  getPrototypeOf: () => standIn,
};
const standIn = new Proxy(function () {}, handler);
module.exports = standIn;
`;
}

/** An esbuild plugin that resolves `packages` (and their subpaths) to stand-ins. */
function leaveOut(packages) {
  const escaped = packages.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return {
    name: 'leave-out-event-source-clients',
    setup(build) {
      if (packages.length === 0) return;
      const filter = new RegExp(`^(${escaped.join('|')})(/.*)?$`);
      build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'left-out' }));
      build.onLoad({ filter: /.*/, namespace: 'left-out' }, (args) => ({ contents: standIn(args.path), loader: 'js' }));
    },
  };
}

module.exports = { leaveOut, eventSourceClients };
