module.exports = { displayName: 'external-metrics', preset: '../../jest.preset.js', testTimeout: 30_000 };
