/**
 * Plain JavaScript, so that it preloads into TypeScript entries and built apps alike.
 * Preloaded (`node -r`) into every child of `spawnNodeProcess`: when the test process that started
 * it is gone, even killed outright, the child is re-parented; it then shuts down (SIGTERM, so its own
 * shutdown hooks run) and, should it still be there 5 s later, exits.
 */
const parentPid = process.ppid;
let orphanedAt;

const watch = setInterval(() => {
  if (process.ppid === parentPid) return;
  if (orphanedAt === undefined) {
    orphanedAt = Date.now();
    process.kill(process.pid, 'SIGTERM');
  } else if (Date.now() - orphanedAt > 5_000) {
    process.exit(1);
  }
}, 500);
watch.unref();
