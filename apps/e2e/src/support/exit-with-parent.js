/**
 * Preloaded (`node -r`) into every app process the e2e suites start: when the test process is gone,
 * even killed outright, the app is re-parented; it then shuts down (SIGTERM, so its own shutdown hooks
 * run) and, should it still be there 5 s later, exits. Plain JavaScript: the apps run from dist/.
 */
const parentPid = process.ppid;
let orphanedAt;

const watch = setInterval(() => {
  if (process.ppid === parentPid) return;
  if (orphanedAt === undefined) {
    orphanedAt = Date.now();
    process.kill(process.pid, 'SIGTERM');
  } else if (Date.now() - orphanedAt > 5000) {
    process.exit(1);
  }
}, 500);
watch.unref();
