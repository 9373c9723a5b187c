import { join } from 'node:path';
import { spawnNodeProcess } from '../src';

const fixture = join(__dirname, 'fixtures', 'decorated-service.fixture.ts');

describe('spawnNodeProcess', () => {
  it('runs a TypeScript file with decorator metadata and workspace aliases, and stops it on SIGTERM', async () => {
    const child = spawnNodeProcess(fixture, { name: 'greeter', env: { GREETING: 'hello' } });

    await child.waitForOutput(/ready/, 30_000);
    expect(child.pid).toBeGreaterThan(0);
    expect(child.output()).toContain('param types: Clock');
    expect(child.output()).toContain('alias resolved: function');
    expect(child.output()).toContain('greeting: hello');

    expect(await child.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(child.output()).toContain('stopping on SIGTERM');
  }, 60_000);

  it('rejects waitForOutput as soon as the process exits without printing the pattern', async () => {
    const child = spawnNodeProcess(fixture, { name: 'greeter', env: { GREETING: 'bye' } });
    await child.waitForOutput(/ready/, 30_000);
    const waiting = child.waitForOutput(/never printed/, 30_000);
    await child.kill('SIGKILL');

    await expect(waiting).rejects.toThrow(/exited \(signal SIGKILL\) without printing/);
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
  }, 60_000);
});
