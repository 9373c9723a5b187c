import * as os from 'node:os';
import { freePort } from '../free-port';
import { describeMachine, machineInfo, type MachineInfo } from './machine';

describe('describeMachine', () => {
  const info: MachineInfo = {
    date: '2026-01-01T00:00:00.000Z',
    host: 'box',
    cpu: '2 x Intel(R) Xeon(R) CPU @ 2.20GHz',
    memoryGiB: 23.4,
    os: 'Linux 6.1.0-18-amd64',
    node: 'v20.20.2',
  };

  it('puts CPU, memory, OS and Node on one line', () => {
    expect(describeMachine(info)).toBe(
      '2 x Intel(R) Xeon(R) CPU @ 2.20GHz, 23.4 GiB, Linux 6.1.0-18-amd64, Node v20.20.2',
    );
  });

  it('adds the broker and the database version (its first word) when known', () => {
    expect(describeMachine({ ...info, rabbitmq: '3.10.8', postgres: '15.19 (Debian 15.19-0+deb12u1)' })).toBe(
      '2 x Intel(R) Xeon(R) CPU @ 2.20GHz, 23.4 GiB, Linux 6.1.0-18-amd64, Node v20.20.2, RabbitMQ 3.10.8, PostgreSQL 15.19',
    );
  });
});

describe('machineInfo', () => {
  it('describes this machine and contacts no service without URLs', async () => {
    const info = await machineInfo();
    expect(info.node).toBe(process.version);
    expect(info.host).toBe(os.hostname());
    expect(info.os).toBe(`${os.type()} ${os.release()}`);
    expect(info.cpu).toMatch(/^\d+ x \S/);
    expect(info.memoryGiB).toBeCloseTo(os.totalmem() / 1024 ** 3, 1);
    expect(new Date(info.date).toISOString()).toBe(info.date);
    expect(info).not.toHaveProperty('rabbitmq');
    expect(info).not.toHaveProperty('postgres');
  });

  it('leaves out services that do not answer, without throwing', async () => {
    const port = await freePort();
    const info = await machineInfo({
      rabbitmqUrl: `amqp://guest:guest@127.0.0.1:${port}`,
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      timeoutMs: 2_000,
    });
    expect(info).not.toHaveProperty('rabbitmq');
    expect(info).not.toHaveProperty('postgres');
    expect(info.node).toBe(process.version);
  });
});
