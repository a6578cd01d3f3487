// Renders the chart with the pinned helm (built once by e2e/toolchain/build.sh extras) and checks the objects.
module.exports = { displayName: 'chart', preset: '../../jest.preset.js', testTimeout: 120_000 };
