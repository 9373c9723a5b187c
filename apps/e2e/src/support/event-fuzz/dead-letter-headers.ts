/** The headers @shop/messaging sets on dead-lettered copies (`MessagingHeaders`; e2e may not import the lib). */
export const DeadLetterHeaders = {
  reason: 'x-dead-letter-reason',
  queue: 'x-consumer-queue',
  originalExchange: 'x-original-exchange',
  originalRoutingKey: 'x-original-routing-key',
  originalUserId: 'x-original-user-id',
  attempt: 'x-attempt',
} as const;

/** The header each fuzzed message carries to be found again (kept on the dead-letter copies). */
export const FUZZ_SEQ_HEADER = 'fuzz-seq';

/** Reasons a message may be dead-lettered with before its handler ran: the contract's and the consumer's checks. */
export const CONTRACT_REASONS = [
  'unparseable',
  'invalid-envelope',
  'unknown-type',
  'unknown-version',
  'schema-invalid',
  'unexpected-type',
  'unauthenticated-producer',
  'undecompressable',
] as const;
