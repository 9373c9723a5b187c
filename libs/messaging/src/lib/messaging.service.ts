import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { connect, type Channel, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { DataSource } from 'typeorm';
import { EVENTS, redactUrl, topicMatches, type EventRegistry } from '@shop/contracts';
import { ensureArchive } from './archive/archive';
import { ArchiveReader } from './archive/archive-reader';
import { BrokerNodes } from './broker/broker-nodes';
import { ConfirmPublisher } from './broker/confirm-publisher';
import { GroupCommit } from './consume/group-commit';
import { pruneInbox } from './consume/inbox';
import {
  QueueConsumer,
  type ConsumerSpec,
  type EventHandler,
  type ProducerAuthentication,
} from './consume/queue-consumer';
import { producerAuthentication, publishedByOwner } from './consume/producer-authentication';
import { retryDelays } from './consume/retry-policy';
import { DeadLetters } from './dead-letters/dead-letters';
import { DependencyUnavailableError } from './dependency-errors';
import { MESSAGING_OPTIONS } from './messaging.constants';
import { MessagingMetrics } from './metrics/messaging-metrics';
import { resolveOptions, type MessagingOptions, type ResolvedOptions } from './messaging.options';
import { Outbox } from './outbox/outbox';
import { OutboxRelay } from './outbox/outbox-relay';
import { quorumGroupSize } from './topology/replication';
import { describeUnderReplicated, underReplicatedQueues } from './topology/replication-check';
import {
  ConsistentHashUnavailableError,
  declareTopology,
  partitionQueues,
  Topology,
  unknownExchangeType,
  type Binding,
} from './topology/topology';
import type { ConsumerDeclaration } from './transport/consume-event.decorator';

/** A handler as the transport hands it over: what `@ConsumeEvent` declared, and Nest's pipeline to call. */
export interface ConsumerHandler {
  declaration: ConsumerDeclaration;
  handle: EventHandler;
}

export interface MessagingStatus {
  /** Connected with topology declared, publisher and consumers running. */
  connected: boolean;
  /** The broker blocked our connection (resource alarm): publishes wait. */
  blocked: boolean;
  lastError?: string;
  /** How many times the connection was lost and then re-established (a metric, and what tests wait on). */
  reconnects: number;
  /** When the connection came up (`Date.now()`); absent while not connected. */
  connectedAt?: number;
  consumers: string[];
  /** `host:port` of the broker node the connection is on; absent while not connected. */
  node?: string;
  /** The nodes the broker URL names (1 for a single broker). */
  nodes: number;
}

/**
 * The runtime: connects (with amqplib's recovery: exponential backoff and jitter), declares the
 * topology, runs the publisher, the outbox relay and the consumers of the handlers EventTransport
 * hands over, and shuts them down in order on SIGTERM.
 */
@Injectable()
export class MessagingService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Messaging');
  private readonly options: ResolvedOptions;
  /** The events this app knows (its contracts). */
  readonly registry: EventRegistry;
  private readonly publisher: ConfirmPublisher;
  /** The broker user this app connects as; every publish carries it as `user-id`. */
  private readonly user: string;
  /** How the consumers tell authentic events, when the app connects as a user of its own. */
  private readonly producers?: ProducerAuthentication;
  readonly outbox: Outbox;
  readonly metrics: MessagingMetrics;
  private readonly relay: OutboxRelay;
  /** Reads the event archive (the `shop.events` stream) on this app's connection, a channel per read. */
  readonly archive: ArchiveReader;
  private consumers: QueueConsumer[] = [];
  private connection?: RecoveringChannelModel;
  private model?: ChannelModel;
  /** The broker URL's nodes, and the one connected to (or tried next). */
  private readonly nodes: BrokerNodes;
  /** `host:port` of the node of the current connection. */
  private node?: string;
  private stopping = false;
  private blocked = false;
  private lastError?: string;
  private connects = 0;
  private connectedAt?: number;
  private pruneTimer?: NodeJS.Timeout;
  /** The current connection's setup, while it runs: consumers added meanwhile wait for it. */
  private settingUp?: Promise<void>;
  /** Connections whose setup overran setupTimeoutMs (setupWithin): never made the current one. */
  private readonly abandoned = new WeakSet<ChannelModel>();
  /** What the broker cannot do and reconnecting does not change (no consistent-hash plugin): it stops trying. */
  private fatal?: Error;
  private readonly fatalListeners: Array<(error: Error) => void> = [];

  constructor(
    @Inject(MESSAGING_OPTIONS) options: MessagingOptions,
    private readonly dataSource: DataSource,
  ) {
    this.options = resolveOptions(options);
    this.registry = options.registry ?? EVENTS;
    this.archive = new ArchiveReader(
      async () => this.connected().createChannel(),
      this.registry,
      (type, userId) => !this.producers || publishedByOwner(this.producers, this.registry, type, userId),
      this.options.maxDecompressedBytes,
    );
    this.nodes = new BrokerNodes(this.options.nodes, this.options.firstNode, this.options.heartbeatSeconds);
    this.user = brokerUserOf(this.options.nodes[0]);
    this.producers = producerAuthentication(this.options.app, this.user);
    this.publisher = new ConfirmPublisher(this.user);
    this.metrics = new MessagingMetrics({
      outbox: () => this.outboxBacklog(),
      connected: () => this.status().connected,
    });
    this.relay = new OutboxRelay(dataSource, this.publisher, {
      app: this.options.app,
      ...this.options.outbox,
      metrics: this.metrics,
      compression: this.options.compression,
    });
    this.outbox = new Outbox(
      dataSource,
      this.options.app,
      this.registry,
      (rows) => this.relay.publishCommitted(rows),
      this.options.outbox.leaseMs,
      this.options.groupCommit &&
        new GroupCommit(dataSource, this.options.groupCommit, (size, outcome) =>
          this.metrics.groupCommitted(size, outcome),
        ),
    );
  }

  /**
   * Gives each handler its queue and a consumer (EventTransport calls this when Nest starts the
   * microservice). Refuses a handler whose queue is not the app's or is taken, or whose events'
   * contracts do not list the app as a consumer: the broker's permissions would refuse it later.
   * Resolves once the consumers run, or at once when the broker is not reachable yet (they start
   * when it is).
   */
  async consume(handlers: ConsumerHandler[]): Promise<void> {
    if (this.fatal) throw this.fatal;
    const specs = handlers.map((handler) => this.toSpec(handler));
    // An ordered handler's partitions are queues too, which no other handler may claim.
    const queues = [...this.consumers.map((c) => c.spec), ...specs].flatMap((spec) => [
      spec.queue,
      ...(spec.ordered ? partitionQueues(spec.queue, spec.ordered.partitions) : []),
    ]);
    const taken = queues.find((queue, i) => queues.indexOf(queue) !== i);
    if (taken) throw new Error(`two handlers claim the queue "${taken}": one handler per queue`);
    const added = specs.map((spec) => this.consumerOf(spec));
    this.consumers.push(...added);
    if (!this.producers && added.length > 0) {
      this.logger.warn(
        `connecting as "${this.user}", not as a user of its own ("${this.options.app}" or "<prefix>${this.options.app}"): ` +
          'the events it consumes are not checked for their producer (README, Security)',
      );
    }
    // Connected already: declare and start them on this connection (a setup under way, which may
    // not have seen them, is waited for first). Otherwise the connection's setup starts them.
    await this.settingUp?.catch(() => undefined);
    const model = this.model;
    if (model && added.length > 0) await this.startConsumers(model, added);
  }

  /**
   * Adds a consumer at run time (the bridge's push subscriptions): a queue bound to routing-key
   * patterns on producers' exchanges, which the contracts need not list (the app's broker user must
   * be allowed to read them). Resolves once the queue is declared, bound and consumed on the live
   * connection, so every event published afterwards reaches it; a DependencyUnavailableError when
   * there is no connection. After a reconnect it is declared again with the others.
   */
  async subscribe(handler: ConsumerHandler): Promise<void> {
    const spec = this.toSpec(handler, { contracts: false });
    if (this.consumers.some((c) => c.spec.queue === spec.queue)) {
      throw new Error(`the queue "${spec.queue}" is consumed already`);
    }
    await this.settingUp?.catch(() => undefined);
    const model = this.connected();
    const consumer = this.consumerOf(spec);
    this.consumers.push(consumer);
    try {
      await this.startConsumers(model, [consumer]);
    } catch (error) {
      this.consumers = this.consumers.filter((c) => c !== consumer);
      await consumer.close();
      throw error;
    }
  }

  /**
   * Stops consuming a queue `subscribe` added: no new deliveries, those in flight settle first. With
   * `deleteQueue` the queue and its dead-letter queue are deleted, with whatever waits in them.
   */
  async unsubscribe(queue: string, options: { deleteQueue?: boolean } = {}): Promise<void> {
    const consumer = this.consumers.find((c) => c.spec.queue === queue);
    if (consumer) {
      this.consumers = this.consumers.filter((c) => c !== consumer);
      await consumer.cancel();
      await consumer.drain();
      await consumer.close();
      this.logger.log(`stopped consuming ${queue}`);
    }
    if (options.deleteQueue) {
      const ordered = consumer?.spec.ordered;
      const partitions = ordered ? [...partitionQueues(queue, ordered.partitions), Topology.membersQueue(queue)] : [];
      await this.deleteQueues(this.connected(), [queue, ...partitions, Topology.deadLetterQueue(queue)]);
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    this.relay.start();
    this.pruneTimer = setInterval(
      () => void pruneInbox(this.dataSource, this.options.inbox.retentionMs).catch(() => undefined),
      3600_000,
    );
    this.pruneTimer.unref();

    const nodes = this.nodes;
    // One node: its URL as text; several: an object amqplib reads the current node from at every attempt.
    this.connection = await connect(nodes.connectTarget(), {
      // amqps://: CA, client certificate, verification forced on (resolveOptions)
      ...this.options.tls,
      clientProperties: { connection_name: `${this.options.app}-${process.pid}` },
      // amqplib leaves Nagle's algorithm on: a publish or an ack then waits for the peer's delayed
      // ACK (40 ms on Linux) at every hop of the saga.
      noDelay: true,
      // TCP and the AMQP handshake: a node that accepts and never answers is given up for the next
      timeout: this.options.connectTimeoutMs,
      recovery: {
        initialDelay: this.options.reconnect.initialDelayMs,
        maxDelay: this.options.reconnect.maxDelayMs,
        maxRetries: Infinity,
        waitForConnect: false,
        setup: (model: ChannelModel) => (this.settingUp = this.setupWithin(model)),
      },
    });
    this.connection.on('connect', () => {
      this.connects += 1;
      this.connectedAt = Date.now();
      if (this.connects > 1) this.metrics.reconnects.inc();
      this.lastError = undefined;
      this.node = nodes.address;
      const of = nodes.count > 1 ? ` (node ${nodes.address}, one of ${nodes.count})` : '';
      this.logger.log(`connected to ${nodes.shown}${of}; consuming ${this.consumers.length} queue(s)`);
      void this.checkReplication();
      this.relay.kick();
    });
    this.connection.on('disconnect', (err: Error) => {
      this.onDisconnect(err);
      // The next attempt (after amqplib's backoff) goes to the next node: this one may be gone.
      if (nodes.count > 1 && !this.stopping) {
        nodes.advance();
        this.logger.warn(`reconnecting to the next broker node, ${nodes.address}`);
      }
    });
    this.connection.on('connect-failed', (err: Error) => {
      this.lastError = `${nodes.count > 1 ? `${nodes.address}: ` : ''}${err.message}`;
      this.logger.warn(`cannot reach the broker at ${nodes.shown}: ${err.message}`);
      nodes.advance();
    });
    this.connection.on('blocked', (reason: string) => {
      this.blocked = true;
      this.logger.warn(`broker blocked the connection: ${reason}`);
    });
    this.connection.on('unblocked', () => (this.blocked = false));
    this.connection.on('error', (err: Error) => (this.lastError = err.message));
  }

  /**
   * Resolves once connected, topology declared and consumers running (tests, readiness); rejects with
   * the reason when the broker lacks what the app needs (the consistent-hash plugin for an ordered
   * handler), which reconnecting does not change.
   */
  async whenConnected(): Promise<void> {
    if (this.fatal) throw this.fatal;
    await this.connection?.waitForConnect().catch((error: unknown) => {
      throw this.fatal ?? error;
    });
  }

  /**
   * Calls `listener` (once) when the broker turns out to lack what the app needs, after which it no
   * longer tries to connect: runApp prints the reason in one line and exits.
   */
  onFatal(listener: (error: Error) => void): void {
    if (this.fatal) listener(this.fatal);
    else this.fatalListeners.push(listener);
  }

  status(): MessagingStatus {
    return {
      connected: this.model !== undefined && this.publisher.connected,
      blocked: this.blocked,
      lastError: this.lastError,
      reconnects: Math.max(0, this.connects - 1),
      connectedAt: this.model ? this.connectedAt : undefined,
      consumers: this.consumers.map((c) => c.spec.queue),
      node: this.model ? this.node : undefined,
      nodes: this.nodes.count,
    };
  }

  /** Publishes whatever is due in the outbox now (tests). */
  /**
   * Rows in this app's outbox (every replica's: not published yet, or published and not deleted yet)
   * and the age of the oldest in seconds (0 when empty): what the metrics and admission control read.
   */
  async outboxBacklog(): Promise<{ backlog: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query(
      `SELECT count(*)::int AS backlog,
              coalesce(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float AS age
         FROM messaging_outbox`,
    );
    return { backlog: Number(row.backlog), oldestAgeSeconds: Number(row.age) };
  }

  flushOutbox(): Promise<void> {
    return this.relay.flush();
  }

  /** This app's dead-letter queues (those of its consumers), inspected and redriven on its connection. */
  deadLetters(): DeadLetters {
    return new DeadLetters(() => this.connected(), {
      app: this.options.app,
      user: this.user,
      queues: () => this.consumers.map((consumer) => consumer.spec.queue),
      registry: this.registry,
      metrics: this.metrics,
      maxDecompressedBytes: this.options.maxDecompressedBytes,
    });
  }

  /**
   * SIGTERM: stop taking deliveries, let in-flight handlers finish and settle their messages,
   * publish what their transactions left in the outbox, then close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const graceful = (async () => {
      await Promise.all(this.consumers.map((c) => c.cancel()));
      const inFlight = this.consumers.reduce((n, c) => n + c.inFlightCount, 0);
      this.logger.log(`shutdown: stopped consuming; finishing ${inFlight} handler(s) in flight`);
      await Promise.all(this.consumers.map((c) => c.drain()));
      await this.relay.stop();
    })();
    const timedOut = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), this.options.shutdownTimeoutMs).unref()),
    ]);
    if (timedOut) this.logger.warn(`shutdown: gave up waiting after ${this.options.shutdownTimeoutMs} ms`);
    await Promise.all(this.consumers.map((c) => c.close()));
    await this.connection?.close().catch(() => undefined);
    this.logger.log('messaging stopped');
  }

  /**
   * setup() with a deadline (setupTimeoutMs). A connection reset while the setup runs (a node stopping)
   * can leave one of its operations waiting for a reply that never comes (a channel closed after the
   * socket died waits for close-ok), and amqplib's recovery only tries again once the setup settled:
   * the app would stay disconnected for good. Past the deadline the connection's socket is destroyed
   * (every operation on it fails), the setup is abandoned and recovery goes on to the next node.
   */
  private async setupWithin(model: ChannelModel): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(
          `the setup on ${this.nodes.address} did not finish within ${this.options.setupTimeoutMs} ms`,
        );
        this.abandoned.add(model);
        this.logger.warn(`${error.message}: dropping this connection`);
        destroyConnection(model, error);
        reject(error);
      }, this.options.setupTimeoutMs);
    });
    try {
      await Promise.race([this.setup(model), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async setup(model: ChannelModel): Promise<void> {
    model.on('error', (err: Error) => {
      this.lastError = err.message;
      // The broker closes the whole connection on an unknown exchange type: the declaring call may
      // only hear that its channel ended.
      if (unknownExchangeType(err.message)) this.fail(this.orderedUnsupported(err.message));
    });
    const channel = await model.createChannel();
    try {
      await this.declare(channel, model, this.consumers);
    } catch (error) {
      // Stopped for good (fail): returning lets amqplib's recovery close this connection quietly.
      if (this.fatal) return;
      throw error;
    } finally {
      await channel.close().catch(() => undefined);
    }
    await this.retire(model);
    // Before the first publish, so that the archive holds every event from the start, and after a
    // broker restart only once the broker has recovered it (what is routed to it before is not kept).
    const archive = await ensureArchive(() => model.createChannel(), this.options.archive);
    if (archive.waitedMs !== undefined)
      this.logger.log(`publishing once the broker had recovered the event archive (${archive.waitedMs} ms)`);
    if (archive.declared)
      this.logger.log(`declared the event archive (retention ${JSON.stringify(this.options.archive)})`);
    if (!archive.exists)
      this.logger.warn(`the event archive is missing and this user may not declare it: ${archive.error}`);
    const publisherChannel = await model.createConfirmChannel();
    publisherChannel.on('error', (err: Error) => this.logger.warn(`publisher channel error: ${err.message}`));
    publisherChannel.on('close', () => {
      if (this.model === model && !this.stopping) this.recycle(new Error('publisher channel closed'));
    });
    this.publisher.attach(publisherChannel);
    if (!this.stopping) for (const consumer of this.consumers) await consumer.start(model);
    // a setup past its deadline: recovery has dropped this connection already
    if (this.abandoned.has(model)) throw new Error('setup abandoned');
    this.model = model;
  }

  /**
   * With a management URL: warns of the app's quorum queues with fewer replicas than the group size
   * (min(3, nodes), or the cluster's size for one node named) or with replicas offline. In the
   * background: it never holds the connection up.
   */
  private async checkReplication(): Promise<void> {
    const { managementUrl, app } = this.options;
    if (!managementUrl) return;
    const vhost = decodeURIComponent(new URL(this.nodes.current).pathname.slice(1)) || '/';
    try {
      const under = await underReplicatedQueues({
        managementUrl,
        vhost,
        app,
        wanted: quorumGroupSize(this.nodes.count),
      });
      if (under.length > 0) this.logger.warn(`under-replicated quorum queue(s): ${describeUnderReplicated(under)}`);
    } catch (error) {
      this.logger.warn(
        `could not check the replicas of the quorum queues at ${redactUrl(managementUrl)}: ${(error as Error).message}`,
      );
    }
  }

  /** The connection now; a DependencyUnavailableError (503 over HTTP) while there is none. */
  private connected(): ChannelModel {
    if (!this.model) throw new DependencyUnavailableError('broker', 'not connected to the broker');
    return this.model;
  }

  /** Deletes the retired queues (MessagingOptions.retiredQueues) and their dead-letter queues. */
  private retire(model: ChannelModel): Promise<void> {
    return this.deleteQueues(
      model,
      this.options.retiredQueues.flatMap((queue) => [queue, Topology.deadLetterQueue(queue)]),
    );
  }

  /** Deletes queues (absent ones included), each on a channel of its own; a failure is logged, not thrown. */
  private async deleteQueues(model: ChannelModel, names: string[]): Promise<void> {
    for (const name of names) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      try {
        const { messageCount } = await channel.deleteQueue(name);
        if (messageCount > 0) this.logger.warn(`deleted the queue ${name} with ${messageCount} message(s)`);
      } catch (error) {
        this.logger.warn(`could not delete the queue ${name}: ${(error as Error).message}`);
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
  }

  private consumerOf(spec: ConsumerSpec): QueueConsumer {
    return new QueueConsumer(
      spec,
      this.options.app,
      this.registry,
      this.publisher,
      this.outbox,
      (err) => this.recycle(err),
      this.metrics,
      this.producers,
      this.options.maxDecompressedBytes,
    );
  }

  /** Declares the queues of consumers added to a live connection, then starts them. */
  private async startConsumers(model: ChannelModel, consumers: QueueConsumer[]): Promise<void> {
    const channel = await model.createChannel();
    try {
      await this.declare(channel, model, consumers);
    } finally {
      await channel.close().catch(() => undefined);
    }
    if (!this.stopping) for (const consumer of consumers) await consumer.start(model);
    this.logger.log(`consuming ${consumers.length} more queue(s)`);
  }

  private async declare(channel: Channel, model: ChannelModel, consumers: QueueConsumer[]): Promise<void> {
    // Ordered handlers retry in place: they need no delay queues.
    const delays = [...new Set(consumers.flatMap((c) => (c.spec.ordered ? [] : retryDelays(c.spec.retry))))];
    let declared;
    try {
      declared = await declareTopology(
        channel,
        () => model.createChannel(),
        this.options.app,
        consumers.map(({ spec }) => ({
          queue: spec.queue,
          bindings: spec.bindings,
          partitions: spec.ordered?.partitions,
        })),
        delays,
        this.options.deliveryLimit,
        quorumGroupSize(this.nodes.count),
      );
    } catch (error) {
      if (error instanceof ConsistentHashUnavailableError) this.fail(error);
      throw this.fatal ?? error;
    }
    for (const consumer of consumers) {
      const partitions = declared.partitions.get(consumer.spec.queue);
      if (!partitions) continue;
      consumer.consumeQueues(partitions);
      const extra = partitions.length - (consumer.spec.ordered?.partitions ?? 0);
      if (extra > 0) {
        this.logger.warn(
          `${consumer.spec.queue}: ${extra} partition(s) past ${consumer.spec.ordered?.partitions} still hold messages ` +
            '(the partition count was lowered): unbound, consumed until empty, deleted at a later start',
        );
      }
    }
  }

  /** The one line an app without the consistent-hash plugin stops with. */
  private orderedUnsupported(cause: string): Error {
    const ordered = this.consumers.find((c) => c.spec.ordered)?.spec.queue ?? 'a handler';
    return new ConsistentHashUnavailableError(ordered, cause);
  }

  /** Stops for good: the broker lacks what the app needs. Logged once, told to onFatal's listeners. */
  private fail(error: Error): void {
    if (this.fatal) return;
    this.fatal = error;
    this.lastError = error.message;
    this.logger.error(error.message);
    void this.connection?.close().catch(() => undefined);
    for (const listener of this.fatalListeners.splice(0)) listener(error);
  }

  private onDisconnect(err: Error): void {
    this.model = undefined;
    for (const consumer of this.consumers) consumer.detach();
    if (this.stopping) return;
    this.lastError = err.message;
    this.logger.warn(`lost the broker connection (${err.message}); reconnecting`);
  }

  /** A channel died while the connection lives: close the connection so recovery rebuilds everything. */
  private recycle(err: Error): void {
    const model = this.model;
    if (!model || this.stopping) return;
    this.logger.warn(`${err.message}; reconnecting`);
    this.model = undefined;
    void model.close().catch(() => undefined);
  }

  /**
   * The broker permissions are generated from the contracts, so a handler the contracts do not know
   * of would be refused by the broker in production: refuse it here, at start, with the reason.
   */
  private checkAgainstContracts(spec: ConsumerSpec, contracts: boolean): void {
    const app = this.options.app;
    if (!spec.queue.startsWith(`${Topology.exchange(app)}.`)) {
      throw new Error(`${spec.handlerName}: queue "${spec.queue}" must be named "${app}.<name>" (its own namespace)`);
    }
    if (!contracts) return;
    for (const type of spec.acceptedTypes) {
      if (!this.registry.find(type)?.consumers.includes(app)) {
        throw new Error(
          `${spec.handlerName} consumes ${type}, but the contract of ${type} does not list ${app} among its consumers`,
        );
      }
    }
  }

  private toSpec({ declaration, handle }: ConsumerHandler, { contracts = true } = {}): ConsumerSpec {
    const { subscriptions, options, handlerName } = declaration;
    const bindings: Binding[] = [];
    const accepted = new Set<string>();
    for (const subscription of subscriptions) {
      if ('type' in subscription) {
        bindings.push({ exchange: subscription.producer, routingKey: subscription.type });
        accepted.add(subscription.type);
      } else {
        bindings.push(subscription);
        for (const event of this.registry.all) {
          if (event.producer === subscription.exchange && topicMatches(subscription.routingKey, event.type)) {
            accepted.add(event.type);
          }
        }
      }
    }
    const defaults = this.options.consumerDefaults;
    const prefetch = options.prefetch ?? defaults.prefetch;
    if (options.ordered !== undefined && options.ordered !== 'subject') {
      throw new Error(`${handlerName}: ordered must be 'subject' (got ${JSON.stringify(options.ordered)})`);
    }
    if (options.ordered && (options.prefetch !== undefined || options.concurrency !== undefined)) {
      throw new Error(
        `${handlerName}: an ordered handler takes one message per partition at a time; prefetch and concurrency do not apply`,
      );
    }
    const spec: ConsumerSpec = {
      queue: options.queue,
      bindings,
      acceptedTypes: accepted,
      handler: handle,
      handlerName,
      prefetch,
      concurrency: Math.min(options.concurrency ?? defaults.concurrency, prefetch),
      retry: { ...defaults.retry, ...options.retry },
      ...(options.ordered && { ordered: this.options.ordered }),
      groupCommit: options.groupCommit === true && this.options.groupCommit !== undefined,
    };
    this.checkAgainstContracts(spec, contracts);
    return spec;
  }
}

/** The user amqplib authenticates as: the URL's, or its default, guest. */
function brokerUserOf(url: string): string {
  return decodeURIComponent(new URL(url).username) || 'guest';
}

/**
 * Destroys a connection's socket: amqplib then fails every operation waiting on it and closes the
 * connection, which a close handshake on a dead socket would not do.
 */
function destroyConnection(model: ChannelModel, reason: Error): void {
  const { connection } = model as unknown as { connection?: { stream?: { destroy(error?: Error): void } } };
  connection?.stream?.destroy(reason);
}
