/**
 * Thrown by a handler when retrying cannot help (a business rule refuses the event):
 * the message goes to the dead-letter queue at once, with this error's message as the reason.
 */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
}

/** The inbox already holds this message for this consumer: its effects were committed before. */
export class DuplicateDeliveryError extends Error {
  override readonly name = 'DuplicateDeliveryError';
  constructor(
    readonly messageId: string,
    readonly consumer: string,
  ) {
    super(`message ${messageId} was already handled by ${consumer}`);
  }
}

/** Why a message went to a dead-letter queue: the `x-dead-letter-reason` header. */
export type DeadLetterReason =
  | 'unparseable'
  | 'invalid-envelope'
  | 'unknown-type'
  | 'unknown-version'
  | 'schema-invalid'
  | 'unexpected-type'
  | 'rejected'
  | 'retries-exhausted'
  /** Its `user-id` is not the broker user of the event type's owner (or missing). */
  | 'unauthenticated-producer'
  /**
   * Its `content-encoding` is none the consumer reads, or its body is not the gzip or brotli stream it
   * says it is, or decompresses to more than the cap (`maxDecompressedBytes`).
   */
  | 'undecompressable';

/**
 * Thrown (or mapped to by an exception filter) when the event should be tried again after the
 * consumer's backoff: it spends an attempt, and the last attempt dead-letters it. Any error the
 * library does not know means the same; this one says so explicitly.
 */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}
