import type { ConfirmChannel, Options } from 'amqplib';

export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor() {
    super('not connected to the broker');
  }
}

/** The broker returned a mandatory message: no queue is bound for its routing key. */
export class UnroutableError extends Error {
  override readonly name = 'UnroutableError';
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
  ) {
    super(`unroutable: no queue bound to exchange "${exchange}" for routing key "${routingKey}"`);
  }
}

export type PublishOptions = Options.Publish & { messageId: string };

/**
 * Publishes over a confirm channel. `publish` resolves only once the broker confirmed the message,
 * rejects when the broker nacks it, returns it as unroutable (mandatory) or the channel is lost.
 */
export class ConfirmPublisher {
  private channel?: ConfirmChannel;
  private readonly returned = new Set<string>();
  private drained?: Promise<void>;

  attach(channel: ConfirmChannel): void {
    this.channel = channel;
    this.returned.clear();
    this.drained = undefined;
    // basic.return precedes the basic.ack of the same message on the channel.
    channel.on('return', (message) => this.returned.add(String(message.properties.messageId)));
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
  }

  get connected(): boolean {
    return this.channel !== undefined;
  }

  async publish(exchange: string, routingKey: string, content: Buffer, options: PublishOptions): Promise<void> {
    if (this.drained) await this.drained;
    const channel = this.channel;
    if (!channel) throw new NotConnectedError();
    await new Promise<void>((resolve, reject) => {
      let flowing: boolean;
      try {
        flowing = channel.publish(
          exchange,
          routingKey,
          content,
          { persistent: true, mandatory: true, ...options },
          (err: unknown) => {
            if (err)
              return reject(err instanceof Error ? err : new Error(`broker nacked message ${options.messageId}`));
            if (this.returned.delete(options.messageId)) return reject(new UnroutableError(exchange, routingKey));
            resolve();
          },
        );
      } catch (err) {
        return reject(err);
      }
      if (!flowing && !this.drained) {
        this.drained = new Promise<void>((done) => {
          const release = () => {
            this.drained = undefined;
            channel.off('drain', release);
            channel.off('close', release);
            done();
          };
          channel.on('drain', release);
          channel.on('close', release);
        });
      }
    });
  }
}
