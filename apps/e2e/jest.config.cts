/**
 * The saga end to end: each test file starts the four built apps (`dist/apps/<app>/main.js`) as real
 * processes on a vhost and databases of its own. Build them first:
 * `npx nx run-many -t build -p orders inventory payments notifications`.
 */
module.exports = {
  displayName: 'e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/e2e',
  // Pure helpers beside the code, and the e2e suites, which start whole systems (one per file).
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  // Ignored in a multi-project run (`npm test`), where the suites set their own timeouts anyway.
  testTimeout: 120_000,
};
