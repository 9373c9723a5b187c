import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The check itself runs before npm ci, so it is a plain script of the repository, not a library of the workspace.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { dropPlaceholders, formatProblems, lockProblems } from '../../check-lock';

/**
 * The lock that `npm ci` installs on a fresh clone (Dockerfile, .ci/run, tools/ensure-deps.mjs): the
 * committed one passes tools/check-lock.js, and each kind of entry that once broke a fresh clone, or
 * that npm ci refuses, is found in a broken copy of it, by name, with the command that fixes it.
 */

const ROOT = join(__dirname, '..', '..', '..');
const readJson = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
// A fresh copy for every test: each breaks its own.
const lock = () => readJson('package-lock.json');
const manifest = () => readJson('package.json');

/** An optional package for another platform than this one, as npm locks them (os/cpu set). */
function otherPlatformPackage(packages: Record<string, { optional?: boolean; os?: string[] }>): string {
  const path = Object.keys(packages).find(
    (key) => packages[key].optional && packages[key].os && !packages[key].os.includes(process.platform),
  );
  if (!path) throw new Error('the lock has no optional package for another platform');
  return path;
}

describe('package-lock.json', () => {
  it('is one that npm ci can install with this package.json', () => {
    expect(lockProblems(lock(), manifest())).toEqual([]);
  });
});

describe('the lock check (tools/check-lock.js)', () => {
  it('names a placeholder without a version, which made `npm ci` die with "Invalid Version:"', () => {
    const broken = lock();
    const path = otherPlatformPackage(broken.packages);
    // What npm wrote for a platform package the registry did not serve that day.
    broken.packages[path] = { dev: broken.packages[path].dev, optional: true };

    const problems = lockProblems(broken, manifest());
    expect(problems).toEqual([`${path} has no valid version (null)`]);
    expect(formatProblems(problems)).toEqual([
      `package-lock.json: ${path} has no valid version (null). Fix: npm run lock`,
    ]);
  });

  it('names an optional dependency missing from the lock, which npm ci refuses ("Missing: ... from lock file")', () => {
    const broken = lock();
    const path = otherPlatformPackage(broken.packages);
    delete broken.packages[path];
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

    const problems = lockProblems(broken, manifest());
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`needs ${name.replace(/[/.]/g, '\\$&')} \\(optionalDependencies\\)`));
  });

  it('finds a dependency where Node does: in its own node_modules, else in a parent one', () => {
    const broken = lock();
    // Move a top-level package under one that depends on it: still found from there, but no longer
    // from the other packages that need it.
    const dependents = (name: string) =>
      Object.keys(broken.packages).filter((key) => broken.packages[key].dependencies?.[name]);
    const [name, users] = ['semver', dependents('semver')];
    const user = users.find((key) => key.split('node_modules/').length === 2);
    if (!user) throw new Error(`no top-level package depends on ${name}`);
    broken.packages[`${user}/node_modules/${name}`] = broken.packages[`node_modules/${name}`];
    delete broken.packages[`node_modules/${name}`];

    const problems = lockProblems(broken, manifest());
    expect(problems).not.toContainEqual(expect.stringContaining(`${user} needs ${name} `));
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`needs ${name} \\(dependencies\\)`)));
  });

  it('names a registry package without an integrity', () => {
    const broken = lock();
    delete broken.packages['node_modules/amqplib'].integrity;
    expect(lockProblems(broken, manifest())).toEqual([
      `node_modules/amqplib@${broken.packages['node_modules/amqplib'].version} has no "integrity" (how npm ci verifies the download)`,
    ]);
  });

  it('names a dependency of package.json that the lock was not written for', () => {
    const changed = manifest();
    changed.dependencies['left-pad'] = '^1.3.0';
    expect(lockProblems(lock(), changed)).toEqual(
      expect.arrayContaining([
        'package.json dependencies has left-pad@^1.3.0 but the lock has (none)',
        'package.json needs left-pad (dependencies), which the lock does not have',
      ]),
    );
  });

  it('prints one line per problem and exits 1, before npm ci runs; `--drop-placeholders` clears the way for npm run lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-lock-'));
    try {
      mkdirSync(join(dir, 'tools'));
      copyFileSync(join(ROOT, 'tools/check-lock.js'), join(dir, 'tools/check-lock.js'));
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      const broken = lock();
      const path = otherPlatformPackage(broken.packages);
      broken.packages[path] = { optional: true };
      writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(broken));
      const check = () => spawnSync(process.execPath, ['tools/check-lock.js'], { cwd: dir, encoding: 'utf8' });

      const failed = check();
      expect(failed.status).toBe(1);
      expect(failed.stderr.trim().split('\n')).toEqual([
        `package-lock.json: ${path} has no valid version (null). Fix: npm run lock`,
      ]);

      const drop = spawnSync(process.execPath, ['tools/check-lock.js', '--drop-placeholders'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(drop.status).toBe(0);
      const written = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
      expect(written.packages[path]).toBeUndefined();
      // What is left for npm install to resolve again: the entry is missing, no longer without a version.
      expect(check().stderr).toContain('which the lock does not have');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('drops only entries without a version', () => {
    const broken = lock();
    const path = otherPlatformPackage(broken.packages);
    broken.packages[path] = { optional: true };
    const before = Object.keys(broken.packages).length;
    expect(dropPlaceholders(broken)).toEqual([path]);
    expect(Object.keys(broken.packages)).toHaveLength(before - 1);
  });
});
