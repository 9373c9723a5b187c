import { randomUUID } from 'node:crypto';
import { Controller, Injectable } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { OrderConfirmed, parseEnvelope, parseTraceparent, PaymentCaptured, type CloudEvent } from '@shop/contracts';
import { ConsumeEvent, EventContext, Outbox, type EventOf } from '../src';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { wire } from './support/events';
import { RawBroker, startApp, type RunningApp } from './support/harness';

@Injectable()
class Seen {
  events: Array<{ event: EventOf<typeof PaymentCaptured>; receivedVersion: number }> = [];
}

@Controller()
class ConfirmOrderOnPaymentCaptured {
  constructor(
    private readonly seen: Seen,
    private readonly outbox: Outbox,
  ) {}

  @ConsumeEvent(PaymentCaptured, { queue: 'orders.confirm-order-on-payment-captured' })
  async handle(@Payload() event: EventOf<typeof PaymentCaptured>, @Ctx() ctx: EventContext): Promise<void> {
    this.seen.events.push({ event, receivedVersion: ctx.receivedVersion });
    await ctx.transaction((tx) =>
      this.outbox.publish(
        tx,
        OrderConfirmed.create({
          orderId: event.data.orderId,
          customerId: 'c-1',
          total: event.data.amount,
          currency: event.data.currency,
        }),
      ),
    );
  }
}

describe('what reaches a handler, and what it passes on', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let orders: RunningApp;
  let seen: Seen;
  let tap: string;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('upcast'), createTestDatabase('upcast')]);
    orders = await startApp({
      app: 'orders',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ConfirmOrderOnPaymentCaptured],
      providers: [Seen],
    });
    seen = orders.module.get(Seen);
    raw = await RawBroker.open(broker.url);
    tap = await raw.tap('orders', 'order.confirmed');
  });

  afterAll(async () => {
    await orders?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  it('hands an older (v1) payment.captured to the handler upcast to the latest shape', async () => {
    const orderId = randomUUID();
    const v1: CloudEvent = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'urn:shop:payments',
      type: 'payment.captured',
      time: new Date().toISOString(),
      subject: orderId,
      datacontenttype: 'application/json',
      dataschema: 'urn:shop:events:payment.captured:v1',
      data: { orderId, paymentId: randomUUID(), amount: 4200 },
    };
    await raw.publish('payments', 'payment.captured', wire(v1), { messageId: v1.id, type: v1.type, appId: 'payments' });
    const { event, receivedVersion } = await waitFor(() => seen.events.find((e) => e.event.id === v1.id), {
      description: 'v1 event handled',
    });
    expect(receivedVersion).toBe(1);
    expect(event.data).toEqual({ ...(v1.data as object), currency: 'USD' });
    expect(event.dataschema).toBe('urn:shop:events:payment.captured:v2');
  });

  it('continues the trace of the consumed event and records it as the cause of what the handler publishes', async () => {
    const orderId = randomUUID();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const captured = PaymentCaptured.create(
      { orderId, paymentId: randomUUID(), amount: 100, currency: 'USD' },
      { traceparent },
    );
    await raw.publish('payments', 'payment.captured', wire(captured), {
      messageId: captured.id,
      type: captured.type,
      appId: 'payments',
      headers: { traceparent },
    });
    const message = await waitFor(
      async () => {
        const got = await raw.drain(tap);
        return got.find((m) => parseEnvelope(m.content).subject === orderId);
      },
      { description: 'order.confirmed published by the handler' },
    );
    const confirmed = parseEnvelope(message.content);
    const outgoing = parseTraceparent(confirmed.traceparent);
    expect(outgoing?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(outgoing?.spanId).not.toBe('00f067aa0ba902b7');
    expect(message.properties.headers?.['traceparent']).toBe(confirmed.traceparent);
    expect(confirmed.causationid).toBe(captured.id);
    expect(confirmed.subject).toBe(orderId);
  });
});
