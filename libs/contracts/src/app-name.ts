/**
 * The apps of the system. Each connects to the broker as its own user and owns the topic exchange
 * of its name; the bridge owns no event of its own: it publishes the HTTP producers' events.
 */
export const APP_NAMES = ['orders', 'inventory', 'payments', 'notifications', 'bridge'] as const;

export type AppName = (typeof APP_NAMES)[number];

/**
 * Systems outside the shop that take part over HTTP, through the bridge (a legacy ERP): each owns
 * event types and the exchange of its name, like an app, but never connects to the broker itself.
 * Its events reach the broker only from the bridge, after the bridge authenticated the caller as it.
 */
export const HTTP_PRODUCERS = ['erp'] as const;

export type HttpProducer = (typeof HTTP_PRODUCERS)[number];

/** Whoever may own an event type: an app, or an HTTP producer. */
export type ProducerName = AppName | HttpProducer;

export const PRODUCER_NAMES: readonly ProducerName[] = [...APP_NAMES, ...HTTP_PRODUCERS];

/** The app that publishes to the broker for the bridge's HTTP producers. */
export const HTTP_BRIDGE: AppName = 'bridge';

export function isHttpProducer(name: string): name is HttpProducer {
  return (HTTP_PRODUCERS as readonly string[]).includes(name);
}

/** The app whose broker user publishes a producer's events: the app itself, or the bridge. */
export function publisherOf(producer: ProducerName): AppName {
  return isHttpProducer(producer) ? HTTP_BRIDGE : producer;
}
