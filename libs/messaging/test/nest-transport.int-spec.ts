import { randomUUID } from 'node:crypto';
import {
  Catch,
  Controller,
  Injectable,
  UseFilters,
  UseGuards,
  UseInterceptors,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
  type RpcExceptionFilter,
  type Type,
} from '@nestjs/common';
import { Ctx, Payload, RpcException } from '@nestjs/microservices';
import type { GetMessage } from 'amqplib';
import { lastValueFrom, tap, throwError, type Observable } from 'rxjs';
import { OrderPlaced, type CloudEvent } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { ConsumeEvent, EventContext, EventsClient, NonRetryableError, RetryableError, type EventOf } from '../src';
import { orderPlaced, wire, wireProperties } from './support/events';
import { RawBroker, startApp, type RunningApp } from './support/harness';

/**
 * The library is a Nest transport: a handler runs inside Nest's own pipeline, so what a Nest user
 * puts on it (guards, interceptors, pipes, exception filters) applies to events as to requests, and
 * the transport reads the outcome (ack, retry, dead-letter) from what comes out of that pipeline.
 */

const RETRY = { maxAttempts: 3, initialDelayMs: 100, factor: 2, maxDelayMs: 1000 };

@Injectable()
class Seen {
  readonly intercepted: Array<{ type: string; id: string; handler: string; queue: string }> = [];
  readonly handled: Array<{ queue: string; orderId: string; attempt: number; customer?: string }> = [];
  /** Customers the guard refuses. */
  blocked = new Set<string>();
}

/** Sees every event before its handler, and the handler's outcome after. */
@Injectable()
class AuditInterceptor implements NestInterceptor {
  constructor(private readonly seen: Seen) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const event = context.switchToRpc().getData<CloudEvent>();
    const ctx = context.switchToRpc().getContext<EventContext>();
    this.seen.intercepted.push({
      type: event.type,
      id: event.id,
      handler: `${context.getClass().name}.${context.getHandler().name}`,
      queue: ctx.queue,
    });
    return next.handle().pipe(tap(() => undefined));
  }
}

/** Refuses the events of blocked customers: a guard that says no, with its reason. */
@Injectable()
class BlockedCustomerGuard implements CanActivate {
  constructor(private readonly seen: Seen) {}

  canActivate(context: ExecutionContext): boolean {
    const event = context.switchToRpc().getData<EventOf<typeof OrderPlaced>>();
    if (event.data.customerId === 'c-silent') return false;
    if (this.seen.blocked.has(event.data.customerId)) {
      throw new RpcException(`customer ${event.data.customerId} is blocked`);
    }
    return true;
  }
}

/** Turns the event into what the handler works with; refuses an order without items it knows. */
class OrderLinesPipe implements PipeTransform<EventOf<typeof OrderPlaced>, { orderId: string; customer: string }> {
  transform(event: EventOf<typeof OrderPlaced>) {
    if (event.data.items.some((item) => item.sku === 'SKU-UNKNOWN')) {
      throw new NonRetryableError(`order ${event.data.orderId} has an unknown sku`);
    }
    return { orderId: event.data.orderId, customer: event.data.customerId };
  }
}

/** What a card provider throws: a transient fault is worth retrying, a refusal is not. */
class CardProviderError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

/** Maps the provider's errors to what the transport should do with the event. */
@Catch(CardProviderError)
class CardProviderErrors implements RpcExceptionFilter<CardProviderError> {
  catch(error: CardProviderError, _host: ArgumentsHost): Observable<never> {
    return throwError(() =>
      error.transient ? new RetryableError(error.message) : new NonRetryableError(`provider refused: ${error.message}`),
    );
  }
}

@Controller()
@UseInterceptors(AuditInterceptor)
class ReserveOnOrderPlaced {
  constructor(private readonly seen: Seen) {}

  @ConsumeEvent(OrderPlaced, { queue: 'inventory.enhanced-reserve', retry: RETRY })
  @UseGuards(BlockedCustomerGuard)
  reserve(@Payload(OrderLinesPipe) order: { orderId: string; customer: string }, @Ctx() ctx: EventContext) {
    this.seen.handled.push({
      queue: ctx.queue,
      orderId: order.orderId,
      attempt: ctx.attempt,
      customer: order.customer,
    });
  }
}

@Controller()
@UseFilters(CardProviderErrors)
class ChargeOnOrderPlaced {
  constructor(private readonly seen: Seen) {}

  @ConsumeEvent(OrderPlaced, { queue: 'payments.enhanced-charge', retry: RETRY })
  async charge(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext): Promise<void> {
    this.seen.handled.push({ queue: ctx.queue, orderId: event.data.orderId, attempt: ctx.attempt });
    const token = event.data.paymentToken;
    if (token === 'tok_flaky' && ctx.attempt === 1) throw new CardProviderError('provider timed out', true);
    if (token === 'tok_stolen') throw new CardProviderError('card reported stolen', false);
  }
}

