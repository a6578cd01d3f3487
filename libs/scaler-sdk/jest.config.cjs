module.exports = { displayName: 'scaler-sdk', preset: '../../jest.preset.js' };
