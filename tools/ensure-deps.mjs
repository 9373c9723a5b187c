#!/usr/bin/env node
/**
 * Runs before `npm start` and `npm test` (npm's pre-scripts): on a fresh clone, or after
 * package-lock.json changed, installs the dependencies with `npm ci` first, so that the README's
 * two commands are all a newcomer types. Does nothing when node_modules matches the lock.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const lock = join(root, 'package-lock.json');
// npm ci and npm install write node_modules/.package-lock.json: older than the lock means stale.
const installed = join(root, 'node_modules', '.package-lock.json');

if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('node_modules is missing or older than package-lock.json: running npm ci\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
