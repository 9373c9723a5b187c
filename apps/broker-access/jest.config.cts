module.exports = {
  displayName: 'broker-access',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/broker-access',
};
