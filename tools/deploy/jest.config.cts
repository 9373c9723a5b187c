module.exports = {
  displayName: 'deploy',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/tools/deploy',
  // Static checks of the deployment files: no broker nor database needed, so none is started or checked.
  globalSetup: undefined,
  globalTeardown: undefined,
};
