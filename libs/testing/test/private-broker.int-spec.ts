import { execFileSync } from 'node:child_process';
import { connect } from 'amqplib';
import { startPrivateBroker, type PrivateBroker } from '../src';

/** Pid of the process listening on 127.0.0.1:<port> (Linux `ss`); undefined when none or unknown. */
function listenerPid(port: string): number | undefined {
  try {
    const ss = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(ss)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('startPrivateBroker', () => {
  let broker: PrivateBroker | undefined;

  afterAll(async () => {
    await broker?.stop();
  }, 60_000);

  it('keeps a durable quorum queue and its persistent message across restart()', async () => {
    broker = await startPrivateBroker('restart');

    const before = await connect(broker.url);
    const lost = new Promise<void>((resolve) => before.on('close', () => resolve()));
    before.on('error', () => undefined);
    const channel = await before.createConfirmChannel();
    await channel.assertQueue('orders', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    channel.sendToQueue('orders', Buffer.from('order 1'), { persistent: true });
    await channel.waitForConfirms();

    await broker.restart();
    await lost; // the restart really dropped the broker under the client

    const after = await connect(broker.url);
    try {
      const reopened = await after.createChannel();
      const message = await reopened.get('orders', { noAck: true });
      expect(message && message.content.toString()).toBe('order 1');
    } finally {
      await after.close();
    }
  }, 120_000);

  it('stop() ends the node and frees its port', async () => {
    if (!broker) throw new Error('the previous test did not start the broker');
    const stopping = broker;
    broker = undefined;
    const pid = listenerPid(new URL(stopping.url).port);

    await stopping.stop();

    await expect(connect(stopping.url)).rejects.toThrow(/ECONNREFUSED/);
    if (pid) expect(isRunning(pid)).toBe(false);
  }, 60_000);
});
