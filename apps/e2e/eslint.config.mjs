import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // Everything here is test support (the system under test, chaos, fuzzers, benchmarks): it may use
  // the testing lib, which production sources may not.
  { files: ['**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
];
