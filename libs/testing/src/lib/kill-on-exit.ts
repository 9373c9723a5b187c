/**
 * Synchronous last-resort cleanups (killing child processes) run when the test process exits, also
 * when a test forgot its `afterAll` or failed before reaching it. Signals that kill the process
 * outright (SIGKILL, or SIGTERM without a handler) skip 'exit': the local broker has a watchdog for that
 * and node children watch their parent.
 */
const cleanups = new Set<() => void>();
let installed = false;

export function killOnExit(cleanup: () => void): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', () => {
      for (const fn of cleanups) {
        try {
          fn();
        } catch {
          // the process is going away: nothing left to report to
        }
      }
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** `process.kill` that ignores a process that is already gone. */
export function signalQuietly(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
