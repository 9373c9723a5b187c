import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import {
  ConfirmPublisher,
  NotConnectedError,
  UnroutableError,
  type PreparedMessage,
  type PublishOptions,
} from './confirm-publisher';

/**
 * A confirm channel that records what was published, in order, and confirms each on the next turn:
 * a body in `nacked` is nacked, one in `unroutable` returned first (basic.return before basic.ack);
 * while `full`, publish says the buffer is full (the caller should wait for 'drain').
 */
class FakeChannel extends EventEmitter {
  readonly sent: string[] = [];
  readonly nacked = new Set<string>();
  readonly unroutable = new Set<string>();
  full = false;
  publish(
    _exchange: string,
    _routingKey: string,
    content: Buffer,
    options: { messageId: string },
    confirm: (err?: unknown) => void,
  ) {
    const body = content.toString();
    this.sent.push(body);
    setImmediate(() => {
      if (this.unroutable.has(body)) this.emit('return', { properties: { messageId: options.messageId } });
      confirm(this.nacked.has(body) ? new Error('nack') : undefined);
    });
    return !this.full;
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

  describe('publishThen (the callback the relay publishes with)', () => {
    const publishThen = (body: string) =>
      new Promise<Error | undefined>((answered) =>
        publisher.publishThen('x', 'k', Buffer.from(body), options(body), (err) => answered(err)),
      );

    it('answers once the broker confirmed: nothing on an ack, the reason on a nack or a return', async () => {
      channel.nacked.add('n');
      channel.unroutable.add('u');
      const [acked, nacked, returned] = await Promise.all([publishThen('a'), publishThen('n'), publishThen('u')]);
      expect(acked).toBeUndefined();
      expect(nacked).toEqual(new Error('nack'));
      expect(returned).toBeInstanceOf(UnroutableError);
    });

    it('answers NotConnectedError at once without a channel', () => {
      channel.emit('close');
      const done = jest.fn();
      publisher.publishThen('x', 'k', Buffer.from('a'), options('a'), done);
      expect(done).toHaveBeenCalledWith(expect.any(NotConnectedError));
    });

    it('holds what comes after a full buffer until the drain, in order', async () => {
      channel.full = true;
      const first = publishThen('a');
      channel.full = false;
      const held = publishThen('b');
      expect(channel.sent).toEqual(['a']);
      channel.emit('drain');
      expect(await Promise.all([first, held])).toEqual([undefined, undefined]);
      expect(channel.sent).toEqual(['a', 'b']);
    });
  });
});
