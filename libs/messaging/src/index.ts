export { MessagingModule, type MessagingModuleAsyncOptions } from './lib/messaging.module';
export { MessagingService, type MessagingStatus } from './lib/messaging.service';
export type { MessagingOptions, MessagingTlsOptions, ConsumerOptions, RetryPolicy } from './lib/messaging.options';
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
export { MessagingMetrics, type DeliveryOutcome } from './lib/metrics/messaging-metrics';
export { Topology } from './lib/topology/topology';
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

import type { CloudEvent, EventData } from '@shop/contracts';
/** The event a handler of `E` receives: the CloudEvent with data of the latest version. */
export type EventOf<E> = CloudEvent<EventData<E>>;
