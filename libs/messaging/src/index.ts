export { MessagingModule, type MessagingModuleAsyncOptions } from './lib/messaging.module';
export { MessagingService, type MessagingStatus } from './lib/messaging.service';
export type { MessagingOptions, MessagingTlsOptions, ConsumerOptions, RetryPolicy } from './lib/messaging.options';
export { DEFAULT_ORDERED_PARTITIONS, MAX_ORDERED_PARTITIONS } from './lib/messaging.options';
export {
  ConsumeEvent,
  EVENT_TRANSPORT,
  type ConsumeEventOptions,
  type Subscription,
} from './lib/transport/consume-event.decorator';
export { EventTransport, startEventTransport } from './lib/transport/event-transport';
export { EventsClient } from './lib/transport/events-client';
export { DeliveryExceptionFilter } from './lib/transport/delivery-exception.filter';
export { EventContext } from './lib/consume/event-context';
export { NonRetryableError, RetryableError, type DeadLetterReason } from './lib/consume/errors';
export { DependencyUnavailableError, unavailableDependency } from './lib/dependency-errors';
export { Headers as MessagingHeaders } from './lib/consume/queue-consumer';
export { Outbox } from './lib/outbox/outbox';
export {
  DeadLetters,
  MAX_DEAD_LETTERS_LIMIT,
  type DeadLettersOptions,
  type ListDeadLettersOptions,
  type RedriveRequest,
  type RedriveSummary,
} from './lib/dead-letters/dead-letters';
export type { DeadLetter } from './lib/dead-letters/dead-letter-message';
export { UnknownQueueError } from './lib/dead-letters/errors';
export { MessagingMetrics, type DeliveryOutcome } from './lib/metrics/messaging-metrics';
export { CONSISTENT_HASH_PLUGIN, ConsistentHashUnavailableError, Topology } from './lib/topology/topology';
export {
  brokerPermissions,
  brokerUser,
  brokerUserPrefix,
  rabbitmqDefinitions,
  rabbitmqPasswordHash,
  type BrokerPermissions,
  type DefinitionsOptions,
  type RabbitmqDefinitions,
  type TopicPermission,
} from './lib/topology/broker-access';
export { MessagingTables1732300000000, messagingMigrations } from './lib/migrations/1732300000000-messaging-tables';
export { UnroutableError } from './lib/broker/confirm-publisher';
export { BrokerUrlError, brokerNodeUrls, nodeAddress, redactBrokerUrl } from './lib/broker/broker-urls';
export {
  COMPRESSION_ENCODINGS,
  DEFAULT_COMPRESS_MIN_BYTES,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionEncoding,
} from './lib/broker/payload-encoding';
export {
  ARCHIVE_MAX_AGE_PATTERN,
  ARCHIVE_STREAM,
  DEFAULT_ARCHIVE_RETENTION,
  type ArchiveRetention,
} from './lib/archive/archive';
export type { ArchivedEvent, ArchiveFollower, ArchiveReader, ArchiveStart } from './lib/archive/archive-reader';
export { ArchiveAudit, UnknownCursorError, type PublishedEvent } from './lib/archive/archive-audit';
export type { Projection, ProjectionStatus } from './lib/archive/projection';
export { Projections, ProjectionsModule } from './lib/archive/projections.module';
export { SubjectIndexProjection } from './lib/archive/subject-index.projection';

import type { CloudEvent, EventData } from '@shop/contracts';
/** The event a handler of `E` receives: the CloudEvent with data of the latest version. */
export type EventOf<E> = CloudEvent<EventData<E>>;
