import type { Options } from 'amqplib';

/** What was made odd in a fuzzed message: its data, envelope, body or AMQP properties; `valid`, nothing. */
export type Family = 'data' | 'envelope' | 'body' | 'properties' | 'valid';

export interface FuzzMessage {
  family: Family;
  /** The routing key: an event type, published to its owner's exchange. */
  type: string;
  body: Buffer;
  /** The AMQP properties but `userId` and `persistent`, which the publisher sets. */
  properties: Options.Publish;
  /** What was done to it, for a failure message. */
  note: string;
}

/** What the generated data talks about: the system's real orders, customers and skus, and some made up. */
export interface FuzzWorld {
  orderIds: readonly string[];
  customerIds: readonly string[];
  skus: readonly string[];
}

/** A JSON value as the generators handle it, valid or not. */
export type Json = unknown;
export type JsonObject = Record<string, Json>;
