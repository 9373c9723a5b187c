import { spawn } from 'node:child_process';

export const BEAM_PID_FILE = 'node.pid';
export const WRAPPER_PID_FILE = 'wrapper.pid';

/**
 * Runs in its own detached process and outlives a test process killed outright (SIGKILL, or Jest
 * ending a worker with SIGTERM), which 'exit' handlers never see: once the parent is gone it kills
 * the node (the Erlang VM by its pid file, then the rabbitmq-server wrapper's process group) and
 * removes the node's directory. It leaves on its own when the directory is removed by `stop()`.
 */
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const path = require('node:path');
const parent = Number(process.argv[1]);
const dir = process.argv[2];
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const kill = (pid) => { try { process.kill(pid, 'SIGKILL'); } catch {} };
const readPid = (file) => { try { return Number(fs.readFileSync(path.join(dir, file), 'utf8').trim()) || 0; } catch { return 0; } };
const watch = setInterval(() => {
  if (!fs.existsSync(dir)) process.exit(0);
  if (alive(parent)) return;
  clearInterval(watch);
  const deadline = Date.now() + 30000;
  const reap = () => {
    const beam = readPid('${BEAM_PID_FILE}');
    if (beam && alive(beam)) kill(beam);
    const wrapper = readPid('${WRAPPER_PID_FILE}');
    const running = (beam && alive(beam)) || (wrapper && alive(-wrapper));
    if (!running || Date.now() > deadline) {
      if (wrapper) kill(-wrapper);
      fs.rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
    setTimeout(reap, 250);
  };
  reap();
}, 1000);
`;

/** Starts the watchdog for the node living in `dir`; returns its pid so `stop()` can end it early. */
export function startRabbitmqNodeWatchdog(dir: string): number | undefined {
  const watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE, String(process.pid), dir], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog.pid;
}
