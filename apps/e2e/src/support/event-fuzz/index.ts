/**
 * Property-based fuzzing of the event consumers (test/event-fuzz.e2e-spec.ts): fast-check
 * arbitraries of AMQP messages for every event type, one family a file (`*-fuzz.ts`), built from
 * valid and near-valid event data; the consumer queues read off the broker's bindings (listed with
 * @shop/testing's `BrokerAdmin`); and what the consumer pipeline must do with each message
 * (parse -> validate -> authenticate the producer -> type check -> handle).
 */
export { CONTRACT_REASONS, DeadLetterHeaders, FUZZ_SEQ_HEADER } from './dead-letter-headers';
export { consumerQueuesOf, queuesReached, type ConsumerQueue } from './consumer-queues';
export { decodeBody, expectedOutcome, type Decoded, type Expected } from './expected-outcome';
export type { Family, FuzzMessage, FuzzWorld } from './fuzz-message';
export { dataFuzz } from './data-fuzz';
export { envelopeFuzz } from './envelope-fuzz';
export { bodyFuzz } from './body-fuzz';
export { propertiesFuzz } from './properties-fuzz';
export { validFuzz } from './valid-fuzz';
export { unencodableHeaderValues } from './unencodable-header-values';
export { preview } from './preview';
