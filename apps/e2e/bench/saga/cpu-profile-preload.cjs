/**
 * Preloaded into each app by `npm run bench:saga -- --profile` (NODE_OPTIONS=--require): samples the
 * process's CPU with V8's profiler from start to exit and writes `<CPU_PROFILE_DIR>/<name>.cpuprofile`.
 * `node --cpu-prof` cannot be used: Nest's shutdown hook ends the process by raising SIGTERM again,
 * and a process killed by a signal writes no profile. So the profile is written just before that
 * (process.kill of itself) or at any ordinary exit. The inspector session of the main thread answers
 * synchronously, so nothing is lost to the exit.
 */
'use strict';
const { Session } = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.CPU_PROFILE_DIR;
const name = `${process.env.CPU_PROFILE_NAME || 'node'}-${process.pid}`;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms: enough samples for a 10-20 s run without making the process measurably slower
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error) return process.stderr.write(`cpu profile of ${name} lost: ${error.message}\n`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  const kill = process.kill.bind(process);
  process.kill = (pid, signal) => {
    if (pid === process.pid) write();
    return kill(pid, signal);
  };
  process.on('exit', write);
}
