/**
 * Prints one closing line that CI reads whatever the runner: "Tests: N passed, N failed, N skipped".
 * Jest's own summary ("Tests: 1 failed, 5 passed, 6 total") puts the counts in another order.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    // A suite that failed to load ran no test but must still count as a failure.
    const failed = Math.max(
      results.numFailedTests,
      failedSuites > 0 && results.numFailedTests === 0 ? failedSuites : 0,
    );
    process.stdout.write(`\nTests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
