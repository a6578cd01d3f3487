// End-to-end tests: one real local control plane per run (global setup), a fresh namespace per file.
module.exports = {
  displayName: 'e2e',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/tests/**/*.e2e.ts'],
  globalSetup: '<rootDir>/src/testing/global-setup.ts',
  globalTeardown: '<rootDir>/src/testing/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
  // Idle keep-alive sockets of the Kubernetes client close on their own a few seconds after the run.
  openHandlesTimeout: 10_000,
};
