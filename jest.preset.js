const nxPreset = require('@nx/jest/preset').default;

/**
 * One Jest setup for every project: SWC (with decorator metadata, which Nest's DI needs)
 * instead of ts-jest for speed, unit specs beside the code (`*.spec.ts`) and integration
 * specs against the real broker and database (`test/*.int-spec.ts`).
 */
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
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
