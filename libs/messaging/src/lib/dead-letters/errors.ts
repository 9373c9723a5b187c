/**
 * A queue the app cannot inspect or redrive: not named `<app>.<name>`, not one of its consumers'
 * queues, a dead-letter queue named instead of its consumer's, or one the broker does not have.
 */
export class UnknownQueueError extends Error {
  override readonly name = 'UnknownQueueError';
  constructor(
    readonly queue: string,
    message: string,
  ) {
    super(message);
  }
}
