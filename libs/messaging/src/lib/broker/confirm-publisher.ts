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

/** A message whose body is still being made (compressed off the event loop). */
export type PreparedMessage = Promise<{ content: Buffer; options: PublishOptions }>;

/**
 * Publishes over a confirm channel. `publish` resolves only once the broker confirmed the message,
 * rejects when the broker nacks it, returns it as unroutable (mandatory) or the channel is lost.
 */
export class ConfirmPublisher {
  private channel?: ConfirmChannel;
  private readonly returned = new Set<string>();
  private drained?: Promise<void>;
  /** Resolves once every message handed to `publishPrepared` so far went to the channel (or failed). */
  private prepared?: Promise<void>;

  /**
   * @param userId the connection's user, sent as the AMQP `user-id` of every message: RabbitMQ refuses
   * a publish whose user-id is not the connection's, so consumers can trust it to name the producer.
   */
  constructor(private readonly userId?: string) {}

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

  publish(exchange: string, routingKey: string, content: Buffer, options: PublishOptions): Promise<void> {
    return promised((done) => this.publishThen(exchange, routingKey, content, options, done));
  }

  /**
   * `publish` with a callback instead of a promise: `done()` once the broker confirmed the message,
   * `done(error)` as `publish` rejects. The relay's hot path: no promise per message, and so none of the
   * AsyncLocalStorage hooks a promise costs while a trace scope is active.
   */
  publishThen(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: PublishOptions,
    done: (err?: Error) => void,
  ): void {
    // Behind a message still being prepared: after it, in call order.
    if (this.prepared) {
      this.publishPrepared(exchange, routingKey, Promise.resolve({ content, options })).then(() => done(), done);
    } else {
      this.send(exchange, routingKey, content, options, done);
    }
  }

  /**
   * Publishes `message` once it is ready, in the order of the calls: a publish called meanwhile waits
   * for it to go to the channel first (the relay publishes a transaction's events in their order,
   * compressed or not). Rejects as `publish` does, or with the error that failed the preparation.
   */
  publishPrepared(exchange: string, routingKey: string, message: PreparedMessage): Promise<void> {
    const previous = this.prepared;
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    this.prepared = turn;
    void turn.then(() => {
      if (this.prepared === turn) this.prepared = undefined;
    });
    // a preparation that fails while an earlier one is still under way is not an unhandled rejection
    message.catch(() => undefined);
    return (previous ? previous.then(() => message) : message).then(
      ({ content, options }) => {
        try {
          // Now (or after the channel's drain), not behind a message being prepared.
          return promised((done) => this.send(exchange, routingKey, content, options, done));
        } finally {
          release();
        }
      },
      (error: unknown) => {
        release();
        throw error;
      },
    );
  }

  private send(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: PublishOptions,
    done: (err?: Error) => void,
  ): void {
    // The channel's buffer is full: after its drain (in call order; again behind a later drain).
    if (this.drained) {
      void this.drained.then(() => this.send(exchange, routingKey, content, options, done));
      return;
    }
    const channel = this.channel;
    if (!channel) return done(new NotConnectedError());
    // The confirm callback keeps only what it needs, not the options, while the message is unconfirmed.
    const messageId = options.messageId;
    let flowing: boolean;
    try {
      flowing = channel.publish(
        exchange,
        routingKey,
        content,
        { persistent: true, mandatory: true, userId: this.userId, ...options },
        (err: unknown) => {
          if (err) return done(err instanceof Error ? err : new Error(`broker nacked message ${messageId}`));
          if (this.returned.delete(messageId)) return done(new UnroutableError(exchange, routingKey));
          done();
        },
      );
    } catch (err) {
      return done(err instanceof Error ? err : new Error(String(err)));
    }
    if (!flowing && !this.drained) {
      this.drained = new Promise<void>((resolve) => {
        const release = () => {
          this.drained = undefined;
          channel.off('drain', release);
          channel.off('close', release);
          resolve();
        };
        channel.on('drain', release);
        channel.on('close', release);
      });
    }
  }
}

/** A promise of what `start` answers to its callback: resolved on `done()`, rejected on `done(error)`. */
function promised(start: (done: (err?: Error) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => start((err) => (err ? reject(err) : resolve())));
}
