#!/usr/bin/env node
/**
 * Can `npm ci` install package-lock.json? Checks what npm itself checks only halfway through an
 * install, or not at all (then dies with `npm error Invalid Version:` and no name), and prints one line
 * per problem with the command that fixes it:
 *
 * - every package entry has a version (a registry that did not serve an optional platform package
 *   when the lock was written leaves a placeholder with none: that broke every fresh clone once);
 * - every package from a registry has an `integrity` (`resolved` may be left out, as
 *   `omit-lockfile-registry-resolved` does: npm ci then downloads name@version from the configured registry);
 * - every dependency of package.json and of each entry, optional ones too, is found in the lock the
 *   way Node finds it (the nearest `node_modules` up the tree): npm ci refuses a lock that lacks one;
 * - the lock's root lists the same dependencies as package.json.
 *
 * Uses nothing but Node: it runs before `npm ci` (tools/ensure-deps.mjs, .ci/run) and in `npm test`
 * (tools/deploy/test/lockfile.spec.ts). `node tools/check-lock.js` exits 1 when there is a problem;
 * `--drop-placeholders` removes the entries without a version instead (the first step of `npm run lock`).
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const FIX = 'npm run lock';
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'];
const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/**
 * The problems that stop `npm ci` with this package.json and lock, one sentence each; none when it can
 * install them.
 * @param {object} lock package-lock.json, parsed
 * @param {object} manifest package.json, parsed
 * @returns {string[]}
 */
function lockProblems(lock, manifest) {
  if (!lock || typeof lock !== 'object' || lock.lockfileVersion < 2 || !lock.packages) {
    return [`package-lock.json is not a lockfileVersion 2 or 3 lock (got ${lock?.lockfileVersion})`];
  }
  const packages = lock.packages;
  const problems = [];

  const root = packages[''] ?? {};
  for (const field of DEPENDENCY_FIELDS) {
    const wanted = manifest[field] ?? {};
    const locked = root[field] ?? {};
    for (const name of new Set([...Object.keys(wanted), ...Object.keys(locked)])) {
      if (wanted[name] !== locked[name]) {
        problems.push(
          `package.json ${field} has ${name}@${wanted[name] ?? '(none)'} but the lock has ${locked[name] ?? '(none)'}`,
        );
      }
    }
  }

  for (const [path, entry] of Object.entries(packages)) {
    if (path === '' || entry.link) continue;
    if (!path.includes('node_modules/')) continue; // a workspace folder: its package.json is the source
    if (typeof entry.version !== 'string' || !VERSION.test(entry.version)) {
      problems.push(`${path} has no valid version (${JSON.stringify(entry.version ?? null)})`);
      continue;
    }
    if (!entry.inBundle && isFromRegistry(entry) && !entry.integrity) {
      problems.push(`${path}@${entry.version} has no "integrity" (how npm ci verifies the download)`);
    }
  }

  // package.json's own dependencies (the root entry's were compared with them above), then each entry's.
  const dependents = [
    ['', manifest],
    ...Object.entries(packages).filter(([path, e]) => path && !e.link && !e.inBundle),
  ];
  for (const [path, entry] of dependents) {
    for (const field of DEPENDENCY_FIELDS) {
      if (path && field === 'devDependencies') continue; // a dependency's dev dependencies are never installed
      for (const name of Object.keys(entry[field] ?? {})) {
        if (!findInstalled(packages, path, name)) {
          problems.push(`${path || 'package.json'} needs ${name} (${field}), which the lock does not have`);
        }
      }
    }
  }
  return problems;
}

/** Where Node would load `name` from when `from` requires it: the nearest node_modules up the tree. */
function findInstalled(packages, from, name) {
  for (let dir = from; ; ) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    // node_modules/a/node_modules/@s/b -> node_modules/a; node_modules/a -> the root.
    const own = dir.lastIndexOf('node_modules/');
    dir = own <= 0 ? '' : dir.slice(0, own - 1);
  }
}

/** A registry tarball (a lock without `resolved` means the configured registry), not git, a file or a link. */
function isFromRegistry(entry) {
  return !entry.resolved || /^https?:\/\//.test(entry.resolved);
}

/**
 * The lock without the entries that have no version: npm itself (install as much as ci) dies on them,
 * so `npm run lock` drops them first and lets `npm install` resolve those packages again.
 * @returns {string[]} the paths dropped
 */
function dropPlaceholders(lock) {
  const dropped = Object.keys(lock.packages ?? {}).filter(
    (path) => path.includes('node_modules/') && !lock.packages[path].link && !lock.packages[path].version,
  );
  for (const path of dropped) delete lock.packages[path];
  return dropped;
}

/** The problems as lines for a terminal: each with the fix, at most `max` of them and a count of the rest. */
function formatProblems(problems, max = 10) {
  const lines = problems.slice(0, max).map((problem) => `package-lock.json: ${problem}. Fix: ${FIX}`);
  if (problems.length > max) lines.push(`package-lock.json: and ${problems.length - max} more like these. Fix: ${FIX}`);
  return lines;
}

module.exports = { lockProblems, formatProblems, dropPlaceholders, FIX };

if (require.main === module) {
  const root = join(__dirname, '..');
  const read = (file) => JSON.parse(readFileSync(join(root, file), 'utf8'));
  if (process.argv.includes('--drop-placeholders')) {
    const lock = read('package-lock.json');
    const dropped = dropPlaceholders(lock);
    if (dropped.length > 0) {
      writeFileSync(join(root, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
      process.stderr.write(`package-lock.json: dropped ${dropped.length} entries without a version\n`);
    }
    process.exit(0);
  }
  const problems = lockProblems(read('package-lock.json'), read('package.json'));
  if (problems.length > 0) {
    process.stderr.write(formatProblems(problems).join('\n') + '\n');
    process.exit(1);
  }
}
