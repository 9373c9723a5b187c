#!/usr/bin/env node
/**
 * Runs before `npm start` and `npm test` (npm's pre-scripts): on a fresh clone, or after
 * package-lock.json changed, installs the dependencies with `npm ci` first, so that the README's
 * two commands are all a newcomer types. Does nothing when node_modules matches the lock. `.ci/run`
 * installs through it too. Before anything, tools/check-lock.js says whether npm ci can install the lock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const lock = join(root, 'package-lock.json');
// npm ci and npm install write node_modules/.package-lock.json: older than the lock means stale.
const installed = join(root, 'node_modules', '.package-lock.json');

// First whether npm ci can install the lock at all: one line per entry it could not place, with the fix.
const check = spawnSync(process.execPath, [join(root, 'tools', 'check-lock.js')], { stdio: 'inherit' });
if (check.status !== 0) process.exit(check.status ?? 1);

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('node_modules is missing or older than package-lock.json: running npm ci\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