describe('handlers as a Nest transport: the pipeline Nest users know', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let inventory: RunningApp;
  let payments: RunningApp;
  let seen: Seen;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('transport'), createTestDatabase('transport')]);
    raw = await RawBroker.open(broker.url);
    inventory = await startApp({
      app: 'inventory',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ReserveOnOrderPlaced],
      providers: [Seen],
    });
    payments = await startApp({
      app: 'payments',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ChargeOnOrderPlaced],
      providers: [Seen],
    });
    seen = inventory.module.get(Seen);
  });

  afterAll(async () => {
    await inventory?.close();
    await payments?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const publish = async (event: CloudEvent) =>
    raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));

  const deadLetter = (queue: string, orderId: string) =>
    waitFor(
      async () =>
        (await raw.drain(`${queue}.dlq`)).find((m) => JSON.parse(m.content.toString()).data.orderId === orderId),
      { timeoutMs: 10_000, description: `order ${orderId} in ${queue}.dlq` },
    );

  const header = (message: GetMessage, name: string) => message.properties.headers?.[name];

  it('runs the interceptor of the handler class, which sees the event, its handler and its queue', async () => {
    const event = orderPlaced();
    await publish(event);
    await waitFor(() => seen.handled.some((h) => h.orderId === event.data.orderId), {
      description: 'the handler ran',
    });
    expect(seen.intercepted).toContainEqual({
      type: 'order.placed',
      id: event.id,
      handler: 'ReserveOnOrderPlaced.reserve',
      queue: 'inventory.enhanced-reserve',
    });
    // The pipe's output is what the handler got.
    expect(seen.handled).toContainEqual({
      queue: 'inventory.enhanced-reserve',
      orderId: event.data.orderId,
      attempt: 1,
      customer: 'c-1',
    });
  });

  it('dead-letters an event its guard refuses, with the guard reason, without calling the handler', async () => {
    seen.blocked.add('c-blocked');
    const event = OrderPlaced.create({ ...orderPlaced().data, customerId: 'c-blocked' });
    await publish(event);
    const message = await deadLetter('inventory.enhanced-reserve', event.data.orderId);
    expect(header(message, 'x-dead-letter-reason')).toBe('rejected');
    expect(header(message, 'x-exception-message')).toBe('customer c-blocked is blocked');
    expect(header(message, 'x-attempt')).toBe(1);
    expect(seen.handled.some((h) => h.orderId === event.data.orderId)).toBe(false);
  });

  it('dead-letters an event whose guard answers false, with Nest own reason', async () => {
    const event = OrderPlaced.create({ ...orderPlaced().data, customerId: 'c-silent' });
    await publish(event);
    const message = await deadLetter('inventory.enhanced-reserve', event.data.orderId);
    expect(header(message, 'x-dead-letter-reason')).toBe('rejected');
    expect(header(message, 'x-exception-message')).toBe('Forbidden resource');
  });

  it('dead-letters an event its pipe refuses, at once', async () => {
    const event = OrderPlaced.create({ ...orderPlaced().data, items: [{ sku: 'SKU-UNKNOWN', quantity: 1 }] });
    await publish(event);
    const message = await deadLetter('inventory.enhanced-reserve', event.data.orderId);
    expect(header(message, 'x-dead-letter-reason')).toBe('rejected');
    expect(header(message, 'x-exception-message')).toBe(`order ${event.data.orderId} has an unknown sku`);
    expect(seen.handled.some((h) => h.orderId === event.data.orderId)).toBe(false);
  });

  it('lets an exception filter map an error to a retry: the event is handled again, then acknowledged', async () => {
    const event = OrderPlaced.create({ ...orderPlaced().data, paymentToken: 'tok_flaky' });
    await publish(event);
    const handled = payments.module.get(Seen).handled;
    await waitFor(() => handled.filter((h) => h.orderId === event.data.orderId).length === 2, {
      description: 'the second attempt',
    });
    expect(handled.filter((h) => h.orderId === event.data.orderId).map((h) => h.attempt)).toEqual([1, 2]);
    await waitFor(async () => (await raw.messageCount('payments.enhanced-charge')) === 0, {
      description: 'the queue empty',
    });
    expect(await raw.messageCount('payments.enhanced-charge.dlq')).toBe(0);
  });

  it('lets an exception filter map an error to a dead letter: not retried, the filter reason kept', async () => {
    const event = OrderPlaced.create({ ...orderPlaced().data, paymentToken: 'tok_stolen' });
    await publish(event);
    const message = await deadLetter('payments.enhanced-charge', event.data.orderId);
    expect(header(message, 'x-dead-letter-reason')).toBe('rejected');
    expect(header(message, 'x-exception-message')).toBe('provider refused: card reported stolen');
    // Without the filter the error would have been retried up to maxAttempts.
    const handled = payments.module.get(Seen).handled.filter((h) => h.orderId === event.data.orderId);
    expect(handled.map((h) => h.attempt)).toEqual([1]);
  });

  it('publishes with EventsClient.emit through the outbox, and refuses what is not an event of its pattern', async () => {
    const client = payments.module.get(EventsClient);
    const orders = await startApp({ app: 'orders', brokerUrl: broker.url, databaseUrl: database.url });
    try {
      const tap = await raw.tap('orders', 'order.placed');
      const emitter = orders.module.get(EventsClient);
      const event = orderPlaced();
      await lastValueFrom(emitter.emit(OrderPlaced.type, event), { defaultValue: undefined });
      const [message] = await waitFor(
        async () => {
          const got = await raw.drain(tap);
          return got.length ? got : undefined;
        },
        { timeoutMs: 5000, description: 'the emitted event' },
      );
      expect(message.properties.messageId).toBe(event.id);

      await expect(
        lastValueFrom(emitter.emit('order.confirmed', orderPlaced()), { defaultValue: undefined }),
      ).rejects.toThrow(/pattern must be the event's type/);
      await expect(
        lastValueFrom(emitter.emit(OrderPlaced.type, { ...orderPlaced(), data: { orderId: 'x' } }), {
          defaultValue: undefined,
        }),
      ).rejects.toThrow(/order\.placed/);
      // payments does not own order.placed: the outbox refuses it, as for Outbox.publish.
      await expect(lastValueFrom(client.emit(OrderPlaced.type, orderPlaced()))).rejects.toThrow(
        /payments may not publish order\.placed/,
      );
      await expect(lastValueFrom(emitter.send(OrderPlaced.type, orderPlaced()))).rejects.toThrow(/events only/);
    } finally {
      await orders.close();
    }
  });
});

