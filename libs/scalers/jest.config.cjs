module.exports = { displayName: 'scalers', preset: '../../jest.preset.js' };
