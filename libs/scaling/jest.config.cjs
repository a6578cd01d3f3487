module.exports = { displayName: 'scaling', preset: '../../jest.preset.js' };