describe('a queue is named in its declaration', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('queue-names'), createTestDatabase('queue-names')]);
    raw = await RawBroker.open(broker.url);
  });

  afterAll(async () => {
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  /** An inventory app of `handlers` alone, resolved once started, connected or not: for handlers it must refuse. */
  const startInventoryWith = (handlers: Type[]) =>
    startApp({
      app: 'inventory',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers,
      waitForConnection: false,
    });

  it('keeps the queue and the messages waiting in it when the handler class and method are renamed', async () => {
    const handled: string[] = [];

    @Controller()
    class ReserveStock {
      @ConsumeEvent(OrderPlaced, { queue: 'inventory.reserve-stock' })
      handle(@Payload() event: EventOf<typeof OrderPlaced>) {
        handled.push(`v1 ${event.data.orderId}`);
      }
    }
    // The next release: class and method renamed, the queue left as it was.
    @Controller()
    class ReserveStockOnOrderPlaced {
      @ConsumeEvent(OrderPlaced, { queue: 'inventory.reserve-stock' })
      reserveAll(@Payload() event: EventOf<typeof OrderPlaced>) {
        handled.push(`v2 ${event.data.orderId}`);
      }
    }

    const v1 = await startApp({
      app: 'inventory',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ReserveStock],
    });
    await v1.close();
    // While no version runs, events wait in the queue.
    const waiting = [orderPlaced(), orderPlaced(), orderPlaced()];
    for (const event of waiting)
      await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    expect(await raw.messageCount('inventory.reserve-stock')).toBe(3);

    const v2 = await startApp({
      app: 'inventory',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ReserveStockOnOrderPlaced],
    });
    try {
      await waitFor(() => handled.length === 3, { description: 'the waiting events handled by v2' });
      expect(handled.sort()).toEqual(waiting.map((e) => `v2 ${e.data.orderId}`).sort());
      expect(await raw.messageCount('inventory.reserve-stock')).toBe(0);
    } finally {
      await v2.close();
    }
  });

  it('refuses to start when two handlers claim one queue, naming both', async () => {
    @Controller()
    class ReserveStock {
      @ConsumeEvent(OrderPlaced, { queue: 'inventory.reserve' })
      handle() {
        return;
      }
    }
    @Controller()
    class ReserveStockAgain {
      @ConsumeEvent(OrderPlaced, { queue: 'inventory.reserve' })
      reserve() {
        return;
      }
    }
    await expect(startInventoryWith([ReserveStock, ReserveStockAgain])).rejects.toThrow(
      'the queue "inventory.reserve" is claimed by ReserveStock.handle and ReserveStockAgain.reserve',
    );
  });

  it('refuses to start a handler whose queue is not in its app namespace', async () => {
    @Controller()
    class Misnamed {
      @ConsumeEvent(OrderPlaced, { queue: `orders.${randomUUID()}` })
      handle() {
        return;
      }
    }
    await expect(startInventoryWith([Misnamed])).rejects.toThrow(/must be named "inventory\.<name>"/);
  });
});
