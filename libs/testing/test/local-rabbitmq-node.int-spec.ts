import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnNodeProcess, waitFor } from '../src';
import { acceptsAmqp } from '../src/lib/amqp-ready';
import { LocalRabbitmqNode } from '../src/lib/local-rabbitmq-node';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('a private local RabbitMQ node', () => {
  it('stop() removes its directory', async () => {
    const node = await LocalRabbitmqNode.start({ label: 'cleanup' });
    expect(existsSync(node.dir)).toBe(true);

    await node.stop();

    expect(existsSync(node.dir)).toBe(false);
    expect(await acceptsAmqp(node.url)).toBe(false);
  }, 60_000);

  it('does not outlive a test process that is killed outright', async () => {
    const owner = spawnNodeProcess(join(__dirname, 'fixtures', 'node-owner.fixture.ts'), { name: 'node-owner' });
    const [, dir, beam] = await owner.waitForOutput(/started dir=(\S+) beam=(\d+)/, 60_000);
    expect(isRunning(Number(beam))).toBe(true);

    await owner.kill('SIGKILL'); // no 'exit' handler runs: only the watchdog can clean up

    await waitFor(() => !isRunning(Number(beam)) && !existsSync(dir), {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: `the orphaned node (beam ${beam}) killed and ${dir} removed`,
    });
  }, 120_000);
});
