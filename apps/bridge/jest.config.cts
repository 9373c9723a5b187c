module.exports = {
  displayName: 'bridge',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/bridge',
};
