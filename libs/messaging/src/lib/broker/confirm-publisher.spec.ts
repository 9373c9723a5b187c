import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import { ConfirmPublisher, type PreparedMessage, type PublishOptions } from './confirm-publisher';

/** A confirm channel that records what was published, in order, and confirms each at once. */
class FakeChannel extends EventEmitter {
  readonly sent: string[] = [];
  publish(
    _exchange: string,
    _routingKey: string,
    content: Buffer,
    _options: unknown,
    confirm: (err?: unknown) => void,
  ) {
    this.sent.push(content.toString());
    setImmediate(() => confirm());
    return true;
  }
}

const options = (id: string): PublishOptions => ({ messageId: id });
const later = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('ConfirmPublisher', () => {
  let channel: FakeChannel;
  let publisher: ConfirmPublisher;

  beforeEach(() => {
    channel = new FakeChannel();
    publisher = new ConfirmPublisher();
    publisher.attach(channel as unknown as ConfirmChannel);
  });

  const prepared = (id: string, ms: number): PreparedMessage =>
    later(ms, { content: Buffer.from(id), options: options(id) });

  it('publishes a message still being prepared in its turn: later publishes wait for it', async () => {
    await Promise.all([
      publisher.publish('x', 'k', Buffer.from('a'), options('a')),
      publisher.publishPrepared('x', 'k', prepared('b', 30)),
      publisher.publish('x', 'k', Buffer.from('c'), options('c')),
      publisher.publishPrepared('x', 'k', prepared('d', 1)),
      publisher.publish('x', 'k', Buffer.from('e'), options('e')),
    ]);
    expect(channel.sent).toEqual(['a', 'b', 'c', 'd', 'e']);
    // nothing waits any more: a plain publish goes to the channel at once
    void publisher.publish('x', 'k', Buffer.from('f'), options('f'));
    expect(channel.sent).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('rejects a message whose preparation failed, and the ones behind it still go out', async () => {
    const failing: PreparedMessage = later(10, undefined).then(() => {
      throw new Error('compression failed');
    });
    const results = await Promise.allSettled([
      publisher.publishPrepared('x', 'k', failing),
      publisher.publish('x', 'k', Buffer.from('b'), options('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('compression failed'));
    expect(channel.sent).toEqual(['b']);
  });
});
