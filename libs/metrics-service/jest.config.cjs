module.exports = { displayName: 'metrics-service', preset: '../../jest.preset.js', testTimeout: 30_000 };
