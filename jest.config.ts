import type { Config } from 'jest';
import { getJestProjectsAsync } from '@nx/jest';

/** `npm test`: every project's unit, integration and e2e suites in one run, one summary line. */
export default async (): Promise<Config> => ({
  projects: await getJestProjectsAsync(),
  reporters: ['default', '<rootDir>/tools/jest/summary-reporter.js'],
  // A global option: in a multi-project run the projects' own testTimeout is ignored.
  testTimeout: 60_000,
  // A test that times out can leave a connection of the code under test open; the run must still end
  // (CI would otherwise wait for its own time limit). Processes and broker nodes the tests started are
  // killed on exit by @shop/testing.
  forceExit: true,
});
