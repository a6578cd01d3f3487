// The CLI's logic and its tests live in libs/cli; the end-to-end test runs the built bundle
// (e2e/tests/explain-cli.e2e.ts). This app is only the entry point.
module.exports = { displayName: 'keda-ts', preset: '../../jest.preset.js', passWithNoTests: true };
