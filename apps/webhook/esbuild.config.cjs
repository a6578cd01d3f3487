// esbuild options of `nx run webhook:build` (the executor's own options are in project.json).
//
// Memory (issue 5: < 150 MiB resident with 10,000 ScaledObjects and HPAs cached). V8 keeps the whole
// bundle's source text in memory, as two bytes per character when a single character of it is
// above U+00FF, and compiles and runs every module it evaluates. So:
// - the webhook checks trigger metadata with the scaler descriptors of @keda-ts/scaler-sdk, which
//   import no event-source client (@platformatic/kafka, pg, mysql2, ioredis, amqplib, the AWS and
//   Azure SDKs... are in @keda-ts/scalers, which the webhook does not depend on). No stand-ins are
//   needed; src/bundle.spec.ts fails if one of those packages ever enters the bundle;
// - whitespace and comments are minified away (comments of third-party code carry non-Latin-1
//   characters) and the output is ASCII. Identifiers keep their names.
module.exports = {
  conditions: ['@keda-ts/source'],
  // As in the other apps' project.json: tr46 (under @kubernetes/client-node's node-fetch) requires the
  // built-in punycode, deprecated since Node.js 21 (a DEP0040 warning line in the JSON log at start);
  // the npm package of the same name and API takes its place.
  alias: { punycode: 'punycode/' },
  outExtension: { '.js': '.js' },
  logLevel: 'warning',
  charset: 'ascii',
  minifyWhitespace: true,
};
