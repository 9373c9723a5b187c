import { publisherOf, type AppName, type EventRegistry, type ProducerName } from '@shop/contracts';
import { brokerUser, brokerUserPrefix } from '../topology/broker-access';

/**
 * How a consumer tells an authentic event: RabbitMQ has checked its `user-id` against the publishing
 * connection, so it names the producer. It must be the user of the app that owns the event's type,
 * or, for a retry this consumer scheduled itself, this app's own user on its own retry exchange.
 */
export interface ProducerAuthentication {
  /** This app's broker user. */
  self: string;
  /** The broker user that publishes a producer's events: the app's own, the bridge's for an HTTP producer. */
  userOf(producer: ProducerName): string;
}

/**
 * How `app`, connected as `user`, tells producers apart: by the users of its deployment (`<prefix><app>`);
 * undefined when `user` is not one of the app's own (`guest`, a shared user), which cannot tell them apart.
 */
export function producerAuthentication(app: AppName, user: string): ProducerAuthentication | undefined {
  const prefix = brokerUserPrefix(app, user);
  return prefix === undefined
    ? undefined
    : { self: user, userOf: (producer) => brokerUser(publisherOf(producer), prefix) };
}

/** Whether an event of `type` published as `userId` comes from the owner of its type. */
export function publishedByOwner(
  producers: ProducerAuthentication,
  registry: EventRegistry,
  type: string,
  userId: string | undefined,
): boolean {
  const owner = registry.find(type)?.producer;
  return owner !== undefined && userId === producers.userOf(owner);
}
