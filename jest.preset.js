// Shared Jest settings. @swc/jest strips types (type checking is the `typecheck` target's job).
// @kubernetes/client-node 1.x and its auth deps ship ESM only, so Jest must transform them too.
const esmOnly = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', '@platformatic/kafka', '@platformatic/dynamic-buffer', '@platformatic/wasm-utils'];
module.exports = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@keda-ts/source', 'node', 'require', 'default'] },
  transform: {
    '^.+\\.[tj]s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testMatch: ['**/?(*.)+(spec|test).ts'],
};
