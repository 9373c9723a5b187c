const nxPreset = require('@nx/jest/preset').default;
const swcOptions = require('./tools/build/swc-options');

/**
 * One Jest setup for every project: SWC compiles with the apps' build options (tools/build/swc-options.js:
 * decorator metadata, which Nest's DI needs), unit specs beside the code (`*.spec.ts`) and integration
 * specs against the real broker and database (`test/*.int-spec.ts`).
 */
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['@swc/jest', swcOptions({ sourceMaps: 'inline' })],
  },
  // jose (JWT verification) ships ES modules only: SWC compiles it to CommonJS like the code here.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Integration suites start processes and wait on a real broker: a minute each at most, unless a test says more.
  testTimeout: 60_000,
  testMatch: ['<rootDir>/**/*.spec.ts', '<rootDir>/**/*.int-spec.ts'],
  globalSetup: require.resolve('./tools/jest/global-setup.js'),
  globalTeardown: require.resolve('./tools/jest/global-teardown.js'),
};
