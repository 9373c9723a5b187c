module.exports = {
  displayName: 'dead-letters',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/dead-letters',
};
