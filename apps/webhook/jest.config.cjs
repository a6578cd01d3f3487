// Spawns the app through tsx; the first run after a cache wipe compiles dependencies and is slower.
module.exports = { displayName: 'webhook', preset: '../../jest.preset.js', testTimeout: 90_000 };
