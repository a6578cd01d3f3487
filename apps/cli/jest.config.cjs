module.exports = { displayName: 'cli-app', preset: '../../jest.preset.js', testTimeout: 30_000 };
